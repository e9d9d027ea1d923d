"""Chief service officers (首席服务官): a primary and deputies per enterprise, every hand-over kept.

An assignment lasts over [started_on, ended_on). Handing an enterprise to a new primary closes the
current primary's assignment on the same day; a deputy promoted to primary stops being a deputy then.
`Enterprise.service_officer_id` mirrors the primary that is open today, for filters and quick reads.
Every change to the team moves the enterprise's version, so two officers editing one team at once
cannot both win (If-Match on the enterprise).
"""

from datetime import date

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import ConflictError, NotFoundError, ProblemError, field_problem, unknown_reference
from app.core.principal import Principal
from app.core.scopes import Role
from app.models import (
    Enterprise,
    OfficerRole,
    ServiceOfficerAssignment,
    User,
)
from app.models.base import utcnow
from app.services import audit
from app.services.entered_dates import not_in_future

Assignment = ServiceOfficerAssignment


def active_on(day: date) -> ColumnElement[bool]:
    return and_(Assignment.started_on <= day, or_(Assignment.ended_on.is_(None), Assignment.ended_on > day))


# Who may serve enterprises (be a chief service officer, an assignee, a visitor): active staff, not viewers.
_ELIGIBLE = and_(User.is_active.is_(True), User.role != Role.viewer)


def not_eligible(field: str, officer_id: int) -> ProblemError:
    return unknown_reference(field, "active officer (not a viewer)", officer_id)


async def eligible_officer(session: AsyncSession, field: str, officer_id: int) -> User:
    officer = await session.scalar(select(User).where(User.id == officer_id, _ELIGIBLE))
    if officer is None:
        raise not_eligible(field, officer_id)
    return officer


async def eligible_officer_ids(session: AsyncSession, officer_ids: set[int]) -> set[int]:
    """Which of these users may serve enterprises: one query for an import's batch."""
    if not officer_ids:
        return set()
    eligible = select(User.id).where(User.id.in_(officer_ids), _ELIGIBLE)
    return set(await session.scalars(eligible))


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
    session: AsyncSession, actor: Principal, enterprise_id: int, officer_id: int, started_on: date
) -> Assignment:
    """The primary of an enterprise being registered: nothing to hand over, nothing to overlap."""
    assignment = Assignment(
        enterprise_id=enterprise_id,
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
    date_field: str = "started_on",
) -> Assignment:
    """Adds a deputy, or hands the enterprise to a new primary on `started_on` (named `date_field` in errors)."""
    not_in_future(date_field, started_on, today)
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
                date_field,
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
        a.ended_note = (
            "升任首席服务官 / became the primary"
            if a.officer_id == officer_id
            else f"交接给 {officer_id} 号服务官 / handed over to officer {officer_id}"
        )
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
    date_field: str = "ended_on",
) -> Assignment:
    not_in_future(date_field, ended_on, today)
    assignments = await assignments_of(session, enterprise.id)
    target = next((a for a in assignments if a.id == assignment_id), None)
    if target is None:
        raise NotFoundError("service officer assignment", assignment_id)
    if target.ended_on is not None:
        raise ConflictError(
            "assignment_ended",
            f"该任职已于 {target.ended_on} 结束 / assignment {assignment_id} already ended on {target.ended_on}",
        )
    if ended_on <= target.started_on:
        raise field_problem(
            422,
            "date_order",
            date_field,
            f"结束日期须晚于起始日期 {target.started_on} / a post ends after the day it began ({target.started_on})",
        )
    before = _snapshot(target)
    target.ended_on = ended_on
    target.ended_note = note
    _mirror_primary(enterprise, assignments)
    _touch(enterprise)
    await session.flush()
    audit.record(session, actor, "end", "service_officer_assignment", target.id, before, _snapshot(target))
    return target
