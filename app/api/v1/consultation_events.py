from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import IdPath, IfMatchDep, NowDep, SessionDep, TodayDep, require, set_etag, sort_dependency
from app.api.export import EXPORT_RESPONSES, ExportDep
from app.api.v1.service_requests import to_read as request_read
from app.core.errors import problem_responses
from app.core.principal import Principal
from app.models import ConsultationAppointment, ConsultationEvent
from app.schemas.common import PageOut, QueryDate
from app.schemas.consultation_event import (
    AppointmentCreate,
    AppointmentIssueCreate,
    AppointmentRead,
    ConsultationEventCreate,
    ConsultationEventRead,
    ConsultationEventUpdate,
    DepartmentClosure,
    DepartmentRef,
    EventStatistics,
)
from app.schemas.service_request import ServiceRequestRead
from app.services import consultation_events as service
from app.services.pagination import PageRequest
from app.services.service_analytics import Outcomes

router = APIRouter(
    prefix="/consultation-events", tags=["service desk 企业服务"], responses=problem_responses(401, 403, 422)
)

EventPage = Annotated[PageRequest, sort_dependency(service.EVENT_SORTS, default="-held_on")]


async def _reads(session: AsyncSession, events: Sequence[ConsultationEvent]) -> list[ConsultationEventRead]:
    counts = await service.appointment_counts(session, [e.id for e in events])
    return [to_read(e, counts[e.id]) for e in events]


def to_read(event: ConsultationEvent, appointments: int) -> ConsultationEventRead:
    return ConsultationEventRead(
        id=event.id,
        held_on=event.held_on,
        title=event.title,
        place=event.place,
        note=event.note,
        departments=[DepartmentRef(id=d.id, code=d.code, name=d.name) for d in event.departments],
        appointments=appointments,
        created_at=event.created_at,
        updated_at=event.updated_at,
        version=event.version,
    )


def appointment_read(appointment: ConsultationAppointment, request_ids: list[int]) -> AppointmentRead:
    return AppointmentRead(
        id=appointment.id,
        event_id=appointment.event_id,
        enterprise_id=appointment.enterprise_id,
        department_id=appointment.department_id,
        topic=appointment.topic,
        request_ids=request_ids,
    )


async def _answer(session: SessionDep, response: Response, event: ConsultationEvent) -> ConsultationEventRead:
    counts = await service.appointment_counts(session, [event.id])
    set_etag(response, event.version)
    return to_read(event, counts[event.id])


@router.get(
    "",
    response_model=PageOut[ConsultationEventRead],
    summary="List consultation fairs (现场问诊会)",
    responses=EXPORT_RESPONSES,
)
async def list_events(
    session: SessionDep,
    actor: Annotated[Principal, require("services:read")],
    page: EventPage,
    export: ExportDep,
    held_from: QueryDate | None = None,
    held_to: Annotated[QueryDate | None, Query(description="Inclusive")] = None,
) -> PageOut[ConsultationEventRead] | Response:
    if export.wanted:
        stmt = service.events_query(held_from, held_to, page.sort)
        return await export.respond(actor, "现场问诊会", ConsultationEventRead, stmt, _reads)
    result = await service.list_events(session, held_from, held_to, page)
    return PageOut[ConsultationEventRead](
        items=await _reads(session, result.items),
        total=result.total,
        limit=result.limit,
        offset=result.offset,
    )


@router.post(
    "",
    response_model=ConsultationEventRead,
    status_code=status.HTTP_201_CREATED,
    summary="Plan or record a consultation fair with its participating departments",
    responses=problem_responses(415),
)
async def create_event(
    data: ConsultationEventCreate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("services:write")],
) -> ConsultationEventRead:
    event = await service.create_event(session, actor, data)
    response.headers["Location"] = f"/api/v1/consultation-events/{event.id}"
    return await _answer(session, response, event)


@router.get(
    "/{event_id:int}",
    response_model=ConsultationEventRead,
    summary="Read a consultation fair",
    responses=problem_responses(404),
)
async def get_event(
    event_id: IdPath, response: Response, session: SessionDep, _actor: Annotated[Principal, require("services:read")]
) -> ConsultationEventRead:
    return await _answer(session, response, await service.get_event(session, event_id))


@router.patch(
    "/{event_id:int}",
    response_model=ConsultationEventRead,
    summary="Change a consultation fair (departments, when sent, replace the list)",
    responses=problem_responses(404, 409, 412, 415, 428),
)
async def update_event(
    event_id: IdPath,
    data: ConsultationEventUpdate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("services:write")],
    expected: IfMatchDep,
) -> ConsultationEventRead:
    event = await service.update_event(session, actor, event_id, data, expected)
    return await _answer(session, response, event)


@router.get(
    "/{event_id:int}/appointments",
    response_model=list[AppointmentRead],
    summary="The fair's appointments (挂号): enterprise × department",
    responses=problem_responses(404),
)
async def list_appointments(
    event_id: IdPath, session: SessionDep, _actor: Annotated[Principal, require("services:read")]
) -> list[AppointmentRead]:
    appointments = await service.list_appointments(session, event_id)
    ids = await service.request_ids(session, [a.id for a in appointments])
    return [appointment_read(a, ids[a.id]) for a in appointments]


@router.post(
    "/{event_id:int}/appointments",
    response_model=AppointmentRead,
    status_code=status.HTTP_201_CREATED,
    summary="Book an enterprise with one of the fair's departments",
    responses=problem_responses(404, 409, 415),
)
async def book(
    event_id: IdPath,
    data: AppointmentCreate,
    session: SessionDep,
    actor: Annotated[Principal, require("services:write")],
) -> AppointmentRead:
    appointment = await service.book(session, actor, event_id, data)
    return appointment_read(appointment, [])


@router.post(
    "/{event_id:int}/appointments/{appointment_id:int}/issues",
    response_model=ServiceRequestRead,
    status_code=status.HTTP_201_CREATED,
    summary="Register an issue raised at an appointment, routed to that department",
    description="`source=consultation`; `received_at` defaults to 09:00 (Asia/Shanghai) on the fair's day. A fair "
    "still to come answers 409 `event_not_held`.",
    responses=problem_responses(404, 409, 415),
)
async def raise_issue(
    event_id: IdPath,
    appointment_id: IdPath,
    data: AppointmentIssueCreate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("services:write")],
    current: NowDep,
    today: TodayDep,
) -> ServiceRequestRead:
    request = await service.raise_issue(session, actor, event_id, appointment_id, data, current, today)
    response.headers["Location"] = f"/api/v1/service-requests/{request.id}"
    set_etag(response, request.version)
    return request_read(request, today)


def _closure(department_id: int, code: str, name: str, appointments: int, o: Outcomes) -> DepartmentClosure:
    return DepartmentClosure(
        department_id=department_id,
        code=code,
        name=name,
        appointments=appointments,
        raised=o.raised,
        resolved=o.resolved,
        resolved_on_time=o.resolved_on_time,
        rejected=o.rejected,
        open=o.open,
        closure_rate=o.closure_rate,
        on_time_rate=o.on_time_rate,
    )


@router.get(
    "/{event_id:int}/statistics",
    response_model=EventStatistics,
    summary="Closure statistics per department for the issues raised at the fair",
    description=(
        "Issues count for the department they are routed to now. As of `as_of` (default today): resolved and "
        "rejected by then; closure rate = (resolved + rejected) / raised; on-time rate = resolved on or before "
        "the due date / resolved. Ratios are rounded to 4 places (ROUND_HALF_UP)."
    ),
    responses=problem_responses(404),
)
async def statistics(
    event_id: IdPath,
    session: SessionDep,
    _actor: Annotated[Principal, require("services:read")],
    today: TodayDep,
    as_of: QueryDate | None = None,
) -> EventStatistics:
    day = as_of or today
    figures = await service.statistics(session, event_id, day)
    return EventStatistics(
        event_id=event_id,
        as_of=day,
        enterprises=figures.enterprises,
        departments=[
            _closure(
                d.id, d.code, d.name, figures.appointments.get(d.id, 0), figures.per_department.get(d.id, Outcomes())
            )
            for d in figures.departments
        ],
        total=_closure(0, "all", "合计", sum(figures.appointments.values()), figures.total),
    )
