"""The token endpoint and token verification: both grants, scopes, throttling and every forgery."""

import base64
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from jose import jwt
from sqlalchemy import update

from app.core import security
from app.core.config import Settings
from app.core.db import Database
from app.core.principal import SYSTEM
from app.core.scopes import ROLE_SCOPES, Role
from app.core.security import (
    ALGORITHM,
    MAX_TOKEN_LENGTH,
    InvalidTokenError,
    create_access_token,
    credential_fingerprint,
    decode_access_token,
)
from app.models import User
from app.schemas.api_client import ApiClientCreate
from app.services import api_clients
from app.services import auth as auth_service
from tests.conftest import DEFAULT_PASSWORD, UserFactory

TOKEN_URL = "/api/v1/auth/token"


async def _password_token(client: httpx.AsyncClient, username: str, password: str, **extra: str) -> httpx.Response:
    return await client.post(
        TOKEN_URL, data={"grant_type": "password", "username": username, "password": password, **extra}
    )


async def _new_api_client(database: Database, scopes: list[str]) -> tuple[str, str, int]:
    async with database.session() as s:
        row, secret = await api_clients.create_client(s, SYSTEM, ApiClientCreate(name="区统计局", scopes=scopes))
    return row.client_id, secret, row.id


def _claims(settings: Settings, credential: str = "", **overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": "user:1",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
        "scope": "users:read",
        "cred": credential,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


async def test_password_grant_returns_a_token_that_describes_the_user(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    await make_user(Role.leader, username="li.lingdao")
    response = await _password_token(client, "LI.LingDao", DEFAULT_PASSWORD)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert set(body["scope"].split()) == ROLE_SCOPES[Role.leader]
    assert response.headers["cache-control"] == "no-store"

    me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["name"] == "li.lingdao"
    assert me.json()["role"] == "leader"
    assert me.json()["kind"] == "user"


async def test_requested_scopes_are_intersected_with_the_allowed(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    await make_user(Role.leader, username="narrow")
    response = await _password_token(client, "narrow", DEFAULT_PASSWORD, scope="audit:read users:write")
    assert response.status_code == 200
    assert response.json()["scope"] == "audit:read"  # users:write is not a leader's to have

    refused = await _password_token(client, "narrow", DEFAULT_PASSWORD, scope="users:write")
    assert refused.status_code == 400
    assert refused.json()["code"] == "invalid_scope"
    assert refused.json()["error"] == "invalid_scope"


@pytest.mark.parametrize(
    ("username", "password"),
    [("nobody", DEFAULT_PASSWORD), ("officer-x", "wrong password!"), ("officer-x", DEFAULT_PASSWORD.upper())],
)
async def test_bad_credentials_get_one_undistinguishable_answer(
    client: httpx.AsyncClient, make_user: UserFactory, username: str, password: str
) -> None:
    await make_user(Role.officer, username="officer-x")
    response = await _password_token(client, username, password)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "invalid_grant"
    assert "access_token" not in body


async def test_missing_password_is_invalid_request(client: httpx.AsyncClient) -> None:
    response = await _password_token(client, "someone", "")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"


async def test_disabled_user_cannot_log_in_and_loses_live_tokens(
    client: httpx.AsyncClient, make_user: UserFactory, admin_headers: dict[str, str]
) -> None:
    user, headers = await make_user(Role.leader, username="leaving")
    assert (await client.get("/api/v1/users", headers=headers)).status_code == 200
    etag = (await client.get(f"/api/v1/users/{user.id}", headers=admin_headers)).headers["etag"]
    disabled = await client.patch(
        f"/api/v1/users/{user.id}", json={"is_active": False}, headers=admin_headers | {"If-Match": etag}
    )
    assert disabled.status_code == 200
    assert (await client.get("/api/v1/users", headers=headers)).status_code == 401
    assert (await _password_token(client, "leaving", DEFAULT_PASSWORD)).json()["code"] == "invalid_grant"


async def test_demotion_narrows_a_live_token_at_once(
    client: httpx.AsyncClient, make_user: UserFactory, admin_headers: dict[str, str]
) -> None:
    user, headers = await make_user(Role.leader, username="demoted")
    etag = (await client.get(f"/api/v1/users/{user.id}", headers=admin_headers)).headers["etag"]
    await client.patch(f"/api/v1/users/{user.id}", json={"role": "viewer"}, headers=admin_headers | {"If-Match": etag})
    response = await client.get("/api/v1/users", headers=headers)
    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"


async def test_repeated_failures_are_throttled_then_clear_after_the_window(
    app_factory: Any, make_user: UserFactory, database: Database
) -> None:
    app = app_factory(login_max_failures=3, login_window_seconds=60)
    await make_user(Role.officer, username="target")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        for _ in range(3):
            assert (await _password_token(client, "target", "not the password")).status_code == 400
        blocked = await _password_token(client, "target", DEFAULT_PASSWORD)
        assert blocked.status_code == 429
        assert blocked.json()["code"] == "rate_limited"
        assert 1 <= int(blocked.headers["retry-after"]) <= 61
        # Other accounts are unaffected.
        await make_user(Role.officer, username="bystander")
        assert (await _password_token(client, "bystander", DEFAULT_PASSWORD)).status_code == 200
    # Failing on purpose from one address does not lock the owner out at their own desk.
    elsewhere = httpx.ASGITransport(app=app, client=("10.20.30.40", 50000))
    async with httpx.AsyncClient(transport=elsewhere, base_url="http://t") as client:
        assert (await _password_token(client, "target", DEFAULT_PASSWORD)).status_code == 200

    # Once the failures age out of the window, the right password works again.
    from sqlalchemy import update

    from app.models import AuthFailure

    async with database.session() as s:
        await s.execute(update(AuthFailure).values(occurred_at=datetime.now(UTC) - timedelta(seconds=61)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        assert (await _password_token(client, "target", DEFAULT_PASSWORD)).status_code == 200


async def test_client_credentials_in_form_and_basic_auth(client: httpx.AsyncClient, database: Database) -> None:
    client_id, secret, _ = await _new_api_client(database, ["users:read", "audit:read"])
    form = await client.post(
        TOKEN_URL,
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            "scope": "audit:read",
        },
    )
    assert form.status_code == 200, form.text
    assert form.json()["scope"] == "audit:read"

    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    via_basic = await client.post(
        TOKEN_URL, data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    )
    assert via_basic.status_code == 200
    assert set(via_basic.json()["scope"].split()) == {"users:read", "audit:read"}

    me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {via_basic.json()['access_token']}"})
    assert me.json()["kind"] == "client"
    assert me.json()["name"] == "区统计局"
    assert me.json()["role"] is None


async def test_wrong_client_secret_is_invalid_client(client: httpx.AsyncClient, database: Database) -> None:
    client_id, _, _ = await _new_api_client(database, ["users:read"])
    response = await client.post(
        TOKEN_URL, data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": "guess"}
    )
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_client"
    assert response.headers["www-authenticate"] == "Basic"


async def test_rotating_a_secret_retires_the_old_secret_and_its_tokens_at_once(
    client: httpx.AsyncClient, database: Database, admin_headers: dict[str, str]
) -> None:
    client_id, old_secret, pk = await _new_api_client(database, ["users:read"])
    grant = {"grant_type": "client_credentials", "client_id": client_id}
    old_token = (await client.post(TOKEN_URL, data=grant | {"client_secret": old_secret})).json()["access_token"]
    old_bearer = {"Authorization": f"Bearer {old_token}"}
    assert (await client.get("/api/v1/users", headers=old_bearer)).status_code == 200

    # Same second as the token: a timestamp comparison would miss it, the credential check does not.
    rotated = await client.post(f"/api/v1/clients/{pk}/rotate-secret", headers=admin_headers | {"If-Match": "*"})
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["client_secret"]
    assert new_secret != old_secret
    assert (await client.get("/api/v1/users", headers=old_bearer)).status_code == 401
    assert (await client.post(TOKEN_URL, data=grant | {"client_secret": old_secret})).status_code == 401
    fresh = await client.post(TOKEN_URL, data=grant | {"client_secret": new_secret})
    assert fresh.status_code == 200
    assert (
        await client.get("/api/v1/users", headers={"Authorization": f"Bearer {fresh.json()['access_token']}"})
    ).status_code == 200


async def test_a_new_password_retires_live_tokens(
    client: httpx.AsyncClient, make_user: UserFactory, admin_headers: dict[str, str]
) -> None:
    user, headers = await make_user(Role.leader, username="compromised")
    assert (await client.get("/api/v1/users", headers=headers)).status_code == 200
    reset = await client.patch(
        f"/api/v1/users/{user.id}",
        json={"password": "a brand new passphrase"},
        headers=admin_headers | {"If-Match": "*"},
    )
    assert reset.status_code == 200
    assert (await client.get("/api/v1/users", headers=headers)).status_code == 401


@pytest.mark.parametrize(
    "header",
    [
        "Basic é",
        "Basic !!!",
        "Basic " + base64.b64encode(b"\xff\xfe").decode(),
        "Basic " + base64.b64encode(b"no-colon").decode(),
    ],
)
async def test_garbage_basic_credentials_are_invalid_client(client: httpx.AsyncClient, header: str) -> None:
    response = await client.post(
        TOKEN_URL, data={"grant_type": "client_credentials"}, headers=[(b"Authorization", header.encode("utf-8"))]
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"grant_type": "authorization_code"}, "unsupported_grant_type"),
        ({"grant_type": "refresh_token", "refresh_token": "x"}, "unsupported_grant_type"),
        ({}, "invalid_request"),
        ({"grant_type": "password", "username": "u" * 65, "password": "whatever-long"}, "invalid_request"),
    ],
)
async def test_token_endpoint_errors_speak_oauth2(client: httpx.AsyncClient, form: dict[str, str], error: str) -> None:
    response = await client.post(TOKEN_URL, data=form)
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert response.json()["code"] == error


# --- forgeries: every one is a 401 problem, never a 500 or a 200 ------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _forgeries(settings: Settings, credential: str) -> dict[str, str]:
    def claims(**overrides: Any) -> dict[str, Any]:
        return _claims(settings, credential, **overrides)

    good = jwt.encode(claims(), settings.secret_key, algorithm=ALGORITHM)
    header, payload, signature = good.split(".")
    tampered_payload = _b64(base64.urlsafe_b64decode(payload + "==").replace(b'"users:read"', b'"users:write"'))
    none_header = _b64(b'{"alg":"none","typ":"JWT"}')
    return {
        "alg_none": f"{none_header}.{payload}.",
        "no_signature": f"{header}.{payload}.",
        "other_key": jwt.encode(claims(), "another-key-" + "x" * 40, algorithm=ALGORITHM),
        "hs512": jwt.encode(claims(), settings.secret_key, algorithm="HS512"),
        "tampered_payload": f"{header}.{tampered_payload}.{signature}",
        "expired": jwt.encode(
            claims(exp=int((datetime.now(UTC) - timedelta(seconds=1)).timestamp())),
            settings.secret_key,
            algorithm=ALGORITHM,
        ),
        "wrong_audience": jwt.encode(claims(aud="other-system"), settings.secret_key, algorithm=ALGORITHM),
        "wrong_issuer": jwt.encode(claims(iss="someone-else"), settings.secret_key, algorithm=ALGORITHM),
        **{
            f"missing_{claim}": jwt.encode(claims(**{claim: None}), settings.secret_key, algorithm=ALGORITHM)
            for claim in ("exp", "iat", "iss", "aud", "sub")
        },
        "oversized": jwt.encode(claims(pad="x" * MAX_TOKEN_LENGTH), settings.secret_key, algorithm=ALGORITHM),
        "garbage": "not-a-jwt",
        "huge_subject_id": jwt.encode(
            claims(sub="user:99999999999999999999"), settings.secret_key, algorithm=ALGORITHM
        ),
        "superscript_subject": jwt.encode(claims(sub="user:²"), settings.secret_key, algorithm=ALGORITHM),
        "float_iat": jwt.encode(claims(iat=1e300), settings.secret_key, algorithm=ALGORITHM),
        "far_future_exp": jwt.encode(claims(exp=10**20), settings.secret_key, algorithm=ALGORITHM),
        "no_credential": jwt.encode(claims(cred=None), settings.secret_key, algorithm=ALGORITHM),
        "stale_credential": jwt.encode(claims(cred="0" * 16), settings.secret_key, algorithm=ALGORITHM),
        "unknown_subject": jwt.encode(claims(sub="user:999999"), settings.secret_key, algorithm=ALGORITHM),
        "malformed_subject": jwt.encode(claims(sub="admin"), settings.secret_key, algorithm=ALGORITHM),
    }


FORGERY_NAMES = [
    "alg_none",
    "no_signature",
    "other_key",
    "hs512",
    "tampered_payload",
    "expired",
    "wrong_audience",
    "wrong_issuer",
    "missing_exp",
    "missing_iat",
    "missing_iss",
    "missing_aud",
    "missing_sub",
    "oversized",
    "garbage",
    "unknown_subject",
    "malformed_subject",
]


@pytest.mark.parametrize("forgery", FORGERY_NAMES)
async def test_forged_tokens_are_refused(
    client: httpx.AsyncClient, settings: Settings, make_user: UserFactory, forgery: str
) -> None:
    # user:1 exists and the claims carry its credential, so only the forgery itself can fail.
    user, _ = await make_user(Role.admin, username="real-admin")
    assert user.id == 1
    token = _forgeries(settings, credential_fingerprint(user.password_hash))[forgery]
    response = await client.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, (forgery, response.text)
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "unauthenticated"
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_the_untampered_control_token_works(
    client: httpx.AsyncClient, settings: Settings, make_user: UserFactory
) -> None:
    # Guards the forgery test: the same claims, properly signed, are accepted.
    user, _ = await make_user(Role.admin, username="real-admin")
    assert user.id == 1
    token = jwt.encode(
        _claims(settings, credential_fingerprint(user.password_hash)), settings.secret_key, algorithm=ALGORITHM
    )
    assert (await client.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"})).status_code == 200


@pytest.mark.parametrize("header", ["", "Bearer", "Basic abc", "Token abc"])
async def test_missing_or_wrong_scheme_is_401(client: httpx.AsyncClient, header: str) -> None:
    response = await client.get("/api/v1/users", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


async def test_viewer_token_on_a_write_route_is_403(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    _, headers = await make_user(Role.viewer)
    response = await client.post(
        "/api/v1/users",
        json={"username": "new.one", "display_name": "新人", "role": "viewer", "password": DEFAULT_PASSWORD},
        headers=headers,
    )
    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"
    assert "users:write" in response.json()["detail"]


async def test_parallel_guesses_cannot_outrun_the_throttle(app_factory: Any, make_user: UserFactory) -> None:
    # Found in review: checking the count before recording a failure let parallel guesses through.
    import asyncio

    app = app_factory(login_max_failures=5, login_window_seconds=600)
    await make_user(Role.officer, username="sprayed")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        answers = await asyncio.gather(*(_password_token(client, "sprayed", f"guess-{i:04d}-x") for i in range(12)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(400) <= 5
    assert statuses.count(429) >= 7


async def _disable_behind_the_cache(database: Database, user_id: int) -> None:
    """What another worker process does: the account changes in the database, not in this process."""
    async with database.session() as session:
        await session.execute(update(User).where(User.id == user_id).values(is_active=False))


async def test_an_account_disabled_by_another_worker_is_refused_here_within_auth_cache_seconds(
    client: httpx.AsyncClient,
    make_user: UserFactory,
    database: Database,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user, headers = await make_user(Role.leader, username="elsewhere")
    assert (await client.get("/api/v1/users", headers=headers)).status_code == 200
    await _disable_behind_the_cache(database, user.id)
    # This process looked the account up a moment ago and trusts that for AUTH_CACHE_SECONDS.
    assert (await client.get("/api/v1/users", headers=headers)).status_code == 200
    later = time.monotonic() + settings.auth_cache_seconds
    monkeypatch.setattr(auth_service.principals, "clock", lambda: later)
    assert (await client.get("/api/v1/users", headers=headers)).status_code == 401


async def test_with_auth_cache_seconds_0_every_request_looks_the_account_up(
    app_factory: Any, make_user: UserFactory, database: Database
) -> None:
    app = app_factory(auth_cache_seconds=0)
    user, headers = await make_user(Role.leader, username="uncached")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        assert (await client.get("/api/v1/users", headers=headers)).status_code == 200
        await _disable_behind_the_cache(database, user.id)
        assert (await client.get("/api/v1/users", headers=headers)).status_code == 401


def test_a_verified_token_is_remembered_but_still_expires(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    token, _ = create_access_token(settings, "user:7", frozenset({"users:read"}), "fingerprint")
    expires = jwt.get_unverified_claims(token)["exp"]
    assert decode_access_token(settings, token).principal_id == 7
    assert decode_access_token(settings, token).principal_id == 7  # the second time from memory
    monkeypatch.setattr(security, "wall_clock", lambda: float(expires))
    with pytest.raises(InvalidTokenError):
        decode_access_token(settings, token)
