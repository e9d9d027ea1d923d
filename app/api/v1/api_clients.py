from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.api.deps import IdPath, IfMatchDep, SessionDep, require, set_etag, sort_dependency
from app.api.export import EXPORT_RESPONSES, ExportDep, each
from app.core.errors import problem_responses
from app.core.principal import Principal
from app.schemas.api_client import ApiClientCreate, ApiClientRead, ApiClientUpdate, ApiClientWithSecret
from app.schemas.common import PageOut, SearchText
from app.services import api_clients as service
from app.services.pagination import PageRequest

router = APIRouter(prefix="/clients", tags=["clients 对接系统"], responses=problem_responses(401, 403, 422))

ClientPage = Annotated[PageRequest, sort_dependency(service.CLIENT_SORTS, default="name")]


@router.get(
    "",
    response_model=PageOut[ApiClientRead],
    summary="List API clients (district systems)",
    responses=EXPORT_RESPONSES,
)
async def list_clients(
    session: SessionDep,
    actor: Annotated[Principal, require("clients:read")],
    page: ClientPage,
    export: ExportDep,
    q: Annotated[SearchText | None, Query(description="Name contains")] = None,
    is_active: bool | None = None,
) -> PageOut[ApiClientRead] | Response:
    flt = service.ApiClientFilter(q=q, is_active=is_active)
    if export.wanted:
        stmt = service.clients_query(flt, page.sort)
        return await export.respond(actor, "对接系统", ApiClientRead, stmt, each(ApiClientRead.model_validate))
    result = await service.list_clients(session, flt, page)
    return PageOut[ApiClientRead](
        items=[ApiClientRead.model_validate(c) for c in result.items],
        total=result.total,
        limit=result.limit,
        offset=result.offset,
    )


@router.post(
    "",
    response_model=ApiClientWithSecret,
    status_code=status.HTTP_201_CREATED,
    summary="Register an API client; the secret is in this response only",
    responses=problem_responses(415),
)
async def create_client(
    data: ApiClientCreate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("clients:write")],
) -> ApiClientWithSecret:
    client, secret = await service.create_client(session, actor, data)
    response.headers["Location"] = f"/api/v1/clients/{client.id}"
    set_etag(response, client.version)
    return ApiClientWithSecret(**ApiClientRead.model_validate(client).model_dump(), client_secret=secret)


@router.get(
    "/{client_pk:int}",
    response_model=ApiClientRead,
    summary="Read an API client",
    responses=problem_responses(404),
)
async def get_client(
    client_pk: IdPath,
    response: Response,
    session: SessionDep,
    _actor: Annotated[Principal, require("clients:read")],
) -> ApiClientRead:
    client = await service.get_client(session, client_pk)
    set_etag(response, client.version)
    return ApiClientRead.model_validate(client)


@router.patch(
    "/{client_pk:int}",
    response_model=ApiClientRead,
    summary="Rename, re-scope or disable an API client",
    responses=problem_responses(404, 412, 415, 428),
)
async def update_client(
    client_pk: IdPath,
    data: ApiClientUpdate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("clients:write")],
    expected: IfMatchDep,
) -> ApiClientRead:
    client = await service.update_client(session, actor, client_pk, data, expected)
    set_etag(response, client.version)
    return ApiClientRead.model_validate(client)


@router.post(
    "/{client_pk:int}/rotate-secret",
    response_model=ApiClientWithSecret,
    summary="Issue a new client secret; the old one and tokens issued before stop working",
    responses=problem_responses(404, 412, 428),
)
async def rotate_secret(
    client_pk: IdPath,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("clients:write")],
    expected: IfMatchDep,
) -> ApiClientWithSecret:
    client, secret = await service.rotate_secret(session, actor, client_pk, expected)
    set_etag(response, client.version)
    return ApiClientWithSecret(**ApiClientRead.model_validate(client).model_dump(), client_secret=secret)
