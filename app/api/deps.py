"""Dependencies every router shares: session, caller, scopes, paging, sorting, If-Match.

Every dependency is `async def`, even those that do no I/O: FastAPI runs a plain `def` dependency in a worker
thread, a hop that costs more than the work (measured in bench/README.md).
"""

import re
from collections.abc import AsyncIterator, Collection
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Depends, Header, Path, Query, Request, Response, Security, params
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlowPassword, OAuthFlows
from fastapi.security import OAuth2, SecurityScopes
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock, shanghai_date
from app.core.config import Settings
from app.core.db import Database
from app.core.errors import ProblemError
from app.core.principal import Principal
from app.core.scopes import SCOPES
from app.core.security import InvalidTokenError, decode_access_token
from app.schemas.common import MAX_ID
from app.services.auth import principals, resolve_principal
from app.services.pagination import PageRequest

TOKEN_URL = "/api/v1/auth/token"  # noqa: S105 - a path, not a password
MAX_PAGE_SIZE = 200

oauth2_scheme = OAuth2(
    flows=OAuthFlows(
        password=OAuthFlowPassword(tokenUrl=TOKEN_URL, scopes=SCOPES),
        clientCredentials=OAuthFlowClientCredentials(tokenUrl=TOKEN_URL, scopes=SCOPES),
    ),
    scheme_name="OAuth2",
    description="员工账号用 password，对接系统用 client_credentials / staff: password; systems: client credentials",
    auto_error=False,
)


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


READ_METHODS = frozenset({"GET", "HEAD"})


async def get_session(
    request: Request, database: Annotated[Database, Depends(get_database)]
) -> AsyncIterator[AsyncSession]:
    """A write (POST, PUT, PATCH, DELETE) runs in one transaction, committed before the response is sent
    (scope="function"). A read (GET, HEAD) gets a read-only session on the primary without a transaction:
    two round trips fewer, the same reads (see Database)."""
    if request.method in READ_METHODS:
        async with database.read_session() as session:
            yield session
    else:
        async with database.session() as session:
            yield session


async def get_analytics_session(
    database: Annotated[Database, Depends(get_database)],
) -> AsyncIterator[AsyncSession]:
    """Analytics and report reads: the replica when DATABASE_REPLICA_URL is set, else the primary."""
    async with database.read_session(analytics=True) as session:
        yield session


async def get_today(request: Request) -> date:
    """Today's business date in Asia/Shanghai, from the app's clock (settable in tests)."""
    clock: Clock = request.app.state.clock
    return shanghai_date(clock.now())


async def get_now(request: Request) -> datetime:
    """The current instant from the app's clock (settable in tests), for stamping and "not in the future"."""
    clock: Clock = request.app.state.clock
    return clock.now()


SettingsDep = Annotated[Settings, Depends(get_settings)]
TodayDep = Annotated[date, Depends(get_today)]
NowDep = Annotated[datetime, Depends(get_now)]
IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="Numeric id")]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]

_JSON_TYPES = ("application/json",)


async def require_json_body(request: Request) -> None:
    """415 for a JSON route sent another media type (instead of a puzzling 'not a dictionary' 422)."""
    route = request.scope.get("route")
    body_field = getattr(route, "body_field", None)
    if body_field is None or isinstance(body_field.field_info, params.Form):
        return
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    has_body = request.headers.get("content-length", "0") != "0" or "transfer-encoding" in request.headers
    if has_body and not (media_type in _JSON_TYPES or media_type.endswith("+json")):
        raise ProblemError(
            415,
            "unsupported_media_type",
            f"请求体应为 JSON（Content-Type: application/json），收到 {media_type or '无'} / "
            f"send the body as application/json, not {media_type or 'nothing'}",
        )


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
AnalyticsSessionDep = Annotated[AsyncSession, Depends(get_analytics_session, scope="function")]


def _unauthenticated(detail: str, error: str = "invalid_token") -> ProblemError:
    return ProblemError(
        401,
        "unauthenticated",
        detail,
        headers={"WWW-Authenticate": f'Bearer error="{error}"'},
    )


async def get_principal(
    security_scopes: SecurityScopes,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    authorization: Annotated[str | None, Depends(oauth2_scheme)],
) -> Principal:
    if not authorization:
        raise _unauthenticated("需要访问令牌 / an access token is required", error="invalid_request")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise _unauthenticated("需要 Bearer 访问令牌 / a Bearer access token is required", error="invalid_request")
    try:
        claims = decode_access_token(settings, token.strip())
    except InvalidTokenError:
        raise _unauthenticated("访问令牌无效或已过期 / the access token is invalid or expired") from None
    principal = principals.get(claims)
    if principal is None:
        principal = await resolve_principal(session, claims)
        if principal is None:
            raise _unauthenticated("账号已停用或不存在 / the account is disabled or no longer exists")
        principals.put(claims, principal, settings.auth_cache_seconds)
    request.scope["state"]["principal_label"] = principal.label
    missing = set(security_scopes.scopes) - principal.scopes
    if missing:
        raise ProblemError(
            403,
            "insufficient_scope",
            f"缺少权限范围 / missing scope(s): {' '.join(sorted(missing))}",
            headers={"WWW-Authenticate": f'Bearer error="insufficient_scope" scope="{" ".join(sorted(missing))}"'},
        )
    return principal


def require(*scopes: str) -> Any:
    """`actor: Annotated[Principal, require("users:write")]`: the caller, holding those scopes."""
    unknown = set(scopes) - SCOPES.keys()
    if unknown:
        raise ValueError(f"undeclared scope(s) {unknown}")
    return Security(get_principal, scopes=list(scopes))


# Any authenticated caller, whatever its scopes (e.g. "who am I").
AnyPrincipal = Annotated[Principal, Security(get_principal)]


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description=f"Page size, at most {MAX_PAGE_SIZE}")] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> tuple[int, int]:
    return limit, offset


def sort_dependency(allowed: Collection[str], default: str) -> Any:
    """A `sort` query parameter limited to `allowed` keys: `sort=-created_at,username`; empty = default."""
    keys = ", ".join(sorted(allowed))
    default_parts = tuple(default.split(","))

    async def dependency(
        paging: Annotated[tuple[int, int], Depends(page_params)],
        sort: Annotated[
            str,
            Query(max_length=200, description=f"Comma-separated keys, '-' for descending. Allowed: {keys}"),
        ] = default,
    ) -> PageRequest:
        parts = tuple(p.strip() for p in sort.split(",") if p.strip()) or default_parts
        bad = [p for p in parts if p.removeprefix("-") not in allowed]
        if bad:
            raise ProblemError(
                422,
                "validation_failed",
                f"不支持的排序字段 / unsupported sort key(s): {', '.join(bad)}; allowed: {keys}",
                errors=[
                    {"loc": ["query", "sort"], "message": f"unsupported sort key {b}", "type": "sort_key"} for b in bad
                ],
            )
        limit, offset = paging
        return PageRequest(limit=limit, offset=offset, sort=parts)

    return Depends(dependency)


_STRONG_ETAG = re.compile(r'^"(\d{1,18})"$')


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'


async def expected_version(
    request: Request,
    if_match: Annotated[
        str | None,
        Header(description='The ETag you read, e.g. `"3"` (a list is allowed); `*` means any version. Required.'),
    ] = None,
) -> frozenset[int] | None:
    """The versions the caller accepts (RFC 9110 If-Match, strong comparison); None for `*`.

    `if_match` documents the header in OpenAPI; the value is read from all If-Match headers.

    428 without If-Match. A value naming no version we could hold simply matches nothing (412).
    """
    sent, versions = _if_match(request)
    if not sent:
        raise ProblemError(
            428,
            "if_match_required",
            "修改需带 If-Match 头（读取时的 ETag）/ send If-Match with the ETag you read",
        )
    return versions


def _if_match(request: Request) -> tuple[bool, frozenset[int] | None]:
    """(was If-Match sent, the versions it accepts or None for `*`)."""
    values = ",".join(request.headers.getlist("if-match")).strip()
    if not values:
        return False, frozenset()
    tags = [tag.strip() for tag in values.split(",") if tag.strip()]
    if "*" in tags:
        return True, None
    # Weak tags (W/"3") never match under If-Match's strong comparison.
    return True, frozenset(int(m.group(1)) for tag in tags if (m := _STRONG_ETAG.match(tag)))


async def optional_if_match(
    request: Request,
    if_match: Annotated[
        str | None,
        Header(description='Required when replacing: the ETag you read, e.g. `"3"`; not needed to create.'),
    ] = None,
) -> tuple[bool, frozenset[int] | None]:
    """For PUT that creates or replaces: whether If-Match was sent, and what it accepts."""
    return _if_match(request)


IfMatchDep = Annotated[frozenset[int] | None, Depends(expected_version)]
OptionalIfMatchDep = Annotated[tuple[bool, frozenset[int] | None], Depends(optional_if_match)]
