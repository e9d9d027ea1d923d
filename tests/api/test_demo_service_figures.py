"""The demo service desk reproduces the 2018 report's service and talent figures, read through the API."""

from typing import Any

import httpx


async def _get(client: httpx.AsyncClient, headers: dict[str, str], url: str, **params: Any) -> Any:
    response = await client.get(url, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_2018_service_and_talent_figures(client: httpx.AsyncClient, demo_leader: dict[str, str]) -> None:
    # "目前已为14家战略新兴企业共30名提供免费人才公寓。……2018年共协助17家企业45名人才成功申报白卡落户，推动阿里巴巴、
    #  中石油、中石化、昆仑能源等4家世界500强企业的高级管理人员获批21个人才绿卡。"
    for as_of in ("2018-10-31", "2018-12-31"):
        figures = await _get(
            client,
            demo_leader,
            "/api/v1/analytics/talent-services",
            period_from="2018-01-01",
            period_to="2018-12-31",
            as_of=as_of,
        )
        apartments = figures["apartments"]
        assert (apartments["rent_free_persons"], apartments["rent_free_enterprises"]) == (30, 14), as_of
    # Two more pay a rent, one moved out in August: housed on the report date are 32 of 15 enterprises.
    assert (apartments["persons"], apartments["enterprises"]) == (32, 15)
    registrations = figures["household_registrations"]
    assert (registrations["approved"], registrations["approved_persons"], registrations["approved_enterprises"]) == (
        45,
        45,
        17,
    )
    assert (registrations["rejected"], registrations["pending"]) == (2, 3)
    cards = figures["green_cards"]
    assert (cards["approved"], cards["approved_persons"], cards["approved_senior_executives"]) == (21, 21, 21)
    assert (cards["approved_enterprises"], cards["approved_fortune_global_500_enterprises"]) == (4, 4)
    # The 2017 approvals are not 2018's figure.
    earlier = await _get(
        client, demo_leader, "/api/v1/analytics/talent-services", period_from="2017-01-01", period_to="2017-12-31"
    )
    assert earlier["household_registrations"]["approved"] == 4

    # "2018年已走访了阿里巴巴、东凌集团、欧派、小米、YY、华邦、复星、今日头条等30余家企业"
    visits = await _get(
        client, demo_leader, "/api/v1/analytics/visits", visited_from="2018-01-01", visited_to="2018-12-31"
    )
    assert (visits["visits"], visits["enterprises_visited"]) == (40, 32)
    visited = await _get(
        client, demo_leader, "/api/v1/visits", visited_from="2018-01-01", visited_to="2018-12-31", limit=200
    )
    enterprise_ids = {v["enterprise_id"] for v in visited["items"]}
    names = [(await _get(client, demo_leader, f"/api/v1/enterprises/{i}"))["name"] for i in sorted(enterprise_ids)]
    for word in ("阿里巴巴", "东凌", "欧派", "小米", "YY", "华邦", "复星", "今日头条"):
        assert any(word in n for n in names), word

    # "举办'长条桌送服务现场问诊会—琶洲专场'，组织住建、城管、国规、政务、消防、税务、供电、供水、招商、发改等职能部门
    #  及属地街道"
    fairs = await _get(client, demo_leader, "/api/v1/consultation-events", held_from="2018-01-01", held_to="2018-12-31")
    [fair] = fairs["items"]
    assert fair["title"] == "长条桌送服务现场问诊会—琶洲专场"
    assert len(fair["departments"]) == 11 and any("街道" in d["name"] for d in fair["departments"])
    stats = await _get(client, demo_leader, f"/api/v1/consultation-events/{fair['id']}/statistics", as_of="2018-12-31")
    assert stats["total"]["raised"] == sum(d["raised"] for d in stats["departments"])


async def test_request_figures_agree_with_the_requests_themselves(
    client: httpx.AsyncClient, demo_leader: dict[str, str]
) -> None:
    """The SQL aggregate and the rows it summarises tell the same story (outcomes as of the year's end)."""
    listed = await _get(
        client, demo_leader, "/api/v1/service-requests", received_from="2018-01-01", received_to="2018-12-31", limit=200
    )
    rows = listed["items"]
    resolved = [r for r in rows if r["resolved_on"] and r["resolved_on"] <= "2018-12-31"]
    on_time = [r for r in resolved if r["resolved_on"] <= r["due_on"]]
    rated = [r["satisfaction"] for r in rows if r["evaluated_on"] and r["evaluated_on"] <= "2018-12-31"]
    stats = await _get(
        client,
        demo_leader,
        "/api/v1/analytics/service-requests",
        received_from="2018-01-01",
        received_to="2018-12-31",
        by="department",
    )
    total = stats["total"]
    assert total["received"] == len(rows) == 60
    assert (total["resolved"], total["resolved_on_time"]) == (len(resolved), len(on_time))
    assert total["rejected"] == sum(r["status"] == "rejected" for r in rows)
    assert total["evaluated"] == len(rated)
    assert sum(g["received"] for g in stats["groups"]) == total["received"]
    assert {r["source"] for r in rows} == {"direct", "visit", "consultation"}
    breaches = await _get(client, demo_leader, "/api/v1/service-requests/breaches", as_of="2018-12-31", limit=200)
    assert breaches["total"] == len(resolved) - len(on_time) + total["overdue_open"]
    workload = await _get(client, demo_leader, "/api/v1/service-officers", as_of="2018-12-31")
    assert sum(w["open_requests"] for w in workload["items"]) == total["open"]
