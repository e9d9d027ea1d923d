"""Meetings and “三重一大” decisions: decided collectively at a decision-making meeting, counted by kind."""

from typing import Any

import httpx

from app.core.scopes import Role
from tests.api.desk import created
from tests.conftest import UserFactory


async def _meeting(client: httpx.AsyncClient, headers: dict[str, str], kind: str, day: str) -> dict[str, Any]:
    body = {"kind": kind, "held_on": day, "title": f"{kind} {day}"}
    return await created(await client.post("/api/v1/meetings", json=body, headers=headers))


async def test_decisions_are_taken_at_decision_meetings(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    _, officer = await make_user(Role.officer)
    _, viewer = await make_user(Role.viewer)
    study = await _meeting(client, officer, "central_group_study", "2018-03-02")
    office = await _meeting(client, officer, "office_meeting", "2018-03-05")
    await _meeting(client, officer, "democratic_life_meeting", "2018-12-20")
    await _meeting(client, officer, "central_group_study", "2017-12-29")  # not 2018

    at_study = await client.post(
        "/api/v1/major-decisions",
        json={"kind": "major_matter", "title": "议事规则", "meeting_id": study["id"]},
        headers=officer,
    )
    assert (at_study.status_code, at_study.json()["code"]) == (422, "not_a_decision_meeting")
    no_amount = await client.post(
        "/api/v1/major-decisions",
        json={"kind": "large_sum", "title": "活动经费", "meeting_id": office["id"]},
        headers=officer,
    )
    assert no_amount.status_code == 422
    decision = await created(
        await client.post(
            "/api/v1/major-decisions",
            json={"kind": "large_sum", "title": "活动经费", "meeting_id": office["id"], "amount": "1200000.00"},
            headers=officer,
        )
    )
    assert (decision["decided_on"], decision["amount"]) == ("2018-03-05", "1200000.00")
    refused = await client.post(
        "/api/v1/meetings", json={"kind": "office_meeting", "held_on": "2018-03-05", "title": "x"}, headers=viewer
    )
    assert refused.status_code == 403
    future = await client.post(
        "/api/v1/meetings", json={"kind": "office_meeting", "held_on": "2099-03-05", "title": "x"}, headers=officer
    )
    assert (future.status_code, future.json()["code"]) == (422, "date_in_future")

    figures = (await client.get("/api/v1/analytics/meetings", params={"year": 2018}, headers=viewer)).json()
    assert figures["meetings"]["central_group_study"] == 1
    assert (figures["meetings"]["office_meeting"], figures["meetings"]["democratic_life_meeting"]) == (1, 1)
    assert (figures["decisions"]["large_sum"], figures["decisions"]["major_matter"], figures["large_sums"]) == (
        1,
        0,
        "1200000.00",
    )
    in_use = await client.delete(f"/api/v1/meetings/{office['id']}", headers=officer | {"If-Match": '"1"'})
    assert (in_use.status_code, in_use.json()["code"]) == (409, "meeting_in_use")
    assert (
        await client.delete(f"/api/v1/meetings/{study['id']}", headers=officer | {"If-Match": '"1"'})
    ).status_code == 204
