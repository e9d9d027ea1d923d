from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import (
    IdPath,
    IdQuery,
    IfMatchDep,
    NowDep,
    SessionDep,
    TodayDep,
    require,
    set_etag,
    sort_dependency,
)
from app.api.export import EXPORT_RESPONSES, ExportDep
from app.api.v1.service_requests import to_read as request_read
from app.core.errors import problem_responses
from app.core.principal import Principal
from app.models import Visit
from app.schemas.common import MAX_ID, PageOut, QueryDate
from app.schemas.service_request import ServiceRequestRead, VisitIssueCreate
from app.schemas.visit import StaffRef, VisitCreate, VisitRead, VisitUpdate
from app.services import visits as service
from app.services.pagination import PageRequest

router = APIRouter(prefix="/visits", tags=["service desk 企业服务"], responses=problem_responses(401, 403, 422))

VisitPage = Annotated[PageRequest, sort_dependency(service.VISIT_SORTS, default="-visited_on")]


def to_read(visit: Visit, request_ids: list[int]) -> VisitRead:
    return VisitRead(
        id=visit.id,
        enterprise_id=visit.enterprise_id,
        visited_on=visit.visited_on,
        officers=[StaffRef(id=o.id, display_name=o.display_name) for o in visit.officers],
        purpose=visit.purpose,
        findings=visit.findings,
        request_ids=request_ids,
        created_at=visit.created_at,
        updated_at=visit.updated_at,
        version=visit.version,
    )


async def _reads(session: AsyncSession, visits: Sequence[Visit]) -> list[VisitRead]:
    ids = await service.request_ids(session, [v.id for v in visits])
    return [to_read(v, ids[v.id]) for v in visits]


async def _answer(session: SessionDep, response: Response, visit: Visit) -> VisitRead:
    ids = await service.request_ids(session, [visit.id])
    set_etag(response, visit.version)
    return to_read(visit, ids[visit.id])


@router.get("", response_model=PageOut[VisitRead], summary="List visits (走访)", responses=EXPORT_RESPONSES)
async def list_visits(
    session: SessionDep,
    actor: Annotated[Principal, require("services:read")],
    page: VisitPage,
    export: ExportDep,
    enterprise_id: IdQuery = None,
    officer_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Visits this staff member went on")] = None,
    zone_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Enterprises in this zone or below")] = None,
    visited_from: QueryDate | None = None,
    visited_to: Annotated[QueryDate | None, Query(description="Inclusive")] = None,
) -> PageOut[VisitRead] | Response:
    flt = service.VisitFilter(
        enterprise_id=enterprise_id,
        officer_id=officer_id,
        zone_id=zone_id,
        visited_from=visited_from,
        visited_to=visited_to,
    )
    if export.wanted:
        return await export.respond(actor, "走访记录", VisitRead, service.visits_query(flt, page.sort), _reads)
    result = await service.list_visits(session, flt, page)
    return PageOut[VisitRead](
        items=await _reads(session, result.items),
        total=result.total,
        limit=result.limit,
        offset=result.offset,
    )


@router.post(
    "",
    response_model=VisitRead,
    status_code=status.HTTP_201_CREATED,
    summary="Record a visit",
    responses=problem_responses(415),
)
async def create_visit(
    data: VisitCreate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("services:write")],
    today: TodayDep,
) -> VisitRead:
    visit = await service.create_visit(session, actor, data, today)
    response.headers["Location"] = f"/api/v1/visits/{visit.id}"
    return await _answer(session, response, visit)


@router.get("/{visit_id:int}", response_model=VisitRead, summary="Read a visit", responses=problem_responses(404))
async def get_visit(
    visit_id: IdPath, response: Response, session: SessionDep, _actor: Annotated[Principal, require("services:read")]
) -> VisitRead:
    return await _answer(session, response, await service.get_visit(session, visit_id))


@router.patch(
    "/{visit_id:int}",
    response_model=VisitRead,
    summary="Change a visit (officers, when sent, replace the list)",
    responses=problem_responses(404, 412, 415, 428),
)
async def update_visit(
    visit_id: IdPath,
    data: VisitUpdate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("services:write")],
    expected: IfMatchDep,
    today: TodayDep,
) -> VisitRead:
    visit = await service.update_visit(session, actor, visit_id, data, expected, today)
    return await _answer(session, response, visit)


@router.delete(
    "/{visit_id:int}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a visit recorded by mistake (409 once it raised requests)",
    responses=problem_responses(404, 409, 412, 428),
)
async def delete_visit(
    visit_id: IdPath,
    session: SessionDep,
    actor: Annotated[Principal, require("services:write")],
    expected: IfMatchDep,
) -> None:
    await service.delete_visit(session, actor, visit_id, expected)


@router.post(
    "/{visit_id:int}/issues",
    response_model=ServiceRequestRead,
    status_code=status.HTTP_201_CREATED,
    summary="Register an issue found on the visit as a service request",
    description="The request belongs to the visited enterprise, with `source=visit`; `received_at` defaults to "
    "09:00 (Asia/Shanghai) on the visit day and may not be before it.",
    responses=problem_responses(404, 415),
)
async def raise_issue(
    visit_id: IdPath,
    data: VisitIssueCreate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("services:write")],
    current: NowDep,
    today: TodayDep,
) -> ServiceRequestRead:
    request = await service.raise_issue(session, actor, visit_id, data, current)
    response.headers["Location"] = f"/api/v1/service-requests/{request.id}"
    set_etag(response, request.version)
    return request_read(request, today)
