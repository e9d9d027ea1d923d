"""The working-day calendar through the API: shipped years, due-date questions, and maintaining a year."""

from typing import Any

import httpx

from app.core.scopes import Role
from tests.conftest import UserFactory

CALENDAR = "/api/v1/work-calendar"

ARRANGEMENT_2027: dict[str, Any] = {
    "source": "国务院办公厅关于2027年部分节假日安排的通知（测试数据）",
    "published_on": "2026-11-20",
    "holidays": [
        {"first_day": "2027-01-01", "last_day": "2027-01-03", "name": "元旦"},
        {"first_day": "2027-02-05", "last_day": "2027-02-13", "name": "春节"},
    ],
    "workdays": [{"day": "2027-02-14", "name": "春节调休上班"}],
}


async def _get(client: httpx.AsyncClient, headers: dict[str, str], url: str, **params: Any) -> Any:
    response = await client.get(url, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_shipped_years_and_their_working_days(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    _, viewer = await make_user(Role.viewer)
    years = await _get(client, viewer, CALENDAR)
    assert [y["year"] for y in years] == list(range(2018, 2027))
    assert {y["year"]: y["working_days"] for y in years}[2018] == 250
    year = await _get(client, viewer, f"{CALENDAR}/2018")
    days = {d["day"]: (d["kind"], d["name"]) for d in year["days"]}
    assert days["2018-10-01"] == ("holiday", "国庆节")
    assert days["2018-09-29"] == ("workday", "国庆节调休上班")
    assert days["2018-12-31"] == ("holiday", "元旦")  # the 2019 New Year break, split at 31 December
    assert "国办发明电〔2017〕12号" in year["source"]


async def test_due_date_over_national_day_and_spring_festival(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    _, viewer = await make_user(Role.viewer)
    national_day = await _get(client, viewer, f"{CALENDAR}/due-date", start="2018-09-28", working_days=3)
    assert national_day["due_on"] == "2018-10-08"
    assert national_day["calendar_days"] == 10
    assert [d["day"] for d in national_day["workdays_passed"]] == ["2018-09-29", "2018-09-30"]
    assert len(national_day["holidays_passed"]) == 7

    spring = await _get(client, viewer, f"{CALENDAR}/due-date", start="2026-02-13", working_days=5)
    assert spring["due_on"] == "2026-02-27"
    assert spring["workdays_passed"][0]["day"] == "2026-02-14"

    count = await _get(client, viewer, f"{CALENDAR}/working-days", start="2018-09-28", end="2018-10-08")
    assert count["working_days"] == 3


async def test_a_year_with_no_arrangement_is_a_clear_problem(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    _, viewer = await make_user(Role.viewer)
    response = await client.get(
        f"{CALENDAR}/due-date", params={"start": "2026-12-25", "working_days": 10}, headers=viewer
    )
    assert response.status_code == 422
    problem = response.json()
    assert (problem["code"], problem["year"]) == ("calendar_year_missing", 2027)
    assert "PUT /api/v1/work-calendar/2027" in problem["detail"]
    assert response.headers["content-type"].startswith("application/problem+json")

    missing = await client.get(f"{CALENDAR}/2027", headers=viewer)
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    for limit in (0, 251):
        params = {"start": "2018-01-01", "working_days": limit}
        assert (await client.get(f"{CALENDAR}/due-date", params=params, headers=viewer)).status_code == 422
    backwards = await client.get(
        f"{CALENDAR}/working-days", params={"start": "2018-10-08", "end": "2018-09-28"}, headers=viewer
    )
    assert backwards.status_code == 422


async def test_entering_a_new_year_then_replacing_it_needs_if_match(
    client: httpx.AsyncClient, make_user: UserFactory, admin_headers: dict[str, str]
) -> None:
    _, officer = await make_user(Role.officer)
    refused = await client.put(f"{CALENDAR}/2027", json=ARRANGEMENT_2027, headers=officer)
    assert (refused.status_code, refused.json()["code"]) == (403, "insufficient_scope")

    created = await client.put(f"{CALENDAR}/2027", json=ARRANGEMENT_2027, headers=admin_headers)
    assert created.status_code == 201, created.text
    assert created.headers["etag"] == '"1"'
    assert created.json()["holidays"] == 12
    # Now the question that was refused is answered (from Friday 25 December): 28–31 December, then after
    # the New Year break 4–8 January and Monday 11 January.
    due = await _get(client, officer, f"{CALENDAR}/due-date", start="2026-12-25", working_days=10)
    assert due["due_on"] == "2027-01-11"

    again = await client.put(f"{CALENDAR}/2027", json=ARRANGEMENT_2027, headers=admin_headers)
    assert (again.status_code, again.json()["code"]) == (428, "if_match_required")
    stale = await client.put(f"{CALENDAR}/2027", json=ARRANGEMENT_2027, headers=admin_headers | {"If-Match": '"7"'})
    assert stale.status_code == 412
    without_make_up = ARRANGEMENT_2027 | {"workdays": []}
    replaced = await client.put(f"{CALENDAR}/2027", json=without_make_up, headers=admin_headers | {"If-Match": '"1"'})
    assert replaced.status_code == 200, replaced.text
    assert (replaced.json()["version"], replaced.json()["holidays"], replaced.json()["workdays"]) == (2, 12, 0)

    events = await _get(
        client, admin_headers, "/api/v1/audit-events", entity_type="work_calendar_year", entity_id="2027"
    )
    assert [e["action"] for e in events["items"]] == ["update", "create"]

    assert (await client.delete(f"{CALENDAR}/2027", headers=admin_headers | {"If-Match": '"2"'})).status_code == 204
    gone = await client.get(f"{CALENDAR}/due-date", params={"start": "2026-12-25", "working_days": 10}, headers=officer)
    assert gone.json()["code"] == "calendar_year_missing"


async def test_bad_arrangements_are_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    cases: list[tuple[dict[str, Any], str, list[str] | None]] = [
        # A make-up working day on a weekday means nothing: it is a working day already.
        ({"workdays": [{"day": "2027-02-15", "name": "调休"}]}, "not_a_weekend", ["body", "workdays.0.day"]),
        (
            {"holidays": [{"first_day": "2026-12-31", "last_day": "2027-01-01", "name": "元旦"}]},
            "date_out_of_range",
            None,
        ),
        ({"holidays": [{"first_day": "2027-01-03", "last_day": "2027-01-01", "name": "元旦"}]}, "date_order", None),
        (
            {
                "holidays": [{"first_day": "2027-01-01", "last_day": "2027-01-03", "name": "元旦"}],
                "workdays": [{"day": "2027-01-02", "name": "调休"}],
            },
            "duplicate_day",
            None,
        ),
        ({"holidays": [], "extra": 1}, "validation_failed", None),
        # A year without its statutory holidays is an incomplete notice, not a year of work.
        ({"holidays": ARRANGEMENT_2027["holidays"][:1]}, "too_few_holidays", ["body", "holidays"]),
        ({"published_on": "2099-01-01"}, "date_in_future", ["body", "published_on"]),
        ({"source": ""}, "validation_failed", None),
    ]
    for change, code, loc in cases:
        response = await client.put(f"{CALENDAR}/2027", json=ARRANGEMENT_2027 | change, headers=admin_headers)
        assert response.status_code == 422, (change, response.text)
        assert response.json()["code"] == code, change
        if loc:
            assert response.json()["errors"][0]["loc"] == loc
    stale_create = await client.put(
        f"{CALENDAR}/2027", json=ARRANGEMENT_2027, headers=admin_headers | {"If-Match": '"1"'}
    )
    assert (stale_create.status_code, stale_create.json()["code"]) == (412, "version_mismatch")  # RFC 9110
    assert (await client.get(f"{CALENDAR}/2027", headers=admin_headers)).status_code == 404
    out_of_range = await client.put(f"{CALENDAR}/1800", json=ARRANGEMENT_2027, headers=admin_headers)
    assert out_of_range.status_code == 422
