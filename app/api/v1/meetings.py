from collections.abc import Sequence
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import IdPath, IdQuery, IfMatchDep, SessionDep, TodayDep, require, set_etag, sort_dependency
from app.api.export import EXPORT_RESPONSES, ExportDep
from app.core.errors import problem_responses
from app.core.principal import Principal
from app.models import DecisionKind, MajorDecision, Meeting, MeetingKind
from app.schemas.common import PageOut, QueryDate
from app.schemas.meeting import DecisionCreate, DecisionRead, MeetingCreate, MeetingFigures, MeetingRead, MeetingUpdate
from app.services import meetings as service
from app.services.pagination import PageRequest

router = APIRouter(tags=["decisions 会议与决策"], responses=problem_responses(401, 403, 422))

MeetingPage = Annotated[PageRequest, sort_dependency(service.MEETING_SORTS, default="-held_on")]
DecisionPage = Annotated[PageRequest, sort_dependency(service.DECISION_SORTS, default="id")]


def to_read(meeting: Meeting, decisions: int) -> MeetingRead:
    return MeetingRead(
        id=meeting.id,
        kind=meeting.kind,
        held_on=meeting.held_on,
        title=meeting.title,
        topics=meeting.topics,
        attendees=meeting.attendees,
        decisions=decisions,
        created_at=meeting.created_at,
        updated_at=meeting.updated_at,
        version=meeting.version,
    )


async def _meeting_reads(session: AsyncSession, meetings: Sequence[Meeting]) -> list[MeetingRead]:
    counts = await service.decision_counts(session, [m.id for m in meetings])
    return [to_read(m, counts[m.id]) for m in meetings]


async def _decision_reads(session: AsyncSession, decisions: Sequence[MajorDecision]) -> list[DecisionRead]:
    held = await service.meeting_dates(session, {d.meeting_id for d in decisions})
    return [decision_read(d, held) for d in decisions]


def decision_read(decision: MajorDecision, held_on: dict[int, date]) -> DecisionRead:
    return DecisionRead.model_validate(
        {
            "id": decision.id,
            "kind": decision.kind,
            "title": decision.title,
            "meeting_id": decision.meeting_id,
            "decided_on": held_on[decision.meeting_id],
            "amount": decision.amount,
            "note": decision.note,
            "version": decision.version,
        }
    )


@router.get(
    "/meetings",
    response_model=PageOut[MeetingRead],
    summary="Meetings: study sessions, life meetings, …",
    responses=EXPORT_RESPONSES,
)
async def list_meetings(
    session: SessionDep,
    actor: Annotated[Principal, require("decisions:read")],
    page: MeetingPage,
    export: ExportDep,
    kind: MeetingKind | None = None,
    held_from: QueryDate | None = None,
    held_to: Annotated[QueryDate | None, Query(description="Inclusive")] = None,
) -> PageOut[MeetingRead] | Response:
    if export.wanted:
        stmt = service.meetings_query(kind, held_from, held_to, page.sort)
        return await export.respond(actor, "会议", MeetingRead, stmt, _meeting_reads)
    result = await service.list_meetings(session, kind, held_from, held_to, page)
    return PageOut[MeetingRead](
        items=await _meeting_reads(session, result.items),
        total=result.total,
        limit=result.limit,
        offset=result.offset,
    )


@router.post(
    "/meetings",
    response_model=MeetingRead,
    status_code=status.HTTP_201_CREATED,
    summary="Record a meeting",
    responses=problem_responses(415),
)
async def create_meeting(
    data: MeetingCreate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("decisions:write")],
    today: TodayDep,
) -> MeetingRead:
    meeting = await service.create_meeting(session, actor, data, today)
    response.headers["Location"] = f"/api/v1/meetings/{meeting.id}"
    set_etag(response, meeting.version)
    return to_read(meeting, 0)


@router.get(
    "/meetings/{meeting_id:int}", response_model=MeetingRead, summary="Read a meeting", responses=problem_responses(404)
)
async def get_meeting(
    meeting_id: IdPath,
    response: Response,
    session: SessionDep,
    _actor: Annotated[Principal, require("decisions:read")],
) -> MeetingRead:
    meeting = await service.get_meeting(session, meeting_id)
    set_etag(response, meeting.version)
    return to_read(meeting, (await service.decision_counts(session, [meeting_id]))[meeting_id])


@router.patch(
    "/meetings/{meeting_id:int}",
    response_model=MeetingRead,
    summary="Change a meeting's record",
    responses=problem_responses(404, 412, 415, 428),
)
async def update_meeting(
    meeting_id: IdPath,
    data: MeetingUpdate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("decisions:write")],
    expected: IfMatchDep,
    today: TodayDep,
) -> MeetingRead:
    meeting = await service.update_meeting(session, actor, meeting_id, data, expected, today)
    set_etag(response, meeting.version)
    return to_read(meeting, (await service.decision_counts(session, [meeting_id]))[meeting_id])


@router.delete(
    "/meetings/{meeting_id:int}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a meeting recorded by mistake (409 once it took decisions)",
    responses=problem_responses(404, 409, 412, 428),
)
async def delete_meeting(
    meeting_id: IdPath,
    session: SessionDep,
    actor: Annotated[Principal, require("decisions:write")],
    expected: IfMatchDep,
) -> None:
    await service.delete_meeting(session, actor, meeting_id, expected)


@router.get(
    "/major-decisions",
    response_model=PageOut[DecisionRead],
    summary="“三重一大” decisions",
    responses=EXPORT_RESPONSES,
)
async def list_decisions(
    session: SessionDep,
    actor: Annotated[Principal, require("decisions:read")],
    page: DecisionPage,
    export: ExportDep,
    kind: DecisionKind | None = None,
    year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
    meeting_id: IdQuery = None,
) -> PageOut[DecisionRead] | Response:
    if export.wanted:
        stmt = service.decisions_query(kind, year, meeting_id, page.sort)
        return await export.respond(actor, "三重一大决策", DecisionRead, stmt, _decision_reads)
    result = await service.list_decisions(session, kind, year, meeting_id, page)
    return PageOut[DecisionRead](
        items=await _decision_reads(session, result.items),
        total=result.total,
        limit=result.limit,
        offset=result.offset,
    )


@router.post(
    "/major-decisions",
    response_model=DecisionRead,
    status_code=status.HTTP_201_CREATED,
    summary="Record a “三重一大” decision taken at a meeting",
    description="Major matters, appointments, projects and large sums are decided collectively at a party-group "
    "meeting, an office meeting or a director's meeting; any other meeting answers 422 `not_a_decision_meeting`.",
    responses=problem_responses(415),
)
async def record_decision(
    data: DecisionCreate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("decisions:write")],
) -> DecisionRead:
    decision = await service.record_decision(session, actor, data)
    response.headers["Location"] = f"/api/v1/major-decisions/{decision.id}"
    set_etag(response, decision.version)
    held = await service.meeting_dates(session, {decision.meeting_id})
    return decision_read(decision, held)


@router.get(
    "/major-decisions/{decision_id:int}",
    response_model=DecisionRead,
    summary="Read a “三重一大” decision",
    responses=problem_responses(404),
)
async def get_decision(
    decision_id: IdPath,
    response: Response,
    session: SessionDep,
    _actor: Annotated[Principal, require("decisions:read")],
) -> DecisionRead:
    decision = await service.get_decision(session, decision_id)
    set_etag(response, decision.version)
    return decision_read(decision, await service.meeting_dates(session, {decision.meeting_id}))


@router.get(
    "/analytics/meetings",
    response_model=MeetingFigures,
    summary="Meetings and “三重一大” decisions of a year, by kind",
)
async def meeting_figures(
    session: SessionDep,
    _actor: Annotated[Principal, require("decisions:read")],
    year: Annotated[int, Query(ge=1990, le=2100)],
) -> MeetingFigures:
    meetings, decisions, large = await service.figures(session, year)
    return MeetingFigures(year=year, meetings=meetings, decisions=decisions, large_sums=large)
