"""Cohorts, targets and the KPI summary on small hand-made data: the comparable basis and its bad inputs."""

from typing import Any

import httpx
import pytest

from app.core.clock import FixedClock
from app.core.scopes import Role
from app.services import kpi_analytics
from app.services.calculators.uscc import check_character
from tests.conftest import UserFactory

Headers = dict[str, str]


def uscc(serial: int) -> str:
    first17 = f"91440105MA7{serial:06d}"
    return first17 + check_character(first17)


@pytest.fixture
async def officer(make_user: UserFactory) -> Headers:
    _, headers = await make_user(Role.officer, username="kpi-officer")
    return headers


async def world(client: httpx.AsyncClient, headers: Headers) -> dict[str, Any]:
    """Three enterprises: two comparable (with 2017 figures), one new in 2018; a static cohort of all three."""
    ids = []
    for n in range(3):
        created = await client.post(
            "/api/v1/enterprises",
            json={
                "uscc": uscc(n),
                "name": f"口径测试企业{n}",
                "registered_capital": "1000.00",
                "industry_code": "64",
                "source": "new",
            },
            headers=headers,
        )
        ids.append(created.json()["id"])
    rows = [
        {"enterprise_id": ids[0], "metric": "revenue", "period": "2018-10", "reported_as": "ytd", "value": "150.00"},
        {"enterprise_id": ids[0], "metric": "revenue", "period": "2017-10", "reported_as": "ytd", "value": "100.00"},
        {"enterprise_id": ids[1], "metric": "revenue", "period": "2018-10", "reported_as": "ytd", "value": "50.00"},
        {"enterprise_id": ids[1], "metric": "revenue", "period": "2017-10", "reported_as": "ytd", "value": "60.00"},
        {"enterprise_id": ids[2], "metric": "revenue", "period": "2018-10", "reported_as": "ytd", "value": "500.00"},
    ]
    assert (await client.post("/api/v1/kpi-facts/bulk", json={"rows": rows}, headers=headers)).status_code == 200
    cohort = await client.post(
        "/api/v1/cohorts", json={"code": "test", "name": "测试口径", "kind": "static"}, headers=headers
    )
    members = [{"enterprise_id": i, "joined_on": "2018-01-01"} for i in ids]
    assert (
        await client.put(f"/api/v1/cohorts/{cohort.json()['id']}/members", json=members, headers=headers)
    ).status_code == 200
    return {"ids": ids, "cohort": cohort.json()["id"]}


async def summary(client: httpx.AsyncClient, headers: Headers, cohort: int, period: str = "2018-10") -> Any:
    return await client.get(
        f"/api/v1/analytics/kpi-summary?cohort_id={cohort}&metric=revenue&period={period}", headers=headers
    )


async def test_growth_is_on_the_comparable_basis(
    client: httpx.AsyncClient, clock: FixedClock, officer: Headers
) -> None:
    w = await world(client, officer)
    body = (await summary(client, officer, w["cohort"])).json()
    assert body["actual"] == "700.00"  # everyone reporting now
    assert (body["comparable_current"], body["comparable_base"]) == ("200.00", "160.00")
    assert body["yoy_text"] == "增长25.0%"  # not (700 − 160) / 160
    assert body["excluded"] == [{"enterprise_id": w["ids"][2], "reason": "no_base"}]


async def test_excluded_members_are_all_counted_and_listed_in_id_order_up_to_the_limit(
    client: httpx.AsyncClient, clock: FixedClock, officer: Headers, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = await world(client, officer)
    # A fourth member that reported in 2017 but not yet in 2018: out of the comparison for want of a figure now.
    created = await client.post(
        "/api/v1/enterprises",
        json={
            "uscc": uscc(3),
            "name": "口径测试企业3",
            "registered_capital": "1000.00",
            "industry_code": "64",
            "source": "new",
        },
        headers=officer,
    )
    late = created.json()["id"]
    row = {"enterprise_id": late, "metric": "revenue", "period": "2017-10", "reported_as": "ytd", "value": "80.00"}
    assert (await client.post("/api/v1/kpi-facts/bulk", json={"rows": [row]}, headers=officer)).status_code == 200
    members = [{"enterprise_id": i, "joined_on": "2018-01-01"} for i in [*w["ids"], late]]
    url = f"/api/v1/cohorts/{w['cohort']}/members"
    assert (await client.put(url, json=members, headers=officer)).status_code == 200

    body = (await summary(client, officer, w["cohort"])).json()
    assert (body["comparable_current"], body["comparable_base"]) == ("200.00", "160.00")
    assert body["excluded_count"] == 2
    assert body["excluded"] == [
        {"enterprise_id": w["ids"][2], "reason": "no_base"},
        {"enterprise_id": late, "reason": "no_current"},
    ]
    monkeypatch.setattr(kpi_analytics, "MAX_EXCLUDED_LISTED", 1)
    body = (await summary(client, officer, w["cohort"])).json()
    assert body["excluded_count"] == 2  # all counted, the first listed
    assert body["excluded"] == [{"enterprise_id": w["ids"][2], "reason": "no_base"}]


async def test_targets_completion_gap_and_light(client: httpx.AsyncClient, clock: FixedClock, officer: Headers) -> None:
    w = await world(client, officer)
    url = f"/api/v1/cohorts/{w['cohort']}/targets"
    for target in (
        {"metric": "revenue", "year": 2018, "value": "1000.00"},
        {"metric": "revenue", "year": 2018, "month": 10, "value": "700.00"},
    ):
        assert (await client.put(url, json=target, headers=officer)).status_code == 200
    body = (await summary(client, officer, w["cohort"])).json()
    assert (body["display"]["annual_completion"], body["display"]["staged_completion"]) == ("70.0%", "100.0%")
    assert body["display"]["gap"] == "-13.3个百分点"  # 70% against 83.3% of the year elapsed
    assert body["light"] == "red"
    lenient = await client.get(
        f"/api/v1/analytics/kpi-summary?cohort_id={w['cohort']}&metric=revenue&period=2018-10&yellow_from=-20",
        headers=officer,
    )
    assert lenient.json()["light"] == "yellow"
    zero = await client.put(url, json={"metric": "revenue", "year": 2018, "value": "0"}, headers=officer)
    assert zero.status_code == 422  # a target of zero would make every completion infinite


async def test_a_member_who_left_is_not_counted(client: httpx.AsyncClient, clock: FixedClock, officer: Headers) -> None:
    w = await world(client, officer)
    members = [
        {"enterprise_id": w["ids"][0], "joined_on": "2018-01-01", "left_on": "2018-06-01"},
        {"enterprise_id": w["ids"][1], "joined_on": "2018-01-01"},
    ]
    await client.put(f"/api/v1/cohorts/{w['cohort']}/members", json=members, headers=officer)
    body = (await summary(client, officer, w["cohort"])).json()
    assert body["actual"] == "50.00"
    assert body["yoy_text"] == "下降16.7%"


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("metric=profit&period=2018-10", 422),
        ("metric=revenue&period=2018-13", 422),
        ("metric=revenue&period=2018-11", 422),
        ("metric=revenue&period=2018-10&yellow_from=5", 422),
    ],
)
async def test_bad_summary_requests(
    client: httpx.AsyncClient, clock: FixedClock, officer: Headers, query: str, status: int
) -> None:
    w = await world(client, officer)
    response = await client.get(f"/api/v1/analytics/kpi-summary?cohort_id={w['cohort']}&{query}", headers=officer)
    assert response.status_code == status, response.text  # 2018-11 is in the future on 2018-10-31
    missing = await client.get(
        "/api/v1/analytics/kpi-summary?cohort_id=424242&metric=revenue&period=2018-10", headers=officer
    )
    assert missing.status_code == 404


async def test_a_rule_cohort_that_matches_nothing_is_refused(
    client: httpx.AsyncClient, clock: FixedClock, officer: Headers
) -> None:
    refused = await client.post(
        "/api/v1/cohorts",
        json={"code": "y1999", "name": "1999年落户", "kind": "settled_year", "rule_value": 1999},
        headers=officer,
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "empty_cohort"
    no_value = await client.post("/api/v1/cohorts", json={"code": "z", "name": "z", "kind": "zone"}, headers=officer)
    assert no_value.status_code == 422


async def test_breakdown_by_enterprise_and_industry(
    client: httpx.AsyncClient, clock: FixedClock, officer: Headers
) -> None:
    w = await world(client, officer)
    base = f"/api/v1/analytics/kpi-breakdown?cohort_id={w['cohort']}&metric=revenue&period=2018-10"
    top = (await client.get(base + "&by=enterprise&limit=2", headers=officer)).json()
    assert top["total"] == "700.00"
    assert [(r["label"], r["value"], r["share"]) for r in top["rows"]] == [
        ("口径测试企业2", "500.00", "0.7143"),
        ("口径测试企业0", "150.00", "0.2143"),
    ]
    by_industry = (await client.get(base + "&by=industry", headers=officer)).json()
    assert [(r["key"], r["label"], r["value"]) for r in by_industry["rows"]] == [
        ("I", "信息传输、软件和信息技术服务业", "700.00")
    ]
    by_zone = (await client.get(base + "&by=zone", headers=officer)).json()
    assert by_zone["rows"][0]["value"] == "700.00"  # none of them has a zone: one row, "no zone"


async def test_monthly_series_with_the_previous_year(
    client: httpx.AsyncClient, clock: FixedClock, officer: Headers
) -> None:
    w = await world(client, officer)
    body = (
        await client.get(
            f"/api/v1/analytics/kpi-series?cohort_id={w['cohort']}&metric=revenue&year=2018", headers=officer
        )
    ).json()
    october = body["points"][9]
    assert (october["month"], october["ytd"], october["previous_ytd"]) == (10, "700.00", "160.00")
    assert october["monthly"] is None  # September not reported: October's own value is unknown, not guessed
    assert body["points"][0] == {
        "month": 1,
        "monthly": None,
        "ytd": None,
        "previous_monthly": None,
        "previous_ytd": None,
    }


async def test_a_member_who_joined_mid_year_counts_from_then(
    client: httpx.AsyncClient, clock: FixedClock, officer: Headers
) -> None:
    w = await world(client, officer)
    members = [
        {"enterprise_id": w["ids"][0], "joined_on": "2018-11-01"},  # after 1–10月: not in that figure
        {"enterprise_id": w["ids"][1], "joined_on": "2018-07-15"},
    ]
    await client.put(f"/api/v1/cohorts/{w['cohort']}/members", json=members, headers=officer)
    body = (await summary(client, officer, w["cohort"])).json()
    assert body["actual"] == "50.00"


async def test_day_weighted_time_progress(client: httpx.AsyncClient, clock: FixedClock, officer: Headers) -> None:
    w = await world(client, officer)
    url = f"/api/v1/analytics/kpi-summary?cohort_id={w['cohort']}&metric=revenue&period=2018-10"
    months = (await client.get(url, headers=officer)).json()
    days = (await client.get(url + "&progress=days", headers=officer)).json()
    assert months["display"]["time_progress"] == "83.3%"  # 10 / 12
    assert days["display"]["time_progress"] == "83.3%"  # 304 / 365 = 83.29%
    assert months["time_progress"] != days["time_progress"]


async def test_breakdown_by_project_stage(client: httpx.AsyncClient, clock: FixedClock, officer: Headers) -> None:
    w = await world(client, officer)
    await client.post(
        "/api/v1/projects",
        json={"name": "阶段测试项目", "introduced_on": "2018-01-01", "stage": "signed", "enterprise_id": w["ids"][2]},
        headers=officer,
    )
    rows = (
        await client.get(
            f"/api/v1/analytics/kpi-breakdown?cohort_id={w['cohort']}&metric=revenue&period=2018-10&by=stage",
            headers=officer,
        )
    ).json()["rows"]
    assert [(r["key"], r["value"]) for r in rows] == [("signed", "500.00"), ("no_project", "200.00")]


async def test_intensity_uses_the_area_in_force_at_the_period_end(
    client: httpx.AsyncClient, clock: FixedClock, officer: Headers
) -> None:
    zone = (
        await client.post("/api/v1/zones", json={"code": "AREA", "name": "面积测试区", "kind": "core"}, headers=officer)
    ).json()
    for version in (
        {"area_km2": "1.0", "effective_from": "2015-01-01", "effective_to": "2018-07-01"},
        {"area_km2": "0.5", "effective_from": "2018-07-01"},
    ):
        await client.post(f"/api/v1/zones/{zone['id']}/area-versions", json=version, headers=officer)
    created = await client.post(
        "/api/v1/enterprises",
        json={
            "uscc": uscc(9),
            "name": "面积测试企业",
            "registered_capital": "1.00",
            "industry_code": "64",
            "source": "new",
            "zone_id": zone["id"],
        },
        headers=officer,
    )
    rows = [
        {
            "enterprise_id": created.json()["id"],
            "metric": "revenue",
            "period": p,
            "reported_as": "ytd",
            "value": "100000000.00",
        }
        for p in ("2018-06", "2018-10")
    ]
    await client.post("/api/v1/kpi-facts/bulk", json={"rows": rows}, headers=officer)
    base = f"/api/v1/analytics/kpi-intensity?zone_id={zone['id']}&metric=revenue"
    june = (await client.get(base + "&period=2018-06", headers=officer)).json()
    october = (await client.get(base + "&period=2018-10", headers=officer)).json()
    assert (june["area_km2"], june["display"]["yi_per_km2"]) == ("1.000000", "1.0亿元/平方公里")
    assert (october["area_km2"], october["display"]["yi_per_km2"]) == ("0.500000", "2.0亿元/平方公里")


async def test_an_enterprise_counts_once_however_many_key_projects_it_has(
    client: httpx.AsyncClient, clock: FixedClock, officer: Headers
) -> None:
    # Found in review: two key projects of one enterprise doubled its figures.
    w = await world(client, officer)
    for name in ("一期项目", "二期项目"):
        await client.post(
            "/api/v1/projects",
            json={"name": name, "introduced_on": "2018-01-01", "is_key": True, "enterprise_id": w["ids"][0]},
            headers=officer,
        )
    cohort = await client.post(
        "/api/v1/cohorts", json={"code": "key", "name": "重点", "kind": "key_projects"}, headers=officer
    )
    body = (await summary(client, officer, cohort.json()["id"])).json()
    assert (body["actual"], body["comparable_base"]) == ("150.00", "100.00")


async def test_overlapping_memberships_are_refused(
    client: httpx.AsyncClient, clock: FixedClock, officer: Headers
) -> None:
    w = await world(client, officer)
    members = [
        {"enterprise_id": w["ids"][0], "joined_on": "2018-01-01"},
        {"enterprise_id": w["ids"][0], "joined_on": "2018-03-01"},
        {"enterprise_id": 424242, "joined_on": "2018-01-01"},
    ]
    response = await client.put(f"/api/v1/cohorts/{w['cohort']}/members", json=members, headers=officer)
    assert response.status_code == 422
    assert {tuple(e["loc"]) for e in response.json()["errors"]} == {
        ("body", 2, "enterprise_id"),
        ("body", 1, "joined_on"),
    }
    assert len((await client.get(f"/api/v1/cohorts/{w['cohort']}/members", headers=officer)).json()) == 3  # unchanged


async def test_rule_cohorts_follow_the_date(client: httpx.AsyncClient, clock: FixedClock, officer: Headers) -> None:
    # Found in review: a settled-year cohort counted in June an enterprise that settled in September.
    created = await client.post(
        "/api/v1/enterprises",
        json={
            "uscc": uscc(20),
            "name": "九月落户企业",
            "registered_capital": "1.00",
            "industry_code": "64",
            "source": "new",
            "settled_on": "2018-09-01",
        },
        headers=officer,
    )
    eid = created.json()["id"]
    rows = [
        {"enterprise_id": eid, "metric": "revenue", "period": p, "reported_as": "ytd", "value": "10.00"}
        for p in ("2018-06", "2018-10")
    ]
    await client.post("/api/v1/kpi-facts/bulk", json={"rows": rows}, headers=officer)
    cohort = await client.post(
        "/api/v1/cohorts",
        json={"code": "y2018", "name": "2018落户", "kind": "settled_year", "rule_value": 2018},
        headers=officer,
    )
    june = (await summary(client, officer, cohort.json()["id"], "2018-06")).json()
    october = (await summary(client, officer, cohort.json()["id"])).json()
    assert (june["actual"], october["actual"]) == ("0", "10.00")


@pytest.mark.parametrize(
    "query",
    [
        "/api/v1/analytics/kpi-summary?cohort_id=1&metric=revenue&period=0000-01",
        "/api/v1/analytics/kpi-threshold?cohort_id=1&metric=revenue&period=2018-10&threshold=0.001",
    ],
)
async def test_out_of_range_queries_are_422(
    client: httpx.AsyncClient, clock: FixedClock, officer: Headers, query: str
) -> None:
    assert (await client.get(query, headers=officer)).status_code == 422


async def test_future_facts_are_refused(client: httpx.AsyncClient, clock: FixedClock, officer: Headers) -> None:
    w = await world(client, officer)
    row = {
        "enterprise_id": w["ids"][0],
        "metric": "revenue",
        "period": "2018-11",
        "reported_as": "ytd",
        "value": "1.00",
    }
    response = await client.post("/api/v1/kpi-facts/bulk", json={"rows": [row]}, headers=officer)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "rows", 0, "period"]


async def test_no_intensity_on_a_partial_area_basis(
    client: httpx.AsyncClient, clock: FixedClock, officer: Headers
) -> None:
    parent = (
        await client.post("/api/v1/zones", json={"code": "P", "name": "父区", "kind": "cluster"}, headers=officer)
    ).json()
    measured = (
        await client.post(
            "/api/v1/zones",
            json={"code": "PA", "name": "有面积", "kind": "core", "parent_id": parent["id"]},
            headers=officer,
        )
    ).json()
    unmeasured = (
        await client.post(
            "/api/v1/zones",
            json={"code": "PB", "name": "无面积", "kind": "support", "parent_id": parent["id"]},
            headers=officer,
        )
    ).json()
    await client.post(
        f"/api/v1/zones/{measured['id']}/area-versions",
        json={"area_km2": "1", "effective_from": "2015-01-01"},
        headers=officer,
    )
    body = (
        await client.get(
            f"/api/v1/analytics/kpi-intensity?zone_id={parent['id']}&metric=revenue&period=2018-10", headers=officer
        )
    ).json()
    assert body["area_missing"] == [unmeasured["id"]]
    assert body["yi_per_km2"] is None
    assert body["display"]["yi_per_km2"] == "--"


async def test_a_viewer_gets_no_tax_analytics(
    client: httpx.AsyncClient, clock: FixedClock, officer: Headers, make_user: UserFactory
) -> None:
    w = await world(client, officer)
    _, viewer = await make_user(Role.viewer)
    base = f"/api/v1/analytics/kpi-summary?cohort_id={w['cohort']}&period=2018-10&metric="
    assert (await client.get(base + "revenue", headers=viewer)).status_code == 200
    refused = await client.get(base + "tax", headers=viewer)
    assert refused.status_code == 403
    assert refused.json()["code"] == "insufficient_scope"
