"""Hierarchies stored as `parent_id` (zones, enterprise groups), walked in SQL with recursive CTEs."""

from typing import Any

from sqlalchemy import CTE, BindParameter, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.core.errors import field_problem, unknown_reference
from app.models import Zone
from app.models.functions import in_subquery


def subtree(model: Any, root_id: int | BindParameter[Any], name: str = "subtree") -> CTE:
    """Ids of `root_id` (an id, or a bound parameter for one) and all its descendants, any depth. UNION (not
    ALL) stops on a stray cycle."""
    top = select(model.id.label("id")).where(model.id == root_id).cte(name, recursive=True)
    child = aliased(model)
    return top.union(select(child.id).where(child.parent_id == top.c.id))


def in_zone(column: Any, zone_id: int | BindParameter[Any]) -> Any:
    """`column` (a zone id) is the zone or one of its sub-zones, any depth."""
    zones = subtree(Zone, zone_id, "zone_subtree")
    return in_subquery(column, select(zones.c.id).scalar_subquery())


def roots(model: Any, name: str = "tree") -> CTE:
    """Every row with the id of its top-level ancestor (`root_id`; a root is its own)."""
    top = (
        select(model.id.label("id"), model.id.label("root_id"))
        .where(model.parent_id.is_(None))
        .cte(name, recursive=True)
    )
    child = aliased(model)
    return top.union_all(select(child.id, top.c.root_id).where(child.parent_id == top.c.id))


MAX_DEPTH = 32  # deeper than any group or zone tree; stops a walk on a stray cycle


def roots_of(model: Any, *criteria: Any, name: str = "up") -> Any:
    """The rows matching `criteria`, each with the id of its top-level ancestor (`root_id`; a root is its
    own). Only the rows that have a parent walk up, so it costs what those number, not the whole forest as
    `roots` does."""
    start = (
        select(
            model.id.label("id"),
            model.parent_id.label("ancestor"),
            literal(0).label("depth"),
        )
        .where(*criteria, model.parent_id.is_not(None))
        .cte(name, recursive=True)
    )
    parent = aliased(model)
    walk = start.union_all(
        select(start.c.id, parent.parent_id, start.c.depth + 1)
        .join(parent, parent.id == start.c.ancestor)
        .where(parent.parent_id.is_not(None), start.c.depth < MAX_DEPTH)
    )
    # Each walk ends at the ancestor without a parent: the deepest step of each row.
    top = select(walk.c.id, func.max(walk.c.depth).label("depth")).group_by(walk.c.id).subquery(f"{name}_top")
    members = select(walk.c.id, walk.c.ancestor.label("root_id")).join(
        top, (top.c.id == walk.c.id) & (top.c.depth == walk.c.depth)
    )
    alone = select(model.id.label("id"), model.id.label("root_id")).where(*criteria, model.parent_id.is_(None))
    return members.union_all(alone).subquery(f"{name}_roots")


async def check_new_parent(session: AsyncSession, model: Any, node_id: int | None, parent_id: int, label: str) -> None:
    """The parent must exist, and must not be the node itself or one of its descendants (no cycles)."""
    if await session.get(model, parent_id) is None:
        raise unknown_reference("parent_id", f"parent {label}", parent_id)
    if node_id is None:
        return
    below = subtree(model, node_id)
    if parent_id == node_id or await session.scalar(select(below.c.id).where(below.c.id == parent_id)) is not None:
        raise field_problem(
            422,
            "parent_cycle",
            "parent_id",
            f"不能挂到自身或其下级之下 / a {label} cannot be placed under itself or its own descendant",
        )
