"""Consultation fairs (长条桌送服务现场问诊会): departments at tables, enterprises booking appointments
with them, and the issues raised there becoming service requests routed to that department."""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core.errors import ConflictError, NotFoundError, field_problem, unknown_reference
from app.core.principal import Principal
from app.models import ConsultationAppointment, ConsultationEvent, Department, Enterprise, RequestSource, ServiceRequest
from app.models.base import utcnow
from app.schemas.consultation_event import (
    AppointmentCreate,
    AppointmentIssueCreate,
    ConsultationEventCreate,
    ConsultationEventUpdate,
)
from app.services import audit, service_analytics, service_requests
from app.services.departments import active_department
from app.services.pagination import Page, PageRequest, ordered, page_of
from app.services.versioning import check_version

EVENT_SORTS = {"held_on": ConsultationEvent.held_on, "title": ConsultationEvent.title}


def events_query(held_from: date | None, held_to: date | None, sort: tuple[str, ...]) -> Select[ConsultationEvent]:
    """The list's statement in its order: one page of it for the list, all of it for an export."""
    stmt = select(ConsultationEvent).options(selectinload(ConsultationEvent.departments))
    if held_from is not None:
        stmt = stmt.where(ConsultationEvent.held_on >= held_from)
    if held_to is not None:
        stmt = stmt.where(ConsultationEvent.held_on <= held_to)
    return ordered(stmt, sort, EVENT_SORTS, ConsultationEvent.id)


async def list_events(
    session: AsyncSession, held_from: date | None, held_to: date | None, page: PageRequest
) -> Page[ConsultationEvent]:
    return await page_of(session, events_query(held_from, held_to, page.sort), page)


async def get_event(session: AsyncSession, event_id: int) -> ConsultationEvent:
    event = await session.scalar(
        select(ConsultationEvent)
        .where(ConsultationEvent.id == event_id)
        .options(selectinload(ConsultationEvent.departments))
    )
    if event is None:
        raise NotFoundError("consultation event", event_id)
    return event


async def appointment_counts(session: AsyncSession, event_ids: list[int]) -> dict[int, int]:
    if not event_ids:
        return {}
    rows = await session.execute(
        select(ConsultationAppointment.event_id, func.count())
        .where(ConsultationAppointment.event_id.in_(event_ids))
        .group_by(ConsultationAppointment.event_id)
    )
    counts = {key: value for key, value in rows}
    return {e: int(counts.get(e, 0)) for e in event_ids}


async def _departments(session: AsyncSession, ids: list[int]) -> list[Department]:
    return [await active_department(session, f"department_ids.{i}", d) for i, d in enumerate(ids)]


def _snapshot(event: ConsultationEvent) -> dict[str, Any]:
    data = audit.snapshot(event)
    data["department_ids"] = [d.id for d in event.departments]
    return data


async def create_event(session: AsyncSession, actor: Principal, data: ConsultationEventCreate) -> ConsultationEvent:
    # A fair may be planned ahead: its date may be in the future; appointments and issues come on the day.
    departments = await _departments(session, data.department_ids)
    event = ConsultationEvent(
        held_on=data.held_on, title=data.title, place=data.place, note=data.note, departments=departments
    )
    session.add(event)
    await session.flush()
    audit.record(session, actor, "create", "consultation_event", event.id, None, _snapshot(event))
    return event


async def update_event(
    session: AsyncSession,
    actor: Principal,
    event_id: int,
    data: ConsultationEventUpdate,
    expected: frozenset[int] | None,
) -> ConsultationEvent:
    event = await get_event(session, event_id)
    check_version(event.version, expected)
    changes = data.model_dump(exclude_unset=True)
    before = _snapshot(event)
    if "department_ids" in changes:
        ids = changes.pop("department_ids")
        booked = set(
            await session.scalars(
                select(ConsultationAppointment.department_id)
                .where(ConsultationAppointment.event_id == event_id)
                .distinct()
            )
        )
        leaving = sorted(booked - set(ids))
        if leaving:
            raise ConflictError(
                "department_has_appointments",
                f"部门 {leaving} 已有预约，不能移出 / department(s) {leaving} have appointments at this event",
                department_ids=leaving,
            )
        kept = {d.id: d for d in event.departments}
        event.departments = [
            kept[d] if d in kept else await active_department(session, "department_ids", d) for d in ids
        ]
    if "held_on" in changes:
        first_issue = await session.scalar(
            select(func.min(ServiceRequest.received_on))
            .join(ConsultationAppointment, ServiceRequest.appointment_id == ConsultationAppointment.id)
            .where(ConsultationAppointment.event_id == event_id)
        )
        if first_issue is not None and changes["held_on"] > first_issue:
            raise field_problem(
                422,
                "date_order",
                "held_on",
                f"问诊会日期晚于已登记的诉求 {first_issue} / issues were raised on {first_issue}",
            )
    for field, value in changes.items():
        setattr(event, field, value)
    after = _snapshot(event)
    if after != before:
        event.updated_at = utcnow()
    await session.flush()
    audit.record(session, actor, "update", "consultation_event", event.id, before, after)
    return event


async def list_appointments(session: AsyncSession, event_id: int) -> list[ConsultationAppointment]:
    await get_event(session, event_id)
    rows = await session.scalars(
        select(ConsultationAppointment)
        .where(ConsultationAppointment.event_id == event_id)
        .order_by(ConsultationAppointment.department_id, ConsultationAppointment.id)
    )
    return list(rows)


async def request_ids(session: AsyncSession, appointment_ids: list[int]) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {a: [] for a in appointment_ids}
    if appointment_ids:
        rows = await session.execute(
            select(ServiceRequest.appointment_id, ServiceRequest.id)
            .where(ServiceRequest.appointment_id.in_(appointment_ids))
            .order_by(ServiceRequest.id)
        )
        for appointment_id, request_id in rows:
            if appointment_id is not None:
                found[appointment_id].append(request_id)
    return found


async def book(
    session: AsyncSession, actor: Principal, event_id: int, data: AppointmentCreate
) -> ConsultationAppointment:
    event = await get_event(session, event_id)
    if await session.get(Enterprise, data.enterprise_id) is None:
        raise unknown_reference("enterprise_id", "enterprise", data.enterprise_id)
    if data.department_id not in {d.id for d in event.departments}:
        raise field_problem(
            422,
            "department_not_at_event",
            "department_id",
            f"部门 {data.department_id} 未参加本次问诊会 / department {data.department_id} has no table at event "
            f"{event_id}",
        )
    existing = await session.scalar(
        select(ConsultationAppointment.id).where(
            ConsultationAppointment.event_id == event_id,
            ConsultationAppointment.enterprise_id == data.enterprise_id,
            ConsultationAppointment.department_id == data.department_id,
        )
    )
    if existing is not None:
        raise ConflictError(
            "duplicate",
            f"该企业已预约此部门 / enterprise {data.enterprise_id} already has an appointment with department "
            f"{data.department_id}",
            existing_id=existing,
        )
    appointment = ConsultationAppointment(event_id=event_id, **data.model_dump())
    session.add(appointment)
    await session.flush()
    audit.record(
        session, actor, "create", "consultation_appointment", appointment.id, None, audit.snapshot(appointment)
    )
    return appointment


async def raise_issue(
    session: AsyncSession,
    actor: Principal,
    event_id: int,
    appointment_id: int,
    data: AppointmentIssueCreate,
    now: datetime,
    today: date,
) -> ServiceRequest:
    event = await get_event(session, event_id)
    appointment = await session.get(ConsultationAppointment, appointment_id)
    if appointment is None or appointment.event_id != event_id:
        raise NotFoundError("appointment", appointment_id)
    if event.held_on > today:
        raise ConflictError(
            "event_not_held",
            f"问诊会将于 {event.held_on} 举行，届时才能登记诉求 / the fair is on {event.held_on}: issues are raised "
            "there",
        )
    received_at = service_requests.received_on_the_day(data.received_at, event.held_on, now, "问诊会 / fair")
    new = service_requests.NewRequest(
        enterprise_id=appointment.enterprise_id,
        service_type_id=data.service_type_id,
        title=data.title,
        description=data.description,
        received_at=received_at,
        assignee_id=data.assignee_id,
        department_id=appointment.department_id,
        source=RequestSource.consultation,
        appointment_id=appointment.id,
    )
    return await service_requests.register(session, actor, new, now)


@dataclass(frozen=True)
class EventFigures:
    event: ConsultationEvent
    enterprises: int
    departments: list[Department]  # the event's, then any an issue was routed to since
    appointments: dict[int, int]
    total: service_analytics.Outcomes
    per_department: dict[Any, service_analytics.Outcomes]


async def statistics(session: AsyncSession, event_id: int, as_of: date) -> EventFigures:
    """Per department: appointments, and the outcomes of the requests raised at the event and routed there."""
    event = await get_event(session, event_id)
    enterprises = await session.scalar(
        select(func.count(distinct(ConsultationAppointment.enterprise_id))).where(
            ConsultationAppointment.event_id == event_id
        )
    )
    rows = await session.execute(
        select(ConsultationAppointment.department_id, func.count())
        .where(ConsultationAppointment.event_id == event_id)
        .group_by(ConsultationAppointment.department_id)
    )
    appointments = {d: int(n) for d, n in rows}
    raised_here = ServiceRequest.appointment_id.in_(
        select(ConsultationAppointment.id).where(ConsultationAppointment.event_id == event_id)
    )
    total, per_department = await service_analytics.outcomes(
        session, [raised_here], as_of, group_by=ServiceRequest.department_id
    )
    departments = list(event.departments)
    extra = set(per_department) - {d.id for d in departments}
    if extra:
        departments += list(
            await session.scalars(select(Department).where(Department.id.in_(extra)).order_by(Department.id))
        )
    return EventFigures(event, int(enterprises or 0), departments, appointments, total, per_department)
