"""The demo registry reproduces the 2018 Haizhu report's figures, read through the API as a leader would."""

from decimal import Decimal
from typing import Any

import httpx

from app.core.db import Database
from app.services.demo import load_demo_data


async def _get(client: httpx.AsyncClient, headers: dict[str, str], url: str) -> Any:
    response = await client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def _zone_id(client: httpx.AsyncClient, headers: dict[str, str], code: str) -> int:
    zones = await _get(client, headers, f"/api/v1/zones?q={code}&limit=200")
    return int(next(z["id"] for z in zones["items"] if z["code"] == code))


async def test_2018_settlement_figures(client: httpx.AsyncClient, demo_leader: dict[str, str]) -> None:
    # "引进落地了72个优质企业，注册资本超100亿元 … 近六成企业都是新设企业或从外市迁入 …
    #  含世界500强投资企业8家，中国500强投资企业16家，占到引进企业的1/3"
    cohort = await _get(
        client, demo_leader, "/api/v1/analytics/settlement?settled_from=2018-01-01&settled_to=2018-12-31"
    )
    assert cohort["enterprises"] == 72
    [cny] = cohort["registered_capital"]
    assert cny["currency"] == "CNY"
    assert Decimal(cny["amount"]) > Decimal(10_000_000_000)
    assert cny["amount_yi"] == "102.35"
    assert cohort["new_or_relocated"] == 43
    assert cohort["new_or_relocated_share"] == "0.5972"  # 近六成
    by_class = {c["investor_class"]: c["enterprises"] for c in cohort["investor_classes"]}
    assert by_class == {"fortune_global_500": 8, "china_500": 16}
    assert cohort["in_any_investor_class"] == 24
    assert cohort["in_any_investor_class_share"] == "0.3333"  # 1/3

    # Two Fortune Global 500 investors appear on two years' lists: each still counts once.
    only_2017 = await _get(
        client, demo_leader, "/api/v1/analytics/settlement?settled_from=2018-01-01&settled_to=2018-12-31&list_year=2017"
    )
    assert only_2017["investor_classes"] == [{"investor_class": "fortune_global_500", "enterprises": 2}]


async def test_pazhou_cluster_figures(client: httpx.AsyncClient, demo_leader: dict[str, str]) -> None:
    # "琶洲互联网创新集聚区先后出让28宗地块，引入腾讯、阿里巴巴、复星、小米等20家龙头企业，共设立94家项目及业务公司，
    #  总注册资本161.3亿元。已有13家拍地企业在我区开展实质性产业业务 … 核心区+拓展区+配套区共计0.37平方公里"
    pazhou = await _zone_id(client, demo_leader, "PZ")
    summary = await _get(client, demo_leader, f"/api/v1/analytics/zones/{pazhou}?as_of=2018-10-31")
    assert summary["parcels_transferred"] == 28
    assert summary["groups"] == 20
    assert summary["companies"] == 94
    assert summary["companies_registered_capital"] == [
        {"currency": "CNY", "amount": "16130000000.00", "amount_yi": "161.30"}
    ]
    assert summary["land_buyers_operating"] == 13
    assert Decimal(summary["area_km2"]) == Decimal("0.37")

    # The figures are as of a date: the same at the year's end, while a parcel transferred and a buyer
    # operating from January 2019 are in the later figures only.
    year_end = await _get(client, demo_leader, f"/api/v1/analytics/zones/{pazhou}?as_of=2018-12-31")
    assert (year_end["parcels_transferred"], year_end["land_buyers_operating"]) == (28, 13)
    next_year = await _get(client, demo_leader, f"/api/v1/analytics/zones/{pazhou}?as_of=2019-01-31")
    assert (next_year["parcels_transferred"], next_year["land_buyers_operating"]) == (29, 14)

    groups = await _get(client, demo_leader, f"/api/v1/analytics/groups?zone_id={pazhou}&limit=200")
    assert groups["total"] == 20
    assert sum(g["companies"] for g in groups["items"]) == 94
    names = {g["group_name"] for g in groups["items"]}
    assert {"深圳市腾讯计算机系统有限公司", "阿里巴巴（中国）有限公司", "小米科技有限责任公司"} <= names
    total = sum(Decimal(g["registered_capital"][0]["amount"]) for g in groups["items"])
    assert total == Decimal("16130000000.00")


async def test_area_basis_follows_the_area_versions(client: httpx.AsyncClient, demo_leader: dict[str, str]) -> None:
    pazhou = await _zone_id(client, demo_leader, "PZ")
    on_report_date = await _get(client, demo_leader, f"/api/v1/zones/{pazhou}/area-basis?on=2018-10-31")
    assert Decimal(on_report_date["area_km2"]) == Decimal("0.37")
    assert Decimal(on_report_date["area_mu"]) == Decimal(555)  # 0.37 km² × 1,500 亩
    assert sorted(m["kind"] for m in on_report_date["members"]) == ["core", "expansion", "support"]
    before_enlargement = await _get(client, demo_leader, f"/api/v1/zones/{pazhou}/area-basis?on=2017-06-30")
    assert Decimal(before_enlargement["area_km2"]) == Decimal("0.34")
    before_any = await _get(client, demo_leader, f"/api/v1/zones/{pazhou}/area-basis?on=2014-06-30")
    assert Decimal(before_any["area_km2"]) == 0
    assert len(before_any["missing"]) == 3


async def test_demo_data_is_idempotent(
    client: httpx.AsyncClient, demo_leader: dict[str, str], database: Database
) -> None:
    before = (await _get(client, demo_leader, "/api/v1/enterprises?limit=1"))["total"]
    async with database.session() as session:
        result = await load_demo_data(session, "another-password-x")
    loaded = (result.registry_loaded, result.projects_loaded, result.kpis_loaded, result.services_loaded)
    assert (result.admin_created, *loaded, result.disclosure_loaded) == (False,) * 6
    assert (await _get(client, demo_leader, "/api/v1/enterprises?limit=1"))["total"] == before


async def test_key_projects_behind_schedule_on_the_report_date(
    client: httpx.AsyncClient, demo_leader: dict[str, str]
) -> None:
    # "对重大产业招商项目实行节点式管理，项目建设、产业导入两条线并行推进 … 对未达进度项目及时与企业负责人沟通洽谈"
    late = await _get(client, demo_leader, "/api/v1/milestones/overdue?as_of=2018-10-31&key_only=true")
    rows = {(r["project_name"], r["milestone_name"]): r for r in late["items"]}
    topping = rows[("腾讯琶洲总部项目（示例）", "主体结构封顶")]
    assert (topping["days_overdue"], topping["replans"], topping["track"]) == (31, 1, "construction")
    permit = rows[("阿里巴巴华南运营中心项目（示例）", "取得施工许可")]
    assert (permit["days_overdue"], permit["worst_escalation"]) == (61, "supervision")
    assert [r["days_overdue"] for r in late["items"]] == sorted(
        (r["days_overdue"] for r in late["items"]), reverse=True
    )
    assert {r["track"] for r in late["items"]} == {"construction", "industry"}  # both tracks are supervised

    pipeline = await _get(client, demo_leader, "/api/v1/analytics/pipeline?key_only=true")
    by_stage = {s["stage"]: s["projects"] for s in pipeline["stages"]}
    assert (by_stage["under_construction"], by_stage["operating"], by_stage["negotiating"]) == (3, 1, 1)


async def _cohort_id(client: httpx.AsyncClient, headers: dict[str, str], code: str) -> int:
    cohorts = await _get(client, headers, "/api/v1/cohorts")
    return int(next(c["id"] for c in cohorts if c["code"] == code))


KEY_PROJECTS = [
    ("revenue", "486.1", "增长26.1%", "147.3%"),
    ("tax", "20.5", "增长12.1%", "136.7%"),
    ("fixed_asset_investment", "171.6", None, None),
]
PAZHOU = [
    ("revenue", "140.3", "增长91.9%", "379.2"),
    ("tax", "9.3", "增长34.8%", "25.1"),
    ("fixed_asset_investment", "78.8", None, "212.97"),
]


async def test_key_projects_kpis_1_to_10_2018(client: httpx.AsyncClient, demo_leader: dict[str, str]) -> None:
    # "重点招商项目实现营收486.1亿元，同比增长26.1%，完成“效率年”任务目标进度的147.3%；税收20.5亿元，同比增长12.1%，
    #  完成…136.7%；固定资产投资171.6亿元"
    key = await _cohort_id(client, demo_leader, "key-2018")
    for metric, actual, growth, staged in KEY_PROJECTS:
        url = f"/api/v1/analytics/kpi-summary?cohort_id={key}&metric={metric}&period=2018-10"
        summary = await _get(client, demo_leader, url)
        assert summary["label"] == "2018年1–10月"
        assert summary["display"]["actual"] == f"{actual}亿元", metric
        assert Decimal(summary["actual"]) == Decimal(actual) * 100_000_000
        assert summary["display"]["time_progress"] == "83.3%"
        if growth is not None:
            assert summary["yoy_text"] == growth, metric
            # Enterprises settled in 2018 have no base: left out of both sides of the growth.
            assert summary["excluded_count"] > 0
            assert {e["reason"] for e in summary["excluded"]} == {"no_base"}
        if staged is not None:
            assert summary["display"]["staged_completion"] == staged, metric


async def test_pazhou_kpis_and_intensity(client: httpx.AsyncClient, demo_leader: dict[str, str]) -> None:
    # "集聚区企业实现营收140.3亿元，同比增长91.9%；税收9.3亿元，同比增长34.8%；固定资产投资78.8亿元 …
    #  营收强度379.2亿元/平方公里，税收强度25.1亿元/平方公里，投资强度212.9亿元/平方公里" (212.97 unrounded)
    pazhou_cohort = await _cohort_id(client, demo_leader, "pazhou")
    zone = await _zone_id(client, demo_leader, "PZ")
    for metric, actual, growth, per_km2 in PAZHOU:
        url = f"/api/v1/analytics/kpi-summary?cohort_id={pazhou_cohort}&metric={metric}&period=2018-10"
        summary = await _get(client, demo_leader, url)
        assert summary["display"]["actual"] == f"{actual}亿元", metric
        if growth is not None:
            assert summary["yoy_text"] == growth, metric
        url = f"/api/v1/analytics/kpi-intensity?zone_id={zone}&metric={metric}&period=2018-10"
        intensity = await _get(client, demo_leader, url)
        assert Decimal(intensity["area_km2"]) == Decimal("0.37")
        places = len(per_km2.split(".")[1])
        assert round(Decimal(intensity["yi_per_km2"]), places) == Decimal(per_km2), metric


async def test_two_yi_yuan_taxpayers_in_pazhou(client: httpx.AsyncClient, demo_leader: dict[str, str]) -> None:
    # "目前已产生2个亿元税收企业（腾讯、赫基）"
    pazhou_cohort = await _cohort_id(client, demo_leader, "pazhou")
    group = await _get(
        client,
        demo_leader,
        f"/api/v1/analytics/kpi-threshold?cohort_id={pazhou_cohort}&metric=tax&period=2018-10&threshold=100000000",
    )
    names = [m["name"] for m in group["members"]]
    assert len(names) == 2
    assert "腾讯" in names[0] and "赫基" in names[1]
