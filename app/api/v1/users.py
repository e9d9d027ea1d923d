from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.api.deps import IdPath, IfMatchDep, SessionDep, require, set_etag, sort_dependency
from app.api.export import EXPORT_RESPONSES, ExportDep, each
from app.core.errors import problem_responses
from app.core.principal import Principal
from app.core.scopes import Role
from app.schemas.common import PageOut, SearchText
from app.schemas.user import UserCreate, UserRead, UserUpdate
from app.services import users as service
from app.services.pagination import PageRequest

router = APIRouter(prefix="/users", tags=["users 员工账号"], responses=problem_responses(401, 403, 422))

UserPage = Annotated[PageRequest, sort_dependency(service.USER_SORTS, default="username")]


@router.get("", response_model=PageOut[UserRead], summary="List staff accounts", responses=EXPORT_RESPONSES)
async def list_users(
    session: SessionDep,
    actor: Annotated[Principal, require("users:read")],
    page: UserPage,
    export: ExportDep,
    q: Annotated[SearchText | None, Query(description="Username or name contains")] = None,
    role: Role | None = None,
    is_active: bool | None = None,
) -> PageOut[UserRead] | Response:
    flt = service.UserFilter(q=q, role=role, is_active=is_active)
    if export.wanted:
        stmt = service.users_query(flt, page.sort)
        return await export.respond(actor, "员工账号", UserRead, stmt, each(UserRead.model_validate))
    result = await service.list_users(session, flt, page)
    return PageOut[UserRead](
        items=[UserRead.model_validate(u) for u in result.items],
        total=result.total,
        limit=result.limit,
        offset=result.offset,
    )


@router.post(
    "",
    response_model=UserRead,
    status_code=status.HTTP_201_CREATED,
    summary="Create a staff account",
    responses=problem_responses(409, 415),
)
async def create_user(
    data: UserCreate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("users:write")],
) -> UserRead:
    user = await service.create_user(session, actor, data)
    response.headers["Location"] = f"/api/v1/users/{user.id}"
    set_etag(response, user.version)
    return UserRead.model_validate(user)


@router.get("/{user_id:int}", response_model=UserRead, summary="Read a staff account", responses=problem_responses(404))
async def get_user(
    user_id: IdPath, response: Response, session: SessionDep, _actor: Annotated[Principal, require("users:read")]
) -> UserRead:
    user = await service.get_user(session, user_id)
    set_etag(response, user.version)
    return UserRead.model_validate(user)


@router.patch(
    "/{user_id:int}",
    response_model=UserRead,
    summary="Change, disable or reset the password of a staff account",
    description="Send `If-Match` with the ETag you read. `is_active=false` disables the account at once.",
    responses=problem_responses(404, 409, 412, 415, 428),
)
async def update_user(
    user_id: IdPath,
    data: UserUpdate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("users:write")],
    expected: IfMatchDep,
) -> UserRead:
    user = await service.update_user(session, actor, user_id, data, expected)
    set_etag(response, user.version)
    return UserRead.model_validate(user)
