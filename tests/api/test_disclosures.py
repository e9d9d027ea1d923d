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
    # A published item stays published: it cannot be moved to a later time (and so become deletable).
    postponed = await client.patch(
        f"{ITEMS}/{published['id']}",
        json={"published_at": "2030-01-01T00:00:00Z"},
        headers=officer | {"If-Match": '"1"'},
    )
    assert (postponed.status_code, postponed.json()["code"]) == (409, "already_published")
    later = await _item(client, officer, published_at="2018-12-01T09:00:00+08:00", scheduled=True)
    moved = await client.patch(
        f"{ITEMS}/{later['id']}",
        json={"published_at": "2018-12-03T09:00:00+08:00"},
        headers=officer | {"If-Match": '"1"'},
    )
    assert (moved.status_code, moved.json()["status"]) == (200, "scheduled")  # still waiting, no flag needed
    later = moved.json()
    for bad in (
        {
            "title": "规范性文件",
            "category": "normative_documents",
            "channels": ["website"],
            "published_at": "2018-06-01T10:00:00+08:00",
            "abolished_on": "2017-03-01",
        },
        {"title": "x", "category": "news", "channels": ["website"], "published_at": "0001-01-01T00:00:00Z"},
        {
            "title": "x",
            "category": "news",
            "channels": ["website"],
            "published_at": "2018-06-01T10:00:00+08:00",
            "link": "https://x.cn/a\u0000b",
        },
    ):
        refused = await client.post(ITEMS, json=bad, headers=officer)
        assert refused.status_code == 422, bad
    assert (await client.delete(f"{ITEMS}/{later['id']}", headers=officer | {"If-Match": '"2"'})).status_code == 204


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
    assert person["fee"] == "0.00"
    # The fee follows the applicant's count in the month: the ordinal cannot exceed what is on record.
    beyond = await client.post(
        f"{REQUESTS}/{person['id']}/conclusion",
        json={"outcome": "1", "concluded_on": "2021-03-20", "fee_basis": "per_item", "monthly_ordinal": 12},
        headers=officer | {"If-Match": '"1"'},
    )
    assert (beyond.status_code, beyond.json()["code"]) == (422, "ordinal_not_on_record")
    for _ in range(11):
        await register()  # eleven more from 陈大文 that day: the first is now the 12th of the month
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
    refusal_by_volume = await register(applicant_type="commercial_enterprise", applicant_name="另一公司")
    not_applicable = await client.post(
        f"{REQUESTS}/{refusal_by_volume['id']}/conclusion",
        json={"outcome": "3.4", "concluded_on": "2021-03-22", "fee_basis": "per_volume", "pages": 150},
        headers=officer | {"If-Match": '"1"'},
    )
    assert (not_applicable.status_code, not_applicable.json()["code"]) == (422, "fee_basis_not_applicable")
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
    lawsuit = await created(
        await client.post(
            "/api/v1/disclosure-remedies", json={"kind": "lawsuit_direct", "filed_on": "2018-11-01"}, headers=officer
        )
    )
    await client.post(
        f"/api/v1/disclosure-remedies/{lawsuit['id']}/conclusion",
        json={"result": "upheld", "concluded_on": "2019-04-01"},
        headers=officer | {"If-Match": '"1"'},
    )
    wrong_flag = await client.post(
        "/api/v1/disclosure-remedies",
        json={"kind": "administrative_review", "filed_on": "2018-08-01", "as_review_organ_co_defendant": True},
        headers=officer,
    )
    assert wrong_flag.status_code == 422  # only a lawsuit after review has the review organ as co-defendant

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
        rows["5.2"]["commercial_enterprise"],
    ) == (
        1,
        1,
        1,
    )
    assert [r["code"] for r in report["applications"]][:4] == ["new", "carried_over", "1", "2"]
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
    assert (report["previous_year_checked"], report["active"]["enforcement_figures_entered"]) == (False, False)
    # A case filed in 2018 and decided in 2019 is pending in 2018's table, decided in 2019's.
    assert remedies["lawsuit_direct"]["pending"] == 1

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
    # The diff works on data that no longer balance: that is how to see what broke the balance.
    diff = (await client.get(f"/api/v1/report-snapshots/{frozen.json()['id']}/diff", headers=officer)).json()
    changed = {d["path"]: (d["frozen"], d["now"]) for d in diff["differences"]}
    assert changed["applications[code=new].counts.total"] == (3, 4)

    for body, code in (
        ({"kind": "disclosure_annual", "year": 2026}, "year_not_over"),  # the clock's year is not over
        ({"kind": "disclosure_annual", "year": 2018, "through_month": 5}, "validation_failed"),
        ({"kind": "disclosure_annual", "year": "2018"}, "validation_failed"),
        ({"kind": "annual_work", "year": 2018, "title": "a\u0000b"}, "validation_failed"),
    ):
        refused = await client.post("/api/v1/report-snapshots", json=body, headers=officer)
        assert (refused.status_code, refused.json()["code"]) == (422, code), body
    ahead = await client.get("/api/v1/reports/disclosure/2100", headers=officer)
    assert (ahead.status_code, ahead.json()["code"]) == (422, "date_out_of_range")
    empty = await client.get("/api/v1/reports/disclosure/2005", headers=officer)
    assert (empty.status_code, empty.json()["code"]) == (422, "report_year_empty")
    decided_2019 = await client.get("/api/v1/reports/disclosure/2019", params={"format": "json"}, headers=officer)
    assert decided_2019.status_code == 422  # (still unbalanced by the late entry above)
    figures = await client.put(
        "/api/v1/reports/disclosure/2018/enforcement-figures", json={"licensing_decisions": 0}, headers=officer
    )
    assert figures.status_code == 201
    assert (await client.get("/api/v1/reports/disclosure/2018", headers=officer)).json()["active"][
        "enforcement_figures_entered"
    ]
    refuse = await client.put("/api/v1/reports/disclosure/2018/enforcement-figures", json={}, headers=officer)
    assert refuse.status_code == 428


async def test_fees_documents_and_corrections(
    client: httpx.AsyncClient, make_user: UserFactory, admin_headers: dict[str, str], clock: FixedClock
) -> None:
    _, officer = await make_user(Role.officer)
    clock.set(datetime(2021, 6, 30, 4, 0, tzinfo=UTC))

    async def concluded(outcome: str, **fee: Any) -> dict[str, Any]:
        body = {
            "applicant_type": "commercial_enterprise",
            "applicant_name": "广州示例咨询有限公司",
            "subject": "申请",
            "received_on": "2021-03-01",
        }
        request = await created(await client.post(REQUESTS, json=body, headers=officer))
        done = await client.post(
            f"{REQUESTS}/{request['id']}/conclusion",
            json={"outcome": outcome, "concluded_on": "2021-03-20"} | fee,
            headers=officer | {"If-Match": '"1"'},
        )
        assert done.status_code == 200, done.text
        result: dict[str, Any] = done.json()
        return result

    await concluded("1", fee_basis="per_volume", pages=40)  # 100 yuan collected
    for _ in range(9):  # the applicant's 2nd to 10th applications this month
        body = {
            "applicant_type": "commercial_enterprise",
            "applicant_name": "广州示例咨询有限公司",
            "subject": "申请",
            "received_on": "2021-03-01",
        }
        await created(await client.post(REQUESTS, json=body, headers=officer))
    # 6.2: the 11th application's fee (100 yuan) was notified and never paid; the request lapsed, and the
    # fee does not count as collected.
    lapsed = await concluded("6.2", fee_basis="per_item", monthly_ordinal=11)
    assert lapsed["fee"] == "100.00"
    # A per-item fee applies to every outcome (art. 4), a refusal included.
    await concluded("3.4", fee_basis="per_item", monthly_ordinal=1)
    report = (await client.get("/api/v1/reports/disclosure/2021", headers=officer)).json()
    assert report["fees_yuan"] == "100.00"  # the per-volume 100; the unpaid 6.2 fee is not counted

    # A normative document still scheduled is not "issued" yet; one abolished before issue is refused.
    await _item(client, officer, category="normative_documents", published_at="2021-05-10T10:00:00+08:00")
    await _item(
        client, officer, category="normative_documents", published_at="2021-07-15T10:00:00+08:00", scheduled=True
    )
    early = await client.post(
        ITEMS,
        json={
            "title": "x",
            "category": "normative_documents",
            "channels": ["website"],
            "published_at": "2021-05-10T10:00:00+08:00",
            "abolished_on": "2021-05-01",
        },
        headers=officer,
    )
    assert (early.status_code, early.json()["code"]) == (422, "date_order")
    documents = (await client.get("/api/v1/reports/disclosure/2021", headers=officer)).json()["active"]["documents"]
    assert documents[1] == {"kind": "行政规范性文件", "issued": 1, "abolished": 0, "in_force": 1}
    budget = await _item(client, officer, category="budget_final_accounts", published_at="2021-05-10T10:00:00+08:00")
    assert budget["legal_basis_item"] == 7  # 条例第二十条第（七）项 when unsaid

    # A mistyped outcome code is corrected, audited; a request not yet concluded is concluded, not corrected.
    wrong = await concluded("5.2")
    fixed = await client.patch(
        f"{REQUESTS}/{wrong['id']}", json={"outcome": "5.1"}, headers=officer | {"If-Match": '"2"'}
    )
    assert (fixed.status_code, fixed.json()["outcome"]) == (200, "5.1")
    trail = (
        await client.get(
            "/api/v1/audit-events",
            params={"entity_type": "disclosure_request", "entity_id": str(wrong["id"])},
            headers=admin_headers,
        )
    ).json()["items"]
    assert (trail[0]["before"]["outcome"], trail[0]["after"]["outcome"]) == ("5.2", "5.1")
    open_one = await created(
        await client.post(
            REQUESTS,
            json={
                "applicant_type": "commercial_enterprise",
                "applicant_name": "某公司",
                "subject": "申请",
                "received_on": "2021-06-01",
            },
            headers=officer,
        )
    )
    premature = await client.patch(
        f"{REQUESTS}/{open_one['id']}", json={"outcome": "1"}, headers=officer | {"If-Match": '"1"'}
    )
    assert (premature.status_code, premature.json()["code"]) == (409, "not_concluded")
