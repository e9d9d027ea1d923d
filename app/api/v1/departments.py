from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.api.deps import IdPath, IfMatchDep, SessionDep, require, set_etag, sort_dependency
from app.api.export import EXPORT_RESPONSES, ExportDep, each
from app.core.errors import problem_responses
from app.core.principal import Principal
from app.schemas.common import PageOut, SearchText
from app.schemas.department import DepartmentCreate, DepartmentRead, DepartmentUpdate
from app.services import departments as service
from app.services.pagination import PageRequest

router = APIRouter(prefix="/departments", tags=["service desk 企业服务"], responses=problem_responses(401, 403, 422))

DepartmentPage = Annotated[PageRequest, sort_dependency(service.DEPARTMENT_SORTS, default="code")]


@router.get(
    "",
    response_model=PageOut[DepartmentRead],
    summary="List departments (住建, 消防, 税务, 街道 …)",
    responses=EXPORT_RESPONSES,
)
async def list_departments(
    session: SessionDep,
    actor: Annotated[Principal, require("services:read")],
    page: DepartmentPage,
    export: ExportDep,
    q: Annotated[SearchText | None, Query(description="Code or name contains")] = None,
    active: bool | None = None,
) -> PageOut[DepartmentRead] | Response:
    if export.wanted:
        stmt = service.departments_query(q, active, page.sort)
        return await export.respond(actor, "部门", DepartmentRead, stmt, each(DepartmentRead.model_validate))
    result = await service.list_departments(session, q, active, page)
    return PageOut[DepartmentRead](
        items=[DepartmentRead.model_validate(d) for d in result.items],
        total=result.total,
        limit=result.limit,
        offset=result.offset,
    )


@router.post(
    "",
    response_model=DepartmentRead,
    status_code=status.HTTP_201_CREATED,
    summary="Add a department",
    responses=problem_responses(409, 415),
)
async def create_department(
    data: DepartmentCreate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("services:write")],
) -> DepartmentRead:
    department = await service.create_department(session, actor, data)
    response.headers["Location"] = f"/api/v1/departments/{department.id}"
    set_etag(response, department.version)
    return DepartmentRead.model_validate(department)


@router.get(
    "/{department_id:int}", response_model=DepartmentRead, summary="Read a department", responses=problem_responses(404)
)
async def get_department(
    department_id: IdPath,
    response: Response,
    session: SessionDep,
    _actor: Annotated[Principal, require("services:read")],
) -> DepartmentRead:
    department = await service.get_department(session, department_id)
    set_etag(response, department.version)
    return DepartmentRead.model_validate(department)


@router.patch(
    "/{department_id:int}",
    response_model=DepartmentRead,
    summary="Change or deactivate a department",
    responses=problem_responses(404, 409, 412, 415, 428),
)
async def update_department(
    department_id: IdPath,
    data: DepartmentUpdate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("services:write")],
    expected: IfMatchDep,
) -> DepartmentRead:
    department = await service.update_department(session, actor, department_id, data, expected)
    set_etag(response, department.version)
    return DepartmentRead.model_validate(department)


@router.delete(
    "/{department_id:int}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a department nothing refers to (otherwise 409: deactivate it)",
    responses=problem_responses(404, 409, 412, 428),
)
async def delete_department(
    department_id: IdPath,
    session: SessionDep,
    actor: Annotated[Principal, require("services:write")],
    expected: IfMatchDep,
) -> None:
    await service.delete_department(session, actor, department_id, expected)
