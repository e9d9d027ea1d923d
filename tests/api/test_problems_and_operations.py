"""Errors are problem+json everywhere; request ids, limits, headers, CORS, gzip and probes behave."""

import gzip
import json
import logging
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.core.scopes import Role
from tests.conftest import DEFAULT_PASSWORD, UserFactory


def _assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"urn:zhaoshang:problem:{code}"
    assert body["title"]
    assert body["detail"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def test_unknown_route_and_wrong_method(client: httpx.AsyncClient) -> None:
    _assert_problem(await client.get("/api/v1/no-such-thing"), 404, "not_found")
    _assert_problem(await client.delete("/healthz"), 405, "method_not_allowed")


async def test_validation_lists_each_field(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    response = await client.post(
        "/api/v1/users",
        json={"username": "ab", "role": "emperor", "password": "short", "nickname": "🐉"},
        headers=admin_headers,
    )
    body = _assert_problem(response, 422, "validation_failed")
    by_field = {tuple(e["loc"]): e["type"] for e in body["errors"]}
    assert by_field[("body", "username")] == "string_too_short"
    assert by_field[("body", "role")] == "enum"
    assert by_field[("body", "password")] == "string_too_short"
    assert by_field[("body", "display_name")] == "missing"
    assert by_field[("body", "nickname")] == "extra_forbidden"


async def test_malformed_json_and_wrong_types(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    broken = await client.post(
        "/api/v1/users", content=b'{"username": "x",', headers=admin_headers | {"content-type": "application/json"}
    )
    _assert_problem(broken, 400, "malformed_json")
    # An id segment that is not digits names no resource (the routes match digits only there).
    _assert_problem(await client.get("/api/v1/users/not-a-number", headers=admin_headers), 404, "not_found")
    paging = await client.get("/api/v1/users?limit=100000&offset=-1", headers=admin_headers)
    locs = {tuple(e["loc"]) for e in _assert_problem(paging, 422, "validation_failed")["errors"]}
    assert locs == {("query", "limit"), ("query", "offset")}


async def test_unknown_sort_key_is_refused(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    response = await client.get("/api/v1/users?sort=password_hash", headers=admin_headers)
    body = _assert_problem(response, 422, "validation_failed")
    assert body["errors"][0]["loc"] == ["query", "sort"]


async def test_unhandled_error_is_a_generic_500(app_factory: Any, caplog: pytest.LogCaptureFixture) -> None:
    app: FastAPI = app_factory()

    @app.get("/boom", include_in_schema=False)
    async def boom() -> None:
        raise RuntimeError("secret internals: SELECT * FROM users")

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        response = await client.get("/boom", headers={"X-Request-ID": "trace-500"})
    body = _assert_problem(response, 500, "internal_error")
    assert body["request_id"] == "trace-500"
    assert "SELECT" not in response.text and "Traceback" not in response.text
    # The details go to the log, tied to the request id, for the operator.
    assert any(r.name == "app.errors" and getattr(r, "path", None) == "/boom" for r in caplog.records)


async def test_request_id_is_echoed_or_generated(client: httpx.AsyncClient) -> None:
    echoed = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    for unusable in ("bad id with spaces", "x" * 129, "<script>"):
        generated = await client.get("/healthz", headers={"X-Request-ID": unusable})
        assert generated.headers["x-request-id"] != unusable
        assert len(generated.headers["x-request-id"]) == 32


async def test_body_limit_413_by_header_and_by_stream(app_factory: Any, make_user: UserFactory) -> None:
    app = app_factory(max_body_bytes=2048)
    _, headers = await make_user(Role.admin, username="limit-admin")
    big = json.dumps({"username": "a" * 5000}).encode()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        declared = await client.post(
            "/api/v1/users", content=big, headers=headers | {"content-type": "application/json"}
        )
        _assert_problem(declared, 413, "payload_too_large")

        async def chunks() -> Any:  # no Content-Length: counted while streaming
            for i in range(0, len(big), 512):
                yield big[i : i + 512]

        streamed = await client.post(
            "/api/v1/users", content=chunks(), headers=headers | {"content-type": "application/json"}
        )
        _assert_problem(streamed, 413, "payload_too_large")
        users = await client.get("/api/v1/users", headers=headers)
    assert users.json()["total"] == 1  # nothing was written


async def test_security_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert response.headers["cache-control"] == "no-store"


async def test_cors_allows_configured_origins_only(app_factory: Any) -> None:
    app = app_factory(cors_origins=["https://dashboard.haizhu.example"], cors_allow_credentials=True)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        preflight = {"Access-Control-Request-Method": "PATCH", "Access-Control-Request-Headers": "If-Match"}
        allowed = await client.options(
            "/api/v1/users", headers={"Origin": "https://dashboard.haizhu.example"} | preflight
        )
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://dashboard.haizhu.example"
        assert allowed.headers["access-control-allow-credentials"] == "true"
        denied = await client.options("/api/v1/users", headers={"Origin": "https://evil.example"} | preflight)
        assert "access-control-allow-origin" not in denied.headers


async def test_large_responses_are_gzipped(app_factory: Any, make_user: UserFactory) -> None:
    app = app_factory(gzip_minimum_bytes=200)
    _, headers = await make_user(Role.admin, username="gzip-admin")
    for i in range(5):
        await make_user(Role.viewer, username=f"viewer-{i}")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        response = await client.get("/api/v1/users", headers=headers | {"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.json()["total"] == 6  # httpx decodes it
    assert gzip.decompress(gzip.compress(b"x"))  # stdlib sanity: gzip available


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] == "ok"
    assert ready.json()["migration"]


async def test_readyz_is_503_when_the_database_is_unreachable(app_factory: Any) -> None:
    app = app_factory(database_url="postgresql+asyncpg://nobody@127.0.0.1:9/none")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        ready = await client.get("/readyz")
        _assert_problem(ready, 503, "database_unavailable")
        assert ready.headers["retry-after"] == "5"
        login = await client.post(
            "/api/v1/auth/token", data={"grant_type": "password", "username": "a", "password": "b"}
        )
        _assert_problem(login, 503, "service_unavailable")
        assert login.headers["retry-after"] == "5"


async def test_logs_hold_no_password_or_token(
    client: httpx.AsyncClient, make_user: UserFactory, caplog: pytest.LogCaptureFixture
) -> None:
    await make_user(Role.admin, username="logged")
    caplog.set_level(logging.DEBUG)
    token = (
        await client.post(
            "/api/v1/auth/token", data={"grant_type": "password", "username": "logged", "password": DEFAULT_PASSWORD}
        )
    ).json()["access_token"]
    await client.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"})
    await client.get(f"/api/v1/users?q={token}", headers={"Authorization": f"Bearer {token}"})
    from app.core.logging import JsonFormatter

    formatter = JsonFormatter()
    written = "\n".join(formatter.format(r) for r in caplog.records if r.name.startswith("app"))
    assert "/api/v1/users" in written  # the access log did record the calls
    assert DEFAULT_PASSWORD not in written
    assert token not in written
    assert token.split(".")[1] not in written
