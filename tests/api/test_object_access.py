"""Object-level access: a caller never reads what its role or its token's scopes do not reach (issue #9).

What app/core/scopes.py and the services restrict below the route's own scope, and how:

- Code-named projects (`code_name`): without `confidential:read` the project is *masked*, not hidden — the
  scope reads "see the real names of projects that have a code name". Such a caller gets the code name
  instead of the name and no investor (`enterprise_id: null`) in the read, the list, the csv export, the
  change feed, the overdue-milestone view, the timeline and the webhook payload; `q` searches only what it
  sees, `sort=name` orders by what it sees, `enterprise_id=` does not confirm the investor; the audit trail
  shows neither name nor investor.
- Sensitive metrics (tax, `sensitive_kpis:read`): facts are left out of lists, exports and the change feed,
  figure routes refuse the metric (403: which metrics are sensitive is public, `GET /metrics`), the cohort's
  tax targets are left out and may not be set, and the audit trail hides the figures of tax facts and targets.
  A frozen report that carries tax figures does not exist for such a caller: 404 on every route, exactly as a
  snapshot id no row has (same status, code, type, title, detail but for the id).
- Personal data (`personal_data:read`): enterprise contacts, talents' ID numbers and phones and natural
  persons' names on requests for disclosure are masked on every surface (read, list, export, change feed) and
  kept out of (or masked in) the audit trail.

Staff roles (viewer) and district systems (API clients created through /clients, tokens from
client_credentials) are both tried. The services have no officer-assignment rules (an officer may change any
project; `officer_id` is only a filter), so there is nothing of that kind to test.
"""

import csv
import io
import re
from typing import Any

import httpx
import pytest

from app.core.clock import FixedClock
from app.core.scopes import Role
from app.services.calculators.national_id import check_character as id_check_character
from app.services.calculators.uscc import check_character
from tests.conftest import UserFactory

Headers = dict[str, str]
Json = dict[str, Any]
ANY_VERSION = {"If-Match": "*"}
ABSENT_ID = 2_147_480_000

REAL_NAME = "某世界500强华南总部项目"
CODE_NAME = "珠江一号"
# Pieces of the real name a search or a page could give away.
REAL_FRAGMENTS = ("500强", "华南总部")

PHONE = "13812345678"
CONTACT = "陈小明"
APPLICANT = "张三丰"
TAX_VALUE = "987654.32"
TAX_TARGET = "12345678.00"


def uscc(serial: int) -> str:
    first17 = f"91440105MA5{serial:06d}"
    return first17 + check_character(first17)


NATIONAL_ID = "44010519900307123" + id_check_character("44010519900307123")


@pytest.fixture(autouse=True)
def _on_the_report_evening(clock: FixedClock) -> None:
    """Today is 2018-10-31 in Guangzhou: the 2018 dates below are in the past, and overdue is as of then."""


async def created(response: httpx.Response) -> Json:
    assert response.status_code in {200, 201}, response.text
    body: Json = response.json()
    return body


async def new_talent(client: httpx.AsyncClient, headers: Headers, employer_id: int) -> Json:
    """A talent with an ID number and a phone, the personal data the masking tests look for."""
    body = {
        "name": "王示例",
        "enterprise_id": employer_id,
        "role": "senior_executive",
        "national_id": NATIONAL_ID,
        "phone": PHONE,
    }
    return await created(await client.post("/api/v1/talents", json=body, headers=headers))


async def new_request(client: httpx.AsyncClient, headers: Headers) -> Json:
    """A request for disclosure by a natural person, whose name is the personal data masked."""
    body = {
        "applicant_type": "natural_person",
        "applicant_name": APPLICANT,
        "subject": "申请公开",
        "received_on": "2018-06-01",
    }
    return await created(await client.post("/api/v1/disclosure-requests", json=body, headers=headers))


async def machine(client: httpx.AsyncClient, admin: Headers, *scopes: str) -> Headers:
    """A district system registered through /clients, holding only `scopes`, with a client_credentials token."""
    registered = await created(
        await client.post(
            "/api/v1/clients", json={"name": f"对接系统{len(scopes)}{scopes[0]}", "scopes": list(scopes)}, headers=admin
        )
    )
    token = await client.post(
        "/api/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": registered["client_id"],
            "client_secret": registered["client_secret"],
        },
    )
    assert token.status_code == 200, token.text
    assert set(token.json()["scope"].split()) == set(scopes)
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


async def enterprise(client: httpx.AsyncClient, admin: Headers, serial: int, **fields: Any) -> Json:
    body = {
        "uscc": uscc(serial),
        "name": f"广州示例投资有限公司{serial}",
        "registered_capital": "10000000.00",
        "industry_code": "64",
        "source": "new",
    } | fields
    return await created(await client.post("/api/v1/enterprises", json=body, headers=admin))


async def get_ok(client: httpx.AsyncClient, url: str, headers: Headers, **params: Any) -> httpx.Response:
    response = await client.get(url, params=params, headers=headers)
    assert response.status_code == 200, f"{url}: {response.status_code} {response.text[:300]}"
    return response


def csv_rows(response: httpx.Response) -> list[dict[str, str]]:
    assert response.headers["content-type"].startswith("text/csv"), response.headers["content-type"]
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def normalised(problem: httpx.Response, key: int) -> tuple[int, str, Json]:
    """A problem with the id it names replaced, so two answers can be compared field by field."""
    body = dict(problem.json())
    body.pop("request_id")
    for field in ("detail", "instance"):
        body[field] = re.sub(rf"\b{key}\b", "{id}", body[field])
    return problem.status_code, problem.headers["content-type"], body


# --- code-named projects -------------------------------------------------------------------------------------


@pytest.fixture
async def confidential(client: httpx.AsyncClient, admin_headers: Headers) -> Json:
    """A code-named key project with its investor, a milestone gone overdue, an escalation, a supervision round
    and a stage change (announced to a webhook subscriber); and a plain project of another investor."""
    investor = await enterprise(client, admin_headers, 1)
    other = await enterprise(client, admin_headers, 2)
    hook = await created(
        await client.post(
            "/api/v1/webhooks",
            json={"url": "https://receiver.example.gov.cn/hooks", "event_types": ["project.stage_changed"]},
            headers=admin_headers,
        )
    )
    project = await created(
        await client.post(
            "/api/v1/projects",
            json={
                "name": REAL_NAME,
                "code_name": CODE_NAME,
                "enterprise_id": investor["id"],
                "is_key": True,
                "introduced_on": "2018-01-05",
                "planned_investment": "2000000000.00",
            },
            headers=admin_headers,
        )
    )
    plain = await created(
        await client.post(
            "/api/v1/projects",
            json={"name": "琶洲公开示例项目", "enterprise_id": other["id"], "introduced_on": "2018-02-01"},
            headers=admin_headers,
        )
    )
    url = f"/api/v1/projects/{project['id']}"
    milestone = await created(
        await client.post(
            f"{url}/milestones",
            json={"track": "construction", "name": "取得施工许可证", "planned_on": "2018-06-30"},
            headers=admin_headers,
        )
    )
    await created(
        await client.post(
            f"{url}/escalations",
            json={
                "level": "reminder",
                "occurred_on": "2018-07-05",
                "note": "催办施工许可",
                "milestone_id": milestone["id"],
            },
            headers=admin_headers,
        )
    )
    await created(
        await client.post(
            "/api/v1/supervision-rounds",
            json={
                "held_on": "2018-08-01",
                "title": "三季度督查",
                "findings": "进度滞后",
                "project_ids": [project["id"]],
            },
            headers=admin_headers,
        )
    )
    await created(
        await client.post(
            f"{url}/stage-events",
            json={"to_stage": "signed", "occurred_on": "2018-03-01"},
            headers=admin_headers | ANY_VERSION,
        )
    )
    return {"project": project, "plain": plain, "investor": investor, "hook": hook, "milestone": milestone}


async def _uncleared(client: httpx.AsyncClient, admin: Headers, make_user: UserFactory) -> dict[str, Headers]:
    _, viewer = await make_user(Role.viewer)
    system = await machine(client, admin, "projects:read", "analytics:read")
    return {"viewer": viewer, "district system": system}


async def test_a_code_named_project_shows_only_its_code_name_to_uncleared_callers(
    client: httpx.AsyncClient, admin_headers: Headers, make_user: UserFactory, confidential: Json
) -> None:
    project, investor = confidential["project"], confidential["investor"]
    pid = project["id"]
    surfaces = [
        f"/api/v1/projects/{pid}",
        "/api/v1/projects",
        f"/api/v1/projects/{pid}/timeline",
        f"/api/v1/projects/{pid}/milestones",
        f"/api/v1/projects/{pid}/milestones/{confidential['milestone']['id']}",
        f"/api/v1/projects/{pid}/stage-events",
        f"/api/v1/projects/{pid}/escalations",
        "/api/v1/milestones/overdue",
        "/api/v1/supervision-rounds",
        "/api/v1/changes/projects",
        "/api/v1/changes/milestones",
        "/api/v1/changes/escalations",
        "/api/v1/analytics/pipeline",
    ]
    _, leader = await make_user(Role.leader)
    for who, headers in (await _uncleared(client, admin_headers, make_user)).items():
        for url in surfaces:
            text = (await get_ok(client, url, headers)).text
            assert not any(f in text for f in REAL_FRAGMENTS), f"{who} reads the real name at {url}"
        read = (await get_ok(client, f"/api/v1/projects/{pid}", headers)).json()
        assert (read["name"], read["code_name"], read["enterprise_id"], read["name_masked"]) == (
            CODE_NAME,
            CODE_NAME,
            None,
            True,
        ), who
        # Found, not hidden: the masked project is there, under the name the caller may see.
        listed = (await get_ok(client, "/api/v1/projects", headers)).json()["items"]
        assert {p["id"]: p["name"] for p in listed}[pid] == CODE_NAME
        overdue = (await get_ok(client, "/api/v1/milestones/overdue", headers)).json()["items"]
        assert [(m["project_id"], m["project_name"]) for m in overdue] == [(pid, CODE_NAME)], who
        feed = (await get_ok(client, "/api/v1/changes/projects", headers)).json()["items"]
        assert {i["id"]: i["data"]["enterprise_id"] for i in feed if i["data"]}[pid] is None
        exported = csv_rows(await get_ok(client, "/api/v1/projects", headers, format="csv"))
        assert len(exported) == 2 and not any(f in str(exported) for f in REAL_FRAGMENTS), who
        # Search, filter and sort see only what the caller sees.
        assert (await get_ok(client, "/api/v1/projects", headers, q="500强")).json()["total"] == 0, who
        assert (await get_ok(client, "/api/v1/projects", headers, q="珠江")).json()["total"] == 1, who
        by_investor = await get_ok(client, "/api/v1/projects", headers, enterprise_id=investor["id"])
        assert by_investor.json()["total"] == 0, f"{who} learns the investor through the filter"

    # The cleared see it all, through the same routes.
    seen = (await get_ok(client, f"/api/v1/projects/{pid}", leader)).json()
    assert (seen["name"], seen["enterprise_id"], seen["name_masked"]) == (REAL_NAME, investor["id"], False)
    assert (await get_ok(client, "/api/v1/projects", leader, q="500强")).json()["total"] == 1
    assert (await get_ok(client, "/api/v1/projects", leader, enterprise_id=investor["id"])).json()["total"] == 1
    overdue = (await get_ok(client, "/api/v1/milestones/overdue", leader)).json()["items"]
    assert [m["project_name"] for m in overdue] == [REAL_NAME]

    # Subscribers (other systems) get the uncleared form: the code name.
    deliveries = (
        await get_ok(client, f"/api/v1/webhooks/{confidential['hook']['id']}/deliveries", admin_headers)
    ).json()
    assert [d["event"]["data"]["project_name"] for d in deliveries["items"]] == [CODE_NAME]
    assert REAL_NAME not in str(deliveries) and "enterprise_id" not in deliveries["items"][0]["event"]["data"]


async def test_sorting_by_name_orders_by_the_name_the_caller_sees(
    client: httpx.AsyncClient, admin_headers: Headers, make_user: UserFactory
) -> None:
    # Ordered by the real name, the code-named project would give away where its real name sorts.
    secret = await created(
        await client.post(
            "/api/v1/projects",
            json={"name": "Zenith HQ", "code_name": "Alpha", "introduced_on": "2018-01-05"},
            headers=admin_headers,
        )
    )
    middle = await created(
        await client.post(
            "/api/v1/projects", json={"name": "Midway", "introduced_on": "2018-01-06"}, headers=admin_headers
        )
    )
    _, leader = await make_user(Role.leader)
    for who, headers in (await _uncleared(client, admin_headers, make_user)).items():
        order = [p["id"] for p in (await get_ok(client, "/api/v1/projects", headers, sort="name")).json()["items"]]
        assert order == [secret["id"], middle["id"]], who
    order = [p["id"] for p in (await get_ok(client, "/api/v1/projects", leader, sort="name")).json()["items"]]
    assert order == [middle["id"], secret["id"]]


async def test_an_uncleared_writer_changes_a_code_named_project_without_learning_its_name(
    client: httpx.AsyncClient, admin_headers: Headers, confidential: Json
) -> None:
    writer = await machine(client, admin_headers, "projects:read", "projects:write")
    url = f"/api/v1/projects/{confidential['project']['id']}"
    changed = await client.patch(url, json={"is_key": False}, headers=writer | ANY_VERSION)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["name"], changed.json()["enterprise_id"]) == (CODE_NAME, None)
    # What it may not read it may not write: clearing the code name would show it the real name and the investor.
    for secret in ({"code_name": None}, {"code_name": "珠江二号"}, {"name": "改名"}, {"enterprise_id": None}):
        refused = await client.patch(url, json=secret, headers=writer | ANY_VERSION)
        assert (refused.status_code, refused.json()["code"]) == (403, "insufficient_scope"), (secret, refused.text)
        assert not any(f in refused.text for f in REAL_FRAGMENTS)
    kept = (await get_ok(client, url, admin_headers)).json()
    assert (kept["name"], kept["code_name"], kept["enterprise_id"]) == (
        REAL_NAME,
        CODE_NAME,
        confidential["investor"]["id"],
    )
    # A project without a code name has nothing to hide: the same fields are the writer's to change.
    plain = f"/api/v1/projects/{confidential['plain']['id']}"
    renamed = await client.patch(plain, json={"name": "琶洲公开示例项目二期"}, headers=writer | ANY_VERSION)
    assert renamed.status_code == 200, renamed.text
    moved = await client.post(
        f"{url}/stage-events",
        json={"to_stage": "registered", "occurred_on": "2018-04-01"},
        headers=writer | ANY_VERSION,
    )
    assert moved.status_code == 201 and not any(f in moved.text for f in REAL_FRAGMENTS), moved.text
    # Nonexistent ids stay 404 on every project route, to cleared and uncleared alike.
    for path in ("", "/milestones", "/timeline", "/stage-events", "/escalations"):
        for headers in (writer, admin_headers):
            missing = await client.get(f"/api/v1/projects/{ABSENT_ID}{path}", headers=headers)
            assert (missing.status_code, missing.json()["code"]) == (404, "not_found"), path


# --- the audit trail ---------------------------------------------------------------------------------------


async def test_the_audit_trail_hides_what_its_reader_is_not_cleared_for(
    client: httpx.AsyncClient, admin_headers: Headers, confidential: Json
) -> None:
    project, investor = confidential["project"], confidential["investor"]
    company = await enterprise(
        client, admin_headers, 3, contacts=[{"name": CONTACT, "phone": PHONE, "position": "董事长秘书"}]
    )
    await new_talent(client, admin_headers, company["id"])
    await new_request(client, admin_headers)
    facts = await _tax_and_revenue(client, admin_headers, company["id"])
    # A corrected tax figure: the update's snapshot holds only the changed figures, not the metric.
    await _bulk(client, admin_headers, company["id"], "tax", "111.11")
    cohort = await _cohort_with_targets(client, admin_headers, company["id"])

    auditor = await machine(client, admin_headers, "audit:read")
    trail = (await get_ok(client, "/api/v1/audit-events", auditor, limit=200)).json()["items"]
    text = str(trail)
    for secret in (*REAL_FRAGMENTS, PHONE, NATIONAL_ID, CONTACT, APPLICANT, TAX_VALUE, TAX_TARGET, "111.11"):
        assert secret not in text, f"the audit trail shows {secret!r} to an uncleared reader"
    created_project = next(
        e
        for e in trail
        if e["entity_type"] == "project" and e["action"] == "create" and e["entity_id"] == str(project["id"])
    )
    after = created_project["after"]
    assert (after["name"], after["enterprise_id"], after["code_name"]) == ("***", "***", CODE_NAME)
    figures = {
        (e["entity_type"], e["entity_id"], e["action"]): (e["after"] or {}).get(
            "reported_value", (e["after"] or {}).get("value")
        )
        for e in trail
        if e["entity_type"] in {"kpi_fact", "target"}
    }
    assert figures[("kpi_fact", str(facts["tax"]), "create")] == "***"
    assert figures[("kpi_fact", str(facts["tax"]), "update")] == "***"
    assert figures[("kpi_fact", str(facts["revenue"]), "create")] == "5000.00"
    assert figures[("target", str(cohort["tax_target"]), "create")] == "***"
    assert figures[("target", str(cohort["revenue_target"]), "create")] == "1000000.00"

    # The admin holds every clearance and reads the same events in full.
    full = str((await get_ok(client, "/api/v1/audit-events", admin_headers, limit=200)).json()["items"])
    for shown in (REAL_NAME, TAX_VALUE, TAX_TARGET, "111.11"):
        assert shown in full
    assert f"'enterprise_id': {investor['id']}" in full


# --- sensitive figures (tax) ----------------------------------------------------------------------------------


async def _bulk(client: httpx.AsyncClient, headers: Headers, company: int, metric: str, value: str) -> None:
    row = {"enterprise_id": company, "metric": metric, "period": "2018-01", "reported_as": "monthly", "value": value}
    assert (await client.post("/api/v1/kpi-facts/bulk", json={"rows": [row]}, headers=headers)).status_code == 200


async def _tax_and_revenue(client: httpx.AsyncClient, admin: Headers, company: int) -> dict[str, int]:
    await _bulk(client, admin, company, "revenue", "5000.00")
    await _bulk(client, admin, company, "tax", TAX_VALUE)
    facts = (await get_ok(client, "/api/v1/kpi-facts", admin, enterprise_id=company)).json()["items"]
    return {f["metric"]: f["id"] for f in facts}


async def _cohort_with_targets(client: httpx.AsyncClient, admin: Headers, company: int) -> dict[str, int]:
    cohort = await created(
        await client.post(
            "/api/v1/cohorts", json={"code": "watch", "name": "重点企业", "kind": "static"}, headers=admin
        )
    )
    members = await client.put(
        f"/api/v1/cohorts/{cohort['id']}/members",
        json=[{"enterprise_id": company, "joined_on": "2018-01-01"}],
        headers=admin,
    )
    assert members.status_code == 200, members.text
    targets = {}
    for metric, value in (("revenue", "1000000.00"), ("tax", TAX_TARGET)):
        target = await created(
            await client.put(
                f"/api/v1/cohorts/{cohort['id']}/targets",
                json={"metric": metric, "year": 2018, "value": value},
                headers=admin,
            )
        )
        targets[f"{metric}_target"] = target["id"]
    return {"id": cohort["id"], **targets}


async def test_tax_figures_stay_with_cleared_callers(
    client: httpx.AsyncClient, admin_headers: Headers, make_user: UserFactory
) -> None:
    company = await enterprise(client, admin_headers, 4)
    facts = await _tax_and_revenue(client, admin_headers, company["id"])
    cohort = await _cohort_with_targets(client, admin_headers, company["id"])
    _, viewer = await make_user(Role.viewer)
    system = await machine(client, admin_headers, "kpis:read", "kpis:write")
    figure_routes: list[tuple[str, dict[str, Any]]] = [
        ("/api/v1/analytics/kpi-summary", {"cohort_id": cohort["id"], "period": "2018-01"}),
        ("/api/v1/analytics/kpi-threshold", {"cohort_id": cohort["id"], "period": "2018-01", "threshold": "1.00"}),
        ("/api/v1/analytics/kpi-breakdown", {"cohort_id": cohort["id"], "period": "2018-01", "by": "enterprise"}),
        ("/api/v1/analytics/kpi-series", {"cohort_id": cohort["id"], "year": 2018}),
    ]
    for who, headers in {"viewer": viewer, "district system": system}.items():
        listed = (await get_ok(client, "/api/v1/kpi-facts", headers)).json()["items"]
        assert [f["metric"] for f in listed] == ["revenue"], who
        exported = csv_rows(await get_ok(client, "/api/v1/kpi-facts", headers, format="csv"))
        assert len(exported) == 1 and TAX_VALUE not in str(exported), who
        feed = (await get_ok(client, "/api/v1/changes/kpi_facts", headers)).json()["items"]
        assert facts["tax"] not in {i["id"] for i in feed} and facts["revenue"] in {i["id"] for i in feed}, who
        targets = (await get_ok(client, f"/api/v1/cohorts/{cohort['id']}/targets", headers)).json()
        assert [t["metric"] for t in targets] == ["revenue"], f"{who} reads the tax target"
        for url, params in figure_routes:
            refused = await client.get(url, params=params | {"metric": "tax"}, headers=headers)
            assert (refused.status_code, refused.json()["code"]) == (403, "insufficient_scope"), (
                who,
                url,
                refused.text,
            )
            shown = await client.get(url, params=params | {"metric": "revenue"}, headers=headers)
            assert shown.status_code == 200, (who, url, shown.text)
            assert TAX_VALUE not in shown.text
    # Setting a tax target needs the clearance reading one does, as sending tax figures does.
    refused = await client.put(
        f"/api/v1/cohorts/{cohort['id']}/targets", json={"metric": "tax", "year": 2018, "value": "1.00"}, headers=system
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "insufficient_scope"), refused.text
    kept = (await get_ok(client, f"/api/v1/cohorts/{cohort['id']}/targets", admin_headers)).json()
    assert {t["metric"]: t["value"] for t in kept} == {"revenue": "1000000.00", "tax": TAX_TARGET}


# --- personal data ---------------------------------------------------------------------------------------------


async def test_personal_data_is_masked_on_every_surface(
    client: httpx.AsyncClient, admin_headers: Headers, make_user: UserFactory
) -> None:
    company = await enterprise(
        client, admin_headers, 5, contacts=[{"name": CONTACT, "phone": PHONE, "position": "董事长秘书"}]
    )
    person = await new_talent(client, admin_headers, company["id"])
    request = await new_request(client, admin_headers)
    surfaces = {
        "enterprises": [f"/api/v1/enterprises/{company['id']}", "/api/v1/enterprises", "/api/v1/changes/enterprises"],
        "talents": [f"/api/v1/talents/{person['id']}", "/api/v1/talents", "/api/v1/changes/talents"],
        "disclosures": [
            f"/api/v1/disclosure-requests/{request['id']}",
            "/api/v1/disclosure-requests",
            "/api/v1/changes/disclosure_requests",
        ],
    }
    exports = ["/api/v1/enterprises", "/api/v1/talents", "/api/v1/disclosure-requests"]
    _, viewer = await make_user(Role.viewer)
    system = await machine(client, admin_headers, "enterprises:read", "talents:read", "disclosures:read")
    for who, headers in {"viewer": viewer, "district system": system}.items():
        for url in [u for urls in surfaces.values() for u in urls]:
            text = (await get_ok(client, url, headers)).text
            for secret in (PHONE, NATIONAL_ID, CONTACT, APPLICANT):
                assert secret not in text, f"{who} reads {secret!r} at {url}"
        for url in exports:
            text = str(csv_rows(await get_ok(client, url, headers, format="csv")))
            for secret in (PHONE, NATIONAL_ID, CONTACT, APPLICANT):
                assert secret not in text, f"{who} exports {secret!r} from {url}"
        seen = (await get_ok(client, f"/api/v1/enterprises/{company['id']}", headers)).json()
        assert seen["contacts_masked"] is True
        assert [(c["name"], c["phone"]) for c in seen["contacts"]] == [("陈**", "138****5678")]
        talent = (await get_ok(client, f"/api/v1/talents/{person['id']}", headers)).json()
        assert (talent["national_id"], talent["phone"]) == ("44************" + NATIONAL_ID[-4:], "138****5678")
        applicant = (await get_ok(client, f"/api/v1/disclosure-requests/{request['id']}", headers)).json()
        assert applicant["applicant_name"] == "张**"
    # The cleared read them as stored.
    _, officer = await make_user(Role.officer)
    assert (await get_ok(client, f"/api/v1/talents/{person['id']}", officer)).json()["national_id"] == NATIONAL_ID
    contacts = (await get_ok(client, f"/api/v1/enterprises/{company['id']}", officer)).json()["contacts"]
    assert [(c["name"], c["phone"]) for c in contacts] == [(CONTACT, PHONE)]


# --- a hidden object is 404, like one that does not exist (on the demo data: keep these last) ---------------


async def test_a_frozen_report_with_tax_figures_does_not_exist_for_uncleared_callers(
    client: httpx.AsyncClient, demo_leader: Headers, make_user: UserFactory, admin_headers: Headers
) -> None:
    frozen = await created(
        await client.post(
            "/api/v1/report-snapshots",
            json={"kind": "annual_work", "year": 2018, "through_month": 10, "as_of": "2018-10-31"},
            headers=demo_leader,
        )
    )
    sid = frozen["id"]
    content = (await get_ok(client, f"/api/v1/report-snapshots/{sid}", demo_leader)).json()["content"]
    assert "tax" in [m["metric"] for m in content["investment"]["key_projects"]["metrics"]], "no tax figure frozen"
    _, viewer = await make_user(Role.viewer)
    system = await machine(client, admin_headers, "reports:read", "reports:write")
    for who, headers in {"viewer": viewer, "district system": system}.items():
        listed = (await get_ok(client, "/api/v1/report-snapshots", headers)).json()
        assert sid not in [s["id"] for s in listed["items"]], who
        calls = [("GET", ""), ("GET", "?format=docx"), ("GET", "/diff")]
        if who == "district system":  # may write reports: the refusal to edit must not confirm the snapshot
            calls += [("PATCH", ""), ("PUT", ""), ("DELETE", "")]
        for method, suffix in calls:
            hidden = await client.request(method, f"/api/v1/report-snapshots/{sid}{suffix}", headers=headers)
            absent = await client.request(method, f"/api/v1/report-snapshots/{ABSENT_ID}{suffix}", headers=headers)
            assert hidden.status_code == 404, (who, method, suffix, hidden.text)
            assert normalised(hidden, sid) == normalised(absent, ABSENT_ID), (who, method, suffix)
        # Its figures are not in the caller's own report either.
        report = (await get_ok(client, "/api/v1/reports/annual/2018", headers, through_month=10)).json()
        metrics = [m["metric"] for m in (report["investment"]["key_projects"] or {}).get("metrics", [])]
        assert "tax" not in metrics and "revenue" in metrics, (who, metrics)
    # For the leader who froze it, it is there, and frozen (409, not 404).
    assert (await client.get(f"/api/v1/report-snapshots/{sid}", headers=demo_leader)).status_code == 200
    refused = await client.patch(f"/api/v1/report-snapshots/{sid}", headers=demo_leader)
    assert (refused.status_code, refused.json()["code"]) == (409, "snapshot_frozen")
    leader_report = (await get_ok(client, "/api/v1/reports/annual/2018", demo_leader, through_month=10)).json()
    assert "tax" in [m["metric"] for m in leader_report["investment"]["key_projects"]["metrics"]]
