from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response, status

from app.api.deps import (
    IdPath,
    IdQuery,
    IfMatchDep,
    NowDep,
    SessionDep,
    TodayDep,
    page_params,
    require,
    set_etag,
    sort_dependency,
)
from app.api.export import EXPORT_RESPONSES, ExportDep, each
from app.core.errors import problem_responses
from app.core.principal import Principal
from app.models import RequestSource, RequestStatus, ServiceRequest
from app.schemas.common import PageOut, QueryDate, SearchText
from app.schemas.service_request import (
    Breach,
    BreachPage,
    ServiceRequestCreate,
    ServiceRequestEventRead,
    ServiceRequestRead,
    ServiceRequestUpdate,
    Transition,
)
from app.services import service_requests as service
from app.services.pagination import PageRequest

router = APIRouter(
    prefix="/service-requests", tags=["service desk 企业服务"], responses=problem_responses(401, 403, 422)
)

RequestPage = Annotated[PageRequest, sort_dependency(service.REQUEST_SORTS, default="-received_at")]


def to_read(request: ServiceRequest, today: date) -> ServiceRequestRead:
    overdue = service.is_open(request) and request.due_on < today
    return ServiceRequestRead.model_validate(
        {
            **{k: getattr(request, k) for k in ServiceRequestRead.model_fields if hasattr(request, k)},
            "on_time": None if request.resolved_on is None else request.resolved_on <= request.due_on,
            "overdue": overdue,
            "days_overdue": (today - request.due_on).days if overdue else 0,
        }
    )


@router.get(
    "",
    response_model=PageOut[ServiceRequestRead],
    summary="List service requests",
    description="`overdue=true` keeps requests still open after their due date today (Asia/Shanghai).",
    responses=EXPORT_RESPONSES,
)
async def list_requests(
    session: SessionDep,
    actor: Annotated[Principal, require("services:read")],
    today: TodayDep,
    page: RequestPage,
    export: ExportDep,
    q: Annotated[SearchText | None, Query(description="Title or description contains")] = None,
    status: RequestStatus | None = None,
    enterprise_id: IdQuery = None,
    service_type_id: IdQuery = None,
    department_id: IdQuery = None,
    assignee_id: IdQuery = None,
    source: RequestSource | None = None,
    visit_id: IdQuery = None,
    consultation_event_id: IdQuery = None,
    received_from: QueryDate | None = None,
    received_to: Annotated[QueryDate | None, Query(description="Inclusive")] = None,
    overdue: Annotated[bool, Query(description="Only those open past their due date today")] = False,
) -> PageOut[ServiceRequestRead] | Response:
    flt = service.RequestFilter(
        q=q,
        status=status,
        enterprise_id=enterprise_id,
        service_type_id=service_type_id,
        department_id=department_id,
        assignee_id=assignee_id,
        source=source,
        visit_id=visit_id,
        consultation_event_id=consultation_event_id,
        received_from=received_from,
        received_to=received_to,
        overdue_on=today if overdue else None,
    )
    if export.wanted:
        stmt = service.requests_query(flt, page.sort)
        return await export.respond(actor, "企业诉求", ServiceRequestRead, stmt, each(lambda r: to_read(r, today)))
    result = await service.list_requests(session, flt, page)
    return PageOut[ServiceRequestRead](
        items=[to_read(r, today) for r in result.items], total=result.total, limit=result.limit, offset=result.offset
    )


@router.post(
    "",
    response_model=ServiceRequestRead,
    status_code=status.HTTP_201_CREATED,
    summary="Register a service request (登记)",
    description=(
        "The due date is `time_limit_working_days` of the type counted from the day after `received_at` "
        "(Asia/Shanghai), on the working-day calendar. The department defaults to the type's, the assignee to "
        "the enterprise's primary service officer. A limit reaching a year whose holiday arrangement is not on "
        "record answers 422 `calendar_year_missing`."
    ),
    responses=problem_responses(409, 415),
)
async def create_request(
    data: ServiceRequestCreate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("services:write")],
    current: NowDep,
    today: TodayDep,
) -> ServiceRequestRead:
    new = service.NewRequest(**data.model_dump())
    request = await service.register(session, actor, new, current)
    response.headers["Location"] = f"/api/v1/service-requests/{request.id}"
    set_etag(response, request.version)
    return to_read(request, today)


@router.get(
    "/breaches",
    response_model=BreachPage,
    summary="Requests past their time limit as of a date, worst first",
    description=(
        "`open_overdue`: received by `as_of`, neither resolved nor rejected by then, due before `as_of`. "
        "`resolved_late`: resolved by `as_of`, after the due date. `days_late` counts calendar days."
    ),
)
async def breaches(
    session: SessionDep,
    _actor: Annotated[Principal, require("services:read")],
    today: TodayDep,
    paging: Annotated[tuple[int, int], Depends(page_params)],
    as_of: QueryDate | None = None,
    kind: Literal["open_overdue", "resolved_late"] | None = None,
    department_id: IdQuery = None,
    assignee_id: IdQuery = None,
    service_type_id: IdQuery = None,
    received_from: QueryDate | None = None,
    received_to: Annotated[QueryDate | None, Query(description="Inclusive")] = None,
) -> BreachPage:
    limit, offset = paging
    flt = service.BreachFilter(
        as_of=as_of or today,
        kind=kind,
        department_id=department_id,
        assignee_id=assignee_id,
        service_type_id=service_type_id,
        received_from=received_from,
        received_to=received_to,
    )
    rows, total = await service.breaches(session, flt, limit, offset)
    items = [
        Breach(
            request_id=r.id,
            kind="resolved_late" if r.resolved_on is not None and r.resolved_on <= flt.as_of else "open_overdue",
            enterprise_id=r.enterprise_id,
            service_type_id=r.service_type_id,
            department_id=r.department_id,
            assignee_id=r.assignee_id,
            title=r.title,
            status=r.status,
            received_on=r.received_on,
            due_on=r.due_on,
            resolved_on=r.resolved_on,
            days_late=late,
        )
        for r, late in rows
    ]
    return BreachPage(as_of=flt.as_of, items=items, total=total, limit=limit, offset=offset)


@router.get(
    "/{request_id:int}",
    response_model=ServiceRequestRead,
    summary="Read a service request",
    responses=problem_responses(404),
)
async def get_request(
    request_id: IdPath,
    response: Response,
    session: SessionDep,
    _actor: Annotated[Principal, require("services:read")],
    today: TodayDep,
) -> ServiceRequestRead:
    request = await service.get_request(session, request_id)
    set_etag(response, request.version)
    return to_read(request, today)


@router.patch(
    "/{request_id:int}",
    response_model=ServiceRequestRead,
    summary="Change a request's text, route it to another department or officer",
    responses=problem_responses(404, 409, 412, 415, 428),
)
async def update_request(
    request_id: IdPath,
    data: ServiceRequestUpdate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("services:write")],
    expected: IfMatchDep,
    today: TodayDep,
) -> ServiceRequestRead:
    request = await service.update_request(session, actor, request_id, data, expected)
    set_etag(response, request.version)
    return to_read(request, today)


@router.get(
    "/{request_id:int}/events",
    response_model=list[ServiceRequestEventRead],
    summary="A request's status history, oldest first",
    responses=problem_responses(404),
)
async def list_events(
    request_id: IdPath, session: SessionDep, _actor: Annotated[Principal, require("services:read")]
) -> list[ServiceRequestEventRead]:
    return [ServiceRequestEventRead.model_validate(e) for e in await service.events_of(session, request_id)]


@router.post(
    "/{request_id:int}/transitions",
    response_model=ServiceRequestRead,
    summary="Move a request one step: accept, start, resolve, evaluate, or reject",
    description=(
        "`registered → accepted → in_progress → resolved → evaluated`, one step at a time; `rejected` "
        "(不予受理, with `reason_code`) from registered or accepted. `resolved` needs `resolution`; `evaluated` "
        "needs the call-back date and a satisfaction rating. `occurred_at` is when it happened (default now). "
        "A skipped or reversed step answers 409 `invalid_transition`. Needs the request's If-Match."
    ),
    responses=problem_responses(404, 409, 412, 415, 428),
)
async def transition(
    request_id: IdPath,
    data: Transition,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("services:write")],
    expected: IfMatchDep,
    current: NowDep,
    today: TodayDep,
) -> ServiceRequestRead:
    await service.transition(session, actor, request_id, data, expected, current)
    request = await service.get_request(session, request_id)
    set_etag(response, request.version)
    return to_read(request, today)
