"""Disclosure: items on several channels, statistics that reconcile, requests with outcome codes and fees,
reviews and lawsuits, and the statutory tables that balance or say why not."""

import io
from datetime import UTC, datetime
from typing import Any

import httpx
from openpyxl import load_workbook

from app.core.clock import FixedClock
from app.core.scopes import Role
from tests.api.desk import created
from tests.conftest import UserFactory

ITEMS = "/api/v1/disclosures"
REQUESTS = "/api/v1/disclosure-requests"


async def _item(client: httpx.AsyncClient, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {
        "title": "招商工作动态",
        "category": "news",
        "channels": ["website"],
        "published_at": "2018-03-01T10:00:00+08:00",
    }
    return await created(await client.post(ITEMS, json=body | fields, headers=headers))


async def test_publishing_and_scheduling(client: httpx.AsyncClient, make_user: UserFactory, clock: FixedClock) -> None:
    _, officer = await make_user(Role.officer)
    # The clock says 2018-10-31 23:30 in Guangzhou.
    published = await _item(client, officer, channels=["wechat", "website", "weibo"])
    assert (published["status"], published["channels"]) == ("published", ["website", "wechat", "weibo"])
    for change, code in (
        ({"published_at": "2018-11-05T09:00:00+08:00"}, "published_in_future"),
        ({"published_at": "2018-10-30T09:00:00+08:00", "scheduled": True}, "scheduled_in_past"),
        ({"channels": ["fax"]}, "validation_failed"),
        ({"channels": ["website", "website"]}, "validation_failed"),
        ({"channels": []}, "validation_failed"),
        ({"category": "gossip"}, "validation_failed"),
        ({"legal_basis_item": 16}, "validation_failed"),
        ({"abolished_on": "2018-06-30"}, "validation_failed"),  # only normative documents are abolished
        ({"link": "javascript:alert(1)"}, "validation_failed"),
        ({"published_at": "2018-03-01T10:00:00"}, "validation_failed"),
    ):
        body = {"title": "x", "category": "news", "channels": ["website"], "published_at": "2018-03-01T10:00:00+08:00"}
        response = await client.post(ITEMS, json=body | change, headers=officer)
        assert (response.status_code, response.json()["code"]) == (422, code), change
    waiting = await _item(client, officer, published_at="2018-11-05T09:00:00+08:00", scheduled=True, category="notices")
    assert waiting["status"] == "scheduled"
    listed = (await client.get(ITEMS, params={"scheduled": "true"}, headers=officer)).json()
    assert [i["id"] for i in listed["items"]] == [waiting["id"]]
    stats = (await client.get(f"{ITEMS}/statistics", params={"year": 2018}, headers=officer)).json()
    assert stats["total"] == 1  # the scheduled notice is not out yet

    clock.set(datetime(2018, 11, 6, 2, 0, tzinfo=UTC))
    assert (await client.get(f"{ITEMS}/{waiting['id']}", headers=officer)).json()["status"] == "published"
    assert (await client.get(f"{ITEMS}/statistics", params={"year": 2018}, headers=officer)).json()["total"] == 2
    kept = await client.delete(f"{ITEMS}/{published['id']}", headers=officer | {"If-Match": '"1"'})
    assert (kept.status_code, kept.json()["code"]) == (409, "already_published")
    later = await _item(client, officer, published_at="2018-12-01T09:00:00+08:00", scheduled=True)
    assert (await client.delete(f"{ITEMS}/{later['id']}", headers=officer | {"If-Match": '"1"'})).status_code == 204


async def test_statistics_say_how_an_item_on_two_channels_counts(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    _, officer = await make_user(Role.officer)
    await _item(client, officer, channels=["website"])
    await _item(client, officer, channels=["wechat", "weibo"])  # one social-media item on both accounts
    await _item(client, officer, channels=["website", "wechat"], category="budget_final_accounts", legal_basis_item=4)
    # 16:30 UTC on 31 January is 00:30 on 1 February in Guangzhou: a February item.
    await _item(client, officer, published_at="2018-01-31T16:30:00Z")
    await _item(client, officer, published_at="2017-12-31T15:59:59Z")  # 23:59:59 on 31 December 2017: not 2018

    stats = (await client.get(f"{ITEMS}/statistics", params={"year": 2018}, headers=officer)).json()
    counts = {
        key: {c["key"]: c["items"] for c in stats[key]}
        for key in ("by_category", "by_channel", "by_channel_group", "by_month")
    }
    assert stats["total"] == 4
    assert counts["by_category"] == {"budget_final_accounts": 1, "news": 3}
    assert sum(counts["by_category"].values()) == stats["total"]
    assert counts["by_channel"] == {"website": 3, "wechat": 2, "weibo": 1}
    assert (stats["placements"], stats["items_on_several_channels"]) == (6, 2)
    assert counts["by_channel_group"] == {"website": 3, "social_media": 2, "other": 0}
    assert stats["several_groups"] == 1  # the budget document reached both the website and WeChat
    assert counts["by_month"] == {"2018-02": 1, "2018-03": 3}
    february = (await client.get(f"{ITEMS}/statistics", params={"year": 2018, "month": 2}, headers=officer)).json()
    assert (february["period_from"], february["period_to"], february["total"]) == ("2018-02-01", "2018-02-28", 1)
    assert (
        await client.get(f"{ITEMS}/statistics", params={"year": 2018, "month": 13}, headers=officer)
    ).status_code == 422
    filtered = (await client.get(ITEMS, params={"channel": "weibo"}, headers=officer)).json()
    assert filtered["total"] == 1


async def test_requests_outcomes_fees_and_personal_names(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    _, officer = await make_user(Role.officer)
    _, viewer = await make_user(Role.viewer)

    async def register(**fields: Any) -> dict[str, Any]:
        body = {
            "applicant_type": "natural_person",
            "applicant_name": "陈大文",
            "subject": "申请公开扶持资金明细",
            "received_on": "2021-03-01",
        }
        return await created(await client.post(REQUESTS, json=body | fields, headers=officer))

    person = await register()
    company = await register(applicant_type="commercial_enterprise", applicant_name="广州示例咨询有限公司")
    assert (await client.get(f"{REQUESTS}/{person['id']}", headers=viewer)).json()["applicant_name"] == "陈**"
    assert (await client.get(f"{REQUESTS}/{company['id']}", headers=viewer)).json()[
        "applicant_name"
    ] == "广州示例咨询有限公司"
    assert (await client.get(f"{REQUESTS}/{person['id']}", headers=officer)).json()["applicant_name"] == "陈大文"

    url = f"{REQUESTS}/{person['id']}/conclusion"
    for body in (
        {"outcome": "3.9", "concluded_on": "2021-03-20"},
        {"outcome": "disclosed", "concluded_on": "2021-03-20"},
        {"outcome": "1", "concluded_on": "2021-03-20", "monthly_ordinal": 12},  # an ordinal without the basis
        {"outcome": "1", "concluded_on": "2021-03-20", "fee_basis": "per_item"},  # the basis without the ordinal
        {"outcome": "1", "concluded_on": "2021-03-20", "fee_basis": "per_volume", "pages": -1},
    ):
        response = await client.post(url, json=body, headers=officer | {"If-Match": '"1"'})
        assert response.status_code == 422, body
    early = await client.post(
        url, json={"outcome": "1", "concluded_on": "2021-02-20"}, headers=officer | {"If-Match": '"1"'}
    )
    assert (early.status_code, early.json()["code"]) == (422, "date_order")
    concluded = await client.post(
        url,
        json={"outcome": "1", "concluded_on": "2021-03-20", "fee_basis": "per_item", "monthly_ordinal": 12},
        headers=officer | {"If-Match": '"1"'},
    )
    assert concluded.status_code == 200, concluded.text
    assert (concluded.json()["outcome"], concluded.json()["fee"]) == ("1", "100.00")
    again = await client.post(
        url, json={"outcome": "2", "concluded_on": "2021-03-21"}, headers=officer | {"If-Match": '"2"'}
    )
    assert (again.status_code, again.json()["code"]) == (409, "already_decided")
    by_volume = await client.post(
        f"{REQUESTS}/{company['id']}/conclusion",
        json={"outcome": "2", "concluded_on": "2021-03-22", "fee_basis": "per_volume", "pages": 150},
        headers=officer | {"If-Match": '"1"'},
    )
    assert by_volume.json()["fee"] == "1700.00"  # 70 pages at 10 yuan, 50 at 20
    old = await register(received_on="2018-03-01")
    before_rules = await client.post(
        f"{REQUESTS}/{old['id']}/conclusion",
        json={"outcome": "1", "concluded_on": "2018-03-20", "fee_basis": "per_item", "monthly_ordinal": 12},
        headers=officer | {"If-Match": '"1"'},
    )
    assert (before_rules.status_code, before_rules.json()["code"]) == (422, "fee_rules_not_in_force")


async def test_statutory_tables_balance_or_name_the_gap(
    client: httpx.AsyncClient, make_user: UserFactory, admin_headers: dict[str, str]
) -> None:
    _, officer = await make_user(Role.officer)

    async def register(
        kind: str, received: str, outcome: str | None = None, concluded: str | None = None
    ) -> dict[str, Any]:
        body = {"applicant_type": kind, "applicant_name": "申请人", "subject": "申请公开", "received_on": received}
        request = await created(await client.post(REQUESTS, json=body, headers=officer))
        if outcome:
            done = await client.post(
                f"{REQUESTS}/{request['id']}/conclusion",
                json={"outcome": outcome, "concluded_on": concluded},
                headers=officer | {"If-Match": '"1"'},
            )
            assert done.status_code == 200, done.text
            request = done.json()
        return request

    await register("natural_person", "2017-12-20", "1", "2018-01-10")  # carried over into 2018
    await register("natural_person", "2018-03-01", "3.4", "2018-03-20")
    await register("commercial_enterprise", "2018-04-01", "5.2", "2018-04-12")
    await register("research_institution", "2018-12-20")  # carried forward into 2019
    await register("natural_person", "2019-01-05", "1", "2019-01-20")  # not 2018's
    review = await created(
        await client.post(
            "/api/v1/disclosure-remedies",
            json={"kind": "administrative_review", "filed_on": "2018-05-02"},
            headers=officer,
        )
    )
    await client.post(
        f"/api/v1/disclosure-remedies/{review['id']}/conclusion",
        json={"result": "corrected", "concluded_on": "2018-07-01"},
        headers=officer | {"If-Match": '"1"'},
    )
    await created(
        await client.post(
            "/api/v1/disclosure-remedies",
            json={"kind": "lawsuit_after_review", "filed_on": "2018-08-01", "as_review_organ_co_defendant": True},
            headers=officer,
        )
    )
    await created(
        await client.post(
            "/api/v1/disclosure-remedies", json={"kind": "lawsuit_direct", "filed_on": "2018-11-01"}, headers=officer
        )
    )

    report = (await client.get("/api/v1/reports/disclosure/2018", headers=officer)).json()
    rows = {r["code"]: r["counts"] for r in report["applications"]}
    assert (
        rows["new"]["total"],
        rows["carried_over"]["total"],
        rows["results_total"]["total"],
        rows["carried_forward"]["total"],
    ) == (3, 1, 3, 1)
    assert (
        rows["carried_over"]["natural_person"],
        rows["3.4"]["natural_person"],
        rows["3_total"]["total"],
        rows["5_total"]["commercial_enterprise"],
    ) == (1, 1, 1, 1)
    assert rows["carried_forward"]["research_institution"] == 1
    for column in rows["new"]:
        assert (
            rows["new"][column] + rows["carried_over"][column]
            == rows["results_total"][column] + rows["carried_forward"][column]
        )
    remedies = {r["kind"]: r for r in report["remedies"]}
    assert (remedies["administrative_review"]["corrected"], remedies["administrative_review"]["total"]) == (1, 1)
    assert remedies["lawsuit_after_review"]["total"] == 0  # co-defendant as the review organ: not counted here
    assert (remedies["lawsuit_direct"]["pending"], remedies["lawsuit_direct"]["total"]) == (1, 1)
    assert (report["balanced"], report["previous_year_checked"], report["active"]["enforcement_figures_entered"]) == (
        True,
        False,
        False,
    )

    workbook_response = await client.get("/api/v1/reports/disclosure/2018", params={"format": "xlsx"}, headers=officer)
    assert workbook_response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml"
    )
    workbook = load_workbook(io.BytesIO(workbook_response.content))
    sheet = workbook["三、依申请公开"]
    values = {row[0]: row[1:] for row in sheet.iter_rows(min_row=3, values_only=True)}
    assert values["一、本年新收政府信息公开申请数量"][-1] == 3
    assert values["四、结转下年度继续办理"][-1] == 1

    # Freeze 2018. Then a request received in 2018 and still open is entered only now: 2018's frozen report
    # did not carry it forward, so 2019's carried-over count no longer matches and the 2019 tables say where.
    frozen = await client.post(
        "/api/v1/report-snapshots", json={"kind": "disclosure_annual", "year": 2018}, headers=officer
    )
    assert frozen.status_code == 201, frozen.text
    await register("natural_person", "2018-11-20")
    unbalanced = await client.get("/api/v1/reports/disclosure/2019", headers=officer)
    assert (unbalanced.status_code, unbalanced.json()["code"]) == (422, "report_unbalanced")
    gaps = {(g["check"], g["column"]): (g["left"], g["right"]) for g in unbalanced.json()["gaps"]}
    assert gaps == {("previous_year", "natural_person"): (0, 1), ("previous_year", "total"): (1, 2)}
    diff = (await client.get(f"/api/v1/report-snapshots/{frozen.json()['id']}/diff", headers=officer)).json()
    changed = {d["path"]: (d["frozen"], d["now"]) for d in diff["differences"]}
    assert changed["applications[code=new].counts.total"] == (3, 4)

    empty = await client.get("/api/v1/reports/disclosure/2005", headers=officer)
    assert (empty.status_code, empty.json()["code"]) == (422, "report_year_empty")
    figures = await client.put(
        "/api/v1/reports/disclosure/2018/enforcement-figures", json={"licensing_decisions": 0}, headers=officer
    )
    assert figures.status_code == 201
    assert (await client.get("/api/v1/reports/disclosure/2018", headers=officer)).json()["active"][
        "enforcement_figures_entered"
    ]
    refuse = await client.put("/api/v1/reports/disclosure/2018/enforcement-figures", json={}, headers=officer)
    assert refuse.status_code == 428
