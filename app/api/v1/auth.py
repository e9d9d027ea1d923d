import base64
from typing import Annotated
from urllib.parse import unquote

from fastapi import APIRouter, Form, Header, Request, Response

from app.api.deps import AnyPrincipal, SessionDep, SettingsDep
from app.core.errors import problem_responses
from app.schemas.auth import Me, TokenResponse
from app.services import auth as auth_service

router = APIRouter(prefix="/auth", tags=["auth 认证"])


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """RFC 6749 §2.3.1: clients may authenticate with HTTP Basic (form-urlencoded id and secret)."""
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except ValueError:  # bad base64, non-ASCII input or undecodable bytes
        return None
    client_id, sep, secret = decoded.partition(":")
    return (unquote(client_id), unquote(secret)) if sep else None


_LIMITS = {"username": 64, "password": 128, "client_id": 64, "client_secret": 128, "scope": 2000}


def _invalid_request(detail: str) -> auth_service.OAuthError:
    return auth_service.OAuthError(400, "invalid_request", detail)


@router.post(
    "/token",
    response_model=TokenResponse,
    summary="Get an access token (password or client_credentials grant)",
    description=(
        "OAuth2 token endpoint, form-encoded. Staff: `grant_type=password` with `username` and `password`. "
        "District systems: `grant_type=client_credentials` with `client_id`/`client_secret` in the form or "
        "as HTTP Basic. `scope` (space-separated) narrows the grant: granted = requested ∩ allowed. "
        "Errors are problem+json; 400/401 also carry OAuth2's `error` member (`invalid_request`, "
        "`unsupported_grant_type`, `invalid_grant`, `invalid_client`, `invalid_scope`). Repeated failures "
        "for one account from one address answer 429 with `Retry-After`.\n\n"
        "员工使用 password 授权，对接系统使用 client_credentials 授权。"
    ),
    responses=problem_responses(400, 401, 413, 429),
)
async def issue_token(
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    grant_type: Annotated[str | None, Form(description="`password` or `client_credentials`")] = None,
    username: Annotated[str | None, Form()] = None,
    password: Annotated[str | None, Form()] = None,
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
    scope: Annotated[str | None, Form(description="Space-separated scopes to ask for")] = None,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> TokenResponse:
    # Validated here rather than by the schema so that every failure speaks OAuth2 (RFC 6749 §5.2).
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    given = {
        "username": username,
        "password": password,
        "client_id": client_id,
        "client_secret": client_secret,
        "scope": scope,
    }
    too_long = [name for name, value in given.items() if value is not None and len(value) > _LIMITS[name]]
    if too_long:
        raise _invalid_request(f"字段过长 / field(s) too long: {', '.join(too_long)}")
    source = request.client.host if request.client else "unknown"
    if grant_type == "password":
        if not username or not password:
            raise _invalid_request("password 授权需要用户名和密码 / username and password are required")
        token, ttl, granted = await auth_service.password_grant(session, settings, username, password, scope, source)
    elif grant_type == "client_credentials":
        basic = _basic_credentials(authorization)
        cid, secret = basic if basic else (client_id, client_secret)
        if not cid or not secret:
            raise auth_service.OAuthError(
                401,
                "invalid_client",
                "需要 client_id 和 client_secret / client_id and client_secret are required",
                headers={"WWW-Authenticate": "Basic"},
            )
        token, ttl, granted = await auth_service.client_credentials_grant(session, settings, cid, secret, scope, source)
    elif not grant_type:
        raise _invalid_request("缺少 grant_type / grant_type is required")
    else:
        raise auth_service.OAuthError(
            400,
            "unsupported_grant_type",
            "仅支持 password 和 client_credentials / only password and client_credentials are supported",
        )
    return TokenResponse(access_token=token, expires_in=ttl, scope=" ".join(sorted(granted)))


@router.get(
    "/me",
    response_model=Me,
    summary="Who am I: the caller behind the token and its granted scopes",
    responses=problem_responses(401),
)
async def me(principal: AnyPrincipal) -> Me:
    return Me(
        kind=principal.kind,
        id=principal.id,
        name=principal.name,
        role=principal.role,
        scopes=sorted(principal.scopes),
    )
