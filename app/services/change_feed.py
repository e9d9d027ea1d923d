"""Change feeds: the ordered, resumable list of what changed in a resource, deletions included.

A page lists each changed row once, at its latest change in the page; the API serves the row's current
state (or `deleted`), so a mirror that applies pages in order ends equal to the source. Positions are
`(txid, id)` and, on PostgreSQL, only changes of transactions older than every running transaction are
served: one that commits late then still sorts after every cursor already handed out (see models/change.py).
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Delete, Text, cast, delete, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, selectinload
from sqlalchemy.sql.elements import ColumnElement

from app.core.db import rows_affected
from app.core.errors import ProblemError
from app.models import (
    ApartmentAllocation,
    ApartmentBatch,
    ApartmentUnit,
    Change,
    ChangeHorizon,
    ConsultationEvent,
    Department,
    DisclosureItem,
    DisclosureRemedy,
    DisclosureRequest,
    Enterprise,
    Escalation,
    HouseholdRegistration,
    KpiFact,
    LandParcel,
    MajorDecision,
    Meeting,
    Metric,
    Milestone,
    MilestoneTemplate,
    Project,
    ServiceOfficerAssignment,
    ServiceRequest,
    ServiceType,
    TalentGreenCard,
    TalentPerson,
    Visit,
    Zone,
    ZoneAreaVersion,
)
from app.models.base import utcnow

# txid.id, and after forgotten deletions the horizon's generation the cursor was handed out in: txid.id.g
_CURSOR = re.compile(r"^([0-9]{1,18})\.([0-9]{1,18})(?:\.([0-9]{1,9}))?$")


@dataclass(frozen=True, order=True)
class Position:
    txid: int
    id: int
    generation: int = 0  # of the resource's horizon when the cursor was handed out

    def __str__(self) -> str:
        return f"{self.txid}.{self.id}" + (f".{self.generation}" if self.generation else "")


START = Position(0, 0)


def parse_cursor(text: str | None) -> Position:
    if not text:
        return START
    match = _CURSOR.match(text)
    if match is None:
        detail = "游标无效：请使用上一页返回的 next_cursor / not a cursor: pass the next_cursor of the previous page"
        raise ProblemError(
            422,
            "invalid_cursor",
            detail,
            errors=[{"loc": ["query", "cursor"], "message": detail, "type": "invalid_cursor"}],
        )
    return Position(int(match[1]), int(match[2]), int(match[3] or 0))


@dataclass(frozen=True)
class ChangeSlice:
    entity_ids: list[int]  # distinct, in the order of each one's latest change in the slice
    next_position: Position
    has_more: bool


def _horizon(session: AsyncSession) -> ColumnElement[bool] | None:
    """PostgreSQL: only transactions older than every running one (their rows can no longer appear)."""
    if session.get_bind().dialect.name != "postgresql":
        return None  # SQLite serialises writers: a committed id is never followed by a smaller one
    xmin = cast(cast(func.pg_snapshot_xmin(func.pg_current_snapshot()), Text), BigInteger)
    return Change.txid < select(xmin).scalar_subquery()


async def read_changes(session: AsyncSession, resource: str, after: Position, limit: int) -> ChangeSlice:
    stmt = (
        select(Change.txid, Change.id, Change.entity_id)
        .where(Change.resource == resource, tuple_(Change.txid, Change.id) > tuple_(after.txid, after.id))
        .order_by(Change.txid, Change.id)
        .limit(limit + 1)
    )
    horizon = _horizon(session)
    if horizon is not None:
        stmt = stmt.where(horizon)
    rows = (await session.execute(stmt)).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    if not has_more and horizon is not None:
        # Committed changes waiting behind an older open transaction (anywhere on the cluster): not caught up.
        after_last = (rows[-1].txid, rows[-1].id) if rows else (after.txid, after.id)
        has_more = bool(
            await session.scalar(
                select(Change.id)
                .where(Change.resource == resource, tuple_(Change.txid, Change.id) > tuple_(*after_last))
                .limit(1)
            )
        )
    latest: dict[int, None] = {}
    for row in rows:
        latest.pop(row.entity_id, None)
        latest[row.entity_id] = None
    last = Position(rows[-1].txid, rows[-1].id) if rows else after
    return ChangeSlice(entity_ids=list(latest), next_position=last, has_more=has_more)


# The loading each resource's read model needs (its children, never lazy loads).
_LOADS: dict[type[Any], tuple[Any, ...]] = {
    Enterprise: (selectinload(Enterprise.investor_classes), selectinload(Enterprise.contacts)),
    DisclosureItem: (selectinload(DisclosureItem.channels),),
    Visit: (selectinload(Visit.officers),),
    ConsultationEvent: (selectinload(ConsultationEvent.departments),),
}
MODELS: dict[str, type[Any]] = {
    "enterprises": Enterprise,
    "zones": Zone,
    "zone_area_versions": ZoneAreaVersion,
    "land_parcels": LandParcel,
    "projects": Project,
    "milestones": Milestone,
    "escalations": Escalation,
    "milestone_templates": MilestoneTemplate,
    "metrics": Metric,
    "kpi_facts": KpiFact,
    "service_officer_assignments": ServiceOfficerAssignment,
    "departments": Department,
    "service_types": ServiceType,
    "service_requests": ServiceRequest,
    "visits": Visit,
    "consultation_events": ConsultationEvent,
    "talents": TalentPerson,
    "apartment_batches": ApartmentBatch,
    "apartment_units": ApartmentUnit,
    "apartment_allocations": ApartmentAllocation,
    "household_registrations": HouseholdRegistration,
    "talent_green_cards": TalentGreenCard,
    "disclosure_items": DisclosureItem,
    "disclosure_requests": DisclosureRequest,
    "disclosure_remedies": DisclosureRemedy,
    "meetings": Meeting,
    "major_decisions": MajorDecision,
}


async def current_rows(session: AsyncSession, resource: str, ids: Sequence[int]) -> dict[int, Any]:
    """The rows that still exist, by id; the others were deleted."""
    if not ids:
        return {}
    model = MODELS[resource]
    rows = await session.scalars(select(model).where(model.id.in_(ids)).options(*_LOADS.get(model, ())))
    return {row.id: row for row in rows}


# --- keeping the log small -----------------------------------------------------------------------------


async def check_cursor(session: AsyncSession, resource: str, position: Position) -> int:
    """The horizon's generation, to hand out with the next cursor; 410 for a cursor handed out before
    deletions it had not reached were forgotten: its mirror may still hold a row that is gone."""
    horizon = await session.get(ChangeHorizon, resource)
    if horizon is None:
        return 0
    # A mirror built from the start, or since the last forgetting, has missed nothing.
    fresh = position == START or position.generation >= horizon.generation
    if not fresh and (position.txid, position.id) < (horizon.txid, horizon.change_id):
        raise expired()
    return horizon.generation


def expired() -> ProblemError:
    return ProblemError(
        410,
        "cursor_expired",
        "游标过旧：期间的删除记录已清理，请清空镜像后从头同步（不带 cursor）/ the cursor predates deletions that "
        "are no longer kept: empty the mirror and read the feed again from the start (no cursor)",
    )


@dataclass(frozen=True)
class Compacted:
    superseded: int  # changes of a row that changed again later
    tombstones: int  # changes of deleted rows, older than the retention


async def compact(session: AsyncSession, forget_deletions_before: datetime) -> Compacted:
    """Keeps one change per row, its latest, and forgets deletions older than the cut-off.

    The feed serves a row's current state, so its latest change alone brings a mirror up to date, and a new
    mirror still reads every row from the start. A forgotten deletion moves the resource's horizon: cursors
    before it answer 410 `cursor_expired`.
    """
    later = aliased(Change)
    superseded = await _deleted(
        session,
        delete(Change)
        .where(
            select(later.id)
            .where(
                later.resource == Change.resource,
                later.entity_id == Change.entity_id,
                tuple_(later.txid, later.id) > tuple_(Change.txid, Change.id),
            )
            .exists()
        )
        .execution_options(synchronize_session=False),
    )
    tombstones = 0
    for resource, model in MODELS.items():
        gone = (
            select(Change.txid, Change.id)
            .where(
                Change.resource == resource,
                Change.changed_at < forget_deletions_before,
                ~select(model.id).where(model.id == Change.entity_id).exists(),
            )
            .order_by(Change.txid.desc(), Change.id.desc())
        )
        last = (await session.execute(gone.limit(1))).first()
        if last is None:
            continue
        removed = await _deleted(
            session,
            delete(Change)
            .where(tuple_(Change.txid, Change.id).in_(gone.order_by(None)))
            .execution_options(synchronize_session=False),
        )
        tombstones += removed
        # The horizon only moves forward (a conservative bound: at worst a mirror rebuilds once too often).
        horizon = await session.get(ChangeHorizon, resource)
        if horizon is None:
            session.add(ChangeHorizon(resource=resource, txid=last.txid, change_id=last.id, generation=1))
        else:
            if (last.txid, last.id) > (horizon.txid, horizon.change_id):
                horizon.txid, horizon.change_id = last.txid, last.id
            horizon.generation += 1
            horizon.pruned_at = utcnow()
    await session.flush()
    return Compacted(superseded=superseded, tombstones=tombstones)


async def _deleted(session: AsyncSession, statement: Delete) -> int:
    return rows_affected(await session.execute(statement))
