"""The enterprise registry through the API: validation, groups, masking, filters, concurrency, audit."""

from typing import Any

import httpx
import pytest

from app.core.scopes import Role
from app.services.calculators.uscc import check_character
from tests.conftest import UserFactory

Headers = dict[str, str]


def uscc(serial: int, area: str = "440105") -> str:
    first17 = f"91{area}MA5{serial:06d}"
    return first17 + check_character(first17)


def body(serial: int, **overrides: Any) -> dict[str, Any]:
    return {
        "uscc": uscc(serial),
        "name": f"广州示例科技有限公司{serial:03d}",
        "registered_capital": "10000000.00",
        "industry_code": "64",
        "source": "new",
    } | overrides


async def create(client: httpx.AsyncClient, headers: Headers, serial: int, **overrides: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/enterprises", json=body(serial, **overrides), headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def zone(client: httpx.AsyncClient, headers: Headers, code: str, parent: int | None = None) -> int:
    response = await client.post(
        "/api/v1/zones",
        json={"code": code, "name": f"区域{code}", "kind": "other", "parent_id": parent},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    zone_id: int = response.json()["id"]
    return zone_id


@pytest.fixture
async def officer(make_user: UserFactory) -> Headers:
    _, headers = await make_user(Role.officer, username="cso-wang")
    return headers


async def test_create_normalises_and_reads_back_exactly(client: httpx.AsyncClient, officer: Headers) -> None:
    created = await client.post(
        "/api/v1/enterprises",
        json=body(
            1,
            uscc=f"  {uscc(1).lower()} ",
            name="广州琶洲示例互联网科技有限公司 🚀",
            registered_capital="9876543210987.65",
            settled_on="2018-03-15",
            established_on="2018-02-01",
            investor_classes=[
                {"investor_class": "fortune_global_500", "list_year": 2018},
                {"investor_class": "leading_enterprise"},
            ],
            contacts=[{"name": "陈小明", "phone": "13812345678", "position": "董事长秘书"}],
        ),
        headers=officer,
    )
    assert created.status_code == 201, created.text
    data = created.json()
    assert data["uscc"] == uscc(1)
    assert data["registered_capital"] == "9876543210987.65"
    assert data["industry"] == {
        "code": "64",
        "name": "互联网和相关服务",
        "section_code": "I",
        "section_name": "信息传输、软件和信息技术服务业",
    }
    assert {"investor_class": "leading_enterprise", "list_year": None} in data["investor_classes"]
    assert data["contacts"] == [{"name": "陈小明", "phone": "13812345678", "position": "董事长秘书"}]
    assert data["contacts_masked"] is False
    assert created.headers["etag"] == '"1"'
    again = await client.get(created.headers["location"], headers=officer)
    assert again.json() == data


async def test_duplicate_uscc_is_409_pointing_at_the_existing(client: httpx.AsyncClient, officer: Headers) -> None:
    first = await create(client, officer, 2)
    again = await client.post("/api/v1/enterprises", json=body(2, name="另一家公司"), headers=officer)
    assert again.status_code == 409
    assert again.json()["code"] == "duplicate"
    assert again.json()["existing_id"] == first["id"]
    assert again.json()["existing_url"] == f"/api/v1/enterprises/{first['id']}"


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"uscc": uscc(3)[:17] + ("0" if uscc(3)[17] != "0" else "1")}, "uscc", "validation_failed"),
        ({"uscc": "91440105MA5I00003X"}, "uscc", "validation_failed"),
        ({"industry_code": "00"}, "industry_code", "unknown_industry"),
        ({"industry_code": "I"}, "industry_code", "validation_failed"),
        ({"registered_capital": "-1.00"}, "registered_capital", "validation_failed"),
        ({"registered_capital": "0"}, "registered_capital", "validation_failed"),
        ({"registered_capital": "99999999999999999.00"}, "registered_capital", "validation_failed"),
        ({"registered_capital": "1.001"}, "registered_capital", "validation_failed"),
        ({"registered_capital": "NaN"}, "registered_capital", "validation_failed"),
        ({"registered_capital": "Infinity"}, "registered_capital", "validation_failed"),
        ({"source": "stolen"}, "source", "validation_failed"),
        ({"zone_id": 424242}, "zone_id", "unknown_reference"),
        ({"parent_id": 424242}, "parent_id", "unknown_reference"),
        ({"service_officer_id": 424242}, "service_officer_id", "unknown_reference"),
        ({"established_on": "2019-01-01", "settled_on": "2018-01-01"}, "settled_on", "date_order"),
        (
            {"established_on": "2019-01-01", "operations_started_on": "2018-01-01"},
            "operations_started_on",
            "date_order",
        ),
        ({"investor_classes": [{"investor_class": "china_500"}]}, "investor_classes", "validation_failed"),
        ({"contacts": [{"name": "张三", "phone": "call me"}]}, "contacts", "validation_failed"),
    ],
)
async def test_bad_enterprises_are_refused_with_the_field_named(
    client: httpx.AsyncClient, officer: Headers, overrides: dict[str, Any], field: str | None, code: str
) -> None:
    response = await client.post("/api/v1/enterprises", json=body(3, **overrides), headers=officer)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == code
    if field is not None:
        assert problem["errors"][0]["loc"][:2] == ["body", field]
    assert (await client.get("/api/v1/enterprises", headers=officer)).json()["total"] == 0


async def test_groups_nest_at_any_depth_without_cycles(client: httpx.AsyncClient, officer: Headers) -> None:
    group = await create(client, officer, 10, name="示例集团有限公司")
    holding = await create(client, officer, 11, parent_id=group["id"])
    project = await create(client, officer, 12, parent_id=holding["id"])

    members = (await client.get(f"/api/v1/enterprises?group_id={group['id']}", headers=officer)).json()
    assert {e["id"] for e in members["items"]} == {holding["id"], project["id"]}

    for parent in (group["id"], project["id"]):  # under itself / under its own grandchild
        cycle = await client.patch(
            f"/api/v1/enterprises/{group['id'] if parent == project['id'] else holding['id']}",
            json={"parent_id": parent if parent == project["id"] else holding["id"]},
            headers=officer | {"If-Match": "*"},
        )
        assert cycle.status_code == 422
        assert cycle.json()["code"] == "parent_cycle"
        assert cycle.json()["errors"][0]["loc"] == ["body", "parent_id"]
    assert (await client.get(f"/api/v1/enterprises/{group['id']}", headers=officer)).json()["parent_id"] is None

    blocked = await client.delete(f"/api/v1/enterprises/{holding['id']}", headers=officer | {"If-Match": "*"})
    assert blocked.status_code == 409
    assert blocked.json()["code"] == "enterprise_in_use"
    assert blocked.json()["in_use"]["subsidiaries"] == 1

    detached = await client.patch(
        f"/api/v1/enterprises/{project['id']}", json={"parent_id": None}, headers=officer | {"If-Match": '"1"'}
    )
    assert detached.status_code == 200
    assert detached.json()["parent_id"] is None
    deleted = await client.delete(f"/api/v1/enterprises/{holding['id']}", headers=officer | {"If-Match": '"1"'})
    assert deleted.status_code == 204
    assert (await client.get(f"/api/v1/enterprises/{holding['id']}", headers=officer)).status_code == 404


async def test_contacts_are_masked_for_callers_not_cleared(
    client: httpx.AsyncClient, officer: Headers, make_user: UserFactory
) -> None:
    created = await create(
        client, officer, 20, contacts=[{"name": "欧阳明月", "phone": "+86 138-1234-5678", "position": "总经理"}]
    )
    _, viewer = await make_user(Role.viewer)
    seen = (await client.get(f"/api/v1/enterprises/{created['id']}", headers=viewer)).json()
    assert seen["contacts_masked"] is True
    assert seen["contacts"] == [{"name": "欧***", "phone": "+86 138-****-5678", "position": "总经理"}]
    listed = (await client.get("/api/v1/enterprises", headers=viewer)).text
    assert "欧阳明月" not in listed and "1234" not in listed

    # Writing contacts one may not read is refused; a viewer cannot write at all anyway.
    assert (
        await client.patch(
            f"/api/v1/enterprises/{created['id']}", json={"name": "改名有限公司"}, headers=viewer | {"If-Match": "*"}
        )
    ).status_code == 403


async def test_a_client_without_personal_data_scope_cannot_send_contacts(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    registered = await client.post(
        "/api/v1/clients",
        json={"name": "区工商数据", "scopes": ["enterprises:read", "enterprises:write"]},
        headers=admin_headers,
    )
    creds = registered.json()
    token = (
        await client.post(
            "/api/v1/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": creds["client_id"],
                "client_secret": creds["client_secret"],
            },
        )
    ).json()["access_token"]
    machine = {"Authorization": f"Bearer {token}"}
    refused = await client.post(
        "/api/v1/enterprises", json=body(21, contacts=[{"name": "王五", "phone": "13900000000"}]), headers=machine
    )
    assert refused.status_code == 403
    assert (await client.post("/api/v1/enterprises", json=body(21), headers=machine)).status_code == 201


async def test_patch_replaces_lists_moves_the_etag_and_is_audited(
    client: httpx.AsyncClient, officer: Headers, admin_headers: Headers
) -> None:
    created = await create(client, officer, 30, investor_classes=[{"investor_class": "china_500", "list_year": 2017}])
    url = f"/api/v1/enterprises/{created['id']}"
    changed = await client.patch(
        url,
        json={"investor_classes": [{"investor_class": "china_500", "list_year": 2018}], "settled_on": "2018-06-01"},
        headers=officer | {"If-Match": '"1"'},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["investor_classes"] == [{"investor_class": "china_500", "list_year": 2018}]
    assert changed.headers["etag"] == '"2"'

    only_lists = await client.patch(url, json={"investor_classes": []}, headers=officer | {"If-Match": '"2"'})
    assert only_lists.headers["etag"] == '"3"'  # a list-only change still moves the version
    stale = await client.patch(url, json={"name": "过期修改有限公司"}, headers=officer | {"If-Match": '"2"'})
    assert stale.status_code == 412

    trail = (
        await client.get(
            f"/api/v1/audit-events?entity_type=enterprise&entity_id={created['id']}", headers=admin_headers
        )
    ).json()["items"]
    assert [e["action"] for e in trail] == ["update", "update", "create"]
    assert trail[1]["before"]["investor_classes"] == ["china_500:2017"]
    assert trail[1]["after"]["investor_classes"] == ["china_500:2018"]
    assert trail[1]["after"]["settled_on"] == "2018-06-01"


async def test_patch_list_items_may_leave_out_their_optional_fields(
    client: httpx.AsyncClient, officer: Headers
) -> None:
    # A leading-enterprise class has no list year and a contact may have no position: left out, they mean none
    # (this used to answer 500).
    created = await create(client, officer, 31)
    changed = await client.patch(
        f"/api/v1/enterprises/{created['id']}",
        json={
            "investor_classes": [{"investor_class": "leading_enterprise"}],
            "contacts": [{"name": "陈经理", "phone": "13800001111"}],
        },
        headers=officer | {"If-Match": '"1"'},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["investor_classes"] == [{"investor_class": "leading_enterprise", "list_year": None}]
    assert changed.json()["contacts"] == [{"name": "陈经理", "phone": "13800001111", "position": None}]


async def test_settled_date_checked_against_the_stored_establishment(
    client: httpx.AsyncClient, officer: Headers
) -> None:
    created = await create(client, officer, 31, established_on="2018-05-01")
    response = await client.patch(
        f"/api/v1/enterprises/{created['id']}", json={"settled_on": "2018-04-30"}, headers=officer | {"If-Match": "*"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "settled_on"]


async def test_list_filters_sort_and_page(client: httpx.AsyncClient, officer: Headers, make_user: UserFactory) -> None:
    cso, _ = await make_user(Role.officer, username="cso-li")
    parent_zone = await zone(client, officer, "PZ")
    child_zone = await zone(client, officer, "PZ-CORE", parent_zone)
    other_zone = await zone(client, officer, "ELSE")
    group = await create(client, officer, 40, name="示例控股集团", registered_capital="500.00", source="existing")
    a = await create(
        client,
        officer,
        41,
        name="甲公司",
        settled_on="2018-01-10",
        zone_id=child_zone,
        parent_id=group["id"],
        registered_capital="300.00",
        service_officer_id=cso.id,
        investor_classes=[{"investor_class": "fortune_global_500", "list_year": 2018}],
    )
    b = await create(
        client,
        officer,
        42,
        name="乙公司",
        settled_on="2018-12-31",
        zone_id=parent_zone,
        industry_code="27",
        registered_capital="100.00",
        source="relocated",
    )
    c = await create(
        client, officer, 43, name="丙公司", settled_on="2019-01-01", zone_id=other_zone, registered_capital="200.00"
    )

    async def ids(query: str) -> list[int]:
        response = await client.get(f"/api/v1/enterprises?{query}", headers=officer)
        assert response.status_code == 200, response.text
        return [e["id"] for e in response.json()["items"]]

    assert set(await ids(f"zone_id={parent_zone}")) == {a["id"], b["id"]}  # includes the sub-zone
    assert await ids(f"zone_id={child_zone}") == [a["id"]]
    assert await ids("settled_from=2018-01-01&settled_to=2018-12-31&sort=settled_on") == [a["id"], b["id"]]
    assert await ids("industry_section=C") == [b["id"]]
    assert await ids("industry_code=27") == [b["id"]]
    assert await ids("source=relocated") == [b["id"]]
    assert await ids("investor_class=fortune_global_500") == [a["id"]]
    assert await ids("has_service_officer=true") == [a["id"]]
    assert await ids(f"group_id={group['id']}") == [a["id"]]
    assert await ids(f"uscc={uscc(43).lower()}") == [c["id"]]
    assert await ids("q=乙") == [b["id"]]
    assert await ids("q=%25") == []  # a literal %, not a wildcard
    assert await ids("q=_") == []
    # Statements are built once per combination of filters and reused with other values.
    assert await ids(f"q=公司&zone_id={parent_zone}&source=relocated") == [b["id"]]
    assert await ids(f"q=公司&zone_id={child_zone}&source=new") == [a["id"]]
    assert await ids("sort=-registered_capital") == [group["id"], a["id"], c["id"], b["id"]]
    page = (await client.get("/api/v1/enterprises?sort=registered_capital&limit=2&offset=1", headers=officer)).json()
    assert [e["id"] for e in page["items"]] == [c["id"], a["id"]]
    assert page["total"] == 4
    bad = await client.get("/api/v1/enterprises?industry_section=Z", headers=officer)
    assert bad.status_code == 422


async def test_industry_reference_lists_sections_and_divisions(client: httpx.AsyncClient, officer: Headers) -> None:
    sections = (await client.get("/api/v1/industries", headers=officer)).json()
    assert len(sections) == 20
    assert sum(len(s["divisions"]) for s in sections) == 97
    manufacturing = next(s for s in sections if s["code"] == "C")
    assert manufacturing["name"] == "制造业"
    assert {"code": "39", "name": "计算机、通信和其他电子设备制造业"} in manufacturing["divisions"]


async def test_sending_the_same_investor_classes_back_is_no_change(client: httpx.AsyncClient, officer: Headers) -> None:
    # Found in review: a UI that PATCHes the whole object must not trip the unique (class, year) key.
    classes = [{"investor_class": "china_500", "list_year": 2018}, {"investor_class": "leading_enterprise"}]
    created = await create(client, officer, 50, investor_classes=classes)
    url = f"/api/v1/enterprises/{created['id']}"
    same = await client.patch(
        url, json={"investor_classes": created["investor_classes"]}, headers=officer | {"If-Match": '"1"'}
    )
    assert same.status_code == 200, same.text
    assert same.json()["version"] == 1
    grown = await client.patch(
        url,
        json={"investor_classes": [*created["investor_classes"], {"investor_class": "china_500", "list_year": 2017}]},
        headers=officer | {"If-Match": '"1"'},
    )
    assert grown.status_code == 200, grown.text
    assert len(grown.json()["investor_classes"]) == 3


async def test_zone_figures_count_a_grandchild_company_for_its_top_level_group(
    client: httpx.AsyncClient, officer: Headers, make_user: UserFactory
) -> None:
    _, leader = await make_user(Role.leader)
    cluster = await zone(client, officer, "G1")
    head = await create(client, officer, 51)  # the group, registered outside the zone
    company = await create(client, officer, 52, zone_id=cluster, parent_id=head["id"], registered_capital="300.00")
    await create(client, officer, 53, zone_id=cluster, parent_id=company["id"], registered_capital="200.00")
    await create(client, officer, 54, zone_id=cluster)  # on its own
    response = await client.get(f"/api/v1/analytics/zones/{cluster}?as_of=2030-01-01", headers=leader)
    assert response.status_code == 200, response.text
    figures = response.json()
    assert (figures["enterprises"], figures["companies"], figures["groups"]) == (3, 2, 1)
    assert figures["companies_registered_capital"][0]["amount"] == "500.00"
