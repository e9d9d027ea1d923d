"""Meetings (中心组学习, 党组会, 民主生活会, 组织生活会, 办务会 …) and the "三重一大" decisions taken at them."""

from datetime import date
from decimal import Decimal

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import ConflictError, NotFoundError, field_problem, unknown_reference
from app.core.principal import Principal
from app.models import DECISION_MEETINGS, DecisionKind, MajorDecision, Meeting, MeetingKind
from app.schemas.meeting import DecisionCreate, MeetingCreate, MeetingUpdate
from app.services import audit
from app.services.entered_dates import not_in_future
from app.services.pagination import Page, PageRequest, ordered, page_of
from app.services.versioning import check_version

MEETING_SORTS = {"held_on": Meeting.held_on}
DECISION_SORTS = {"id": MajorDecision.id}


def meetings_query(
    kind: MeetingKind | None, held_from: date | None, held_to: date | None, sort: tuple[str, ...]
) -> Select[Meeting]:
    """The list's statement in its order: one page of it for the list, all of it for an export."""
    stmt = select(Meeting)
    if kind is not None:
        stmt = stmt.where(Meeting.kind == kind)
    if held_from is not None:
        stmt = stmt.where(Meeting.held_on >= held_from)
    if held_to is not None:
        stmt = stmt.where(Meeting.held_on <= held_to)
    return ordered(stmt, sort, MEETING_SORTS, Meeting.id)


async def list_meetings(
    session: AsyncSession, kind: MeetingKind | None, held_from: date | None, held_to: date | None, page: PageRequest
) -> Page[Meeting]:
    return await page_of(session, meetings_query(kind, held_from, held_to, page.sort), page)


async def decision_counts(session: AsyncSession, meeting_ids: list[int]) -> dict[int, int]:
    rows = await session.execute(
        select(MajorDecision.meeting_id, func.count())
        .where(MajorDecision.meeting_id.in_(meeting_ids))
        .group_by(MajorDecision.meeting_id)
    )
    counts = {m: int(n) for m, n in rows}
    return {m: counts.get(m, 0) for m in meeting_ids}


async def get_meeting(session: AsyncSession, meeting_id: int) -> Meeting:
    meeting = await session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFoundError("meeting", meeting_id)
    return meeting


async def create_meeting(session: AsyncSession, actor: Principal, data: MeetingCreate, today: date) -> Meeting:
    not_in_future("held_on", data.held_on, today)
    meeting = Meeting(**data.model_dump())
    session.add(meeting)
    await session.flush()
    audit.record(session, actor, "create", "meeting", meeting.id, None, audit.snapshot(meeting))
    return meeting


async def update_meeting(
    session: AsyncSession,
    actor: Principal,
    meeting_id: int,
    data: MeetingUpdate,
    expected: frozenset[int] | None,
    today: date,
) -> Meeting:
    meeting = await get_meeting(session, meeting_id)
    check_version(meeting.version, expected)
    changes = data.model_dump(exclude_unset=True)
    if "held_on" in changes:
        not_in_future("held_on", changes["held_on"], today)
    before = audit.snapshot(meeting)
    for field, value in changes.items():
        setattr(meeting, field, value)
    await session.flush()
    audit.record(session, actor, "update", "meeting", meeting.id, before, audit.snapshot(meeting))
    return meeting


async def delete_meeting(
    session: AsyncSession, actor: Principal, meeting_id: int, expected: frozenset[int] | None
) -> None:
    meeting = await get_meeting(session, meeting_id)
    check_version(meeting.version, expected)
    decisions = await session.scalar(select(func.count()).where(MajorDecision.meeting_id == meeting_id))
    if decisions:
        raise ConflictError(
            "meeting_in_use",
            f"会议已作出 {decisions} 项决策，不能删除 / meeting {meeting_id} took {decisions} decision(s)",
            in_use={"decisions": decisions},
        )
    before = audit.snapshot(meeting)
    await session.delete(meeting)
    await session.flush()
    audit.record(session, actor, "delete", "meeting", meeting_id, before, None)


def decisions_query(
    kind: DecisionKind | None, year: int | None, meeting_id: int | None, sort: tuple[str, ...]
) -> Select[MajorDecision]:
    """The list's statement in its order: one page of it for the list, all of it for an export."""
    stmt = select(MajorDecision)
    if kind is not None:
        stmt = stmt.where(MajorDecision.kind == kind)
    if meeting_id is not None:
        stmt = stmt.where(MajorDecision.meeting_id == meeting_id)
    if year is not None:
        held = select(Meeting.id).where(Meeting.held_on >= date(year, 1, 1), Meeting.held_on <= date(year, 12, 31))
        stmt = stmt.where(MajorDecision.meeting_id.in_(held))
    return ordered(stmt, sort, DECISION_SORTS, MajorDecision.id)


async def list_decisions(
    session: AsyncSession, kind: DecisionKind | None, year: int | None, meeting_id: int | None, page: PageRequest
) -> Page[MajorDecision]:
    return await page_of(session, decisions_query(kind, year, meeting_id, page.sort), page)


async def get_decision(session: AsyncSession, decision_id: int) -> MajorDecision:
    decision = await session.get(MajorDecision, decision_id)
    if decision is None:
        raise NotFoundError("major decision", decision_id)
    return decision


async def meeting_dates(session: AsyncSession, meeting_ids: set[int]) -> dict[int, date]:
    rows = await session.execute(select(Meeting.id, Meeting.held_on).where(Meeting.id.in_(meeting_ids)))
    return {m: held for m, held in rows}


async def record_decision(session: AsyncSession, actor: Principal, data: DecisionCreate) -> MajorDecision:
    meeting = await session.get(Meeting, data.meeting_id)
    if meeting is None:
        raise unknown_reference("meeting_id", "meeting", data.meeting_id)
    if meeting.kind not in DECISION_MEETINGS:
        raise field_problem(
            422,
            "not_a_decision_meeting",
            "meeting_id",
            f"“三重一大”事项须经党组会、办务会或主任办公会集体决策，{meeting.kind.value} 不是决策会议 / major "
            f"matters are decided at a party-group, office or director's meeting, not a {meeting.kind.value}",
        )
    decision = MajorDecision(**data.model_dump())
    session.add(decision)
    await session.flush()
    audit.record(session, actor, "create", "major_decision", decision.id, None, audit.snapshot(decision))
    return decision


async def figures(
    session: AsyncSession, year: int, through: date | None = None
) -> tuple[dict[str, int], dict[str, int], Decimal]:
    """Meetings and decisions of `year` (up to `through`, inclusive, when given), by kind, in SQL."""
    last = min(date(year, 12, 31), through) if through else date(year, 12, 31)
    held = [Meeting.held_on >= date(year, 1, 1), Meeting.held_on <= last]
    meeting_rows = await session.execute(select(Meeting.kind, func.count()).where(*held).group_by(Meeting.kind))
    meetings = {k.value: 0 for k in MeetingKind} | {k.value: int(n) for k, n in meeting_rows}
    decision_rows = await session.execute(
        select(MajorDecision.kind, func.count(), func.sum(MajorDecision.amount))
        .join(Meeting, Meeting.id == MajorDecision.meeting_id)
        .where(*held)
        .group_by(MajorDecision.kind)
    )
    decisions = {k.value: 0 for k in DecisionKind}
    large = Decimal(0)
    for kind, n, amount in decision_rows:
        decisions[kind.value] = int(n)
        if kind is DecisionKind.large_sum and amount is not None:
            large = Decimal(amount)
    return meetings, decisions, large
