"""Bad input found by hand (a bad-input hunt): each gets a clear problem, and nothing is written."""

import json
import re
from datetime import date
from typing import Annotated, Any, TypeVar, get_args, get_origin

import httpx
import pytest
from pydantic import BaseModel

from app.schemas.common import ISO_DATE, InputModel, PatchModel
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
        "/api/v1/audit-events?actor_id=99999999999999999999999",
        "/api/v1/audit-events?actor_id=-9223372036854775809",
    ],
)
async def test_ids_out_of_range_are_422(client: httpx.AsyncClient, admin_headers: dict[str, str], path: str) -> None:
    response = await client.get(path, headers=admin_headers)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_failed"


@pytest.mark.parametrize("segment", ["-1", "1.5", "abc", "1e3", "０１"])
async def test_an_id_segment_that_is_not_digits_names_no_resource(
    client: httpx.AsyncClient, admin_headers: dict[str, str], segment: str
) -> None:
    response = await client.get(f"/api/v1/enterprises/{segment}", headers=admin_headers)
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "not_found"


async def test_a_method_a_literal_path_lacks_is_405_not_read_as_an_id(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    # /milestones/overdue beside /milestones/{milestone_id}: PATCH is not a write to milestone "overdue".
    response = await client.patch("/api/v1/milestones/overdue", headers=admin_headers, json={})
    assert response.status_code == 405, response.text
    assert response.json()["code"] == "method_not_allowed"
    assert response.headers["allow"] == "GET"
    both = await client.request("PUT", "/api/v1/users", headers=admin_headers)
    assert both.status_code == 405
    assert sorted(both.headers["allow"].split(", ")) == ["GET", "POST"]


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


M = TypeVar("M", bound=BaseModel)


def _subclasses(cls: type[M]) -> list[type[M]]:
    return [sub for direct in cls.__subclasses__() for sub in (direct, *_subclasses(direct))]


def test_update_schemas_offer_null_only_where_null_clears(app: Any) -> None:
    # Generated clients read the schema: a field that refuses null must not be typed "X | null".
    patches = [m for m in _subclasses(PatchModel) if m.__name__ in app.openapi()["components"]["schemas"]]
    assert len(patches) > 20
    for model in patches:
        properties = model.model_json_schema()["properties"]
        for name, prop in properties.items():
            offers_null = {"type": "null"} in prop.get("anyOf", [])
            assert offers_null == (name in model.NULLABLE), f"{model.__name__}.{name}"


async def test_a_json_boolean_is_not_a_number(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    item = {"track": "industry", "name": "签约", "offset_days": False}
    template = {"code": "bool", "name": "布尔", "project_type": "industry", "items": [item]}
    refused = await client.post("/api/v1/milestone-templates", json=template, headers=admin_headers)
    assert refused.status_code == 422, refused.text
    parcel = await client.post("/api/v1/land-parcels", json={"code": "AB0101", "area_m2": True}, headers=admin_headers)
    assert parcel.status_code == 422
    assert ["body", "area_m2"] in [e["loc"] for e in parcel.json()["errors"]]


async def test_every_id_segment_matches_digits_only(client: httpx.AsyncClient, app: Any) -> None:
    probed = 0
    for path, operations in app.openapi()["paths"].items():
        if "{" not in path:
            continue
        for method in operations:
            response = await client.request(method.upper(), re.sub(r"\{\w+\}", "zz", path))
            assert response.status_code == 404, (method, path, response.text)
            assert response.json()["code"] == "not_found"
            probed += 1
    assert probed > 100


def _date_fields_without_iso_check(annotation: Any, metadata: list[Any]) -> bool:
    if annotation is date:
        return ISO_DATE not in metadata
    if get_origin(annotation) is Annotated:
        inner, *extra = get_args(annotation)
        return _date_fields_without_iso_check(inner, [*metadata, *extra])
    return any(_date_fields_without_iso_check(arg, []) for arg in get_args(annotation))


def test_every_date_in_a_request_body_is_an_iso_date(app: Any) -> None:
    # Pydantic reads 0 or 1764547200 as a date; a business date must be written as 2018-10-31.
    unchecked = [
        f"{model.__name__}.{name}"
        for model in _subclasses(InputModel)
        for name, info in model.model_fields.items()
        if _date_fields_without_iso_check(info.annotation, list(info.metadata))
    ]
    assert unchecked == []
