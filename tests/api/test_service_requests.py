"""Service requests: the catalogue, due dates in working days, the closed loop, breaches and statistics."""

from typing import Any

import httpx

from app.core.clock import FixedClock
from app.core.scopes import Role
from tests.api.desk import advance, department, enterprise, request, service_type, step
from tests.conftest import UserFactory

REQUESTS = "/api/v1/service-requests"


async def _desk(client: httpx.AsyncClient, headers: dict[str, str], limit: int = 3) -> tuple[dict[str, Any], ...]:
    dept = await department(client, headers)
    kind = await service_type(client, headers, dept["id"], limit=limit)
    return dept, kind


async def test_catalogue_and_departments_are_managed_through_the_api(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    _, officer = await make_user(Role.officer)
    _, viewer = await make_user(Role.viewer)
    dept, kind = await _desk(client, officer)
    assert (kind["department_id"], kind["time_limit_working_days"], kind["is_active"]) == (dept["id"], 3, True)

    twin = await client.post("/api/v1/departments", json={"code": "fire", "name": "另一个"}, headers=officer)
    assert (twin.status_code, twin.json()["code"], twin.json()["existing_id"]) == (409, "duplicate", dept["id"])
    orphan = await client.post(
        "/api/v1/service-types",
        json={"code": "x", "name": "x", "category": "enterprise", "department_id": 999, "time_limit_working_days": 1},
        headers=officer,
    )
    assert (orphan.status_code, orphan.json()["code"]) == (422, "unknown_reference")
    assert orphan.json()["errors"][0]["loc"] == ["body", "department_id"]
    for bad_limit in (0, 251, "3", 2.5):
        bad = await client.post(
            "/api/v1/service-types",
            json={
                "code": "y",
                "name": "y",
                "category": "enterprise",
                "department_id": dept["id"],
                "time_limit_working_days": bad_limit,
            },
            headers=officer,
        )
        assert bad.status_code == 422, bad_limit
    refused = await client.post("/api/v1/departments", json={"code": "tax", "name": "区税务局"}, headers=viewer)
    assert refused.status_code == 403
    listed = (await client.get("/api/v1/service-types", params={"category": "enterprise"}, headers=viewer)).json()
    assert [t["code"] for t in listed["items"]] == ["fire_inspection"]

    company = await enterprise(client, officer)
    await request(client, officer, company["id"], kind["id"])
    in_use = await client.delete(f"/api/v1/service-types/{kind['id']}", headers=officer | {"If-Match": '"1"'})
    assert (in_use.status_code, in_use.json()["code"]) == (409, "service_type_in_use")
    busy = await client.delete(f"/api/v1/departments/{dept['id']}", headers=officer | {"If-Match": '"1"'})
    assert (busy.status_code, busy.json()["code"]) == (409, "department_in_use")
    assert busy.json()["in_use"]["service_types"] == 1

    retired = await client.patch(
        f"/api/v1/service-types/{kind['id']}", json={"is_active": False}, headers=officer | {"If-Match": '"1"'}
    )
    assert retired.status_code == 200
    later = await client.post(
        REQUESTS,
        json={"enterprise_id": company["id"], "service_type_id": kind["id"], "title": "t", "description": "d"},
        headers=officer,
    )
    assert (later.status_code, later.json()["code"]) == (422, "unknown_reference")


async def test_due_date_counts_working_days_from_the_day_after_receipt(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    cso, officer = await make_user(Role.officer)
    dept, kind = await _desk(client, officer)
    company = await enterprise(client, officer, service_officer_id=cso.id, service_officer_since="2018-01-02")

    # Received on Friday before National Day 2018: 29 and 30 September are worked, 1–7 October are off.
    friday = await request(client, officer, company["id"], kind["id"], received_at="2018-09-28T10:00:00+08:00")
    assert (friday["received_on"], friday["due_on"], friday["time_limit_working_days"]) == (
        "2018-09-28",
        "2018-10-08",
        3,
    )
    assert (friday["department_id"], friday["assignee_id"], friday["source"]) == (dept["id"], cso.id, "direct")
    assert (friday["status"], friday["on_time"], friday["version"]) == ("registered", None, 1)

    # 23:30 in Guangzhou is still the 28th; 01:00 on the 29th (17:00 UTC on the 28th) is the 29th.
    late_evening = await request(client, officer, company["id"], kind["id"], received_at="2018-09-28T15:30:00Z")
    assert (late_evening["received_on"], late_evening["due_on"]) == ("2018-09-28", "2018-10-08")
    after_midnight = await request(client, officer, company["id"], kind["id"], received_at="2018-09-28T17:00:00Z")
    assert (after_midnight["received_on"], after_midnight["due_on"]) == ("2018-09-29", "2018-10-09")

    # Across the Spring Festival of 2018 (off 15–21 February, Sat 24 worked).
    spring = await request(client, officer, company["id"], kind["id"], received_at="2018-02-14T10:00:00+08:00")
    assert spring["due_on"] == "2018-02-24"

    # A later change to the catalogue leaves earlier due dates alone.
    await client.patch(
        f"/api/v1/service-types/{kind['id']}",
        json={"time_limit_working_days": 20},
        headers=officer | {"If-Match": '"1"'},
    )
    again = (await client.get(f"{REQUESTS}/{friday['id']}", headers=officer)).json()
    assert (again["due_on"], again["time_limit_working_days"]) == ("2018-10-08", 3)


async def test_bad_registrations_write_nothing(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    _, officer = await make_user(Role.officer)
    _, kind = await _desk(client, officer, limit=30)
    company = await enterprise(client, officer)
    base = {"enterprise_id": company["id"], "service_type_id": kind["id"], "title": "诉求", "description": "说明"}
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"service_type_id": 4242}, 422, "unknown_reference"),
        ({"enterprise_id": 4242}, 422, "unknown_reference"),
        # Thirty working days from 30 November 2026 reach into 2027, whose arrangement is not on record.
        ({"received_at": "2026-11-30T10:00:00+08:00"}, 422, "calendar_year_missing"),
        ({"received_at": "2099-01-01T10:00:00+08:00"}, 422, "date_in_future"),
        ({"received_at": "2018-09-28T10:00:00"}, 422, "validation_failed"),  # no offset
        ({"title": "\u202e反转"}, 422, "validation_failed"),
        ({"title": "x" * 201}, 422, "validation_failed"),
        ({"status": "resolved"}, 422, "validation_failed"),
        ({"assignee_id": "1"}, 422, "validation_failed"),
    ]
    for change, status, code in cases:
        response = await client.post(REQUESTS, json=base | change, headers=officer)
        assert (response.status_code, response.json()["code"]) == (status, code), change
    assert (await client.get(REQUESTS, headers=officer)).json()["total"] == 0
    # Chinese text and emoji are welcome.
    fine = await client.post(
        REQUESTS, json=base | {"title": "用电报装 ⚡️ 加急", "received_at": "2018-05-02T09:00:00+08:00"}, headers=officer
    )
    assert fine.status_code == 201
    assert fine.json()["title"] == "用电报装 ⚡️ 加急"


async def test_the_closed_loop_goes_one_step_at_a_time(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    _, officer = await make_user(Role.officer)
    _, kind = await _desk(client, officer)
    company = await enterprise(client, officer)
    item = await request(client, officer, company["id"], kind["id"])

    skip = await step(client, officer, item, "in_progress", occurred_at="2018-09-29T10:00:00+08:00")
    assert (skip.status_code, skip.json()["code"], skip.json()["current_status"]) == (
        409,
        "invalid_transition",
        "registered",
    )
    early = await step(client, officer, item, "accepted", occurred_at="2018-09-27T10:00:00+08:00")
    assert (early.status_code, early.json()["code"]) == (422, "out_of_order")
    item = await advance(
        client,
        officer,
        item,
        ("accepted", {"occurred_at": "2018-09-29T09:00:00+08:00", "note": "已受理"}),
        ("in_progress", {"occurred_at": "2018-09-29T14:00:00+08:00"}),
    )
    back = await step(client, officer, item, "accepted", occurred_at="2018-09-30T10:00:00+08:00")
    assert (back.status_code, back.json()["code"]) == (409, "invalid_transition")
    too_late_to_reject = await step(client, officer, item, "rejected", reason_code="duplicate")
    assert too_late_to_reject.status_code == 409
    no_resolution = await step(client, officer, item, "resolved", occurred_at="2018-10-08T16:00:00+08:00")
    assert (no_resolution.status_code, no_resolution.json()["errors"][0]["loc"][-1]) == (422, "resolution")
    stale = await client.post(
        f"{REQUESTS}/{item['id']}/transitions",
        json={"to_status": "resolved", "resolution": "办结", "occurred_at": "2018-10-08T16:00:00+08:00"},
        headers=officer | {"If-Match": '"1"'},
    )
    assert stale.status_code == 412
    item = await advance(
        client, officer, item, ("resolved", {"occurred_at": "2018-10-08T16:00:00+08:00", "resolution": "已验收"})
    )
    assert (item["status"], item["resolved_on"], item["on_time"]) == ("resolved", "2018-10-08", True)

    for bad, code in (
        ({"callback_on": "2018-10-07", "satisfaction": 5}, "date_order"),  # before the resolution
        ({"callback_on": "2018-10-10", "satisfaction": 6}, "validation_failed"),
        ({"callback_on": "2018-10-10", "satisfaction": 0}, "validation_failed"),
        ({"callback_on": "2018-10-10"}, "validation_failed"),
        ({"callback_on": "2099-10-10", "satisfaction": 4}, "date_in_future"),
    ):
        response = await step(client, officer, item, "evaluated", **bad)
        assert (response.status_code, response.json()["code"]) == (422, code), bad
    # Nothing of the refused steps was written.
    current = (await client.get(f"{REQUESTS}/{item['id']}", headers=officer)).json()
    assert (current["status"], current["version"], current["satisfaction"]) == ("resolved", item["version"], None)

    item = await advance(client, officer, item, ("evaluated", {"callback_on": "2018-10-10", "satisfaction": 5}))
    assert (item["status"], item["callback_on"], item["satisfaction"], item["evaluated_on"]) == (
        "evaluated",
        "2018-10-10",
        5,
        "2018-10-10",
    )
    closed = await step(client, officer, item, "resolved", resolution="again")
    assert closed.status_code == 409
    events = (await client.get(f"{REQUESTS}/{item['id']}/events", headers=officer)).json()
    assert [(e["from_status"], e["to_status"]) for e in events] == [
        (None, "registered"),
        ("registered", "accepted"),
        ("accepted", "in_progress"),
        ("in_progress", "resolved"),
        ("resolved", "evaluated"),
    ]
    assert events[1]["note"] == "已受理"


async def test_rejection_needs_a_reason_code(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    _, officer = await make_user(Role.officer)
    _, kind = await _desk(client, officer)
    company = await enterprise(client, officer)
    item = await request(client, officer, company["id"], kind["id"])

    bare = await step(client, officer, item, "rejected")
    assert (bare.status_code, bare.json()["errors"][0]["loc"][-1]) == (422, "reason_code")
    unknown = await step(client, officer, item, "rejected", reason_code="too_busy")
    assert unknown.status_code == 422
    other = await step(client, officer, item, "rejected", reason_code="other")
    assert other.status_code == 422  # "other" must say why
    item = await advance(
        client,
        officer,
        item,
        (
            "rejected",
            {"reason_code": "in_litigation", "note": "已进入诉讼程序", "occurred_at": "2018-09-29T10:00:00+08:00"},
        ),
    )
    assert (item["status"], item["rejection_reason"], item["rejected_on"]) == (
        "rejected",
        "in_litigation",
        "2018-09-29",
    )
    events = (await client.get(f"{REQUESTS}/{item['id']}/events", headers=officer)).json()
    assert (events[-1]["reason_code"], events[-1]["note"]) == ("in_litigation", "已进入诉讼程序")
    reopened = await step(client, officer, item, "accepted")
    assert reopened.status_code == 409
    assert (await client.get(f"{REQUESTS}/breaches", params={"as_of": "2019-01-01"}, headers=officer)).json()[
        "total"
    ] == 0


async def test_breaches_as_of_a_date(client: httpx.AsyncClient, make_user: UserFactory, clock: FixedClock) -> None:
    _, officer = await make_user(Role.officer)
    _, kind = await _desk(client, officer)
    company = await enterprise(client, officer)
    late = await request(client, officer, company["id"], kind["id"])  # due 2018-10-08
    on_time = await request(client, officer, company["id"], kind["id"])
    await advance(
        client,
        officer,
        on_time,
        ("accepted", {"occurred_at": "2018-09-29T09:00:00+08:00"}),
        ("in_progress", {"occurred_at": "2018-09-29T10:00:00+08:00"}),
        ("resolved", {"occurred_at": "2018-10-08T17:00:00+08:00", "resolution": "办结"}),
    )

    async def breach_list(as_of: str, **params: Any) -> list[tuple[int, str, int]]:
        body = (await client.get(f"{REQUESTS}/breaches", params={"as_of": as_of} | params, headers=officer)).json()
        return [(b["request_id"], b["kind"], b["days_late"]) for b in body["items"]]

    assert await breach_list("2018-10-08") == []  # due today is not overdue
    assert await breach_list("2018-10-09") == [(late["id"], "open_overdue", 1)]
    # The service clock says 2018-10-31 (23:30 in Guangzhou): the list and the read agree.
    overdue_now = (await client.get(REQUESTS, params={"overdue": "true"}, headers=officer)).json()
    assert [r["id"] for r in overdue_now["items"]] == [late["id"]]
    read = (await client.get(f"{REQUESTS}/{late['id']}", headers=officer)).json()
    assert (read["overdue"], read["days_overdue"]) == (True, 23)

    late = (await client.get(f"{REQUESTS}/{late['id']}", headers=officer)).json()
    await advance(
        client,
        officer,
        late,
        ("accepted", {"occurred_at": "2018-10-09T09:00:00+08:00"}),
        ("in_progress", {"occurred_at": "2018-10-09T10:00:00+08:00"}),
        ("resolved", {"occurred_at": "2018-10-10T10:00:00+08:00", "resolution": "逾期办结"}),
    )
    assert await breach_list("2018-10-09") == [(late["id"], "open_overdue", 1)]  # looking back: still open then
    assert await breach_list("2018-10-12") == [(late["id"], "resolved_late", 2)]
    assert await breach_list("2018-10-12", kind="open_overdue") == []
    clock.set(clock.now())
    assert (await client.get(REQUESTS, params={"overdue": "true"}, headers=officer)).json()["total"] == 0


async def test_routing_and_type_changes(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    cso, officer = await make_user(Role.officer)
    _, viewer_headers = await make_user(Role.viewer)
    viewer_id = (await client.get("/api/v1/auth/me", headers=viewer_headers)).json()["id"]
    dept, kind = await _desk(client, officer)
    tax = await department(client, officer, code="tax", name="区税务局")
    invoicing = await service_type(client, officer, tax["id"], code="tax_invoicing", limit=10)
    company = await enterprise(client, officer)
    item = await request(client, officer, company["id"], kind["id"])
    url = f"{REQUESTS}/{item['id']}"

    retyped = await client.patch(url, json={"service_type_id": invoicing["id"]}, headers=officer | {"If-Match": '"1"'})
    assert retyped.status_code == 200, retyped.text
    assert (retyped.json()["department_id"], retyped.json()["due_on"]) == (tax["id"], "2018-10-17")
    routed = await client.patch(
        url, json={"department_id": dept["id"], "assignee_id": cso.id}, headers=officer | {"If-Match": '"2"'}
    )
    assert (routed.json()["department_id"], routed.json()["assignee_id"]) == (dept["id"], cso.id)
    not_an_officer = await client.patch(url, json={"assignee_id": viewer_id}, headers=officer | {"If-Match": '"3"'})
    assert (not_an_officer.status_code, not_an_officer.json()["code"]) == (422, "unknown_reference")
    unassigned = await client.patch(url, json={"assignee_id": None}, headers=officer | {"If-Match": '"3"'})
    assert unassigned.json()["assignee_id"] is None
    no_null_title = await client.patch(url, json={"title": None}, headers=officer | {"If-Match": '"4"'})
    assert no_null_title.status_code == 422

    accepted = await step(client, officer, unassigned.json(), "accepted")
    assert accepted.status_code == 200
    fixed = await client.patch(url, json={"service_type_id": kind["id"]}, headers=officer | {"If-Match": '"5"'})
    assert (fixed.status_code, fixed.json()["code"]) == (409, "request_type_fixed")


async def test_statistics_by_type_department_and_officer(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    cso, officer = await make_user(Role.officer)
    _, leader = await make_user(Role.leader)
    fire, inspection = await _desk(client, officer)
    tax = await department(client, officer, code="tax", name="区税务局")
    invoicing = await service_type(client, officer, tax["id"], code="tax_invoicing", limit=3)
    company = await enterprise(client, officer, service_officer_id=cso.id, service_officer_since="2018-01-02")

    timely = await request(client, officer, company["id"], inspection["id"])  # due 2018-10-08
    slow = await request(client, officer, company["id"], inspection["id"])
    refused = await request(client, officer, company["id"], inspection["id"])
    walk_in = await enterprise(client, officer, name="广州示例无服务官有限公司")  # no service officer: unassigned
    pending = await request(client, officer, walk_in["id"], invoicing["id"])
    after_period = await request(client, officer, company["id"], invoicing["id"])
    outside = await request(client, officer, company["id"], invoicing["id"], received_at="2018-11-05T10:00:00+08:00")
    work = [
        ("accepted", {"occurred_at": "2018-09-29T09:00:00+08:00"}),
        ("in_progress", {"occurred_at": "2018-09-29T10:00:00+08:00"}),
    ]
    await advance(
        client,
        officer,
        timely,
        *work,
        ("resolved", {"occurred_at": "2018-10-08T10:00:00+08:00", "resolution": "办结"}),
        ("evaluated", {"callback_on": "2018-10-09", "satisfaction": 5}),
    )
    await advance(
        client,
        officer,
        slow,
        *work,
        ("resolved", {"occurred_at": "2018-10-12T10:00:00+08:00", "resolution": "办结"}),
        ("evaluated", {"callback_on": "2018-10-15", "satisfaction": 3}),
    )
    await advance(
        client, officer, refused, ("rejected", {"reason_code": "duplicate", "occurred_at": "2018-09-29T10:00:00+08:00"})
    )
    # Resolved after the period's end: still open in the period's figures.
    await advance(
        client,
        officer,
        after_period,
        *work,
        ("resolved", {"occurred_at": "2018-11-02T10:00:00+08:00", "resolution": "办结"}),
    )
    del pending, outside

    async def stats(by: str) -> dict[str, Any]:
        params = {"received_from": "2018-09-01", "received_to": "2018-10-31", "by": by}
        response = await client.get("/api/v1/analytics/service-requests", params=params, headers=leader)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    by_type = await stats("service_type")
    assert by_type["as_of"] == "2018-10-31"
    total = by_type["total"]
    assert (total["received"], total["resolved"], total["resolved_on_time"], total["rejected"], total["open"]) == (
        5,
        2,
        1,
        1,
        2,
    )
    assert (total["on_time_rate"], total["closure_rate"], total["overdue_open"]) == ("0.5000", "0.6000", 2)
    assert (total["evaluated"], total["satisfaction_average"], total["satisfied"], total["satisfied_share"]) == (
        2,
        "4.00",
        1,
        "0.5000",
    )
    groups = {g["code"]: g for g in by_type["groups"]}
    assert (groups["fire_inspection"]["received"], groups["fire_inspection"]["on_time_rate"]) == (3, "0.5000")
    assert (
        groups["tax_invoicing"]["received"],
        groups["tax_invoicing"]["resolved"],
        groups["tax_invoicing"]["on_time_rate"],
    ) == (2, 0, None)

    by_department = {g["name"]: g["received"] for g in (await stats("department"))["groups"]}
    assert by_department == {fire["name"]: 3, tax["name"]: 2}
    by_officer = {g["key"]: (g["received"], g["name"]) for g in (await stats("officer"))["groups"]}
    assert by_officer == {cso.id: (4, cso.display_name), None: (1, "未分配 / unassigned")}

    later = await client.get(
        "/api/v1/analytics/service-requests",
        params={"received_from": "2018-09-01", "received_to": "2018-11-30"},
        headers=leader,
    )
    assert (later.json()["total"]["received"], later.json()["total"]["resolved"]) == (6, 3)
    backwards = await client.get(
        "/api/v1/analytics/service-requests",
        params={"received_from": "2018-11-30", "received_to": "2018-09-01"},
        headers=leader,
    )
    assert backwards.status_code == 422
    _, viewer = await make_user(Role.viewer)
    assert (
        await client.get(
            "/api/v1/analytics/service-requests",
            params={"received_from": "2018-09-01", "received_to": "2018-10-31"},
            headers=viewer,
        )
    ).status_code == 200


async def test_closed_requests_keep_their_routing_and_evaluations_follow_their_call_back(
    client: httpx.AsyncClient, make_user: UserFactory, admin_headers: dict[str, str]
) -> None:
    cso, officer = await make_user(Role.officer)
    dept, kind = await _desk(client, officer)
    tax = await department(client, officer, code="tax", name="区税务局")
    company = await enterprise(client, officer)
    item = await request(client, officer, company["id"], kind["id"])
    refused = await advance(
        client, officer, item, ("rejected", {"reason_code": "duplicate", "occurred_at": "2018-09-29T10:00:00+08:00"})
    )
    for change in ({"department_id": tax["id"]}, {"assignee_id": cso.id}, {"assignee_id": None}):
        rerouted = await client.patch(
            f"{REQUESTS}/{item['id']}", json=change, headers=officer | {"If-Match": f'"{refused["version"]}"'}
        )
        assert (rerouted.status_code, rerouted.json()["code"]) == (409, "request_closed"), change
    # Text stays correctable.
    fixed = await client.patch(
        f"{REQUESTS}/{item['id']}",
        json={"title": "重复诉求（已合并）"},
        headers=officer | {"If-Match": f'"{refused["version"]}"'},
    )
    assert (fixed.status_code, fixed.json()["department_id"]) == (200, dept["id"])

    done = await request(client, officer, company["id"], kind["id"])
    done = await advance(
        client,
        officer,
        done,
        ("accepted", {"occurred_at": "2018-09-29T09:00:00+08:00"}),
        ("in_progress", {"occurred_at": "2018-09-29T10:00:00+08:00"}),
        ("resolved", {"occurred_at": "2018-10-08T10:00:00+08:00", "resolution": "办结"}),
    )
    early = await step(
        client,
        officer,
        done,
        "evaluated",
        callback_on="2018-10-30",
        satisfaction=4,
        occurred_at="2018-10-09T10:00:00+08:00",
    )
    assert (early.status_code, early.json()["code"]) == (422, "date_order")
    epoch = await client.post(
        REQUESTS,
        json={
            "enterprise_id": company["id"],
            "service_type_id": kind["id"],
            "title": "t",
            "description": "d",
            "received_at": 1700000000,
        },
        headers=officer,
    )
    assert epoch.status_code == 422  # a number is not an ISO 8601 instant

    # Changing the type of a registered request moves its due date, and the audit trail shows it.
    other = await service_type(client, officer, tax["id"], code="tax_invoicing", limit=10)
    fresh = await request(client, officer, company["id"], kind["id"])
    await client.patch(
        f"{REQUESTS}/{fresh['id']}", json={"service_type_id": other["id"]}, headers=officer | {"If-Match": '"1"'}
    )
    trail = (
        await client.get(
            "/api/v1/audit-events",
            params={"entity_type": "service_request", "entity_id": str(fresh["id"])},
            headers=admin_headers,
        )
    ).json()["items"]
    assert (trail[0]["before"]["due_on"], trail[0]["after"]["due_on"]) == ("2018-10-08", "2018-10-17")
