from typing import Annotated

from fastapi import APIRouter, Response, status

from app.api.deps import IdPath, IdQuery, IfMatchDep, SessionDep, require, set_etag, sort_dependency
from app.api.export import EXPORT_RESPONSES, ExportDep, each
from app.core.errors import problem_responses
from app.core.principal import Principal
from app.models import ServiceCategory
from app.schemas.common import PageOut
from app.schemas.service_type import ServiceTypeCreate, ServiceTypeRead, ServiceTypeUpdate
from app.services import service_types as service
from app.services.pagination import PageRequest

router = APIRouter(prefix="/service-types", tags=["service desk 企业服务"], responses=problem_responses(401, 403, 422))

TypePage = Annotated[PageRequest, sort_dependency(service.SERVICE_TYPE_SORTS, default="code")]


@router.get(
    "",
    response_model=PageOut[ServiceTypeRead],
    summary="The service catalogue: request types, responsible department, time limit in working days",
    responses=EXPORT_RESPONSES,
)
async def list_types(
    session: SessionDep,
    actor: Annotated[Principal, require("services:read")],
    page: TypePage,
    export: ExportDep,
    category: ServiceCategory | None = None,
    department_id: IdQuery = None,
    active: bool | None = None,
) -> PageOut[ServiceTypeRead] | Response:
    if export.wanted:
        stmt = service.types_query(category, department_id, active, page.sort)
        return await export.respond(actor, "服务事项", ServiceTypeRead, stmt, each(ServiceTypeRead.model_validate))
    result = await service.list_types(session, category, department_id, active, page)
    return PageOut[ServiceTypeRead](
        items=[ServiceTypeRead.model_validate(t) for t in result.items],
        total=result.total,
        limit=result.limit,
        offset=result.offset,
    )


@router.post(
    "",
    response_model=ServiceTypeRead,
    status_code=status.HTTP_201_CREATED,
    summary="Add a request type to the catalogue",
    responses=problem_responses(409, 415),
)
async def create_type(
    data: ServiceTypeCreate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("services:write")],
) -> ServiceTypeRead:
    service_type = await service.create_type(session, actor, data)
    response.headers["Location"] = f"/api/v1/service-types/{service_type.id}"
    set_etag(response, service_type.version)
    return ServiceTypeRead.model_validate(service_type)


@router.get(
    "/{type_id:int}", response_model=ServiceTypeRead, summary="Read a request type", responses=problem_responses(404)
)
async def get_type(
    type_id: IdPath,
    response: Response,
    session: SessionDep,
    _actor: Annotated[Principal, require("services:read")],
) -> ServiceTypeRead:
    service_type = await service.get_type(session, type_id)
    set_etag(response, service_type.version)
    return ServiceTypeRead.model_validate(service_type)


@router.patch(
    "/{type_id:int}",
    response_model=ServiceTypeRead,
    summary="Change a request type (a new time limit applies to requests registered afterwards)",
    responses=problem_responses(404, 409, 412, 415, 428),
)
async def update_type(
    type_id: IdPath,
    data: ServiceTypeUpdate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("services:write")],
    expected: IfMatchDep,
) -> ServiceTypeRead:
    service_type = await service.update_type(session, actor, type_id, data, expected)
    set_etag(response, service_type.version)
    return ServiceTypeRead.model_validate(service_type)


@router.delete(
    "/{type_id:int}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an unused request type (otherwise 409: deactivate it)",
    responses=problem_responses(404, 409, 412, 428),
)
async def delete_type(
    type_id: IdPath,
    session: SessionDep,
    actor: Annotated[Principal, require("services:write")],
    expected: IfMatchDep,
) -> None:
    await service.delete_type(session, actor, type_id, expected)
