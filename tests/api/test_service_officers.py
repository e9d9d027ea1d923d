"""Chief service officers: a primary and deputies per enterprise, hand-overs kept, and each officer's workload."""

from typing import Any

import httpx
from sqlalchemy import text

from app.core.db import Database
from app.core.scopes import Role
from tests.api.desk import advance, department, enterprise, request, service_type
from tests.conftest import UserFactory


def _team_url(enterprise_id: int) -> str:
    return f"/api/v1/enterprises/{enterprise_id}/service-officers"


async def _team(client: httpx.AsyncClient, headers: dict[str, str], enterprise_id: int, as_of: str) -> Any:
    response = await client.get(_team_url(enterprise_id), params={"as_of": as_of}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def _post(
    client: httpx.AsyncClient, headers: dict[str, str], enterprise_id: int, etag: str, **body: Any
) -> httpx.Response:
    return await client.post(_team_url(enterprise_id), json=body, headers=headers | {"If-Match": etag})


async def test_hand_over_keeps_history_and_mirrors_the_primary(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    zhang, headers = await make_user(Role.officer)
    li, _ = await make_user(Role.officer)
    company = await enterprise(client, headers, service_officer_id=zhang.id, service_officer_since="2018-01-02")
    team = await _team(client, headers, company["id"], "2018-03-01")
    assert (team["primary"]["officer_id"], team["primary"]["started_on"], team["deputies"]) == (
        zhang.id,
        "2018-01-02",
        [],
    )

    handed = await _post(
        client,
        headers,
        company["id"],
        '"1"',
        officer_id=li.id,
        role="primary",
        started_on="2018-07-01",
        note="岗位调整",
    )
    assert handed.status_code == 201, handed.text
    assert handed.headers["etag"] == '"2"'
    assert (await client.get(f"/api/v1/enterprises/{company['id']}", headers=headers)).json()[
        "service_officer_id"
    ] == li.id

    before = await _team(client, headers, company["id"], "2018-06-30")
    after = await _team(client, headers, company["id"], "2018-07-01")
    assert (before["primary"]["officer_id"], after["primary"]["officer_id"]) == (zhang.id, li.id)
    history = (await client.get(f"{_team_url(company['id'])}/history", headers=headers)).json()
    assert [(a["officer_id"], a["role"], a["started_on"], a["ended_on"]) for a in history] == [
        (zhang.id, "primary", "2018-01-02", "2018-07-01"),
        (li.id, "primary", "2018-07-01", None),
    ]
    assert history[1]["note"] == "岗位调整"
    assert history[1]["officer_name"] == li.display_name

    stale = await _post(
        client, headers, company["id"], '"1"', officer_id=zhang.id, role="primary", started_on="2018-08-01"
    )
    assert stale.status_code == 412
    same = await _post(client, headers, company["id"], '"2"', officer_id=li.id, role="primary", started_on="2018-08-01")
    assert (same.status_code, same.json()["code"]) == (409, "already_assigned")
    before_current = await _post(
        client, headers, company["id"], '"2"', officer_id=zhang.id, role="primary", started_on="2018-07-01"
    )
    assert (before_current.status_code, before_current.json()["code"]) == (422, "out_of_order")
    future = await _post(
        client, headers, company["id"], '"2"', officer_id=zhang.id, role="primary", started_on="2099-01-01"
    )
    assert (future.status_code, future.json()["code"]) == (422, "date_in_future")
    # The refusals wrote nothing.
    assert len((await client.get(f"{_team_url(company['id'])}/history", headers=headers)).json()) == 2


async def test_deputies_promotion_and_overlaps(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    zhang, headers = await make_user(Role.officer)
    li, _ = await make_user(Role.officer)
    wang, _ = await make_user(Role.leader)
    viewer, _ = await make_user(Role.viewer)
    company = await enterprise(client, headers, service_officer_id=zhang.id, service_officer_since="2018-01-02")

    deputy = await _post(
        client, headers, company["id"], '"1"', officer_id=li.id, role="deputy", started_on="2018-03-01"
    )
    assert deputy.status_code == 201
    also = await _post(
        client, headers, company["id"], '"2"', officer_id=wang.id, role="deputy", started_on="2018-03-05"
    )
    assert also.status_code == 201
    team = await _team(client, headers, company["id"], "2018-04-01")
    assert [d["officer_id"] for d in team["deputies"]] == [li.id, wang.id]
    not_staff = await _post(
        client, headers, company["id"], '"3"', officer_id=viewer.id, role="deputy", started_on="2018-03-05"
    )
    assert (not_staff.status_code, not_staff.json()["code"]) == (422, "unknown_reference")
    primary_as_deputy = await _post(
        client, headers, company["id"], '"3"', officer_id=zhang.id, role="deputy", started_on="2018-04-01"
    )
    assert (primary_as_deputy.status_code, primary_as_deputy.json()["code"]) == (409, "assignment_overlap")

    # The deputy becomes primary: the deputy post and the old primary's post end that day.
    promoted = await _post(
        client, headers, company["id"], '"3"', officer_id=li.id, role="primary", started_on="2018-09-01"
    )
    assert promoted.status_code == 201
    team = await _team(client, headers, company["id"], "2018-09-01")
    assert (team["primary"]["officer_id"], [d["officer_id"] for d in team["deputies"]]) == (li.id, [wang.id])

    # Ending a deputy post; ending it twice or before it began is refused.
    wang_post = next(d for d in team["deputies"] if d["officer_id"] == wang.id)
    end_url = f"{_team_url(company['id'])}/{wang_post['id']}/end"
    early = await client.post(end_url, json={"ended_on": "2018-03-01"}, headers=headers | {"If-Match": '"4"'})
    assert (early.status_code, early.json()["code"]) == (422, "date_order")
    ended = await client.post(
        end_url, json={"ended_on": "2018-10-01", "note": "调离"}, headers=headers | {"If-Match": '"4"'}
    )
    assert ended.status_code == 200, ended.text
    twice = await client.post(end_url, json={"ended_on": "2018-10-02"}, headers=headers | {"If-Match": '"5"'})
    assert (twice.status_code, twice.json()["code"]) == (409, "assignment_ended")
    # wang served as deputy until 1 October: a new deputy post for wang may start then, not before.
    overlap = await _post(
        client, headers, company["id"], '"5"', officer_id=wang.id, role="deputy", started_on="2018-09-15"
    )
    assert (overlap.status_code, overlap.json()["code"]) == (409, "assignment_overlap")
    back = await _post(
        client, headers, company["id"], '"5"', officer_id=wang.id, role="deputy", started_on="2018-10-01"
    )
    assert back.status_code == 201

    # Ending the primary without a successor leaves the enterprise without one.
    primary = (await _team(client, headers, company["id"], "2018-10-02"))["primary"]
    done = await client.post(
        f"{_team_url(company['id'])}/{primary['id']}/end",
        json={"ended_on": "2018-12-01"},
        headers=headers | {"If-Match": '"6"'},
    )
    assert done.status_code == 200
    assert (await client.get(f"/api/v1/enterprises/{company['id']}", headers=headers)).json()[
        "service_officer_id"
    ] is None
    unknown = await client.post(
        f"{_team_url(company['id'])}/9999/end", json={"ended_on": "2018-12-01"}, headers=headers | {"If-Match": '"7"'}
    )
    assert unknown.status_code == 404


async def test_setting_the_primary_on_the_enterprise_is_a_recorded_hand_over(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    zhang, headers = await make_user(Role.officer)
    li, _ = await make_user(Role.officer)
    company = await enterprise(client, headers, service_officer_id=zhang.id, service_officer_since="2018-01-02")
    url = f"/api/v1/enterprises/{company['id']}"
    lonely = await client.patch(
        url, json={"service_officer_since": "2018-05-01"}, headers=headers | {"If-Match": '"1"'}
    )
    assert lonely.status_code == 422
    changed = await client.patch(
        url,
        json={"service_officer_id": li.id, "service_officer_since": "2018-05-01"},
        headers=headers | {"If-Match": '"1"'},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["service_officer_id"] == li.id
    history = (await client.get(f"{_team_url(company['id'])}/history", headers=headers)).json()
    assert [(a["officer_id"], a["started_on"], a["ended_on"]) for a in history] == [
        (zhang.id, "2018-01-02", "2018-05-01"),
        (li.id, "2018-05-01", None),
    ]
    cleared = await client.patch(
        url,
        json={"service_officer_id": None, "service_officer_since": "2018-06-01"},
        headers=headers | {"If-Match": f'"{changed.json()["version"]}"'},
    )
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["service_officer_id"] is None
    assert (await _team(client, headers, company["id"], "2018-06-01"))["primary"] is None
    assert (await _team(client, headers, company["id"], "2018-05-31"))["primary"]["officer_id"] == li.id


async def test_workload_counts_enterprises_and_open_and_overdue_requests(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    zhang, headers = await make_user(Role.officer)
    li, _ = await make_user(Role.officer)
    first = await enterprise(client, headers, service_officer_id=zhang.id, service_officer_since="2018-01-02")
    second = await enterprise(client, headers, service_officer_id=zhang.id, service_officer_since="2018-01-02")
    third = await enterprise(client, headers, service_officer_id=li.id, service_officer_since="2018-01-02")
    await _post(client, headers, third["id"], '"1"', officer_id=zhang.id, role="deputy", started_on="2018-02-01")
    dept = await department(client, headers)
    kind = await service_type(client, headers, dept["id"], limit=3)
    due_oct_8 = await request(client, headers, first["id"], kind["id"])
    await request(client, headers, second["id"], kind["id"], received_at="2018-10-25T10:00:00+08:00")  # due 10-30
    done = await request(client, headers, first["id"], kind["id"])
    await advance(
        client,
        headers,
        done,
        ("accepted", {"occurred_at": "2018-09-29T09:00:00+08:00"}),
        ("in_progress", {"occurred_at": "2018-09-29T10:00:00+08:00"}),
        ("resolved", {"occurred_at": "2018-10-08T10:00:00+08:00", "resolution": "办结"}),
    )
    del due_oct_8

    response = await client.get("/api/v1/service-officers", params={"as_of": "2018-10-31"}, headers=headers)
    assert response.status_code == 200, response.text
    rows = {r["officer_id"]: r for r in response.json()["items"]}
    assert response.json()["items"][0]["officer_id"] == zhang.id  # most open requests first
    mine = rows[zhang.id]
    assert (mine["primary_enterprises"], mine["deputy_enterprises"], mine["enterprises_served"]) == (2, 1, 3)
    assert (mine["open_requests"], mine["overdue_requests"]) == (2, 2)
    assert (rows[li.id]["primary_enterprises"], rows[li.id]["open_requests"]) == (1, 0)
    # Looking back to 2 October only the first was received, and it was not yet due.
    one = (
        await client.get(f"/api/v1/service-officers/{zhang.id}", params={"as_of": "2018-10-02"}, headers=headers)
    ).json()
    assert (one["open_requests"], one["overdue_requests"], one["deputy_enterprises"]) == (2, 0, 1)
    assert (await client.get("/api/v1/service-officers/9999", headers=headers)).status_code == 404
    bad_sort = await client.get("/api/v1/service-officers", params={"sort": "password"}, headers=headers)
    assert bad_sort.status_code == 422


async def test_hand_overs_on_the_enterprise_record_are_checked_like_the_others(
    client: httpx.AsyncClient, make_user: UserFactory, database: Database
) -> None:
    zhang, headers = await make_user(Role.officer)
    company = await enterprise(client, headers, service_officer_id=zhang.id, service_officer_since="2018-03-01")
    url = f"/api/v1/enterprises/{company['id']}"
    same = await client.patch(
        url,
        json={"service_officer_id": zhang.id, "service_officer_since": "2018-05-01"},
        headers=headers | {"If-Match": '"1"'},
    )
    assert (same.status_code, same.json()["code"]) == (422, "no_change")
    li, _ = await make_user(Role.officer)
    early = await client.patch(
        url,
        json={"service_officer_id": li.id, "service_officer_since": "2018-02-01"},
        headers=headers | {"If-Match": '"1"'},
    )
    assert (early.status_code, early.json()["errors"][0]["loc"]) == (422, ["body", "service_officer_since"])
    [post] = (await client.get(f"{_team_url(company['id'])}/history", headers=headers)).json()
    same_day = await client.post(
        f"{_team_url(company['id'])}/{post['id']}/end",
        json={"ended_on": "2018-03-01"},
        headers=headers | {"If-Match": '"1"'},
    )
    assert (same_day.status_code, same_day.json()["code"]) == (422, "date_order")  # a post lasts at least a day

    # An enterprise whose officer predates the team history (an upgraded database) can still be cleared.
    async with database.session() as session:
        await session.execute(text("DELETE FROM service_officer_assignments"))
    cleared = await client.patch(url, json={"service_officer_id": None}, headers=headers | {"If-Match": '"1"'})
    assert (cleared.status_code, cleared.json()["service_officer_id"]) == (200, None)
