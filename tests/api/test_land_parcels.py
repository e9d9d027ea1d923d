"""Land parcels (地块): register, change with If-Match, record a transfer (出让) to a buyer, list and filter."""

from decimal import Decimal
from typing import Any

import httpx
import pytest

from app.core.scopes import Role
from tests.conftest import UserFactory

PARCELS = "/api/v1/land-parcels"
USCCS = ("91350100M000100Y43", "91440300708461136T")


async def _officer(make_user: UserFactory) -> dict[str, str]:
    _, headers = await make_user(Role.officer)
    return headers


async def _zone(
    client: httpx.AsyncClient, headers: dict[str, str], code: str, parent_id: int | None = None
) -> dict[str, Any]:
    body = {"code": code, "name": f"区域 {code}", "kind": "cluster" if parent_id is None else "core"}
    response = await client.post("/api/v1/zones", json=body | {"parent_id": parent_id}, headers=headers)
    assert response.status_code == 201, response.text
    zone: dict[str, Any] = response.json()
    return zone


async def _enterprise(client: httpx.AsyncClient, headers: dict[str, str], uscc: str = USCCS[0]) -> dict[str, Any]:
    body = {
        "uscc": uscc,
        "name": f"示例企业{uscc[-4:]}有限公司",
        "registered_capital": "1000000.00",
        "industry_code": "64",
        "source": "new",
    }
    response = await client.post("/api/v1/enterprises", json=body, headers=headers)
    assert response.status_code == 201, response.text
    enterprise: dict[str, Any] = response.json()
    return enterprise


async def _parcel(client: httpx.AsyncClient, headers: dict[str, str], code: str, **fields: Any) -> dict[str, Any]:
    response = await client.post(PARCELS, json={"code": code, "area_m2": "10000.00"} | fields, headers=headers)
    assert response.status_code == 201, response.text
    parcel: dict[str, Any] = response.json()
    return parcel


async def _codes(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> list[str]:
    response = await client.get(PARCELS, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [p["code"] for p in response.json()["items"]]


async def test_create_then_read_with_etag_and_location(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    headers = await _officer(make_user)
    zone = await _zone(client, headers, "PZ")
    buyer = await _enterprise(client, headers)
    body = {
        "code": "AH040120",
        "zone_id": zone["id"],
        "area_m2": "12345.67",
        "planned_use": "商务设施用地 B2",
        "transferred_on": "2018-10-31",
        "buyer_enterprise_id": buyer["id"],
        "price": "1230000000.50",
    }
    created = await client.post(PARCELS, json=body, headers=headers)
    assert created.status_code == 201, created.text
    parcel = created.json()
    assert created.headers["location"] == f"{PARCELS}/{parcel['id']}"
    assert created.headers["etag"] == '"1"'
    assert parcel["version"] == 1
    assert Decimal(parcel["area_m2"]) == Decimal("12345.67")
    assert Decimal(parcel["price"]) == Decimal("1230000000.50")
    assert (parcel["transferred_on"], parcel["buyer_enterprise_id"]) == ("2018-10-31", buyer["id"])

    read = await client.get(created.headers["location"], headers=headers)
    assert read.status_code == 200
    assert read.headers["etag"] == '"1"'
    assert read.json() == parcel


async def test_patch_and_delete_need_the_current_version(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    headers = await _officer(make_user)
    zone = await _zone(client, headers, "PZ")
    parcel = await _parcel(client, headers, "AH040120", zone_id=zone["id"], planned_use="B2")
    url = f"{PARCELS}/{parcel['id']}"

    missing = await client.patch(url, json={"area_m2": "9000.00"}, headers=headers)
    assert missing.status_code == 428
    assert missing.json()["code"] == "if_match_required"
    changed = await client.patch(
        url, json={"area_m2": "9000.00", "planned_use": None}, headers=headers | {"If-Match": '"1"'}
    )
    assert changed.status_code == 200, changed.text
    assert changed.headers["etag"] == '"2"'
    assert Decimal(changed.json()["area_m2"]) == Decimal("9000.00")
    assert changed.json()["planned_use"] is None

    stale = await client.patch(url, json={"area_m2": "1.00"}, headers=headers | {"If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 2
    assert (await client.delete(url, headers=headers)).status_code == 428
    assert (await client.delete(url, headers=headers | {"If-Match": '"1"'})).status_code == 412
    assert Decimal((await client.get(url, headers=headers)).json()["area_m2"]) == Decimal("9000.00")

    assert (await client.delete(url, headers=headers | {"If-Match": '"2"'})).status_code == 204
    gone = await client.get(url, headers=headers)
    assert gone.status_code == 404
    assert gone.json()["code"] == "not_found"


async def test_parcel_writes_are_audited_and_refused_to_viewers(
    client: httpx.AsyncClient, make_user: UserFactory, admin_headers: dict[str, str]
) -> None:
    officer, headers = await make_user(Role.officer)
    _, viewer = await make_user(Role.viewer)
    zone = await _zone(client, headers, "PZ")
    parcel = await _parcel(client, headers, "AH040120", zone_id=zone["id"])
    url = f"{PARCELS}/{parcel['id']}"

    assert (await client.get(url, headers=viewer)).status_code == 200
    refused = await client.post(PARCELS, json={"code": "X1", "zone_id": zone["id"], "area_m2": "1.00"}, headers=viewer)
    assert (refused.status_code, refused.json()["code"]) == (403, "insufficient_scope")

    free = await client.patch(
        url, json={"price": "0.00"}, headers=headers | {"If-Match": '"1"'}
    )  # a zero price is allowed
    assert free.status_code == 200
    assert Decimal(free.json()["price"]) == 0
    assert (await client.delete(url, headers=headers | {"If-Match": '"2"'})).status_code == 204
    events = (
        await client.get(
            "/api/v1/audit-events",
            params={"entity_type": "land_parcel", "entity_id": str(parcel["id"])},
            headers=admin_headers,
        )
    ).json()["items"]
    assert [e["action"] for e in events] == ["delete", "update", "create"]
    assert {e["actor_id"] for e in events} == {officer.id}
    assert events[1]["before"]["price"] is None


async def test_duplicate_code_is_409_pointing_at_the_existing(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    headers = await _officer(make_user)
    zone = await _zone(client, headers, "PZ")
    first = await _parcel(client, headers, "AH040120", zone_id=zone["id"])
    again = await client.post(
        PARCELS, json={"code": "AH040120", "zone_id": zone["id"], "area_m2": "1.00"}, headers=headers
    )
    assert again.status_code == 409
    assert again.json()["code"] == "duplicate"
    assert again.json()["existing_id"] == first["id"]

    second = await _parcel(client, headers, "AH040121", zone_id=zone["id"])
    renamed = await client.patch(
        f"{PARCELS}/{second['id']}", json={"code": "AH040120"}, headers=headers | {"If-Match": '"1"'}
    )
    assert renamed.status_code == 409
    assert renamed.json()["existing_id"] == first["id"]
    assert await _codes(client, headers) == ["AH040120", "AH040121"]


@pytest.mark.parametrize("field", ["zone_id", "buyer_enterprise_id"])
async def test_unknown_zone_or_buyer_is_422_naming_the_field(
    client: httpx.AsyncClient, make_user: UserFactory, field: str
) -> None:
    headers = await _officer(make_user)
    zone = await _zone(client, headers, "PZ")
    buyer = await _enterprise(client, headers)
    body = {
        "code": "AH040120",
        "zone_id": zone["id"],
        "area_m2": "100.00",
        "transferred_on": "2018-10-31",
        "buyer_enterprise_id": buyer["id"],
    }
    created = await client.post(PARCELS, json=body | {field: 424242}, headers=headers)
    assert created.status_code == 422
    assert created.json()["code"] == "unknown_reference"
    assert created.json()["errors"][0]["loc"] == ["body", field]
    assert await _codes(client, headers) == []

    parcel = await _parcel(client, headers, "AH040121", **{k: v for k, v in body.items() if k != "code"})
    patched = await client.patch(f"{PARCELS}/{parcel['id']}", json={field: 424242}, headers=headers | {"If-Match": "*"})
    assert patched.status_code == 422
    assert patched.json()["errors"][0]["loc"] == ["body", field]
    assert (await client.get(f"{PARCELS}/{parcel['id']}", headers=headers)).json() == parcel


@pytest.mark.parametrize("half", [{"transferred_on": "2018-10-31"}, {"buyer_enterprise_id": "buyer"}])
async def test_a_half_recorded_transfer_is_refused_on_create(
    client: httpx.AsyncClient, make_user: UserFactory, half: dict[str, Any]
) -> None:
    headers = await _officer(make_user)
    zone = await _zone(client, headers, "PZ")
    buyer = await _enterprise(client, headers)
    fields = {k: buyer["id"] if v == "buyer" else v for k, v in half.items()}
    response = await client.post(
        PARCELS, json={"code": "AH040120", "zone_id": zone["id"], "area_m2": "100.00"} | fields, headers=headers
    )
    assert response.status_code == 422
    assert response.json()["code"] == "incomplete_transfer"
    assert response.json()["errors"][0]["loc"] == ["body", "transferred_on"]
    assert await _codes(client, headers) == []


async def test_a_transfer_is_recorded_and_undone_whole_via_patch(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    headers = await _officer(make_user)
    zone = await _zone(client, headers, "PZ")
    buyer = await _enterprise(client, headers)
    parcel = await _parcel(client, headers, "AH040120", zone_id=zone["id"])
    url = f"{PARCELS}/{parcel['id']}"
    any_version = headers | {"If-Match": "*"}

    # Against an untransferred parcel, one half alone is incomplete.
    for half in ({"transferred_on": "2018-10-31"}, {"buyer_enterprise_id": buyer["id"]}):
        response = await client.patch(url, json=half, headers=any_version)
        assert response.status_code == 422, half
        assert response.json()["code"] == "incomplete_transfer"
    transfer = {"transferred_on": "2018-10-31", "buyer_enterprise_id": buyer["id"], "price": "88000000.00"}
    recorded = await client.patch(url, json=transfer, headers=any_version)
    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["version"] == 2

    # Against a transferred parcel, clearing one half leaves the other dangling; changing the date alone is fine.
    for half in ({"transferred_on": None}, {"buyer_enterprise_id": None}):
        response = await client.patch(url, json=half, headers=any_version)
        assert response.status_code == 422, half
        assert response.json()["code"] == "incomplete_transfer"
    redated = await client.patch(url, json={"transferred_on": "2018-11-01"}, headers=any_version)
    assert redated.status_code == 200
    assert redated.json()["buyer_enterprise_id"] == buyer["id"]

    undone = await client.patch(url, json={"transferred_on": None, "buyer_enterprise_id": None}, headers=any_version)
    assert undone.status_code == 200
    assert (undone.json()["transferred_on"], undone.json()["buyer_enterprise_id"]) == (None, None)
    assert undone.json()["version"] == 4


@pytest.mark.parametrize(
    ("field", "value"),
    [("area_m2", "0"), ("area_m2", "-12.50"), ("price", "-0.01")],
)
async def test_unusable_numbers_are_422(
    client: httpx.AsyncClient, make_user: UserFactory, field: str, value: str
) -> None:
    headers = await _officer(make_user)
    zone = await _zone(client, headers, "PZ")
    body = {"code": "AH040120", "zone_id": zone["id"], "area_m2": "100.00", field: value}
    created = await client.post(PARCELS, json=body, headers=headers)
    assert created.status_code == 422
    assert created.json()["code"] == "validation_failed"
    assert created.json()["errors"][0]["loc"] == ["body", field]

    parcel = await _parcel(client, headers, "AH040121", zone_id=zone["id"])
    patched = await client.patch(f"{PARCELS}/{parcel['id']}", json={field: value}, headers=headers | {"If-Match": "*"})
    assert patched.status_code == 422
    assert patched.json()["errors"][0]["loc"] == ["body", field]
    assert await _codes(client, headers) == ["AH040121"]


async def _transfers(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    """PZ (core, expansion) and TH zones; parcels transferred on several dates to two buyers, one not at all."""
    pazhou = await _zone(client, headers, "PZ")
    core = await _zone(client, headers, "PZ-CORE", pazhou["id"])
    expansion = await _zone(client, headers, "PZ-EXP", pazhou["id"])
    tianhe = await _zone(client, headers, "TH")
    first, second = [await _enterprise(client, headers, uscc) for uscc in USCCS]
    for code, zone, on, buyer in (
        ("P1", pazhou, "2017-12-31", first),
        ("P2", core, "2018-01-01", second),
        ("P3", core, "2018-10-31", first),
        ("P4", expansion, None, None),
        ("T1", tianhe, "2019-03-15", second),
    ):
        transfer = {"transferred_on": on, "buyer_enterprise_id": buyer["id"]} if buyer else {}
        await _parcel(client, headers, code, zone_id=zone["id"], **transfer)
    return {"pazhou": pazhou, "core": core, "tianhe": tianhe, "first": first, "second": second}


async def test_list_by_zone_includes_sub_zones(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    headers = await _officer(make_user)
    world = await _transfers(client, headers)
    assert await _codes(client, headers, zone_id=world["pazhou"]["id"]) == ["P1", "P2", "P3", "P4"]
    assert await _codes(client, headers, zone_id=world["core"]["id"]) == ["P2", "P3"]
    assert await _codes(client, headers, zone_id=world["tianhe"]["id"]) == ["T1"]
    assert await _codes(client, headers, zone_id=424242) == []


async def test_list_by_transfer_state_dates_and_buyer(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    headers = await _officer(make_user)
    world = await _transfers(client, headers)
    assert await _codes(client, headers, transferred="true") == ["P1", "P2", "P3", "T1"]
    assert await _codes(client, headers, transferred="false") == ["P4"]
    # Both ends inclusive.
    assert await _codes(client, headers, transferred_from="2018-01-01", transferred_to="2018-10-31") == ["P2", "P3"]
    assert await _codes(client, headers, transferred_from="2018-10-31") == ["P3", "T1"]
    assert await _codes(client, headers, transferred_to="2017-12-31") == ["P1"]
    assert await _codes(client, headers, buyer_enterprise_id=world["first"]["id"]) == ["P1", "P3"]
    assert await _codes(client, headers, buyer_enterprise_id=world["second"]["id"], zone_id=world["pazhou"]["id"]) == [
        "P2"
    ]
    listed = await client.get(PARCELS, params={"transferred": "true", "limit": 2}, headers=headers)
    assert (listed.json()["total"], len(listed.json()["items"])) == (4, 2)


async def test_sort_by_newest_transfer_first(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    headers = await _officer(make_user)
    await _transfers(client, headers)
    assert await _codes(client, headers, transferred="true", sort="-transferred_on") == ["T1", "P3", "P2", "P1"]
    assert await _codes(client, headers, transferred="true", sort="transferred_on") == ["P1", "P2", "P3", "T1"]
    page = await _codes(client, headers, transferred="true", sort="-transferred_on", limit=2, offset=1)
    assert page == ["P3", "P2"]


async def test_untransferred_parcels_sort_last_either_way(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    # Found in review: PostgreSQL and SQLite place NULLs at opposite ends unless told.
    headers = await _officer(make_user)
    await _transfers(client, headers)
    assert await _codes(client, headers, sort="-transferred_on") == ["T1", "P3", "P2", "P1", "P4"]
    assert await _codes(client, headers, sort="transferred_on") == ["P1", "P2", "P3", "T1", "P4"]


async def test_a_patch_restating_amounts_is_no_change(
    client: httpx.AsyncClient, make_user: UserFactory, admin_headers: dict[str, str]
) -> None:
    # Found in review: "8000" and "8000.00" are the same area; echo, store and audit must agree.
    headers = await _officer(make_user)
    await _transfers(client, headers)
    parcel = (await client.get("/api/v1/land-parcels?q=P1", headers=headers)).json()["items"][0]

    async def audited() -> int:
        trail = await client.get("/api/v1/audit-events?entity_type=land_parcel", headers=admin_headers)
        total: int = trail.json()["total"]
        return total

    before = await audited()
    restated = await client.patch(
        f"/api/v1/land-parcels/{parcel['id']}",
        json={"area_m2": parcel["area_m2"].split(".")[0]},
        headers=headers | {"If-Match": "*"},
    )
    assert restated.status_code == 200
    assert restated.json()["area_m2"] == parcel["area_m2"]
    assert restated.json()["version"] == parcel["version"]
    assert await audited() == before
