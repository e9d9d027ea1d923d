"""Supervision through the API: milestone templates, escalations (督办), supervision rounds (督查), a
project's timeline and the pipeline summary. The clock stands at 23:30 on 2018-10-31 in Guangzhou."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from app.core.clock import FixedClock
from app.core.scopes import Role
from tests.conftest import UserFactory

Headers = dict[str, str]
Json = dict[str, Any]
ANY_VERSION = {"If-Match": "*"}

SITE_TEMPLATE = [
    {"track": "construction", "name": "取得用地", "offset_days": 0},
    {"track": "construction", "name": "主体开工", "offset_days": 90},
    {"track": "industry", "name": "首批企业入驻", "offset_days": 200},
]


@pytest.fixture(autouse=True)
def _on_the_report_evening(clock: FixedClock) -> None:
    """Every test here sees "today" as 2018-10-31 (Asia/Shanghai) unless it moves the clock."""


@pytest.fixture
async def officer(make_user: UserFactory) -> Headers:
    _, headers = await make_user(Role.officer, username="cso-chen")
    return headers


def loc(response: httpx.Response) -> list[Any]:
    located: list[Any] = response.json()["errors"][0]["loc"]
    return located


async def project(
    client: httpx.AsyncClient, headers: Headers, name: str, introduced_on: str = "2018-01-01", **overrides: Any
) -> int:
    response = await client.post(
        "/api/v1/projects",
        json={"name": name, "introduced_on": introduced_on, "is_key": True, "planned_investment": "100000000.00"}
        | overrides,
        headers=headers,
    )
    assert response.status_code == 201, response.text
    project_id: int = response.json()["id"]
    return project_id


async def stages(client: httpx.AsyncClient, headers: Headers, project_id: int, *steps: tuple[str, str]) -> None:
    """Records (to_stage, occurred_on) stage events in turn."""
    for to_stage, occurred_on in steps:
        response = await client.post(
            f"/api/v1/projects/{project_id}/stage-events",
            json={"to_stage": to_stage, "occurred_on": occurred_on},
            headers=headers | ANY_VERSION,
        )
        assert response.status_code == 201, response.text


async def milestone(
    client: httpx.AsyncClient,
    headers: Headers,
    project_id: int,
    name: str,
    planned_on: str,
    track: str = "construction",
) -> Json:
    response = await client.post(
        f"/api/v1/projects/{project_id}/milestones",
        json={"track": track, "name": name, "planned_on": planned_on},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    created: Json = response.json()
    return created


async def template(
    client: httpx.AsyncClient, headers: Headers, code: str, project_type: str | None = None, **overrides: Any
) -> Json:
    response = await client.post(
        "/api/v1/milestone-templates",
        json={"code": code, "name": f"模板{code}", "project_type": project_type, "items": SITE_TEMPLATE} | overrides,
        headers=headers,
    )
    assert response.status_code == 201, response.text
    created: Json = response.json()
    return created


async def escalate(
    client: httpx.AsyncClient, headers: Headers, project_id: int, level: str, occurred_on: str, **extra: Any
) -> httpx.Response:
    return await client.post(
        f"/api/v1/projects/{project_id}/escalations",
        json={"level": level, "occurred_on": occurred_on, "note": f"{level} 于 {occurred_on}"} | extra,
        headers=headers,
    )


async def supervision_round(
    client: httpx.AsyncClient, headers: Headers, held_on: str, project_ids: list[int], title: str = "季度督查"
) -> httpx.Response:
    return await client.post(
        "/api/v1/supervision-rounds",
        json={"held_on": held_on, "title": title, "findings": "进度滞后，需加快报建", "project_ids": project_ids},
        headers=headers,
    )


async def milestones_of(client: httpx.AsyncClient, headers: Headers, project_id: int) -> list[Json]:
    response = await client.get(f"/api/v1/projects/{project_id}/milestones", headers=headers)
    assert response.status_code == 200, response.text
    listed: list[Json] = response.json()
    return listed


# --- milestone templates ---------------------------------------------------------------------------------


async def test_template_create_reads_back_and_a_taken_code_is_409(client: httpx.AsyncClient, officer: Headers) -> None:
    created = await client.post(
        "/api/v1/milestone-templates",
        json={"code": "hq_campus", "name": "总部园区", "project_type": "hq_campus", "items": SITE_TEMPLATE},
        headers=officer,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["items"] == SITE_TEMPLATE
    assert (body["code"], body["project_type"], body["version"]) == ("hq_campus", "hq_campus", 1)
    assert created.headers["etag"] == '"1"'
    assert created.headers["location"] == f"/api/v1/milestone-templates/{body['id']}"
    read = await client.get(created.headers["location"], headers=officer)
    assert read.json() == body
    assert read.headers["etag"] == '"1"'

    again = await client.post(
        "/api/v1/milestone-templates",
        json={"code": "hq_campus", "name": "另一个", "items": SITE_TEMPLATE[:1]},
        headers=officer,
    )
    assert again.status_code == 409
    assert again.json()["code"] == "duplicate"
    assert again.json()["existing_id"] == body["id"]


@pytest.mark.parametrize(
    ("items", "where"),
    [
        ([], ["body", "items"]),
        ([{"track": "finance", "name": "融资到位", "offset_days": 10}], ["body", "items", 0, "track"]),
        (
            [SITE_TEMPLATE[0], {"track": "industry", "name": "提前入驻", "offset_days": -1}],
            ["body", "items", 1, "offset_days"],
        ),
    ],
)
async def test_bad_template_items_are_refused_with_the_item_named(
    client: httpx.AsyncClient, officer: Headers, items: list[Json], where: list[Any]
) -> None:
    response = await client.post(
        "/api/v1/milestone-templates", json={"code": "bad", "name": "坏模板", "items": items}, headers=officer
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_failed"
    assert loc(response) == where
    assert (await client.get("/api/v1/milestone-templates", headers=officer)).json() == []


async def test_templates_list_by_project_type(client: httpx.AsyncClient, officer: Headers) -> None:
    campus = await template(client, officer, "campus_b", project_type="hq_campus")
    other_campus = await template(client, officer, "campus_a", project_type="hq_campus")
    factory = await template(client, officer, "factory", project_type="manufacturing")
    untyped = await template(client, officer, "generic")

    async def codes(query: str = "") -> list[str]:
        response = await client.get(f"/api/v1/milestone-templates{query}", headers=officer)
        assert response.status_code == 200, response.text
        return [t["code"] for t in response.json()]

    assert await codes("?project_type=hq_campus") == [other_campus["code"], campus["code"]]
    assert await codes("?project_type=manufacturing") == [factory["code"]]
    assert await codes("?project_type=biotech") == []
    assert await codes() == ["campus_a", "campus_b", "factory", untyped["code"]]


async def test_template_patch_replaces_items_under_if_match_then_delete(
    client: httpx.AsyncClient, officer: Headers
) -> None:
    created = await template(client, officer, "hq_campus")
    url = f"/api/v1/milestone-templates/{created['id']}"
    shorter = [{"track": "industry", "name": "总部认定", "offset_days": 30}]

    missing = await client.patch(url, json={"items": shorter}, headers=officer)
    assert missing.status_code == 428
    changed = await client.patch(url, json={"items": shorter}, headers=officer | {"If-Match": '"1"'})
    assert changed.status_code == 200, changed.text
    assert changed.json()["items"] == shorter
    assert changed.headers["etag"] == '"2"'
    stale = await client.patch(url, json={"name": "过期修改"}, headers=officer | {"If-Match": '"1"'})
    assert stale.status_code == 412
    assert (await client.get(url, headers=officer)).json()["items"] == shorter

    assert (await client.delete(url, headers=officer | {"If-Match": '"1"'})).status_code == 412
    assert (await client.delete(url, headers=officer | {"If-Match": '"2"'})).status_code == 204
    assert (await client.get(url, headers=officer)).status_code == 404


async def test_applying_a_template_plans_each_item_from_the_start_date(
    client: httpx.AsyncClient, officer: Headers
) -> None:
    tpl = await template(client, officer, "hq_campus")
    project_id = await project(client, officer, "琶洲总部大楼")
    applied = await client.post(
        f"/api/v1/projects/{project_id}/milestones/from-template",
        json={"template_id": tpl["id"], "start_on": "2018-03-01"},
        headers=officer,
    )
    assert applied.status_code == 201, applied.text
    expected = [
        ("construction", "取得用地", "2018-03-01"),
        ("construction", "主体开工", "2018-05-30"),
        ("industry", "首批企业入驻", "2018-09-17"),
    ]
    assert [(m["track"], m["name"], m["planned_on"]) for m in applied.json()] == expected
    assert all(m["due_on"] == m["planned_on"] and m["project_id"] == project_id for m in applied.json())

    # The template is a starting point: deleting it later leaves the project's milestones alone.
    deleted = await client.delete(f"/api/v1/milestone-templates/{tpl['id']}", headers=officer | ANY_VERSION)
    assert deleted.status_code == 204
    stored = await milestones_of(client, officer, project_id)
    assert sorted((m["track"], m["name"], m["due_on"]) for m in stored) == sorted(expected)


async def test_applying_an_unknown_template_names_template_id(client: httpx.AsyncClient, officer: Headers) -> None:
    project_id = await project(client, officer, "琶洲总部大楼")
    response = await client.post(
        f"/api/v1/projects/{project_id}/milestones/from-template",
        json={"template_id": 424242, "start_on": "2018-03-01"},
        headers=officer,
    )
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_reference"
    assert loc(response) == ["body", "template_id"]
    assert await milestones_of(client, officer, project_id) == []


async def test_a_dropped_project_takes_no_template_milestones(client: httpx.AsyncClient, officer: Headers) -> None:
    tpl = await template(client, officer, "hq_campus")
    project_id = await project(client, officer, "已终止项目")
    await stages(client, officer, project_id, ("dropped", "2018-06-01"))
    response = await client.post(
        f"/api/v1/projects/{project_id}/milestones/from-template",
        json={"template_id": tpl["id"], "start_on": "2018-03-01"},
        headers=officer,
    )
    assert response.status_code == 409
    assert response.json()["code"] == "project_dropped"
    assert await milestones_of(client, officer, project_id) == []


# --- escalations -----------------------------------------------------------------------------------------


async def test_escalation_ladder_is_recorded_with_the_caller_as_officer(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user, headers = await make_user(Role.officer, username="cso-li")
    project_id = await project(client, headers, "琶洲总部大楼")
    late = await milestone(client, headers, project_id, "主体开工", "2018-08-31")

    ladder = [("reminder", "2018-09-10"), ("supervision", "2018-09-25"), ("interview", "2018-10-12")]
    for level, day in ladder:
        response = await escalate(client, headers, project_id, level, day, milestone_id=late["id"])
        assert response.status_code == 201, response.text
        assert response.headers["etag"] == '"1"'

    listed = await client.get(f"/api/v1/projects/{project_id}/escalations", headers=headers)
    assert listed.status_code == 200
    assert [(e["level"], e["occurred_on"], e["note"]) for e in listed.json()] == [
        (level, day, f"{level} 于 {day}") for level, day in ladder
    ]
    assert {(e["officer_id"], e["milestone_id"], e["project_id"]) for e in listed.json()} == {
        (user.id, late["id"], project_id)
    }


async def test_escalation_about_another_projects_milestone_is_refused(
    client: httpx.AsyncClient, officer: Headers
) -> None:
    mine = await project(client, officer, "项目甲")
    theirs = await project(client, officer, "项目乙")
    their_milestone = await milestone(client, officer, theirs, "主体开工", "2018-08-31")
    response = await escalate(client, officer, mine, "reminder", "2018-10-01", milestone_id=their_milestone["id"])
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_reference"
    assert loc(response) == ["body", "milestone_id"]
    for project_id in (mine, theirs):
        assert (await client.get(f"/api/v1/projects/{project_id}/escalations", headers=officer)).json() == []


async def test_escalation_dated_after_today_in_shanghai_is_refused(
    client: httpx.AsyncClient, officer: Headers, clock: FixedClock
) -> None:
    project_id = await project(client, officer, "琶洲总部大楼")
    # 15:30 UTC is 23:30 in Guangzhou: 1 November is still tomorrow.
    tomorrow = await escalate(client, officer, project_id, "reminder", "2018-11-01")
    assert tomorrow.status_code == 422
    assert tomorrow.json()["code"] == "date_in_future"
    assert loc(tomorrow) == ["body", "occurred_on"]
    assert (await escalate(client, officer, project_id, "reminder", "2018-10-31")).status_code == 201

    clock.set(datetime(2018, 10, 31, 16, 30, tzinfo=UTC))  # 00:30 on 1 November in Guangzhou
    assert (await escalate(client, officer, project_id, "supervision", "2018-11-01")).status_code == 201
    listed = (await client.get(f"/api/v1/projects/{project_id}/escalations", headers=officer)).json()
    assert [e["occurred_on"] for e in listed] == ["2018-10-31", "2018-11-01"]


async def test_escalation_outcome_is_recorded_under_if_match(client: httpx.AsyncClient, officer: Headers) -> None:
    project_id = await project(client, officer, "琶洲总部大楼")
    created = (await escalate(client, officer, project_id, "interview", "2018-10-12")).json()
    url = f"/api/v1/projects/{project_id}/escalations/{created['id']}"

    assert (await client.patch(url, json={"outcome": "企业承诺月底开工"}, headers=officer)).status_code == 428
    done = await client.patch(url, json={"outcome": "企业承诺月底开工"}, headers=officer | {"If-Match": '"1"'})
    assert done.status_code == 200, done.text
    assert done.json()["outcome"] == "企业承诺月底开工"
    assert done.json()["note"] == created["note"]
    assert done.headers["etag"] == '"2"'
    stale = await client.patch(url, json={"outcome": "另说"}, headers=officer | {"If-Match": '"1"'})
    assert stale.status_code == 412

    other = await project(client, officer, "项目乙")
    elsewhere = await client.patch(
        f"/api/v1/projects/{other}/escalations/{created['id']}", json={"outcome": "x"}, headers=officer | ANY_VERSION
    )
    assert elsewhere.status_code == 404
    listed = (await client.get(f"/api/v1/projects/{project_id}/escalations", headers=officer)).json()
    assert [e["outcome"] for e in listed] == ["企业承诺月底开工"]


async def test_overdue_list_shows_the_most_serious_escalation_up_to_as_of(
    client: httpx.AsyncClient, officer: Headers
) -> None:
    chased = await project(client, officer, "项目甲")
    quiet = await project(client, officer, "项目乙")
    await milestone(client, officer, chased, "主体开工", "2018-09-01")
    await milestone(client, officer, quiet, "竣工验收", "2018-08-01")
    for level, day in (("reminder", "2018-09-10"), ("interview", "2018-10-01"), ("supervision", "2018-10-20")):
        assert (await escalate(client, officer, chased, level, day)).status_code == 201

    async def worst_escalations(as_of: str = "") -> dict[int, str | None]:
        response = await client.get(f"/api/v1/milestones/overdue{as_of}", headers=officer)
        assert response.status_code == 200, response.text
        return {m["project_id"]: m["worst_escalation"] for m in response.json()["items"]}

    assert await worst_escalations("?as_of=2018-09-05") == {chased: None, quiet: None}
    assert await worst_escalations("?as_of=2018-09-20") == {chased: "reminder", quiet: None}
    # The interview outranks the later supervision notice.
    assert await worst_escalations("?as_of=2018-10-10") == {chased: "interview", quiet: None}
    assert await worst_escalations() == {chased: "interview", quiet: None}


async def test_a_viewer_reads_supervision_but_cannot_write_it(
    client: httpx.AsyncClient, officer: Headers, make_user: UserFactory
) -> None:
    _, viewer = await make_user(Role.viewer)
    project_id = await project(client, officer, "琶洲总部大楼")
    assert (await escalate(client, viewer, project_id, "reminder", "2018-10-01")).status_code == 403
    assert (await supervision_round(client, viewer, "2018-10-01", [project_id])).status_code == 403
    refused = await client.post(
        "/api/v1/milestone-templates", json={"code": "x", "name": "x", "items": SITE_TEMPLATE}, headers=viewer
    )
    assert refused.status_code == 403
    for url in (
        f"/api/v1/projects/{project_id}/escalations",
        "/api/v1/supervision-rounds",
        "/api/v1/milestone-templates",
    ):
        response = await client.get(url, headers=viewer)
        body = response.json()
        assert (response.status_code, body["items"] if isinstance(body, dict) else body) == (200, []), url


# --- supervision rounds ----------------------------------------------------------------------------------


async def test_round_is_recorded_with_its_projects(client: httpx.AsyncClient, officer: Headers) -> None:
    first = await project(client, officer, "项目甲")
    second = await project(client, officer, "项目乙")
    created = await supervision_round(client, officer, "2018-10-15", [second, first], title="十月重点项目督查")
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["project_ids"] == [first, second]
    assert (body["held_on"], body["title"], body["version"]) == ("2018-10-15", "十月重点项目督查", 1)
    assert created.headers["etag"] == '"1"'
    read = await client.get(created.headers["location"], headers=officer)
    assert read.json() == body


async def test_round_naming_an_unknown_project_writes_nothing(client: httpx.AsyncClient, officer: Headers) -> None:
    known = await project(client, officer, "项目甲")
    response = await supervision_round(client, officer, "2018-10-15", [known, 424242])
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_reference"
    assert loc(response) == ["body", "project_ids"]
    assert "424242" in response.json()["detail"]
    assert (await client.get("/api/v1/supervision-rounds", headers=officer)).json()["items"] == []


async def test_round_listing_a_project_twice_is_refused(client: httpx.AsyncClient, officer: Headers) -> None:
    known = await project(client, officer, "项目甲")
    response = await supervision_round(client, officer, "2018-10-15", [known, known])
    assert response.status_code == 422
    assert response.json()["code"] == "validation_failed"
    assert loc(response) == ["body", "project_ids"]
    assert (await client.get("/api/v1/supervision-rounds", headers=officer)).json()["items"] == []


async def test_round_held_after_today_is_refused(client: httpx.AsyncClient, officer: Headers) -> None:
    known = await project(client, officer, "项目甲")
    response = await supervision_round(client, officer, "2018-11-01", [known])
    assert response.status_code == 422
    assert response.json()["code"] == "date_in_future"
    assert loc(response) == ["body", "held_on"]


async def test_rounds_filter_by_project_newest_first(client: httpx.AsyncClient, officer: Headers) -> None:
    a = await project(client, officer, "项目甲")
    b = await project(client, officer, "项目乙")
    may = (await supervision_round(client, officer, "2018-05-10", [a, b])).json()
    september = (await supervision_round(client, officer, "2018-09-10", [b])).json()
    july = (await supervision_round(client, officer, "2018-07-10", [a])).json()

    async def round_ids(query: str = "") -> list[int]:
        response = await client.get(f"/api/v1/supervision-rounds{query}", headers=officer)
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["items"]]

    assert await round_ids(f"?project_id={a}") == [july["id"], may["id"]]
    assert await round_ids(f"?project_id={b}") == [september["id"], may["id"]]
    assert await round_ids() == [september["id"], july["id"], may["id"]]
    missing = await client.get("/api/v1/supervision-rounds?project_id=424242", headers=officer)
    assert missing.status_code == 404


async def test_round_patch_replaces_membership_and_moves_the_etag(client: httpx.AsyncClient, officer: Headers) -> None:
    a = await project(client, officer, "项目甲")
    b = await project(client, officer, "项目乙")
    c = await project(client, officer, "项目丙")
    created = await supervision_round(client, officer, "2018-10-15", [a, b])
    url = created.headers["location"]

    unknown = await client.patch(url, json={"project_ids": [c, 424242]}, headers=officer | {"If-Match": '"1"'})
    assert unknown.status_code == 422
    assert loc(unknown) == ["body", "project_ids"]
    assert (await client.get(url, headers=officer)).json()["project_ids"] == [a, b]

    moved = await client.patch(url, json={"project_ids": [c, b]}, headers=officer | {"If-Match": '"1"'})
    assert moved.status_code == 200, moved.text
    assert moved.json()["project_ids"] == [b, c]
    assert moved.headers["etag"] == '"2"'
    stale = await client.patch(url, json={"project_ids": [a]}, headers=officer | {"If-Match": '"1"'})
    assert stale.status_code == 412

    read = await client.get(url, headers=officer)
    assert (read.headers["etag"], read.json()["project_ids"]) == ('"2"', [b, c])
    assert (await client.get(f"/api/v1/supervision-rounds?project_id={a}", headers=officer)).json()["items"] == []
    assert (await client.get(f"/api/v1/supervision-rounds?project_id={c}", headers=officer)).json()["total"] == 1


# --- the timeline ----------------------------------------------------------------------------------------


async def test_timeline_tells_the_story_in_date_order(client: httpx.AsyncClient, officer: Headers) -> None:
    project_id = await project(client, officer, "琶洲总部大楼")
    await stages(client, officer, project_id, ("signed", "2018-02-01"))
    land = await milestone(client, officer, project_id, "取得用地", "2018-03-01")
    works = await milestone(client, officer, project_id, "主体开工", "2018-09-30")
    settle = await milestone(client, officer, project_id, "首批企业入驻", "2018-10-31", track="industry")
    done = await client.patch(
        f"/api/v1/projects/{project_id}/milestones/{land['id']}",
        json={"completed_on": "2018-03-05"},
        headers=officer | {"If-Match": '"1"'},
    )
    assert done.status_code == 200, done.text
    replanned = await client.post(
        f"/api/v1/projects/{project_id}/milestones/{works['id']}/replans",
        json={"new_due_on": "2018-10-15", "reason": "土地出让延期", "decided_on": "2018-10-10"},
        headers=officer | {"If-Match": '"1"'},
    )
    assert replanned.status_code == 200, replanned.text
    escalation = (
        await escalate(client, officer, project_id, "reminder", "2018-10-20", milestone_id=works["id"])
    ).json()
    inspection = (await supervision_round(client, officer, "2018-10-25", [project_id], title="十月督查")).json()

    response = await client.get(f"/api/v1/projects/{project_id}/timeline", headers=officer)
    assert response.status_code == 200, response.text
    entries = response.json()
    story = [(e["on"], e["kind"], e["summary"], e["milestone_id"]) for e in entries]
    assert story == [
        ("2018-01-01", "introduced", "项目引进 / project taken up", None),
        ("2018-01-01", "stage_change", "— → negotiating", None),
        ("2018-02-01", "stage_change", "negotiating → signed", None),
        ("2018-03-05", "milestone_completed", "取得用地 完成", land["id"]),
        ("2018-10-10", "milestone_replanned", "主体开工: 2018-09-30 → 2018-10-15（土地出让延期）", works["id"]),
        ("2018-10-15", "milestone_due", "主体开工 计划完成 (逾期 / overdue)", works["id"]),
        ("2018-10-20", "escalation", "reminder: reminder 于 2018-10-20", works["id"]),
        ("2018-10-25", "supervision_round", "十月督查", None),
        ("2018-10-31", "milestone_due", "首批企业入驻 计划完成", settle["id"]),  # due today: not yet late
    ]
    refs = {e["kind"]: e["ref_id"] for e in entries if e["kind"] in ("escalation", "supervision_round")}
    assert refs == {"escalation": escalation["id"], "supervision_round": inspection["id"]}


async def test_timeline_marks_due_dates_overdue_only_before_as_of(client: httpx.AsyncClient, officer: Headers) -> None:
    project_id = await project(client, officer, "琶洲总部大楼")
    await milestone(client, officer, project_id, "主体开工", "2018-09-30")

    async def due_summary(query: str = "") -> str:
        response = await client.get(f"/api/v1/projects/{project_id}/timeline{query}", headers=officer)
        assert response.status_code == 200, response.text
        (due,) = [e for e in response.json() if e["kind"] == "milestone_due"]
        summary: str = due["summary"]
        return summary

    assert await due_summary("?as_of=2018-09-30") == "主体开工 计划完成"
    assert await due_summary("?as_of=2018-10-01") == "主体开工 计划完成 (逾期 / overdue)"
    assert await due_summary() == "主体开工 计划完成 (逾期 / overdue)"  # today, 2018-10-31
    missing = await client.get("/api/v1/projects/424242/timeline", headers=officer)
    assert missing.status_code == 404


# --- the pipeline summary --------------------------------------------------------------------------------


async def pipeline(client: httpx.AsyncClient, headers: Headers, query: str = "") -> Json:
    response = await client.get(f"/api/v1/analytics/pipeline{query}", headers=headers)
    assert response.status_code == 200, response.text
    summary: Json = response.json()
    return summary


def per_stage(summary: Json) -> dict[str, tuple[int, Decimal, Decimal]]:
    return {
        s["stage"]: (s["projects"], Decimal(s["planned_investment"]), Decimal(s["planned_investment_yi"]))
        for s in summary["stages"]
    }


def steps(summary: Json) -> list[tuple[str, str, int, str]]:
    return [(t["from_stage"], t["to_stage"], t["count"], t["median_days"]) for t in summary["transitions"]]


async def test_pipeline_counts_projects_and_sums_investment_per_stage(
    client: httpx.AsyncClient, officer: Headers, make_user: UserFactory
) -> None:
    await project(client, officer, "项目甲", planned_investment="100000000.00")
    await project(client, officer, "项目乙", planned_investment="23456789.01", is_key=False)
    await project(client, officer, "项目丙", planned_investment=None)
    signed = await project(client, officer, "项目丁", planned_investment="12500000.00")
    await stages(client, officer, signed, ("signed", "2018-03-01"))

    _, leader = await make_user(Role.leader)
    summary = await pipeline(client, leader)
    assert [s["stage"] for s in summary["stages"]] == [
        "negotiating",
        "signed",
        "registered",
        "under_construction",
        "operating",
        "on_hold",
        "dropped",
    ]
    negotiating, signed_row = summary["stages"][0], summary["stages"][1]
    assert negotiating == {
        "stage": "negotiating",
        "projects": 3,
        "planned_investment": "123456789.01",
        "planned_investment_yi": "1.23",
    }
    # 0.125 亿元 rounds half up.
    assert signed_row == {
        "stage": "signed",
        "projects": 1,
        "planned_investment": "12500000.00",
        "planned_investment_yi": "0.13",
    }
    assert all(projects == 0 and amount == 0 == yi for projects, amount, yi in list(per_stage(summary).values())[2:])


async def test_pipeline_filters_key_projects_and_zones(client: httpx.AsyncClient, officer: Headers) -> None:
    zone = await client.post("/api/v1/zones", json={"code": "PZ", "name": "琶洲", "kind": "cluster"}, headers=officer)
    assert zone.status_code == 201, zone.text
    pazhou = zone.json()["id"]
    sub = await client.post(
        "/api/v1/zones",
        json={"code": "PZ-W", "name": "琶洲西区", "kind": "other", "parent_id": pazhou},
        headers=officer,
    )
    assert sub.status_code == 201, sub.text
    elsewhere = (
        await client.post("/api/v1/zones", json={"code": "TH", "name": "天河", "kind": "other"}, headers=officer)
    ).json()["id"]
    await project(client, officer, "琶洲重点", zone_id=pazhou, planned_investment="300000000.00")
    await project(client, officer, "西区一般", zone_id=sub.json()["id"], is_key=False, planned_investment="50000000.00")
    await project(client, officer, "天河重点", zone_id=elsewhere, planned_investment="700000000.00")
    await project(client, officer, "未落区", is_key=False, planned_investment="1000.00")

    def negotiating(summary: Json) -> tuple[int, Decimal, Decimal]:
        return per_stage(summary)["negotiating"]

    assert negotiating(await pipeline(client, officer)) == (4, Decimal("1050001000.00"), Decimal("10.50"))
    assert negotiating(await pipeline(client, officer, "?key_only=true")) == (2, Decimal("1000000000.00"), Decimal(10))
    assert negotiating(await pipeline(client, officer, f"?zone_id={pazhou}")) == (
        2,
        Decimal("350000000.00"),
        Decimal("3.5"),
    )
    assert negotiating(await pipeline(client, officer, f"?zone_id={pazhou}&key_only=true")) == (
        1,
        Decimal("300000000.00"),
        Decimal(3),
    )


async def test_pipeline_median_days_between_stages(client: httpx.AsyncClient, officer: Headers) -> None:
    quick = await project(client, officer, "十天签约")
    steady = await project(client, officer, "二十天签约")
    slow = await project(client, officer, "六十天签约")
    await stages(client, officer, quick, ("signed", "2018-01-11"), ("registered", "2018-01-21"))  # 10, then 10
    await stages(client, officer, steady, ("signed", "2018-01-21"), ("registered", "2018-02-21"))  # 20, then 31
    await stages(client, officer, slow, ("signed", "2018-03-02"))  # 60
    await project(client, officer, "仍在谈")  # no step yet

    signing, registering = steps(await pipeline(client, officer))
    assert signing == ("negotiating", "signed", 3, "20.0")
    assert registering == ("signed", "registered", 2, "20.5")  # even count: the mean of the two middle values


async def test_pipeline_on_hold_and_resume_are_separate_steps(client: httpx.AsyncClient, officer: Headers) -> None:
    paused = await project(client, officer, "暂缓后恢复")
    await stages(
        client,
        officer,
        paused,
        ("on_hold", "2018-02-01"),  # 31 days in talks
        ("negotiating", "2018-03-01"),  # 28 days on hold
        ("signed", "2018-03-11"),  # 10 more days to sign
    )
    assert steps(await pipeline(client, officer)) == [
        ("negotiating", "signed", 1, "10.0"),
        ("negotiating", "on_hold", 1, "31.0"),
        ("on_hold", "negotiating", 1, "28.0"),
    ]
    stages_now = per_stage(await pipeline(client, officer))
    assert stages_now["signed"][0] == 1
    assert stages_now["on_hold"][0] == 0
