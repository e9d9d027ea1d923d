"""Projects: code names, the stage pipeline as dated events, milestones, re-plans and the overdue rule."""

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from app.core.clock import FixedClock
from app.core.scopes import Role
from tests.conftest import UserFactory

Headers = dict[str, str]


@pytest.fixture
async def officer(make_user: UserFactory) -> Headers:
    _, headers = await make_user(Role.officer, username="xm-buzhang")
    return headers


async def new_project(client: httpx.AsyncClient, headers: Headers, **fields: Any) -> dict[str, Any]:
    body = {"name": "腾讯琶洲总部项目（示例）", "introduced_on": "2016-03-01", "is_key": True} | fields
    response = await client.post("/api/v1/projects", json=body, headers=headers)
    assert response.status_code == 201, response.text
    project: dict[str, Any] = response.json()
    return project


async def stage(client: httpx.AsyncClient, headers: Headers, project_id: int, to: str, on: str) -> httpx.Response:
    return await client.post(
        f"/api/v1/projects/{project_id}/stage-events",
        json={"to_stage": to, "occurred_on": on, "note": f"→ {to}"},
        headers=headers | {"If-Match": "*"},
    )


async def milestone(
    client: httpx.AsyncClient,
    headers: Headers,
    project_id: int,
    name: str,
    planned_on: str | None,
    track: str = "construction",
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/projects/{project_id}/milestones",
        json={"track": track, "name": name, "planned_on": planned_on},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


# --- projects and code names ------------------------------------------------------------------------------


async def test_code_name_hides_the_real_name_from_callers_without_clearance(
    client: httpx.AsyncClient, clock: FixedClock, officer: Headers, make_user: UserFactory
) -> None:
    secret = await new_project(client, officer, name="某世界500强华南总部项目", code_name="珠江一号")
    open_one = await new_project(client, officer, name="公开项目")
    assert secret["name"] == "某世界500强华南总部项目" and secret["name_masked"] is False

    _, viewer = await make_user(Role.viewer)
    seen = (await client.get(f"/api/v1/projects/{secret['id']}", headers=viewer)).json()
    assert (seen["name"], seen["name_masked"], seen["code_name"]) == ("珠江一号", True, "珠江一号")
    assert (await client.get(f"/api/v1/projects/{open_one['id']}", headers=viewer)).json()["name"] == "公开项目"
    # Searching for the real name must not reveal that such a project exists.
    assert (await client.get("/api/v1/projects?q=500强", headers=viewer)).json()["total"] == 0
    assert (await client.get("/api/v1/projects?q=500强", headers=officer)).json()["total"] == 1
    assert "500强" not in (await client.get("/api/v1/projects", headers=viewer)).text


async def test_project_validation(client: httpx.AsyncClient, clock: FixedClock, officer: Headers) -> None:
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"introduced_on": "2018-11-01"}, "introduced_on", "date_in_future"),
        ({"stage": "dreaming"}, "stage", "validation_failed"),
        ({"enterprise_id": 424242}, "enterprise_id", "unknown_reference"),
        ({"industry_code": "00"}, "industry_code", "unknown_reference"),
        ({"planned_investment": "-5.00"}, "planned_investment", "validation_failed"),
        ({"responsible_officer_id": 424242}, "responsible_officer_id", "unknown_reference"),
    ]
    for fields, field, code in cases:
        body = {"name": "示例项目", "introduced_on": "2018-01-01"} | fields
        response = await client.post("/api/v1/projects", json=body, headers=officer)
        assert response.status_code == 422, (fields, response.text)
        assert response.json()["code"] == code
        assert response.json()["errors"][0]["loc"] == ["body", field]
    assert (await client.get("/api/v1/projects", headers=officer)).json()["total"] == 0


# --- the stage pipeline -----------------------------------------------------------------------------------


async def test_stages_move_forward_as_dated_events_with_history(
    client: httpx.AsyncClient, clock: FixedClock, officer: Headers
) -> None:
    project = await new_project(client, officer)
    pid = project["id"]
    assert (await stage(client, officer, pid, "signed", "2016-08-18")).status_code == 201
    # Signed and registered the same week: skipping straight on is allowed, back is not.
    assert (await stage(client, officer, pid, "under_construction", "2017-05-02")).status_code == 201
    back = await stage(client, officer, pid, "registered", "2017-06-01")
    assert back.status_code == 409
    assert back.json()["code"] == "invalid_transition"

    current = (await client.get(f"/api/v1/projects/{pid}", headers=officer)).json()
    assert (current["stage"], current["stage_since"]) == ("under_construction", "2017-05-02")
    history = (await client.get(f"/api/v1/projects/{pid}/stage-events", headers=officer)).json()
    assert [(e["from_stage"], e["to_stage"], e["occurred_on"]) for e in history] == [
        (None, "negotiating", "2016-03-01"),
        ("negotiating", "signed", "2016-08-18"),
        ("signed", "under_construction", "2017-05-02"),
    ]
    assert history[1]["recorded_by"] == "xm-buzhang"


async def test_on_hold_resumes_where_it_was_and_dropped_is_final(
    client: httpx.AsyncClient, clock: FixedClock, officer: Headers
) -> None:
    pid = (await new_project(client, officer, stage="registered", introduced_on="2017-01-01"))["id"]
    assert (await stage(client, officer, pid, "on_hold", "2017-03-01")).status_code == 201
    assert (await stage(client, officer, pid, "signed", "2017-04-01")).status_code == 409  # behind where it was
    assert (await stage(client, officer, pid, "registered", "2017-04-01")).status_code == 201
    assert (await stage(client, officer, pid, "dropped", "2018-01-01")).status_code == 201
    after = await stage(client, officer, pid, "operating", "2018-02-01")
    assert after.status_code == 409
    assert "dropped" in after.json()["detail"]


@pytest.mark.parametrize(
    ("to", "on", "code", "status"),
    [
        ("signed", "2016-02-29", "before_project_start", 422),  # before the project existed
        ("signed", "2018-11-01", "date_in_future", 422),  # tomorrow in Guangzhou
        ("launched", "2018-01-01", "validation_failed", 422),
        ("negotiating", "2018-01-01", "invalid_transition", 409),  # already there
    ],
)
async def test_bad_stage_events(
    client: httpx.AsyncClient, clock: FixedClock, officer: Headers, to: str, on: str, code: str, status: int
) -> None:
    pid = (await new_project(client, officer))["id"]
    response = await stage(client, officer, pid, to, on)
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    history = (await client.get(f"/api/v1/projects/{pid}/stage-events", headers=officer)).json()
    assert len(history) == 1  # nothing half-written


async def test_stage_event_cannot_predate_the_current_stage(
    client: httpx.AsyncClient, clock: FixedClock, officer: Headers
) -> None:
    pid = (await new_project(client, officer))["id"]
    await stage(client, officer, pid, "signed", "2017-01-10")
    response = await stage(client, officer, pid, "registered", "2017-01-09")
    assert response.status_code == 422
    assert response.json()["code"] == "out_of_order"


async def test_stage_events_need_the_projects_if_match(
    client: httpx.AsyncClient, clock: FixedClock, officer: Headers
) -> None:
    project = await new_project(client, officer)
    url = f"/api/v1/projects/{project['id']}/stage-events"
    event = {"to_stage": "signed", "occurred_on": "2016-08-18"}
    assert (await client.post(url, json=event, headers=officer)).status_code == 428
    first = await client.post(url, json=event, headers=officer | {"If-Match": '"1"'})
    assert first.status_code == 201
    # A colleague who read version 1 cannot record a conflicting change on top.
    stale = await client.post(url, json=event | {"to_stage": "dropped"}, headers=officer | {"If-Match": '"1"'})
    assert stale.status_code == 412


# --- milestones -------------------------------------------------------------------------------------------


async def test_replans_keep_the_original_and_every_reason(
    client: httpx.AsyncClient, clock: FixedClock, officer: Headers
) -> None:
    pid = (await new_project(client, officer))["id"]
    m = await milestone(client, officer, pid, "主体结构封顶", "2018-06-30")
    url = f"/api/v1/projects/{pid}/milestones/{m['id']}"
    no_reason = await client.post(
        url + "/replans", json={"new_due_on": "2018-09-30"}, headers=officer | {"If-Match": "*"}
    )
    assert no_reason.status_code == 422
    assert no_reason.json()["errors"][0]["loc"] == ["body", "reason"]
    blank = await client.post(
        url + "/replans", json={"new_due_on": "2018-09-30", "reason": " "}, headers=officer | {"If-Match": "*"}
    )
    assert blank.status_code == 422

    first = await client.post(
        url + "/replans", json={"new_due_on": "2018-09-30", "reason": "雨季停工"}, headers=officer | {"If-Match": '"1"'}
    )
    assert first.status_code == 200, first.text
    second = await client.post(
        url + "/replans", json={"new_due_on": "2018-12-31", "reason": "设计变更"}, headers=officer | {"If-Match": '"2"'}
    )
    data = second.json()
    assert (data["planned_on"], data["due_on"], data["slip_days"]) == ("2018-06-30", "2018-12-31", 184)
    assert [(r["previous_due_on"], r["new_due_on"], r["reason"]) for r in data["replans"]] == [
        ("2018-06-30", "2018-09-30", "雨季停工"),
        ("2018-09-30", "2018-12-31", "设计变更"),
    ]
    moved = await client.patch(url, json={"planned_on": "2018-01-01"}, headers=officer | {"If-Match": "*"})
    assert moved.status_code == 409
    assert moved.json()["code"] == "use_replan"


async def test_completion_is_the_entered_day_never_the_future(
    client: httpx.AsyncClient, clock: FixedClock, officer: Headers
) -> None:
    pid = (await new_project(client, officer))["id"]
    m = await milestone(client, officer, pid, "取得施工许可", "2018-03-31")
    url = f"/api/v1/projects/{pid}/milestones/{m['id']}"
    # 23:30 in Guangzhou: tomorrow (Shanghai) is refused even though it is still 15:30 UTC.
    tomorrow = await client.patch(url, json={"completed_on": "2018-11-01"}, headers=officer | {"If-Match": "*"})
    assert tomorrow.status_code == 422
    assert tomorrow.json()["code"] == "date_in_future"
    # Last week's completion, entered today, is recorded as last week.
    done = await client.patch(url, json={"completed_on": "2018-10-24"}, headers=officer | {"If-Match": "*"})
    assert done.status_code == 200
    assert (done.json()["completed_on"], done.json()["status"], done.json()["days_overdue"]) == (
        "2018-10-24",
        "completed",
        0,
    )
    reopened = await client.patch(url, json={"completed_on": None}, headers=officer | {"If-Match": "*"})
    assert (reopened.json()["status"], reopened.json()["days_overdue"]) == ("overdue", 214)


async def test_no_milestones_for_a_dropped_project(
    client: httpx.AsyncClient, clock: FixedClock, officer: Headers
) -> None:
    pid = (await new_project(client, officer))["id"]
    await stage(client, officer, pid, "dropped", "2018-05-01")
    response = await client.post(
        f"/api/v1/projects/{pid}/milestones", json={"track": "industry", "name": "首批团队入驻"}, headers=officer
    )
    assert response.status_code == 409
    assert response.json()["code"] == "project_dropped"
    bad_track = await client.post(
        f"/api/v1/projects/{pid}/milestones", json={"track": "finance", "name": "x"}, headers=officer
    )
    assert bad_track.status_code == 422


# --- the overdue rule at the day boundary (Asia/Shanghai) -------------------------------------------------


async def test_overdue_follows_the_shanghai_date_not_the_utc_date(
    client: httpx.AsyncClient, clock: FixedClock, officer: Headers
) -> None:
    pid = (await new_project(client, officer))["id"]
    due_today = await milestone(client, officer, pid, "竣工验收", "2018-10-31")
    due_yesterday = await milestone(client, officer, pid, "主体封顶", "2018-10-30", track="construction")
    unscheduled = await milestone(client, officer, pid, "营收纳统", None, track="industry")
    done_late = await milestone(client, officer, pid, "注册项目公司", "2018-01-31", track="industry")
    await client.patch(
        f"/api/v1/projects/{pid}/milestones/{done_late['id']}",
        json={"completed_on": "2018-03-01"},
        headers=officer | {"If-Match": "*"},
    )

    async def statuses() -> dict[int, tuple[str, int]]:
        rows = (await client.get(f"/api/v1/projects/{pid}/milestones", headers=officer)).json()
        return {m["id"]: (m["status"], m["days_overdue"]) for m in rows}

    async def overdue_ids() -> list[int]:
        page = (await client.get("/api/v1/milestones/overdue", headers=officer)).json()
        return [row["milestone_id"] for row in page["items"]]

    # 2018-10-31 23:30 in Guangzhou (15:30 UTC).
    assert await statuses() == {
        due_today["id"]: ("due_today", 0),
        due_yesterday["id"]: ("overdue", 1),
        unscheduled["id"]: ("unscheduled", 0),
        done_late["id"]: ("completed", 0),
    }
    assert await overdue_ids() == [due_yesterday["id"]]

    # One hour later it is 2018-11-01 00:30 in Guangzhou, though still 2018-10-31 16:30 in UTC.
    clock.set(datetime(2018, 10, 31, 16, 30, tzinfo=UTC))
    assert (await statuses())[due_today["id"]] == ("overdue", 1)
    assert (await statuses())[due_yesterday["id"]] == ("overdue", 2)
    assert await overdue_ids() == [due_yesterday["id"], due_today["id"]]  # worst first


async def test_overdue_list_filters(
    client: httpx.AsyncClient, clock: FixedClock, officer: Headers, make_user: UserFactory
) -> None:
    cso, _ = await make_user(Role.officer, username="cso-chen")
    zone = await client.post("/api/v1/zones", json={"code": "PZ", "name": "琶洲", "kind": "cluster"}, headers=officer)
    key = await new_project(client, officer, zone_id=zone.json()["id"], service_officer_id=cso.id)
    minor = await new_project(client, officer, name="一般项目", is_key=False)
    dropped = await new_project(client, officer, name="已终止项目")
    a = await milestone(client, officer, key["id"], "A 施工许可", "2018-08-01")
    b = await milestone(client, officer, key["id"], "B 团队入驻", "2018-10-20", track="industry")
    c = await milestone(client, officer, minor["id"], "C 竣工", "2018-10-01")
    await milestone(client, officer, dropped["id"], "D 不再督办", "2018-01-01")
    await stage(client, officer, dropped["id"], "dropped", "2018-06-01")

    async def ids(query: str = "") -> list[int]:
        response = await client.get(f"/api/v1/milestones/overdue?{query}", headers=officer)
        assert response.status_code == 200, response.text
        return [row["milestone_id"] for row in response.json()["items"]]

    assert await ids() == [a["id"], c["id"], b["id"]]  # worst first; the dropped project is not supervised
    assert await ids("key_only=true") == [a["id"], b["id"]]
    assert await ids("track=industry") == [b["id"]]
    assert await ids(f"zone_id={zone.json()['id']}") == [a["id"], b["id"]]
    assert await ids(f"officer_id={cso.id}") == [a["id"], b["id"]]
    assert await ids("min_days_overdue=30") == [a["id"], c["id"]]  # 91 and 30 days late
    assert await ids("min_days_overdue=31") == [a["id"]]
    assert await ids("as_of=2018-10-01") == [a["id"]]  # C is due that very day: not yet overdue
    page = (await client.get("/api/v1/milestones/overdue?limit=1&offset=1", headers=officer)).json()
    assert (page["total"], [r["milestone_id"] for r in page["items"]]) == (3, [c["id"]])
    first = page["items"][0]
    assert (first["days_overdue"], first["project_name"], first["is_key"]) == (30, "一般项目", False)


async def test_escalation_cannot_predate_the_project(
    client: httpx.AsyncClient, clock: FixedClock, officer: Headers
) -> None:
    pid = (await new_project(client, officer, introduced_on="2018-03-01"))["id"]
    response = await client.post(
        f"/api/v1/projects/{pid}/escalations",
        json={"level": "reminder", "occurred_on": "2018-02-28", "note": "提醒"},
        headers=officer,
    )
    assert response.status_code == 422
    assert response.json()["code"] == "before_project_start"


async def test_overdue_as_of_an_earlier_date_shows_what_was_late_then(
    client: httpx.AsyncClient, clock: FixedClock, officer: Headers
) -> None:
    # Found in review: a later completion or a later re-plan must not rewrite how things stood.
    pid = (await new_project(client, officer))["id"]
    done_late = await milestone(client, officer, pid, "取得施工许可", "2018-09-01")
    await client.patch(
        f"/api/v1/projects/{pid}/milestones/{done_late['id']}",
        json={"completed_on": "2018-10-20"},
        headers=officer | {"If-Match": "*"},
    )
    moved = await milestone(client, officer, pid, "主体封顶", "2018-08-01")
    await client.post(
        f"/api/v1/projects/{pid}/milestones/{moved['id']}/replans",
        json={"new_due_on": "2018-12-31", "reason": "设计变更", "decided_on": "2018-10-15"},
        headers=officer | {"If-Match": "*"},
    )

    async def overdue(as_of: str) -> dict[int, tuple[str, int, int]]:
        page = (await client.get(f"/api/v1/milestones/overdue?as_of={as_of}", headers=officer)).json()
        return {r["milestone_id"]: (r["due_on"], r["days_overdue"], r["replans"]) for r in page["items"]}

    assert await overdue("2018-10-01") == {
        done_late["id"]: ("2018-09-01", 30, 0),  # completed only on 10-20
        moved["id"]: ("2018-08-01", 61, 0),  # the re-plan came on 10-15
    }
    assert await overdue("2018-10-31") == {}  # done, and re-planned to December

    statuses = (await client.get(f"/api/v1/projects/{pid}/milestones?as_of=2018-10-01", headers=officer)).json()
    assert {m["id"]: (m["status"], m["days_overdue"]) for m in statuses} == {
        done_late["id"]: ("overdue", 30),
        moved["id"]: ("overdue", 61),
    }


async def test_a_code_name_also_hides_the_investor(
    client: httpx.AsyncClient, clock: FixedClock, officer: Headers, make_user: UserFactory
) -> None:
    # Found in review: enterprise_id would reveal the company behind a code name.
    company = await client.post(
        "/api/v1/enterprises",
        json={
            "uscc": "91110108551385082Q",
            "name": "示例科技有限责任公司",
            "registered_capital": "1000000.00",
            "industry_code": "39",
            "source": "existing",
        },
        headers=officer,
    )
    secret = await new_project(client, officer, code_name="代号A", enterprise_id=company.json()["id"])
    _, viewer = await make_user(Role.viewer)
    seen = (await client.get(f"/api/v1/projects/{secret['id']}", headers=viewer)).json()
    assert (seen["name"], seen["enterprise_id"]) == ("代号A", None)
    by_company = await client.get(f"/api/v1/projects?enterprise_id={company.json()['id']}", headers=viewer)
    assert by_company.json()["total"] == 0
    cleared = await client.get(f"/api/v1/projects?enterprise_id={company.json()['id']}", headers=officer)
    assert cleared.json()["total"] == 1


async def test_only_a_project_without_history_can_be_deleted(
    client: httpx.AsyncClient, clock: FixedClock, officer: Headers
) -> None:
    fresh = await new_project(client, officer, name="录入错误的项目")
    worked = await new_project(client, officer, name="已推进的项目")
    await stage(client, officer, worked["id"], "signed", "2017-01-01")
    refused = await client.delete(f"/api/v1/projects/{worked['id']}", headers=officer | {"If-Match": "*"})
    assert refused.status_code == 409
    assert refused.json()["code"] == "project_in_use"
    assert refused.json()["in_use"]["stage_changes"] == 1
    assert (
        await client.delete(f"/api/v1/projects/{fresh['id']}", headers=officer | {"If-Match": "*"})
    ).status_code == 204


async def test_a_project_starts_in_the_pipeline(client: httpx.AsyncClient, clock: FixedClock, officer: Headers) -> None:
    for stage_name in ("dropped", "on_hold"):
        response = await client.post(
            "/api/v1/projects",
            json={"name": "x项目", "introduced_on": "2018-01-01", "stage": stage_name},
            headers=officer,
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "stage"]
