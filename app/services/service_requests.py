"""Service requests (企业诉求): the closed loop 登记 → 受理 → 办理 → 办结 → 评价, with due dates in working days.

A request is due `time_limit_working_days` working days after the day it was received (that day never
counts), on the Chinese calendar. The limit is copied from the catalogue when the request is registered,
so a later change to the catalogue does not move earlier due dates. Status changes go one step at a time,
each dated when it happened; a request can be rejected (不予受理, with a reason code) before work starts.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import ColumnElement, Date, Select, and_, case, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import SHANGHAI, shanghai_date
from app.core.errors import ConflictError, NotFoundError, field_problem, unknown_reference
from app.core.principal import Principal
from app.models import (
    OPEN_STATUSES,
    REJECTABLE,
    REQUEST_FLOW,
    ConsultationAppointment,
    Enterprise,
    RejectionReason,
    RequestSource,
    RequestStatus,
    ServiceRequest,
    ServiceRequestEvent,
)
from app.models.functions import days_between
from app.schemas.service_request import Evaluate, Reject, Resolve, ServiceRequestUpdate, Transition
from app.services import audit, work_calendar
from app.services.departments import active_department
from app.services.pagination import Page, PageRequest, ordered, page_of
from app.services.service_officers import eligible_officer
from app.services.service_types import active_type
from app.services.versioning import check_version

REQUEST_SORTS: dict[str, Any] = {
    "received_at": ServiceRequest.received_at,
    "due_on": ServiceRequest.due_on,
    "resolved_on": ServiceRequest.resolved_on,
}


def open_on(day: date) -> ColumnElement[bool]:
    """Received by `day` and neither resolved nor rejected by then."""
    return and_(
        ServiceRequest.received_on <= day,
        or_(ServiceRequest.resolved_on.is_(None), ServiceRequest.resolved_on > day),
        or_(ServiceRequest.rejected_on.is_(None), ServiceRequest.rejected_on > day),
    )


@dataclass(frozen=True)
class RequestFilter:
    q: str | None = None
    status: RequestStatus | None = None
    enterprise_id: int | None = None
    service_type_id: int | None = None
    department_id: int | None = None
    assignee_id: int | None = None
    source: RequestSource | None = None
    visit_id: int | None = None
    consultation_event_id: int | None = None
    received_from: date | None = None
    received_to: date | None = None  # inclusive
    overdue_on: date | None = None  # open and past due on that day


def _filtered(flt: RequestFilter) -> Select[ServiceRequest]:
    stmt = select(ServiceRequest)
    if flt.q:
        needle = flt.q.lower()
        stmt = stmt.where(
            func.lower(ServiceRequest.title).contains(needle, autoescape=True)
            | func.lower(ServiceRequest.description).contains(needle, autoescape=True)
        )
    equals = {
        ServiceRequest.status: flt.status,
        ServiceRequest.enterprise_id: flt.enterprise_id,
        ServiceRequest.service_type_id: flt.service_type_id,
        ServiceRequest.department_id: flt.department_id,
        ServiceRequest.assignee_id: flt.assignee_id,
        ServiceRequest.source: flt.source,
        ServiceRequest.visit_id: flt.visit_id,
    }
    for column, value in equals.items():
        if value is not None:
            stmt = stmt.where(column == value)
    if flt.consultation_event_id is not None:
        appointments = select(ConsultationAppointment.id).where(
            ConsultationAppointment.event_id == flt.consultation_event_id
        )
        stmt = stmt.where(ServiceRequest.appointment_id.in_(appointments))
    if flt.received_from is not None:
        stmt = stmt.where(ServiceRequest.received_on >= flt.received_from)
    if flt.received_to is not None:
        stmt = stmt.where(ServiceRequest.received_on <= flt.received_to)
    if flt.overdue_on is not None:
        stmt = stmt.where(open_on(flt.overdue_on), ServiceRequest.due_on < flt.overdue_on)
    return stmt


def requests_query(flt: RequestFilter, sort: tuple[str, ...]) -> Select[ServiceRequest]:
    """The list's statement in its order: one page of it for the list, all of it for an export."""
    return ordered(_filtered(flt), sort, REQUEST_SORTS, ServiceRequest.id)


async def list_requests(session: AsyncSession, flt: RequestFilter, page: PageRequest) -> Page[ServiceRequest]:
    return await page_of(session, requests_query(flt, page.sort), page)


async def get_request(session: AsyncSession, request_id: int) -> ServiceRequest:
    found = await session.get(ServiceRequest, request_id)
    if found is None:
        raise NotFoundError("service request", request_id)
    return found


def not_after_now(field: str, instant: datetime, now: datetime) -> None:
    if instant > now:
        raise field_problem(
            422,
            "date_in_future",
            field,
            f"{instant.isoformat()} 晚于当前时间：请填写实际发生的时间 / {field} is in the future; "
            "enter when it actually happened",
        )


@dataclass(frozen=True)
class NewRequest:
    enterprise_id: int
    service_type_id: int
    title: str
    description: str
    received_at: datetime | None
    assignee_id: int | None
    department_id: int | None
    source: RequestSource = RequestSource.direct
    visit_id: int | None = None
    appointment_id: int | None = None


def received_on_the_day(received_at: datetime | None, day: date, now: datetime, what: str) -> datetime:
    """When an issue raised on a visit or at a fair was received: as given, or 09:00 (Asia/Shanghai) that
    day; never in the future, never before that day."""
    instant = received_at or min(datetime.combine(day, time(9, 0), SHANGHAI), now)
    not_after_now("received_at", instant, now)  # first: a far-future instant has no Shanghai date
    if instant.astimezone(SHANGHAI).date() < day:
        raise field_problem(422, "date_order", "received_at", f"早于{what}日期 {day} / before the {what} ({day})")
    return instant


async def register(session: AsyncSession, actor: Principal, new: NewRequest, now: datetime) -> ServiceRequest:
    enterprise = await session.get(Enterprise, new.enterprise_id)
    if enterprise is None:
        raise unknown_reference("enterprise_id", "enterprise", new.enterprise_id)
    service_type = await active_type(session, new.service_type_id)
    department_id = new.department_id or service_type.department_id
    await active_department(session, "department_id", department_id)
    assignee_id = new.assignee_id or enterprise.service_officer_id
    if new.assignee_id is not None:
        await eligible_officer(session, "assignee_id", new.assignee_id)
    received_at = (new.received_at or now).astimezone(UTC)  # instants are answered in UTC
    not_after_now("received_at", received_at, now)
    received_on = shanghai_date(received_at)
    due_on = await work_calendar.due_date(session, received_on, service_type.time_limit_working_days)
    request = ServiceRequest(
        enterprise_id=new.enterprise_id,
        service_type_id=service_type.id,
        department_id=department_id,
        assignee_id=assignee_id,
        source=new.source,
        visit_id=new.visit_id,
        appointment_id=new.appointment_id,
        title=new.title,
        description=new.description,
        received_at=received_at,
        received_on=received_on,
        time_limit_working_days=service_type.time_limit_working_days,
        due_on=due_on,
        status=RequestStatus.registered,
        status_changed_at=received_at,
    )
    session.add(request)
    await session.flush()
    session.add(
        ServiceRequestEvent(
            request_id=request.id,
            from_status=None,
            to_status=RequestStatus.registered,
            occurred_at=received_at,
            recorded_by=actor.name,
        )
    )
    audit.record(session, actor, "create", "service_request", request.id, None, audit.snapshot(request))
    return request


async def update_request(
    session: AsyncSession,
    actor: Principal,
    request_id: int,
    data: ServiceRequestUpdate,
    expected: frozenset[int] | None,
) -> ServiceRequest:
    request = await get_request(session, request_id)
    check_version(request.version, expected)
    changes = data.model_dump(exclude_unset=True)
    routing = {"department_id", "assignee_id"} & changes.keys()
    if routing and not is_open(request):
        # Who handled a closed request is part of the past periods' figures: it stays as it was.
        raise ConflictError(
            "request_closed",
            f"诉求已{request.status.value}，不能再改派 / the request is {request.status.value}: it can no longer be "
            f"routed ({', '.join(sorted(routing))})",
        )
    before = audit.snapshot(request)
    if changes.get("service_type_id", request.service_type_id) != request.service_type_id:
        if request.status is not RequestStatus.registered:
            raise ConflictError(
                "request_type_fixed",
                "诉求已受理，不能更改事项类型 / the type can change only while the request is registered "
                f"(it is {request.status.value})",
            )
        service_type = await active_type(session, changes["service_type_id"])
        request.time_limit_working_days = service_type.time_limit_working_days
        request.due_on = await work_calendar.due_date(
            session, request.received_on, service_type.time_limit_working_days
        )
        if "department_id" not in changes:
            changes["department_id"] = service_type.department_id
    if changes.get("department_id") is not None:
        await active_department(session, "department_id", changes["department_id"])
    if changes.get("assignee_id") is not None:
        await eligible_officer(session, "assignee_id", changes["assignee_id"])
    for field, value in changes.items():
        setattr(request, field, value)
    await session.flush()
    audit.record(session, actor, "update", "service_request", request.id, before, audit.snapshot(request))
    return request


def transition_problem(current: RequestStatus, target: RequestStatus) -> str | None:
    """Why current → target is not allowed, or None: one step forward, or rejection before work starts."""
    if target is RequestStatus.rejected:
        if current in REJECTABLE:
            return None
        return f"a request that is {current.value} can no longer be rejected"
    if current is RequestStatus.rejected:
        return "the request was rejected; it is closed"
    if current is RequestStatus.evaluated:
        return "the request is evaluated; it is closed"
    expected = REQUEST_FLOW[REQUEST_FLOW.index(current) + 1]
    if target is not expected:
        return f"the next step after {current.value} is {expected.value}"
    return None


async def transition(
    session: AsyncSession,
    actor: Principal,
    request_id: int,
    data: Transition,
    expected: frozenset[int] | None,
    now: datetime,
) -> ServiceRequestEvent:
    request = await get_request(session, request_id)
    check_version(request.version, expected)
    problem = transition_problem(request.status, data.to_status)
    if problem:
        raise ConflictError(
            "invalid_transition",
            f"不允许的状态变更 / {request.status.value} → {data.to_status.value}: {problem}",
            current_status=request.status.value,
        )
    occurred_at = data.occurred_at or now
    not_after_now("occurred_at", occurred_at, now)
    if occurred_at < request.status_changed_at:
        raise field_problem(
            422,
            "out_of_order",
            "occurred_at",
            f"早于上一次状态变更 {request.status_changed_at.isoformat()} / before the last status change",
        )
    before = audit.snapshot(request)
    day = shanghai_date(occurred_at)
    reason: RejectionReason | None = None
    if isinstance(data, Resolve):
        request.resolved_on = day
        request.resolution = data.resolution
    elif isinstance(data, Evaluate):
        today = shanghai_date(now)
        if data.callback_on > today:
            raise field_problem(
                422, "date_in_future", "callback_on", f"回访日期晚于今天 {today} / callback_on is in the future"
            )
        if data.callback_on > day:
            raise field_problem(
                422,
                "date_order",
                "callback_on",
                f"回访日期晚于记录的评价时间 {day} / the evaluation (occurred_at, {day}) cannot precede the call-back",
            )
        if request.resolved_on is not None and data.callback_on < request.resolved_on:
            raise field_problem(
                422,
                "date_order",
                "callback_on",
                f"回访日期早于办结日期 {request.resolved_on} / callback_on is before the resolution "
                f"({request.resolved_on})",
            )
        request.callback_on = data.callback_on
        request.satisfaction = data.satisfaction
        request.evaluated_on = data.callback_on
    elif isinstance(data, Reject):
        request.rejected_on = day
        request.rejection_reason = reason = data.reason_code
    event = ServiceRequestEvent(
        request_id=request.id,
        from_status=request.status,
        to_status=data.to_status,
        occurred_at=occurred_at,
        note=data.note,
        reason_code=reason,
        recorded_by=actor.name,
    )
    request.status = data.to_status
    request.status_changed_at = occurred_at
    session.add(event)
    await session.flush()
    audit.record(session, actor, "status_change", "service_request", request.id, before, audit.snapshot(request))
    return event


async def events_of(session: AsyncSession, request_id: int) -> list[ServiceRequestEvent]:
    await get_request(session, request_id)
    rows = await session.scalars(
        select(ServiceRequestEvent)
        .where(ServiceRequestEvent.request_id == request_id)
        .order_by(ServiceRequestEvent.occurred_at, ServiceRequestEvent.id)
    )
    return list(rows)


def is_open(request: ServiceRequest) -> bool:
    return request.status in OPEN_STATUSES


# --- breaches ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BreachFilter:
    as_of: date
    kind: str | None = None  # open_overdue | resolved_late
    department_id: int | None = None
    assignee_id: int | None = None
    service_type_id: int | None = None
    received_from: date | None = None
    received_to: date | None = None


def _breach_condition(flt: BreachFilter) -> ColumnElement[bool]:
    open_overdue = and_(open_on(flt.as_of), ServiceRequest.due_on < flt.as_of)
    resolved_late = and_(ServiceRequest.resolved_on <= flt.as_of, ServiceRequest.resolved_on > ServiceRequest.due_on)
    if flt.kind == "open_overdue":
        return open_overdue
    if flt.kind == "resolved_late":
        return resolved_late
    return or_(open_overdue, resolved_late)


async def breaches(
    session: AsyncSession, flt: BreachFilter, limit: int, offset: int
) -> tuple[list[tuple[ServiceRequest, int]], int]:
    """Requests past their limit as of a date: still open after due_on, or resolved after it; worst first."""
    stmt = select(ServiceRequest).where(_breach_condition(flt))
    for column, value in (
        (ServiceRequest.department_id, flt.department_id),
        (ServiceRequest.assignee_id, flt.assignee_id),
        (ServiceRequest.service_type_id, flt.service_type_id),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if flt.received_from is not None:
        stmt = stmt.where(ServiceRequest.received_on >= flt.received_from)
    if flt.received_to is not None:
        stmt = stmt.where(ServiceRequest.received_on <= flt.received_to)
    total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = await session.execute(
        stmt.add_columns(days_late(flt.as_of).label("days_late"))
        .order_by(days_late(flt.as_of).desc(), ServiceRequest.id)
        .limit(limit)
        .offset(offset)
    )
    return [(request, int(late)) for request, late in rows], int(total or 0)


def days_late(as_of: date) -> ColumnElement[int]:
    """Days past due: until the resolution if there was one by `as_of`, else until `as_of`."""
    end = case((ServiceRequest.resolved_on <= as_of, ServiceRequest.resolved_on), else_=literal(as_of, Date))
    return days_between(end, ServiceRequest.due_on)
