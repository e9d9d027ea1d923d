"""District systems that call the API with OAuth2 client credentials."""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import NotFoundError, ProblemError
from app.core.principal import Principal
from app.core.scopes import unknown_scopes
from app.core.security import hash_secret, new_client_id, new_client_secret
from app.models import ApiClient
from app.schemas.api_client import ApiClientCreate, ApiClientUpdate
from app.services import audit, auth
from app.services.pagination import Page, PageRequest, ordered, page_of
from app.services.versioning import check_version

CLIENT_SORTS = {"name": ApiClient.name, "created_at": ApiClient.created_at, "client_id": ApiClient.client_id}


@dataclass(frozen=True)
class ApiClientFilter:
    q: str | None = None
    is_active: bool | None = None


def _scope_text(scopes: list[str]) -> str:
    requested = frozenset(scopes)
    unknown = unknown_scopes(requested)
    if unknown:
        raise ProblemError(
            422,
            "unknown_scope",
            f"未知权限范围 / unknown scope(s): {', '.join(sorted(unknown))}",
            errors=[
                {"loc": ["body", "scopes"], "message": f"unknown scope {s}", "type": "unknown_scope"}
                for s in sorted(unknown)
            ],
        )
    return " ".join(sorted(requested))


def clients_query(flt: ApiClientFilter, sort: tuple[str, ...]) -> Select[ApiClient]:
    """The list's statement in its order: one page of it for the list, all of it for an export."""
    stmt = select(ApiClient)
    if flt.q:
        stmt = stmt.where(func.lower(ApiClient.name).contains(flt.q.lower(), autoescape=True))
    if flt.is_active is not None:
        stmt = stmt.where(ApiClient.is_active == flt.is_active)
    return ordered(stmt, sort, CLIENT_SORTS, ApiClient.id)


async def list_clients(session: AsyncSession, flt: ApiClientFilter, page: PageRequest) -> Page[ApiClient]:
    return await page_of(session, clients_query(flt, page.sort), page)


async def get_client(session: AsyncSession, client_pk: int) -> ApiClient:
    client = await session.get(ApiClient, client_pk)
    if client is None:
        raise NotFoundError("client", client_pk)
    return client


async def create_client(session: AsyncSession, actor: Principal, data: ApiClientCreate) -> tuple[ApiClient, str]:
    """Returns the client and its plain secret, which is never stored or shown again."""
    secret = new_client_secret()
    client = ApiClient(
        client_id=new_client_id(),
        name=data.name,
        scopes=_scope_text(data.scopes),
        secret_hash=await hash_secret(secret),
        is_active=True,
        secret_rotated_at=datetime.now(UTC),
    )
    session.add(client)
    await session.flush()
    audit.record(session, actor, "create", "api_client", client.id, None, audit.snapshot(client))
    return client, secret


async def update_client(
    session: AsyncSession,
    actor: Principal,
    client_pk: int,
    data: ApiClientUpdate,
    expected_version: frozenset[int] | None,
) -> ApiClient:
    client = await get_client(session, client_pk)
    check_version(client.version, expected_version)
    changes = data.model_dump(exclude_unset=True)
    before = audit.snapshot(client)
    if changes.get("name") is not None:
        client.name = changes["name"]
    if changes.get("scopes") is not None:
        client.scopes = _scope_text(changes["scopes"])
    if changes.get("is_active") is not None:
        client.is_active = changes["is_active"]
    await session.flush()
    auth.principals.forget("client", client.id)
    audit.record(session, actor, "update", "api_client", client.id, before, audit.snapshot(client))
    return client


async def rotate_secret(
    session: AsyncSession, actor: Principal, client_pk: int, expected_version: frozenset[int] | None
) -> tuple[ApiClient, str]:
    client = await get_client(session, client_pk)
    check_version(client.version, expected_version)
    before = audit.snapshot(client)
    secret = new_client_secret()
    client.secret_hash = await hash_secret(secret)
    client.secret_rotated_at = datetime.now(UTC)
    await session.flush()
    auth.principals.forget("client", client.id)
    audit.record(session, actor, "rotate_secret", "api_client", client.id, before, audit.snapshot(client))
    return client, secret
