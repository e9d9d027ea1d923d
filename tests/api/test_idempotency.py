"""Idempotency-Key on POST: replays, refusals of a reused key, parallel retries, 5xx not kept."""

import asyncio
import contextlib
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.core.db import Database
from app.core.scopes import Role
from app.models import Enterprise, IdempotencyKey
from tests.api.test_enterprises import body
from tests.conftest import UserFactory

Headers = dict[str, str]


@pytest.fixture
async def officer(make_user: UserFactory) -> Headers:
    _, headers = await make_user(Role.officer)
    return headers


async def enterprises(database: Database) -> int:
    async with database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(Enterprise)) or 0)


async def test_a_retry_replays_the_first_answer_and_writes_once(
    client: httpx.AsyncClient, officer: Headers, database: Database
) -> None:
    keyed = officer | {"Idempotency-Key": "import-2018-10-腾讯".encode().hex()}
    first = await client.post("/api/v1/enterprises", json=body(1), headers=keyed)
    again = await client.post("/api/v1/enterprises", json=body(1), headers=keyed)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert again.headers["x-request-id"] != first.headers["x-request-id"]
    assert await enterprises(database) == 1


async def test_the_same_key_for_another_request_is_refused_and_writes_nothing(
    client: httpx.AsyncClient, officer: Headers, database: Database
) -> None:
    keyed = officer | {"Idempotency-Key": "k-1"}
    assert (await client.post("/api/v1/enterprises", json=body(1), headers=keyed)).status_code == 201
    other = await client.post("/api/v1/enterprises", json=body(2), headers=keyed)
    assert other.status_code == 422
    assert other.headers["content-type"].startswith("application/problem+json")
    assert other.json()["code"] == "idempotency_key_reused"
    assert await enterprises(database) == 1


async def test_keys_belong_to_their_caller(
    client: httpx.AsyncClient, officer: Headers, make_user: UserFactory, database: Database
) -> None:
    _, colleague = await make_user(Role.officer)
    assert (
        await client.post("/api/v1/enterprises", json=body(1), headers=officer | {"Idempotency-Key": "same"})
    ).status_code == 201
    theirs = await client.post("/api/v1/enterprises", json=body(2), headers=colleague | {"Idempotency-Key": "same"})
    assert theirs.status_code == 201
    assert await enterprises(database) == 2


async def test_a_refused_request_is_replayed_as_refused(client: httpx.AsyncClient, officer: Headers) -> None:
    keyed = officer | {"Idempotency-Key": "bad-uscc"}
    first = await client.post("/api/v1/enterprises", json=body(1, uscc="91440105MA5000001X"), headers=keyed)
    again = await client.post("/api/v1/enterprises", json=body(1, uscc="91440105MA5000001X"), headers=keyed)
    assert first.status_code == again.status_code == 422
    assert again.json()["code"] == first.json()["code"]
    assert again.headers["content-type"].startswith("application/problem+json")


async def test_parallel_retries_create_one_row(client: httpx.AsyncClient, officer: Headers, database: Database) -> None:
    keyed = officer | {"Idempotency-Key": "parallel"}
    answers = await asyncio.gather(*(client.post("/api/v1/enterprises", json=body(1), headers=keyed) for _ in range(8)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(201) >= 1
    assert set(statuses) <= {201, 409}
    for answer in answers:
        if answer.status_code == 409:
            assert answer.json()["code"] == "idempotency_in_progress"
            assert answer.headers["retry-after"] == "1"
    assert await enterprises(database) == 1
    created = {a.json()["id"] for a in answers if a.status_code == 201}
    assert len(created) == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "含中文", "tab\there"])
async def test_a_malformed_key_is_a_clear_problem(
    client: httpx.AsyncClient, officer: Headers, database: Database, key: str
) -> None:
    response = await client.post(
        "/api/v1/enterprises",
        json=body(1),
        headers=[(k.encode(), v.encode()) for k, v in officer.items()] + [(b"Idempotency-Key", key.encode())],
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"
    assert await enterprises(database) == 0


async def test_a_server_error_is_not_kept_so_a_retry_runs_again(
    client: httpx.AsyncClient, officer: Headers, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.services import enterprises as service

    real = service.create_enterprise
    calls = 0

    async def flaky(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("the first attempt fails")
        return await real(*args, **kwargs)

    monkeypatch.setattr(service, "create_enterprise", flaky)
    keyed = officer | {"Idempotency-Key": "flaky"}
    assert (await client.post("/api/v1/enterprises", json=body(1), headers=keyed)).status_code == 500
    retried = await client.post("/api/v1/enterprises", json=body(1), headers=keyed)
    assert retried.status_code == 201
    assert "idempotent-replayed" not in retried.headers
    assert await enterprises(database) == 1


async def test_without_a_valid_token_the_key_is_not_remembered(client: httpx.AsyncClient, database: Database) -> None:
    response = await client.post(
        "/api/v1/enterprises", json=body(1), headers={"Authorization": "Bearer forged", "Idempotency-Key": "k"}
    )
    assert response.status_code == 401
    async with database.session() as session:
        assert await session.scalar(select(func.count()).select_from(IdempotencyKey)) == 0


async def test_a_large_upload_sent_with_a_key_reaches_the_route_whole_and_replays(
    client: httpx.AsyncClient, officer: Headers, database: Database
) -> None:
    """Bodies over 1 MB wait in a temporary file: the route still reads every byte, once. Each attempt
    has its own random multipart boundary (httpx draws one per request), and still replays."""
    from app.models import ImportJob
    from tests.api.test_imports import HEADER, csv_file, enterprise_row

    rows = [enterprise_row(n, name=f"广州导入示例公司{n:05d}" + "有" * 40) for n in range(1, 6)]
    padding = [[""] * len(HEADER) for _ in range(120_000)]  # blank rows are skipped by the import
    content = csv_file([HEADER, *rows, *padding])
    assert len(content) > 1_500_000
    keyed = officer | {"Idempotency-Key": "upload-1"}
    first = await client.post("/api/v1/imports/enterprises", files={"file": ("e.csv", content)}, headers=keyed)
    again = await client.post("/api/v1/imports/enterprises", files={"file": ("e.csv", content)}, headers=keyed)
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"] and again.headers["idempotent-replayed"] == "true"
    other = await client.post("/api/v1/imports/enterprises", files={"file": ("f.csv", content)}, headers=keyed)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    for _ in range(500):
        job = (await client.get(first.headers["location"], headers=officer)).json()
        if job["status"] in ("succeeded", "failed"):
            break
        await asyncio.sleep(0.02)
    assert job["status"] == "succeeded", job
    assert job["result"] == {"created": 5, "updated": 0, "unchanged": 0}
    async with database.session() as session:
        assert await session.scalar(select(func.count()).select_from(ImportJob)) == 1


async def _raw_post(app: Any, headers: Headers, chunks: list[bytes], disconnect: bool) -> tuple[int, bytes]:
    """A POST sent chunk by chunk, as a client that may go away halfway."""
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1 or disconnect}
        for i, c in enumerate(chunks)
    ]
    if disconnect:
        messages.append({"type": "http.disconnect"})
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await asyncio.sleep(3600)  # the client is gone: nothing more comes
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/enterprises",
        "raw_path": b"/api/v1/enterprises",
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
        "app": app,
    }
    # A disconnected request may end in an error; the status sent (if any) says enough.
    with contextlib.suppress(Exception):
        await asyncio.wait_for(app(scope, receive, send), timeout=10)
    start = next((m for m in sent if m["type"] == "http.response.start"), None)
    return (start["status"] if start else 0), b"".join(m.get("body", b"") for m in sent if "body" in m)


async def test_a_client_that_goes_away_midway_does_not_take_the_key(
    app: Any, client: httpx.AsyncClient, officer: Headers, database: Database
) -> None:
    import json

    payload = json.dumps(body(1)).encode()
    keyed = officer | {"Idempotency-Key": "cut-short", "Content-Type": "application/json"}
    await _raw_post(app, keyed, [payload[:20]], disconnect=True)
    retry = await client.post("/api/v1/enterprises", json=body(1), headers=keyed)
    assert retry.status_code == 201, retry.text  # not 422 idempotency_key_reused
    assert await enterprises(database) == 1


async def test_a_chunked_body_over_the_limit_with_a_key_is_413(app_factory: Any, officer: Headers) -> None:
    small = app_factory(max_body_bytes=2048)
    keyed = officer | {"Idempotency-Key": "too-big", "Content-Type": "application/json"}
    status, content = await _raw_post(small, keyed, [b"x" * 1500, b"x" * 1500], disconnect=False)
    assert status == 413 and b"payload_too_large" in content
