"""Visits (走访) and consultation fairs (现场问诊会): issues become linked service requests, counted once."""

from typing import Any

import httpx

from app.core.scopes import Role
from tests.api.desk import advance, created, department, enterprise, service_type
from tests.conftest import UserFactory

VISITS = "/api/v1/visits"
FAIRS = "/api/v1/consultation-events"


async def _visit(
    client: httpx.AsyncClient, headers: dict[str, str], enterprise_id: int, day: str, officers: list[int]
) -> dict[str, Any]:
    body = {"enterprise_id": enterprise_id, "visited_on": day, "officer_ids": officers, "findings": "用地与人才需求"}
    return await created(await client.post(VISITS, json=body, headers=headers))


async def test_a_visit_and_the_issue_found_there(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    zhang, headers = await make_user(Role.officer)
    leader, _ = await make_user(Role.leader)
    viewer, _ = await make_user(Role.viewer)
    company = await enterprise(client, headers, service_officer_id=zhang.id, service_officer_since="2018-01-02")
    dept = await department(client, headers)
    kind = await service_type(client, headers, dept["id"])

    visit = await _visit(client, headers, company["id"], "2018-09-28", [zhang.id, leader.id])
    assert [o["id"] for o in visit["officers"]] == sorted([zhang.id, leader.id])
    assert visit["request_ids"] == []
    for body, loc in (
        ({"officer_ids": [viewer.id]}, ["body", "officer_ids.0"]),
        ({"officer_ids": []}, None),
        ({"officer_ids": [zhang.id, zhang.id]}, None),
        ({"visited_on": "2099-01-01"}, ["body", "visited_on"]),
        ({"enterprise_id": 4242}, ["body", "enterprise_id"]),
    ):
        bad = await client.post(
            VISITS,
            json={
                "enterprise_id": company["id"],
                "visited_on": "2018-09-28",
                "officer_ids": [zhang.id],
                "findings": "x",
            }
            | body,
            headers=headers,
        )
        assert bad.status_code == 422, body
        if loc:
            assert bad.json()["errors"][0]["loc"] == loc

    issue = {"service_type_id": kind["id"], "title": "二次消防验收", "description": "需协调消防验收时间"}
    raised = await created(await client.post(f"{VISITS}/{visit['id']}/issues", json=issue, headers=headers))
    assert (raised["source"], raised["visit_id"], raised["enterprise_id"]) == ("visit", visit["id"], company["id"])
    assert (raised["received_at"], raised["due_on"]) == ("2018-09-28T01:00:00Z", "2018-10-08")  # 09:00 in Guangzhou
    assert raised["assignee_id"] == zhang.id
    before_visit = await client.post(
        f"{VISITS}/{visit['id']}/issues", json=issue | {"received_at": "2018-09-27T10:00:00+08:00"}, headers=headers
    )
    assert (before_visit.status_code, before_visit.json()["code"]) == (422, "date_order")
    read = (await client.get(f"{VISITS}/{visit['id']}", headers=headers)).json()
    assert read["request_ids"] == [raised["id"]]
    from_visit = (
        await client.get("/api/v1/service-requests", params={"visit_id": visit["id"]}, headers=headers)
    ).json()
    assert from_visit["total"] == 1

    moved_after_issue = await client.patch(
        f"{VISITS}/{visit['id']}", json={"visited_on": "2018-09-29"}, headers=headers | {"If-Match": '"1"'}
    )
    assert (moved_after_issue.status_code, moved_after_issue.json()["code"]) == (422, "date_order")
    relisted = await client.patch(
        f"{VISITS}/{visit['id']}", json={"officer_ids": [zhang.id]}, headers=headers | {"If-Match": '"1"'}
    )
    assert (relisted.status_code, [o["id"] for o in relisted.json()["officers"]], relisted.json()["version"]) == (
        200,
        [zhang.id],
        2,
    )
    in_use = await client.delete(f"{VISITS}/{visit['id']}", headers=headers | {"If-Match": '"2"'})
    assert (in_use.status_code, in_use.json()["code"]) == (409, "visit_in_use")


async def test_coverage_counts_distinct_enterprises(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    zhang, headers = await make_user(Role.officer)
    li, _ = await make_user(Role.officer)
    _, leader = await make_user(Role.leader)
    first = await enterprise(client, headers, service_officer_id=zhang.id, service_officer_since="2018-01-02")
    second = await enterprise(client, headers, service_officer_id=li.id, service_officer_since="2018-01-02")
    third = await enterprise(client, headers, service_officer_id=li.id, service_officer_since="2018-01-02")
    await _visit(client, headers, first["id"], "2018-03-05", [zhang.id])
    await _visit(client, headers, first["id"], "2018-06-05", [zhang.id, li.id])
    await _visit(client, headers, second["id"], "2018-06-06", [li.id])
    await _visit(client, headers, third["id"], "2017-12-28", [li.id])  # outside 2018

    response = await client.get(
        "/api/v1/analytics/visits", params={"visited_from": "2018-01-01", "visited_to": "2018-12-31"}, headers=leader
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["visits"], body["enterprises_visited"], body["issues_raised"]) == (3, 2, 0)
    assert (body["assigned_enterprises"], body["assigned_enterprises_visited"], body["assigned_coverage"]) == (
        3,
        2,
        "0.6667",
    )
    per_officer = {o["officer_id"]: (o["visits"], o["enterprises"]) for o in body["by_officer"]}
    assert per_officer == {zhang.id: (2, 1), li.id: (2, 2)}
    listed = await client.get(VISITS, params={"officer_id": li.id, "visited_from": "2018-01-01"}, headers=headers)
    assert listed.json()["total"] == 2


async def test_consultation_fair_routes_issues_to_the_departments(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    _, headers = await make_user(Role.officer)
    fire = await department(client, headers, "fire", "区消防救援大队")
    power = await department(client, headers, "power", "海珠供电局")
    tax = await department(client, headers, "tax", "区税务局")
    inspection = await service_type(client, headers, fire["id"], "fire_inspection", limit=3)
    connection = await service_type(client, headers, power["id"], "power_connection", limit=5)
    buyer = await enterprise(client, headers)
    other = await enterprise(client, headers)

    fair = await created(
        await client.post(
            FAIRS,
            json={
                "held_on": "2018-06-15",
                "title": "长条桌送服务现场问诊会—琶洲专场",
                "place": "琶洲",
                "department_ids": [fire["id"], power["id"]],
            },
            headers=headers,
        )
    )
    assert [d["code"] for d in fair["departments"]] == ["fire", "power"]
    url = f"{FAIRS}/{fair['id']}"

    async def book(enterprise_id: int, department_id: int) -> httpx.Response:
        return await client.post(
            f"{url}/appointments",
            json={"enterprise_id": enterprise_id, "department_id": department_id},
            headers=headers,
        )

    at_fire = await created(await book(buyer["id"], fire["id"]))
    at_power = await created(await book(buyer["id"], power["id"]))
    await created(await book(other["id"], fire["id"]))
    absent = await book(buyer["id"], tax["id"])
    assert (absent.status_code, absent.json()["code"]) == (422, "department_not_at_event")
    again = await book(buyer["id"], fire["id"])
    assert (again.status_code, again.json()["code"]) == (409, "duplicate")

    async def issue(appointment: dict[str, Any], type_id: int) -> dict[str, Any]:
        body = {"service_type_id": type_id, "title": "现场问诊", "description": "咨询"}
        return await created(
            await client.post(f"{url}/appointments/{appointment['id']}/issues", json=body, headers=headers)
        )

    first = await issue(at_fire, inspection["id"])
    # The issue goes to the appointment's department, whatever the type's usual department.
    second = await issue(at_fire, connection["id"])
    third = await issue(at_power, connection["id"])
    assert (first["department_id"], second["department_id"], third["department_id"]) == (
        fire["id"],
        fire["id"],
        power["id"],
    )
    assert (first["source"], first["appointment_id"], first["received_on"]) == (
        "consultation",
        at_fire["id"],
        "2018-06-15",
    )
    await advance(
        client,
        headers,
        first,
        ("accepted", {"occurred_at": "2018-06-19T09:00:00+08:00"}),
        ("in_progress", {"occurred_at": "2018-06-19T10:00:00+08:00"}),
        ("resolved", {"occurred_at": "2018-06-20T10:00:00+08:00", "resolution": "已验收"}),
    )
    await advance(
        client, headers, second, ("rejected", {"reason_code": "duplicate", "occurred_at": "2018-06-19T09:00:00+08:00"})
    )

    stats = (await client.get(f"{url}/statistics", params={"as_of": "2018-06-30"}, headers=headers)).json()
    per = {d["code"]: d for d in stats["departments"]}
    assert stats["enterprises"] == 2
    assert (per["fire"]["appointments"], per["fire"]["raised"], per["fire"]["resolved"], per["fire"]["rejected"]) == (
        2,
        2,
        1,
        1,
    )
    assert (per["fire"]["closure_rate"], per["fire"]["on_time_rate"]) == ("1.0000", "1.0000")
    assert (per["power"]["raised"], per["power"]["open"], per["power"]["closure_rate"]) == (1, 1, "0.0000")
    assert (stats["total"]["appointments"], stats["total"]["raised"], stats["total"]["closure_rate"]) == (
        3,
        3,
        "0.6667",
    )
    appointments = (await client.get(f"{url}/appointments", headers=headers)).json()
    assert {a["id"]: a["request_ids"] for a in appointments}[at_fire["id"]] == [first["id"], second["id"]]
    by_event = await client.get(
        "/api/v1/service-requests", params={"consultation_event_id": fair["id"]}, headers=headers
    )
    assert by_event.json()["total"] == 3

    leaving = await client.patch(url, json={"department_ids": [fire["id"]]}, headers=headers | {"If-Match": '"1"'})
    assert (leaving.status_code, leaving.json()["code"]) == (409, "department_has_appointments")
    joined = await client.patch(
        url, json={"department_ids": [fire["id"], power["id"], tax["id"]]}, headers=headers | {"If-Match": '"1"'}
    )
    assert (joined.status_code, len(joined.json()["departments"]), joined.json()["version"]) == (200, 3, 2)


async def test_far_future_instants_dates_as_numbers_and_invisible_names_are_refused(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    zhang, headers = await make_user(Role.officer)
    company = await enterprise(client, headers)
    dept = await department(client, headers)
    kind = await service_type(client, headers, dept["id"])
    visit = await _visit(client, headers, company["id"], "2018-09-28", [zhang.id])
    issue = {"service_type_id": kind["id"], "title": "t", "description": "d", "received_at": "9999-12-31T23:59:59Z"}
    far = await client.post(f"{VISITS}/{visit['id']}/issues", json=issue, headers=headers)
    assert (far.status_code, far.json()["code"]) == (422, "date_in_future")  # this used to answer 500
    numbered = await client.post(
        VISITS,
        json={"enterprise_id": company["id"], "visited_on": 1538064000, "officer_ids": [zhang.id], "findings": "x"},
        headers=headers,
    )
    assert numbered.status_code == 422
    stamped = await client.post(
        VISITS,
        json={
            "enterprise_id": company["id"],
            "visited_on": "2018-09-28T00:00:00",
            "officer_ids": [zhang.id],
            "findings": "x",
        },
        headers=headers,
    )
    assert stamped.status_code == 422
    for hidden in ("\u061c", "\u00ad", "\u3164", "\U000e0001", "\u034f"):
        named = await client.post("/api/v1/departments", json={"code": "odd", "name": f"部{hidden}门"}, headers=headers)
        assert named.status_code == 422, repr(hidden)

    fair = await created(
        await client.post(
            FAIRS,
            json={"held_on": "2099-06-15", "title": "将来的问诊会", "place": "琶洲", "department_ids": [dept["id"]]},
            headers=headers,
        )
    )
    booked = await created(
        await client.post(
            f"{FAIRS}/{fair['id']}/appointments",
            json={"enterprise_id": company["id"], "department_id": dept["id"]},
            headers=headers,
        )
    )
    ahead = await client.post(
        f"{FAIRS}/{fair['id']}/appointments/{booked['id']}/issues",
        json={"service_type_id": kind["id"], "title": "t", "description": "d"},
        headers=headers,
    )
    assert (ahead.status_code, ahead.json()["code"]) == (409, "event_not_held")
