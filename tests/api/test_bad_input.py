"""Bad input found by hand (a bad-input hunt): each gets a clear problem, and nothing is written."""

import json
from typing import Any

import httpx
import pytest

from tests.conftest import DEFAULT_PASSWORD

NEW_USER = {"username": "zhao.li", "display_name": "赵丽", "role": "officer", "password": DEFAULT_PASSWORD}


async def _audit_count(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    total: int = (await client.get("/api/v1/audit-events", headers=headers)).json()["total"]
    return total


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/users/99999999999999999999999",
        "/api/v1/users/9223372036854775808",
        "/api/v1/users/2147483648",
        "/api/v1/users/0",
        "/api/v1/clients/-9223372036854775809",
        "/api/v1/audit-events?actor_id=99999999999999999999999",
    ],
)
async def test_ids_out_of_range_are_422(client: httpx.AsyncClient, admin_headers: dict[str, str], path: str) -> None:
    response = await client.get(path, headers=admin_headers)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_failed"


@pytest.mark.parametrize(
    "query",
    [
        "occurred_from=9999-12-31T23:59:59-23:59",
        "occurred_from=0001-01-01T00:00:00%2B10:00",
        "occurred_to=9999-12-31T23:59:59.999999-14:00",
        "occurred_from=0",
        "occurred_from=1700000000",
        "occurred_from=2018-10-31T23:30:00",
    ],
)
async def test_unusable_instants_are_422(client: httpx.AsyncClient, admin_headers: dict[str, str], query: str) -> None:
    response = await client.get(f"/api/v1/audit-events?{query}", headers=admin_headers)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"][0] == "query"


async def test_if_match_lists_multiple_headers_and_weak_tags(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    user = (await client.post("/api/v1/users", json=NEW_USER, headers=admin_headers)).json()
    url = f"/api/v1/users/{user['id']}"
    weak = await client.patch(url, json={"display_name": "a"}, headers=admin_headers | {"If-Match": 'W/"1"'})
    assert weak.status_code == 412  # If-Match compares strongly
    listed = await client.patch(url, json={"display_name": "b"}, headers=admin_headers | {"If-Match": '"999", "1"'})
    assert listed.status_code == 200
    two_headers = [*admin_headers.items(), ("If-Match", '"7"'), ("If-Match", '"2"')]
    assert (await client.patch(url, json={"display_name": "c"}, headers=two_headers)).status_code == 200


async def test_patch_that_changes_nothing_writes_no_audit_row(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    user = (await client.post("/api/v1/users", json=NEW_USER, headers=admin_headers)).json()
    before = await _audit_count(client, admin_headers)
    for body in ({}, {"display_name": "赵丽"}, {"is_active": True}):
        response = await client.patch(
            f"/api/v1/users/{user['id']}", json=body, headers=admin_headers | {"If-Match": "*"}
        )
        assert response.status_code == 200
        assert response.json()["version"] == 1
    assert await _audit_count(client, admin_headers) == before


@pytest.mark.parametrize(
    "name", ["abc\u202edcba", "abc\u0085\u009b", "\u200b", "统计局\u2066", "a\u2028b", "\ufeffname", "tab\there"]
)
async def test_invisible_and_reordering_characters_are_refused_in_names(
    client: httpx.AsyncClient, admin_headers: dict[str, str], name: str
) -> None:
    response = await client.post("/api/v1/users", json=NEW_USER | {"display_name": name}, headers=admin_headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "display_name"]
    client_response = await client.post(
        "/api/v1/clients", json={"name": name, "scopes": ["users:read"]}, headers=admin_headers
    )
    assert client_response.status_code == 422


async def test_emoji_sequences_and_chinese_are_kept(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    family = "王家 👨\u200d👩\u200d👧 海珠区"
    response = await client.post("/api/v1/users", json=NEW_USER | {"display_name": family}, headers=admin_headers)
    assert response.status_code == 201
    assert response.json()["display_name"] == family


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded"])
async def test_json_routes_answer_415_to_other_media_types(
    client: httpx.AsyncClient, admin_headers: dict[str, str], content_type: str
) -> None:
    response = await client.post(
        "/api/v1/users", content=json.dumps(NEW_USER).encode(), headers=admin_headers | {"content-type": content_type}
    )
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    assert (await client.get("/api/v1/users", headers=admin_headers)).json()["total"] == 1  # only the admin


@pytest.mark.parametrize(
    "body", [b"\xff\xfe{}", b"[" * 100_000 + b"]" * 100_000, b'{"username": ' + b"9" * 5000 + b"}"]
)
async def test_undecodable_bodies_are_400_problems(
    client: httpx.AsyncClient, admin_headers: dict[str, str], body: bytes
) -> None:
    response = await client.post(
        "/api/v1/users", content=body, headers=admin_headers | {"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["code"] in {"malformed_body", "malformed_json"}
    assert "/" in response.json()["detail"]  # the bilingual text, not the framework's English


async def test_a_flood_of_unknown_fields_gets_a_bounded_answer(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    flood: dict[str, Any] = NEW_USER | {f"k{i}": i for i in range(20_000)}
    response = await client.post("/api/v1/users", json=flood, headers=admin_headers)
    assert response.status_code == 422
    body = response.json()
    assert len(body["errors"]) == 50
    assert "20000" in body["detail"]
    assert len(response.content) < 20_000


@pytest.mark.parametrize("q", ["%", "_", "\\"])
async def test_search_text_is_literal_not_a_pattern(
    client: httpx.AsyncClient, admin_headers: dict[str, str], q: str
) -> None:
    await client.post("/api/v1/users", json=NEW_USER, headers=admin_headers)
    response = await client.get("/api/v1/users", params={"q": q}, headers=admin_headers)
    assert response.status_code == 200
    assert response.json()["total"] == 0


async def test_search_text_refuses_control_characters(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    response = await client.get("/api/v1/users", params={"q": "a\x00b"}, headers=admin_headers)
    assert response.status_code == 422


@pytest.mark.parametrize("sort", ["", ",,,"])
async def test_empty_sort_keeps_the_default_order(
    client: httpx.AsyncClient, admin_headers: dict[str, str], sort: str
) -> None:
    await client.post("/api/v1/users", json=NEW_USER, headers=admin_headers)
    events = (await client.get(f"/api/v1/audit-events?sort={sort}", headers=admin_headers)).json()["items"]
    assert len(events) >= 2
    assert events[0]["occurred_at"] >= events[-1]["occurred_at"]  # newest first
    assert events[0]["id"] > events[-1]["id"]


async def test_double_dash_sort_is_refused(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    assert (await client.get("/api/v1/users?sort=--username", headers=admin_headers)).status_code == 422


async def test_trailing_slash_is_not_redirected_to_the_callers_host(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.get("/api/v1/users/", headers=admin_headers | {"Host": "evil.example"})
    assert response.status_code == 404
    assert "location" not in response.headers


async def test_health_probes_answer_head(client: httpx.AsyncClient) -> None:
    assert (await client.head("/healthz")).status_code == 200
    assert (await client.head("/readyz")).status_code == 200
