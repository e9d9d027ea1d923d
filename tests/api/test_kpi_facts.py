"""KPI facts through the API: both report styles, bulk all-or-nothing, corrections with history."""

from typing import Any

import httpx
import pytest

from app.core.scopes import Role
from tests.conftest import UserFactory

Headers = dict[str, str]
USCC = "91440300708461136T"


@pytest.fixture
async def officer(make_user: UserFactory) -> Headers:
    _, headers = await make_user(Role.officer, username="tongji")
    return headers


@pytest.fixture
async def enterprise(client: httpx.AsyncClient, officer: Headers) -> int:
    response = await client.post(
        "/api/v1/enterprises",
        json={
            "uscc": USCC,
            "name": "示例腾讯科技有限公司",
            "registered_capital": "1000000.00",
            "industry_code": "64",
            "source": "new",
        },
        headers=officer,
    )
    assert response.status_code == 201, response.text
    enterprise_id: int = response.json()["id"]
    return enterprise_id


def row(period: str, value: str, reported_as: str = "ytd", metric: str = "revenue", **key: Any) -> dict[str, Any]:
    return {"uscc": USCC, "metric": metric, "period": period, "reported_as": reported_as, "value": value} | key


async def bulk(client: httpx.AsyncClient, headers: Headers, *rows: dict[str, Any]) -> httpx.Response:
    return await client.post("/api/v1/kpi-facts/bulk", json={"rows": list(rows)}, headers=headers)


async def facts(client: httpx.AsyncClient, headers: Headers, metric: str = "revenue") -> dict[str, tuple[Any, ...]]:
    page = (await client.get(f"/api/v1/kpi-facts?metric={metric}&year=2018", headers=headers)).json()
    return {f["period"]: (f["monthly_value"], f["ytd_value"]) for f in page["items"]}


async def test_both_report_styles_give_both_figures(
    client: httpx.AsyncClient, officer: Headers, enterprise: int
) -> None:
    response = await bulk(
        client,
        officer,
        row("2018-01", "100.00"),
        row("2018-02", "250.00"),  # cumulative, as the statistics bureau sends
        row("2018-03", "70.50", "monthly"),  # the month's own, as an enterprise reports
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"received": 3, "created": 3, "updated": 0, "unchanged": 0}
    assert await facts(client, officer) == {
        "2018-01": ("100.00", "100.00"),
        "2018-02": ("150.00", "250.00"),
        "2018-03": ("70.50", "320.50"),
    }


async def test_a_retry_changes_nothing(client: httpx.AsyncClient, officer: Headers, enterprise: int) -> None:
    batch = [row("2018-01", "100.00"), row("2018-02", "250.00")]
    assert (await bulk(client, officer, *batch)).json()["created"] == 2
    again = await bulk(client, officer, *batch)
    assert again.json() == {"received": 2, "created": 0, "updated": 0, "unchanged": 2}


async def test_correcting_an_earlier_month_keeps_later_cumulatives_right_and_its_history(
    client: httpx.AsyncClient, officer: Headers, enterprise: int
) -> None:
    await bulk(
        client,
        officer,
        row("2018-01", "100.00", "monthly"),
        row("2018-02", "50.00", "monthly"),
        row("2018-03", "400.00"),
    )
    corrected = await bulk(client, officer, row("2018-01", "120.00", "monthly"))
    assert corrected.json()["updated"] == 1
    assert await facts(client, officer) == {
        "2018-01": ("120.00", "120.00"),
        "2018-02": ("50.00", "170.00"),  # carried through
        "2018-03": ("230.00", "400.00"),  # the reported 1–3月 stands; March's own value follows
    }
    january = (await client.get("/api/v1/kpi-facts?metric=revenue&year=2018&month_to=1", headers=officer)).json()
    history = (await client.get(f"/api/v1/kpi-facts/{january['items'][0]['id']}/history", headers=officer)).json()
    assert [e["action"] for e in history] == ["create", "update"]
    assert (history[1]["before"]["reported_value"], history[1]["after"]["reported_value"]) == ("100.00", "120.00")
    assert history[1]["actor_name"] == "tongji"


async def test_a_contradicting_cumulative_refuses_the_whole_batch(
    client: httpx.AsyncClient, officer: Headers, enterprise: int
) -> None:
    await bulk(client, officer, row("2018-01", "100.00"), row("2018-02", "250.00"))
    response = await bulk(
        client,
        officer,
        row("2018-03", "300.00"),
        row("2018-04", "280.00"),  # below March: a non-negative metric cannot fall
        row("2018-01", "50.00", metric="tax"),
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "inconsistent_cumulative"
    assert [e["loc"] for e in problem["errors"]] == [["body", "rows", 1, "value"]]
    assert set(await facts(client, officer)) == {"2018-01", "2018-02"}  # nothing written
    assert await facts(client, officer, "tax") == {}


async def test_a_correction_that_breaks_a_later_month_names_the_corrected_row(
    client: httpx.AsyncClient, officer: Headers, enterprise: int
) -> None:
    await bulk(client, officer, row("2018-01", "100.00"), row("2018-02", "250.00"))
    response = await bulk(client, officer, row("2018-01", "300.00"))  # now above 1–2月
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "rows", 0, "value"]


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"metric": "profit"}, "metric"),
        ({"uscc": "91350100M000100Y43"}, "uscc"),  # valid code, but not registered
        ({"reported_as": "monthly", "value": "-1.00"}, "value"),
    ],
)
async def test_row_errors_name_the_row_and_field(
    client: httpx.AsyncClient, officer: Headers, enterprise: int, bad: dict[str, str], field: str
) -> None:
    response = await bulk(client, officer, row("2018-01", "1.00"), row("2018-02", "2.00") | bad)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_rows"
    assert response.json()["errors"] == [
        {"loc": ["body", "rows", 1, field], "message": response.json()["errors"][0]["message"], "type": "invalid_row"}
    ]
    assert await facts(client, officer) == {}


@pytest.mark.parametrize(
    "bad", [{"period": "2018-13"}, {"value": "NaN"}, {"value": "1.001"}, {"value": "1e20"}, {"enterprise_id": 1}]
)
async def test_malformed_rows_are_validation_problems(
    client: httpx.AsyncClient, officer: Headers, enterprise: int, bad: dict[str, Any]
) -> None:
    response = await bulk(client, officer, row("2018-01", "1.00") | bad)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"][:3] == ["body", "rows", 0]


async def test_the_same_month_twice_in_one_batch_is_refused(
    client: httpx.AsyncClient, officer: Headers, enterprise: int
) -> None:
    response = await bulk(client, officer, row("2018-01", "1.00"), row("2018-01", "2.00", enterprise_id=None))
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "rows", 1, "period"]


async def test_metrics_are_listed_added_and_writes_need_the_scope(
    client: httpx.AsyncClient, officer: Headers, make_user: UserFactory
) -> None:
    codes = [m["code"] for m in (await client.get("/api/v1/metrics", headers=officer)).json()]
    assert codes[:3] == ["revenue", "tax", "fixed_asset_investment"]
    added = await client.post(
        "/api/v1/metrics",
        json={"code": "employees", "name": "从业人员", "unit": "人", "kind": "count"},
        headers=officer,
    )
    assert added.status_code == 201, added.text
    assert (
        await client.post("/api/v1/metrics", json={"code": "employees", "name": "x"}, headers=officer)
    ).status_code == 409
    _, viewer = await make_user(Role.viewer)
    assert (await client.get("/api/v1/kpi-facts", headers=viewer)).status_code == 200
    assert (await bulk(client, viewer, row("2018-01", "1.00"))).status_code == 403


async def test_tax_figures_are_for_cleared_callers_only(
    client: httpx.AsyncClient, officer: Headers, enterprise: int, make_user: UserFactory
) -> None:
    # DESIGN §4: sensitive fields (contacts, tax figures) only to roles cleared for them.
    await bulk(client, officer, row("2018-01", "10.00"), row("2018-01", "2.00", metric="tax"))
    _, viewer = await make_user(Role.viewer)
    listed = (await client.get("/api/v1/kpi-facts?year=2018", headers=viewer)).json()
    assert [f["metric"] for f in listed["items"]] == ["revenue"]
    assert (await client.get("/api/v1/kpi-facts?metric=tax", headers=viewer)).status_code == 403
    tax_fact = (await client.get("/api/v1/kpi-facts?metric=tax", headers=officer)).json()["items"][0]
    # A tax fact is hidden, not forbidden: the same 404 as an id no fact has.
    for path in (f"/api/v1/kpi-facts/{tax_fact['id']}", f"/api/v1/kpi-facts/{tax_fact['id']}/history"):
        hidden, missing = (
            await client.get(path, headers=viewer),
            await client.get(path.replace(str(tax_fact["id"]), "999999"), headers=viewer),
        )
        assert hidden.status_code == missing.status_code == 404
        assert hidden.json()["code"] == missing.json()["code"] == "not_found"
        assert hidden.json()["detail"] == missing.json()["detail"].replace("999999", str(tax_fact["id"]))
    metrics = {m["code"]: m["sensitive"] for m in (await client.get("/api/v1/metrics", headers=viewer)).json()}
    assert metrics["tax"] is True and metrics["revenue"] is False


async def test_a_district_system_without_clearance_cannot_submit_tax(
    client: httpx.AsyncClient, enterprise: int, admin_headers: Headers
) -> None:
    registered = (
        await client.post(
            "/api/v1/clients", json={"name": "统计局", "scopes": ["kpis:read", "kpis:write"]}, headers=admin_headers
        )
    ).json()
    token = (
        await client.post(
            "/api/v1/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": registered["client_id"],
                "client_secret": registered["client_secret"],
            },
        )
    ).json()["access_token"]
    machine = {"Authorization": f"Bearer {token}"}
    assert (await bulk(client, machine, row("2018-01", "1.00", metric="tax"))).status_code == 403
    assert (await bulk(client, machine, row("2018-01", "1.00"))).status_code == 200
