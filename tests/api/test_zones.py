"""Zones: the hierarchy, moving without cycles, area versions on leaves, the area basis on a date, deletes."""

from decimal import Decimal
from typing import Any

import httpx
import pytest

from app.core.scopes import Role
from tests.conftest import UserFactory

ZONES = "/api/v1/zones"
ENTERPRISE = {
    "uscc": "91350100M000100Y43",
    "name": "示例企业有限公司",
    "registered_capital": "1000000.00",
    "industry_code": "64",
    "source": "new",
}


async def _officer(make_user: UserFactory) -> dict[str, str]:
    _, headers = await make_user(Role.officer)
    return headers


async def _zone(
    client: httpx.AsyncClient, headers: dict[str, str], code: str, kind: str, parent_id: int | None = None
) -> dict[str, Any]:
    body = {"code": code, "name": f"集聚区 {code}", "kind": kind, "parent_id": parent_id}
    response = await client.post(ZONES, json=body, headers=headers)
    assert response.status_code == 201, response.text
    zone: dict[str, Any] = response.json()
    return zone


async def _add_area(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    zone_id: int,
    area_km2: str,
    effective_from: str,
    effective_to: str | None = None,
) -> httpx.Response:
    body = {"area_km2": area_km2, "effective_from": effective_from, "effective_to": effective_to}
    return await client.post(f"{ZONES}/{zone_id}/area-versions", json=body, headers=headers)


async def _pazhou(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    """海珠区 → 琶洲集聚区 → core / expansion / support leaves."""
    district = await _zone(client, headers, "HZ", "district")
    cluster = await _zone(client, headers, "PZ", "cluster", district["id"])
    core = await _zone(client, headers, "PZ-CORE", "core", cluster["id"])
    expansion = await _zone(client, headers, "PZ-EXP", "expansion", cluster["id"])
    support = await _zone(client, headers, "PZ-SUP", "support", cluster["id"])
    return {"district": district, "cluster": cluster, "core": core, "expansion": expansion, "support": support}


async def _with_areas(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The Pazhou tree with areas: the expansion area grew from 0.08 to 0.11 km² on 2018-01-01."""
    zones = await _pazhou(client, headers)
    for zone, area, start, end in (
        ("core", "0.20", "2015-01-01", None),
        ("expansion", "0.08", "2015-01-01", "2018-01-01"),
        ("expansion", "0.11", "2018-01-01", None),
        ("support", "0.06", "2015-01-01", None),
    ):
        response = await _add_area(client, headers, zones[zone]["id"], area, start, end)
        assert response.status_code == 201, response.text
    return zones


async def _basis(client: httpx.AsyncClient, headers: dict[str, str], zone_id: int, on: str) -> dict[str, Any]:
    response = await client.get(f"{ZONES}/{zone_id}/area-basis", params={"on": on}, headers=headers)
    assert response.status_code == 200, response.text
    basis: dict[str, Any] = response.json()
    return basis


async def test_create_a_hierarchy_and_read_it_back(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    headers = await _officer(make_user)
    created = await client.post(ZONES, json={"code": "HZ", "name": "海珠区", "kind": "district"}, headers=headers)
    assert created.status_code == 201, created.text
    district = created.json()
    assert (district["parent_id"], district["version"]) == (None, 1)
    assert created.headers["location"] == f"{ZONES}/{district['id']}"
    assert created.headers["etag"] == '"1"'

    cluster = await _zone(client, headers, "PZ", "cluster", district["id"])
    leaves = [await _zone(client, headers, f"PZ-{k}", k, cluster["id"]) for k in ("core", "expansion", "support")]
    assert cluster["parent_id"] == district["id"]
    assert {leaf["parent_id"] for leaf in leaves} == {cluster["id"]}

    read = await client.get(f"{ZONES}/{leaves[0]['id']}", headers=headers)
    assert read.status_code == 200
    assert read.headers["etag"] == '"1"'
    assert read.json() == leaves[0]
    assert read.json()["kind"] == "core"


async def test_duplicate_code_is_409_pointing_at_the_existing(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    headers = await _officer(make_user)
    first = await _zone(client, headers, "PZ", "cluster")
    again = await client.post(ZONES, json={"code": "PZ", "name": "另一个", "kind": "cluster"}, headers=headers)
    assert again.status_code == 409
    assert again.json()["code"] == "duplicate"
    assert again.json()["existing_id"] == first["id"]

    other = await _zone(client, headers, "TH", "cluster")
    renamed = await client.patch(f"{ZONES}/{other['id']}", json={"code": "PZ"}, headers=headers | {"If-Match": '"1"'})
    assert renamed.status_code == 409
    assert renamed.json()["existing_id"] == first["id"]
    assert (await client.get(ZONES, headers=headers)).json()["total"] == 2


async def test_unknown_parent_is_422_naming_parent_id(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    headers = await _officer(make_user)
    created = await client.post(
        ZONES, json={"code": "PZ", "name": "琶洲", "kind": "cluster", "parent_id": 424242}, headers=headers
    )
    assert created.status_code == 422
    assert created.json()["code"] == "unknown_reference"
    assert created.json()["errors"][0]["loc"] == ["body", "parent_id"]
    assert (await client.get(ZONES, headers=headers)).json()["total"] == 0

    zone = await _zone(client, headers, "PZ", "cluster")
    moved = await client.patch(
        f"{ZONES}/{zone['id']}", json={"parent_id": 424242}, headers=headers | {"If-Match": '"1"'}
    )
    assert moved.status_code == 422
    assert moved.json()["code"] == "unknown_reference"
    assert moved.json()["errors"][0]["loc"] == ["body", "parent_id"]


@pytest.mark.parametrize("new_parent", ["cluster", "core"])
async def test_a_zone_cannot_move_under_itself_or_its_descendant(
    client: httpx.AsyncClient, make_user: UserFactory, new_parent: str
) -> None:
    headers = await _officer(make_user)
    zones = await _pazhou(client, headers)
    url = f"{ZONES}/{zones['cluster']['id']}"
    response = await client.patch(
        url, json={"parent_id": zones[new_parent]["id"]}, headers=headers | {"If-Match": '"1"'}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "parent_cycle"
    assert response.json()["errors"][0]["loc"] == ["body", "parent_id"]
    assert (await client.get(url, headers=headers)).json() == zones["cluster"]


async def test_null_parent_makes_a_zone_top_level(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    headers = await _officer(make_user)
    zones = await _pazhou(client, headers)
    url = f"{ZONES}/{zones['cluster']['id']}"

    assert (await client.patch(url, json={"parent_id": None}, headers=headers)).status_code == 428
    moved = await client.patch(url, json={"parent_id": None}, headers=headers | {"If-Match": '"1"'})
    assert moved.status_code == 200, moved.text
    assert moved.json()["parent_id"] is None
    assert moved.headers["etag"] == '"2"'
    stale = await client.patch(url, json={"name": "琶洲"}, headers=headers | {"If-Match": '"1"'})
    assert stale.status_code == 412

    under_district = await client.get(ZONES, params={"parent_id": zones["district"]["id"]}, headers=headers)
    assert under_district.json()["total"] == 0
    within_district = await client.get(ZONES, params={"within": zones["district"]["id"]}, headers=headers)
    assert [z["code"] for z in within_district.json()["items"]] == ["HZ"]


async def test_area_versions_live_on_leaf_zones_only(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    headers = await _officer(make_user)
    zones = await _pazhou(client, headers)

    on_parent = await _add_area(client, headers, zones["cluster"]["id"], "0.34", "2015-01-01")
    assert on_parent.status_code == 409
    assert on_parent.json()["code"] == "zone_has_members"
    assert on_parent.json()["errors"][0]["loc"] == ["body", "area_km2"]
    assert (await client.get(f"{ZONES}/{zones['cluster']['id']}/area-versions", headers=headers)).json() == []

    assert (await _add_area(client, headers, zones["core"]["id"], "0.20", "2015-01-01")).status_code == 201
    below_area = await client.post(
        ZONES,
        json={"code": "PZ-CORE-A", "name": "核心区A", "kind": "other", "parent_id": zones["core"]["id"]},
        headers=headers,
    )
    assert below_area.status_code == 409
    assert below_area.json()["code"] == "parent_has_area"
    assert below_area.json()["errors"][0]["loc"] == ["body", "parent_id"]

    moved_under_area = await client.patch(
        f"{ZONES}/{zones['support']['id']}",
        json={"parent_id": zones["core"]["id"]},
        headers=headers | {"If-Match": '"1"'},
    )
    assert moved_under_area.status_code == 409
    assert moved_under_area.json()["code"] == "parent_has_area"
    assert (await client.get(ZONES, params={"parent_id": zones["core"]["id"]}, headers=headers)).json()["total"] == 0


async def test_adjacent_area_versions_are_fine_but_overlaps_are_refused(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    headers = await _officer(make_user)
    leaf = await _zone(client, headers, "PZ-EXP", "expansion")
    closed = await _add_area(client, headers, leaf["id"], "0.08", "2015-01-01", "2018-01-01")
    assert closed.status_code == 201, closed.text
    assert closed.headers["etag"] == '"1"'
    open_ended = await _add_area(client, headers, leaf["id"], "0.11", "2018-01-01")
    assert open_ended.status_code == 201, open_ended.text

    ids = {"closed": closed.json()["id"], "open": open_ended.json()["id"]}
    for start, end, overlapped in (
        ("2017-06-01", "2018-06-01", {"closed", "open"}),  # straddles the change
        ("2025-01-01", None, {"open"}),  # a second open-ended version
        ("2030-01-01", "2031-01-01", {"open"}),  # inside the open-ended one
        ("2014-01-01", "2015-01-02", {"closed"}),  # one day into the first
    ):
        response = await _add_area(client, headers, leaf["id"], "0.50", start, end)
        assert response.status_code == 409, (start, end)
        assert response.json()["code"] == "area_version_overlap"
        assert response.json()["errors"][0]["loc"] == ["body", "effective_from"]
        assert response.json()["conflicting_id"] in {ids[k] for k in overlapped}

    before = await _add_area(client, headers, leaf["id"], "0.05", "2010-01-01", "2015-01-01")
    assert before.status_code == 201  # ends exactly where the next starts

    history = (await client.get(f"{ZONES}/{leaf['id']}/area-versions", headers=headers)).json()
    assert [(v["effective_from"], v["effective_to"]) for v in history] == [
        ("2010-01-01", "2015-01-01"),
        ("2015-01-01", "2018-01-01"),
        ("2018-01-01", None),
    ]
    assert [Decimal(v["area_km2"]) for v in history] == [Decimal("0.05"), Decimal("0.08"), Decimal("0.11")]


@pytest.mark.parametrize(
    ("area", "start", "end", "loc"),
    [
        ("0", "2015-01-01", None, ["body", "area_km2"]),
        ("-0.08", "2015-01-01", None, ["body", "area_km2"]),
        ("0.08", "2018-01-01", "2018-01-01", ["body"]),
        ("0.08", "2018-01-01", "2017-12-31", ["body"]),
    ],
)
async def test_unusable_area_versions_are_422(
    client: httpx.AsyncClient, make_user: UserFactory, area: str, start: str, end: str | None, loc: list[str]
) -> None:
    headers = await _officer(make_user)
    leaf = await _zone(client, headers, "PZ-CORE", "core")
    response = await _add_area(client, headers, leaf["id"], area, start, end)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_failed"
    assert response.json()["errors"][0]["loc"] == loc
    assert (await client.get(f"{ZONES}/{leaf['id']}/area-versions", headers=headers)).json() == []


async def test_area_basis_sums_the_leaves_in_force_on_the_date(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    headers = await _officer(make_user)
    zones = await _with_areas(client, headers)

    before_change = await _basis(client, headers, zones["cluster"]["id"], "2017-06-30")
    assert Decimal(before_change["area_km2"]) == Decimal("0.34")  # 0.20 + 0.08 + 0.06
    assert Decimal(before_change["area_mu"]) == Decimal("510")  # 1 km² = 1,500 亩
    assert before_change["missing"] == []
    assert [m["code"] for m in before_change["members"]] == ["PZ-CORE", "PZ-EXP", "PZ-SUP"]

    after_change = await _basis(client, headers, zones["cluster"]["id"], "2018-10-31")
    assert Decimal(after_change["area_km2"]) == Decimal("0.37")  # 0.20 + 0.11 + 0.06
    assert Decimal(after_change["area_mu"]) == Decimal("555")
    expansion = next(m for m in after_change["members"] if m["zone_id"] == zones["expansion"]["id"])
    assert Decimal(expansion["area_km2"]) == Decimal("0.11")

    on_the_day = await _basis(client, headers, zones["cluster"]["id"], "2018-01-01")
    assert Decimal(on_the_day["area_km2"]) == Decimal("0.37")  # effective_to is exclusive
    district = await _basis(client, headers, zones["district"]["id"], "2018-10-31")
    assert Decimal(district["area_km2"]) == Decimal("0.37")  # the district's leaves are the cluster's
    leaf = await _basis(client, headers, zones["core"]["id"], "2018-10-31")
    assert Decimal(leaf["area_km2"]) == Decimal("0.20")


async def test_a_leaf_without_an_area_in_force_is_listed_as_missing(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    headers = await _officer(make_user)
    zones = await _with_areas(client, headers)
    new_leaf = await _zone(client, headers, "PZ-NEW", "other", zones["cluster"]["id"])

    basis = await _basis(client, headers, zones["cluster"]["id"], "2018-10-31")
    assert basis["missing"] == [new_leaf["id"]]
    assert Decimal(basis["area_km2"]) == Decimal("0.37")
    assert next(m for m in basis["members"] if m["zone_id"] == new_leaf["id"])["area_km2"] is None

    before_any = await _basis(client, headers, zones["cluster"]["id"], "2014-12-31")
    assert Decimal(before_any["area_km2"]) == 0
    assert sorted(before_any["missing"]) == sorted(
        z["id"] for z in (zones["core"], zones["expansion"], zones["support"], new_leaf)
    )
    unknown = await client.get(f"{ZONES}/424242/area-basis", headers=headers)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")


async def test_a_zone_in_use_cannot_be_deleted(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    headers = await _officer(make_user)
    zones = await _pazhou(client, headers)
    enterprise = await client.post(
        "/api/v1/enterprises", json=ENTERPRISE | {"zone_id": zones["core"]["id"]}, headers=headers
    )
    assert enterprise.status_code == 201, enterprise.text
    parcel = await client.post(
        "/api/v1/land-parcels",
        json={"code": "AH040120", "zone_id": zones["expansion"]["id"], "area_m2": "12000.00"},
        headers=headers,
    )
    assert parcel.status_code == 201, parcel.text

    for zone, in_use in (
        ("cluster", {"sub_zones": 3}),
        ("core", {"enterprises": 1}),
        ("expansion", {"land_parcels": 1}),
    ):
        response = await client.delete(f"{ZONES}/{zones[zone]['id']}", headers=headers | {"If-Match": '"1"'})
        assert response.status_code == 409, zone
        assert response.json()["code"] == "zone_in_use"
        reported = response.json()["in_use"]
        assert set(reported) == {"sub_zones", "enterprises", "land_parcels", "projects"}
        assert {k: n for k, n in reported.items() if n} == in_use
    assert (await client.get(ZONES, headers=headers)).json()["total"] == 5


async def test_an_empty_zone_is_deleted_with_if_match(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    headers = await _officer(make_user)
    zones = await _pazhou(client, headers)
    url = f"{ZONES}/{zones['support']['id']}"

    assert (await client.delete(url, headers=headers)).status_code == 428
    stale = await client.delete(url, headers=headers | {"If-Match": '"2"'})
    assert stale.status_code == 412
    assert stale.json()["code"] == "version_mismatch"
    deleted = await client.delete(url, headers=headers | {"If-Match": '"1"'})
    assert deleted.status_code == 204
    assert deleted.content == b""

    gone = await client.get(url, headers=headers)
    assert gone.status_code == 404
    assert gone.json()["code"] == "not_found"
    assert (await client.get(ZONES, params={"parent_id": zones["cluster"]["id"]}, headers=headers)).json()["total"] == 2


async def test_an_area_version_is_deleted_with_if_match(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    headers = await _officer(make_user)
    zones = await _with_areas(client, headers)
    support = zones["support"]["id"]
    version = (await client.get(f"{ZONES}/{support}/area-versions", headers=headers)).json()[0]
    url = f"{ZONES}/{support}/area-versions/{version['id']}"

    assert (await client.delete(url, headers=headers)).status_code == 428
    assert (await client.delete(url, headers=headers | {"If-Match": '"9"'})).status_code == 412
    elsewhere = await client.delete(
        f"{ZONES}/{zones['core']['id']}/area-versions/{version['id']}", headers=headers | {"If-Match": '"1"'}
    )
    assert elsewhere.status_code == 404  # the version belongs to another zone
    assert (await client.delete(url, headers=headers | {"If-Match": '"1"'})).status_code == 204

    assert (await client.get(f"{ZONES}/{support}/area-versions", headers=headers)).json() == []
    basis = await _basis(client, headers, zones["cluster"]["id"], "2018-10-31")
    assert Decimal(basis["area_km2"]) == Decimal("0.31")
    assert basis["missing"] == [support]
    assert (await client.delete(url, headers=headers | {"If-Match": "*"})).status_code == 404


async def test_list_filters_by_kind_parent_subtree_and_text(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    headers = await _officer(make_user)
    zones = await _pazhou(client, headers)
    other = await _zone(client, headers, "TH", "cluster", zones["district"]["id"])
    await _zone(client, headers, "TH-CORE", "core", other["id"])

    async def codes(**params: Any) -> list[str]:
        response = await client.get(ZONES, params=params, headers=headers)
        assert response.status_code == 200, response.text
        return [z["code"] for z in response.json()["items"]]

    assert await codes(kind="core") == ["PZ-CORE", "TH-CORE"]
    assert await codes(kind="cluster") == ["PZ", "TH"]
    assert await codes(parent_id=zones["district"]["id"]) == ["PZ", "TH"]
    assert await codes(parent_id=zones["cluster"]["id"]) == ["PZ-CORE", "PZ-EXP", "PZ-SUP"]
    assert await codes(within=zones["cluster"]["id"]) == ["PZ", "PZ-CORE", "PZ-EXP", "PZ-SUP"]
    assert await codes(within=zones["district"]["id"]) == ["HZ", "PZ", "PZ-CORE", "PZ-EXP", "PZ-SUP", "TH", "TH-CORE"]
    assert await codes(within=zones["cluster"]["id"], kind="core") == ["PZ-CORE"]
    assert await codes(q="pz-e") == ["PZ-EXP"]
    assert await codes(q="集聚区 TH") == ["TH", "TH-CORE"]
    assert await codes(kind="district", sort="-code") == ["HZ"]
    assert await codes(within=424242) == []


async def test_a_viewer_can_read_zones_but_not_change_them(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    headers = await _officer(make_user)
    zones = await _with_areas(client, headers)
    _, viewer = await make_user(Role.viewer)

    assert (await client.get(ZONES, headers=viewer)).json()["total"] == 5
    assert (await client.get(f"{ZONES}/{zones['core']['id']}/area-basis", headers=viewer)).status_code == 200
    refused = [
        await client.post(ZONES, json={"code": "X", "name": "新区", "kind": "other"}, headers=viewer),
        await client.patch(f"{ZONES}/{zones['core']['id']}", json={"name": "改"}, headers=viewer | {"If-Match": "*"}),
        await client.delete(f"{ZONES}/{zones['support']['id']}", headers=viewer | {"If-Match": "*"}),
        await _add_area(client, viewer, zones["core"]["id"], "0.30", "2030-01-01"),
    ]
    assert [(r.status_code, r.json()["code"]) for r in refused] == [(403, "insufficient_scope")] * 4
    assert (await client.get(ZONES, headers=viewer)).json()["total"] == 5
    assert (await client.get(f"{ZONES}/{zones['core']['id']}", headers=viewer)).json()["version"] == 1


async def test_every_zone_write_is_audited(
    client: httpx.AsyncClient, make_user: UserFactory, admin_headers: dict[str, str]
) -> None:
    officer, headers = await make_user(Role.officer)
    zone = await _zone(client, headers, "PZ", "cluster")
    url = f"{ZONES}/{zone['id']}"
    assert (await client.patch(url, json={"name": "琶洲"}, headers=headers | {"If-Match": '"1"'})).status_code == 200
    area = (await _add_area(client, headers, zone["id"], "0.34", "2015-01-01")).json()
    assert (
        await client.delete(f"{url}/area-versions/{area['id']}", headers=headers | {"If-Match": '"1"'})
    ).status_code == 204
    assert (await client.delete(url, headers=headers | {"If-Match": '"2"'})).status_code == 204

    async def trail(entity_type: str, entity_id: int) -> list[dict[str, Any]]:
        params = {"entity_type": entity_type, "entity_id": str(entity_id)}
        items: list[dict[str, Any]] = (
            await client.get("/api/v1/audit-events", params=params, headers=admin_headers)
        ).json()["items"]
        return items

    zone_events = await trail("zone", zone["id"])
    assert [e["action"] for e in zone_events] == ["delete", "update", "create"]
    assert {(e["actor_type"], e["actor_id"]) for e in zone_events} == {("user", officer.id)}
    assert zone_events[1]["before"]["name"] == "集聚区 PZ"
    assert zone_events[1]["after"]["name"] == "琶洲"
    assert zone_events[0]["after"] is None

    area_events = await trail("zone_area_version", area["id"])
    assert [e["action"] for e in area_events] == ["delete", "create"]
