"""Chief service officers (首席服务官): a primary and deputies per enterprise, every hand-over kept.

An assignment lasts over [started_on, ended_on). Handing an enterprise to a new primary closes the
current primary's assignment on the same day; a deputy promoted to primary stops being a deputy then.
`Enterprise.service_officer_id` mirrors the primary that is open today, for filters and quick reads.
Every change to the team moves the enterprise's version, so two officers editing one team at once
cannot both win (If-Match on the enterprise).
"""

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, distinct, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import ConflictError, NotFoundError, field_problem, unknown_reference
from app.core.principal import Principal
from app.core.scopes import Role
from app.models import (
    Enterprise,
    OfficerRole,
    ServiceOfficerAssignment,
    ServiceRequest,
    User,
)
from app.models.base import utcnow
from app.services import audit
from app.services.entered_dates import not_in_future

Assignment = ServiceOfficerAssignment


def active_on(day: date) -> ColumnElement[bool]:
    return and_(Assignment.started_on <= day, or_(Assignment.ended_on.is_(None), Assignment.ended_on > day))


async def eligible_officer(session: AsyncSession, field: str, officer_id: int) -> User:
    officer = await session.get(User, officer_id)
    if officer is None or not officer.is_active or officer.role == Role.viewer:
        raise unknown_reference(field, "active officer (not a viewer)", officer_id)
    return officer


async def assignments_of(session: AsyncSession, enterprise_id: int) -> list[Assignment]:
    rows = await session.scalars(
        select(Assignment)
        .where(Assignment.enterprise_id == enterprise_id)
        .order_by(Assignment.started_on, Assignment.id)
    )
    return list(rows)


async def team(session: AsyncSession, enterprise_id: int, as_of: date) -> list[Assignment]:
    rows = await session.scalars(
        select(Assignment)
        .where(Assignment.enterprise_id == enterprise_id, active_on(as_of))
        .order_by(Assignment.role, Assignment.started_on, Assignment.id)
    )
    return list(rows)


async def officer_names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.execute(select(User.id, User.display_name).where(User.id.in_(ids)))
    return {key: value for key, value in rows}


def _snapshot(a: Assignment) -> dict[str, object]:
    return audit.snapshot(a, exclude=("recorded_at",))


def _touch(enterprise: Enterprise) -> None:
    # The team is part of the enterprise: moving its version serialises concurrent team changes.
    enterprise.updated_at = utcnow()


def _mirror_primary(enterprise: Enterprise, assignments: list[Assignment]) -> None:
    current = [a for a in assignments if a.role is OfficerRole.primary and a.ended_on is None]
    enterprise.service_officer_id = current[-1].officer_id if current else None


def first_primary(
    session: AsyncSession, actor: Principal, enterprise: Enterprise, officer_id: int, started_on: date
) -> Assignment:
    """The primary of an enterprise being registered: nothing to hand over, nothing to overlap."""
    assignment = Assignment(
        enterprise_id=enterprise.id,
        officer_id=officer_id,
        role=OfficerRole.primary,
        started_on=started_on,
        recorded_by=actor.name,
    )
    session.add(assignment)
    return assignment


async def assign(
    session: AsyncSession,
    actor: Principal,
    enterprise: Enterprise,
    officer_id: int,
    role: OfficerRole,
    started_on: date,
    note: str | None,
    today: date,
) -> Assignment:
    """Adds a deputy, or hands the enterprise to a new primary on `started_on`."""
    not_in_future("started_on", started_on, today)
    await eligible_officer(session, "officer_id", officer_id)
    assignments = await assignments_of(session, enterprise.id)
    mine = [a for a in assignments if a.officer_id == officer_id]
    if any(a.ended_on is None and a.role is role for a in mine):
        raise ConflictError(
            "already_assigned",
            f"该服务官已是本企业的{'首席' if role is OfficerRole.primary else '协办'}服务官 / officer {officer_id} "
            f"already serves enterprise {enterprise.id} as {role.value}",
        )
    # Those that end on started_on: the current primary (a hand-over) and, on promotion, the officer's deputy post.
    closing = [a for a in mine if a.ended_on is None] if role is OfficerRole.primary else []
    if role is OfficerRole.primary:
        closing += [a for a in assignments if a.role is OfficerRole.primary and a.ended_on is None]
    for a in closing:
        if a.started_on >= started_on:
            raise field_problem(
                422,
                "out_of_order",
                "started_on",
                f"交接日期须晚于现任起始日 {a.started_on} / a hand-over must come after the current assignment "
                f"began ({a.started_on})",
            )
    # Whatever stays must not overlap the new assignment: one primary at a time, one post per officer.
    rivals = [
        a
        for a in assignments
        if a not in closing and (a in mine or (role is OfficerRole.primary and a.role is OfficerRole.primary))
    ]
    clash = next((a for a in rivals if a.ended_on is None or a.ended_on > started_on), None)
    if clash is not None:
        raise ConflictError(
            "assignment_overlap",
            f"与第 {clash.id} 号任职记录（{clash.started_on} 起）重叠 / overlaps assignment {clash.id} "
            f"({clash.started_on} – {clash.ended_on or 'open'})",
            conflicting_id=clash.id,
        )
    before = {a.id: _snapshot(a) for a in closing}
    for a in closing:
        a.ended_on = started_on
        a.ended_note = f"交接给 {officer_id} 号服务官 / handed over to officer {officer_id}"
    new = Assignment(
        enterprise_id=enterprise.id,
        officer_id=officer_id,
        role=role,
        started_on=started_on,
        note=note,
        recorded_by=actor.name,
    )
    session.add(new)
    assignments.append(new)
    _mirror_primary(enterprise, assignments)
    _touch(enterprise)
    await session.flush()
    for a in closing:
        audit.record(session, actor, "end", "service_officer_assignment", a.id, before[a.id], _snapshot(a))
    audit.record(session, actor, "create", "service_officer_assignment", new.id, None, _snapshot(new))
    return new


async def end(
    session: AsyncSession,
    actor: Principal,
    enterprise: Enterprise,
    assignment_id: int,
    ended_on: date,
    note: str | None,
    today: date,
) -> Assignment:
    not_in_future("ended_on", ended_on, today)
    assignments = await assignments_of(session, enterprise.id)
    target = next((a for a in assignments if a.id == assignment_id), None)
    if target is None:
        raise NotFoundError("service officer assignment", assignment_id)
    if target.ended_on is not None:
        raise ConflictError(
            "assignment_ended",
            f"该任职已于 {target.ended_on} 结束 / assignment {assignment_id} already ended on {target.ended_on}",
        )
    if ended_on < target.started_on:
        raise field_problem(
            422,
            "date_order",
            "ended_on",
            f"结束日期早于起始日期 {target.started_on} / ended_on is before started_on ({target.started_on})",
        )
    before = _snapshot(target)
    target.ended_on = ended_on
    target.ended_note = note
    _mirror_primary(enterprise, assignments)
    _touch(enterprise)
    await session.flush()
    audit.record(session, actor, "end", "service_officer_assignment", target.id, before, _snapshot(target))
    return target


# --- workload ---------------------------------------------------------------------------------------------


def _open_on(day: date) -> ColumnElement[bool]:
    """A request registered by `day` and neither resolved nor rejected by then."""
    return and_(
        ServiceRequest.received_on <= day,
        or_(ServiceRequest.resolved_on.is_(None), ServiceRequest.resolved_on > day),
        or_(ServiceRequest.rejected_on.is_(None), ServiceRequest.rejected_on > day),
    )


WORKLOAD_SORTS = ("display_name", "open_requests", "overdue_requests", "enterprises_served")


def _workload_query(as_of: date) -> Select[int, str, str, bool, Any, Any, Any, Any, Any]:
    posts = (
        select(
            Assignment.officer_id.label("officer_id"),
            func.count(distinct(case((Assignment.role == OfficerRole.primary, Assignment.enterprise_id)))).label(
                "primary_enterprises"
            ),
            func.count(distinct(case((Assignment.role == OfficerRole.deputy, Assignment.enterprise_id)))).label(
                "deputy_enterprises"
            ),
            func.count(distinct(Assignment.enterprise_id)).label("enterprises_served"),
        )
        .where(active_on(as_of))
        .group_by(Assignment.officer_id)
        .subquery()
    )
    requests = (
        select(
            ServiceRequest.assignee_id.label("officer_id"),
            func.count().label("open_requests"),
            func.sum(case((ServiceRequest.due_on < as_of, 1), else_=0)).label("overdue_requests"),
        )
        .where(ServiceRequest.assignee_id.is_not(None), _open_on(as_of))
        .group_by(ServiceRequest.assignee_id)
        .subquery()
    )
    return (
        select(
            User.id,
            User.username,
            User.display_name,
            User.is_active,
            func.coalesce(posts.c.primary_enterprises, 0).label("primary_enterprises"),
            func.coalesce(posts.c.deputy_enterprises, 0).label("deputy_enterprises"),
            func.coalesce(posts.c.enterprises_served, 0).label("enterprises_served"),
            func.coalesce(requests.c.open_requests, 0).label("open_requests"),
            func.coalesce(requests.c.overdue_requests, 0).label("overdue_requests"),
        )
        .outerjoin(posts, posts.c.officer_id == User.id)
        .outerjoin(requests, requests.c.officer_id == User.id)
        # Officers who can serve, and anyone who still has enterprises or requests (e.g. disabled since).
        .where(
            or_(
                and_(User.is_active.is_(True), User.role != Role.viewer.value),
                posts.c.officer_id.is_not(None),
                requests.c.officer_id.is_not(None),
            )
        )
    )


async def workloads(
    session: AsyncSession, as_of: date, sort: tuple[str, ...], limit: int, offset: int, officer_id: int | None = None
) -> tuple[list[dict[str, Any]], int]:
    stmt = _workload_query(as_of)
    if officer_id is not None:
        stmt = stmt.where(User.id == officer_id)
    total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
    columns = {c.name: c for c in stmt.selected_columns}
    order = [
        (columns[key.lstrip("-")].desc() if key.startswith("-") else columns[key.lstrip("-")].asc()) for key in sort
    ]
    rows = await session.execute(stmt.order_by(*order, User.id).limit(limit).offset(offset))
    return [dict(row._mapping) for row in rows], int(total or 0)
