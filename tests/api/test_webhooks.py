"""Webhooks as an integrator meets them: subscriptions with a secret shown once, signed deliveries of stage
changes, overdue milestones, breached requests and published disclosures, retries with back-off and a log."""

import asyncio
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.core.clock import FixedClock
from app.core.config import Settings
from app.core.db import Database
from app.core.scopes import Role
from app.core.security import create_access_token, credential_fingerprint
from app.models import WebhookEvent
from app.services.webhooks import dispatcher, events
from tests.api.desk import advance, department, enterprise, request, service_type
from tests.conftest import REPORT_EVENING, UserFactory, repo_root

HOOKS = "/api/v1/webhooks"
Headers = dict[str, str]


# --- helpers ---------------------------------------------------------------------------------------------


def readme_verify() -> Callable[..., bool]:
    """The receiver's recipe exactly as the README prints it."""
    text = (repo_root() / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### Webhooks") :]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None, "the README's Webhooks section has no Python recipe"
    namespace: dict[str, Any] = {}
    exec(code.group(1), namespace)  # noqa: S102 - our own README
    verify: Callable[..., bool] = namespace["verify"]
    return verify


class Receiver:
    """A receiver behind httpx.MockTransport: answers with the queued statuses (then 200) and keeps requests."""

    def __init__(self, *statuses: int | Exception) -> None:
        self.answers = list(statuses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if self.answers else 200
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(answer, text="ok")

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self))

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


async def subscribe(client: httpx.AsyncClient, headers: Headers, *types: str, **fields: Any) -> dict[str, Any]:
    body = {"url": "https://receiver.example.gov.cn/hooks?tenant=haizhu", "event_types": list(types)} | fields
    response = await client.post(HOOKS, json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def deliveries(client: httpx.AsyncClient, headers: Headers, hook: dict[str, Any], **params: Any) -> list[Any]:
    response = await client.get(f"{HOOKS}/{hook['id']}/deliveries", params=params, headers=headers)
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


async def dispatch(
    database: Database, settings: Settings, receiver: Receiver, now: datetime, **overrides: Any
) -> dispatcher.DispatchResult:
    async with receiver.client() as http:
        return await dispatcher.dispatch_due(database, settings.model_copy(update=overrides), http, now)


async def scan(database: Database, now: datetime) -> dict[str, int]:
    async with database.session() as session:
        return await events.scan(session, now)


async def event_count(database: Database, event_type: str) -> int:
    async with database.session() as session:
        return int(await session.scalar(select(func.count()).where(WebhookEvent.type == event_type)) or 0)


async def new_project(client: httpx.AsyncClient, headers: Headers, **fields: Any) -> dict[str, Any]:
    body = {"name": "示例智能制造华南总部项目", "introduced_on": "2016-03-01", "is_key": True} | fields
    response = await client.post("/api/v1/projects", json=body, headers=headers)
    assert response.status_code == 201, response.text
    project: dict[str, Any] = response.json()
    return project


async def new_milestone(
    client: httpx.AsyncClient, headers: Headers, project_id: int, name: str, planned_on: str | None
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/projects/{project_id}/milestones",
        json={"track": "construction", "name": name, "planned_on": planned_on},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    milestone: dict[str, Any] = response.json()
    return milestone


@pytest.fixture
async def officer(make_user: UserFactory) -> Headers:
    _, headers = await make_user(Role.officer)
    return headers


# --- subscriptions ---------------------------------------------------------------------------------------


async def test_subscription_lifecycle_shows_the_secret_once(
    client: httpx.AsyncClient, admin_headers: Headers, clock: FixedClock
) -> None:
    response = await client.post(
        HOOKS,
        json={
            "url": "https://portal.example.gov.cn/zhaoshang/events",
            "event_types": ["project.stage_changed", "disclosure.published"],
            "description": "区政务公开平台",
        },
        headers=admin_headers,
    )
    assert response.status_code == 201, response.text
    created = response.json()
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(secret) > 40
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"] == f"{HOOKS}/{created['id']}"
    assert created["event_types"] == ["disclosure.published", "project.stage_changed"]
    assert created["is_active"] is True and created["created_by"] == "root-admin"
    url = f"{HOOKS}/{created['id']}"

    read = await client.get(url, headers=admin_headers)
    assert read.status_code == 200 and read.headers["ETag"] == '"1"'
    assert "secret" not in read.json() and secret not in read.text
    listed = await client.get(HOOKS, params={"event_type": "disclosure.published"}, headers=admin_headers)
    assert listed.json()["total"] == 1 and secret not in listed.text
    none = await client.get(HOOKS, params={"event_type": "milestone.overdue"}, headers=admin_headers)
    assert none.json()["total"] == 0

    change = {"event_types": ["milestone.overdue"], "description": None}
    assert (await client.patch(url, json=change, headers=admin_headers)).status_code == 428
    stale = await client.patch(url, json=change, headers=admin_headers | {"If-Match": '"7"'})
    assert stale.status_code == 412 and stale.json()["code"] == "version_mismatch"
    patched = await client.patch(url, json=change, headers=admin_headers | {"If-Match": '"1"'})
    assert patched.status_code == 200, patched.text
    assert patched.json()["event_types"] == ["milestone.overdue"] and patched.json()["description"] is None
    assert patched.headers["ETag"] == '"2"'

    assert (await client.post(url + "/secret", headers=admin_headers | {"If-Match": '"1"'})).status_code == 412
    rotated = await client.post(url + "/secret", headers=admin_headers | {"If-Match": '"2"'})
    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    assert new_secret != secret and new_secret not in (await client.get(url, headers=admin_headers)).text

    # The audit trail records every write, and never a secret.
    trail = await client.get(
        "/api/v1/audit-events", params={"entity_type": "webhook_subscription"}, headers=admin_headers
    )
    assert {e["action"] for e in trail.json()["items"]} == {"create", "update", "rotate_secret"}
    assert secret not in trail.text and new_secret not in trail.text and "whsec_" not in trail.text

    assert (await client.delete(url, headers=admin_headers | {"If-Match": '"2"'})).status_code == 412
    assert (await client.delete(url, headers=admin_headers | {"If-Match": '"3"'})).status_code == 204
    gone = await client.get(url, headers=admin_headers)
    assert gone.status_code == 404 and gone.json()["code"] == "not_found"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"url": "ftp://files.example.gov.cn/drop"}, "url"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"url": "https://user:pa55@receiver.example.gov.cn/hooks"}, "url"),
        ({"url": "https:///no-host"}, "url"),
        ({"url": "https://receiver.example.gov.cn/hooks#frag"}, "url"),
        ({"url": "https://receiver.example.gov.cn/a b"}, "url"),
        ({"url": "https://receiver.example.gov.cn:99999/"}, "url"),
        ({"url": "https://receiver.example.gov.cn/" + "x" * 2000}, "url"),
        ({"event_types": []}, "event_types"),
        ({"event_types": ["project.deleted"]}, "event_types"),
        ({"event_types": ["ping"]}, "event_types"),
        ({"event_types": ["milestone.overdue", "milestone.overdue"]}, "event_types"),
        ({"secret": "chosen-by-me"}, "secret"),
        ({"is_active": "yes"}, "is_active"),
    ],
)
async def test_bad_subscriptions_are_refused(
    client: httpx.AsyncClient, admin_headers: Headers, change: dict[str, Any], field: str
) -> None:
    body = {"url": "https://receiver.example.gov.cn/hooks", "event_types": ["milestone.overdue"]} | change
    response = await client.post(HOOKS, json=body, headers=admin_headers)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert problem["code"] == "validation_failed"
    assert any(e["loc"][:2] == ["body", field] for e in problem["errors"]), problem
    assert (await client.get(HOOKS, headers=admin_headers)).json()["total"] == 0


async def test_only_holders_of_webhooks_manage_may_touch_subscriptions(
    client: httpx.AsyncClient, make_user: UserFactory, admin_headers: Headers, settings: Settings
) -> None:
    hook = await subscribe(client, admin_headers, "milestone.overdue")
    _, officer = await make_user(Role.officer)
    viewer, _ = await make_user(Role.viewer)
    # A token that claims the scope for an account whose role does not hold it gets nothing from the claim.
    forged, _ = create_access_token(
        settings, f"user:{viewer.id}", frozenset({"webhooks:manage"}), credential_fingerprint(viewer.password_hash)
    )
    for headers in (officer, {"Authorization": f"Bearer {forged}"}):
        for method, url in (("GET", HOOKS), ("GET", f"{HOOKS}/{hook['id']}"), ("POST", f"{HOOKS}/{hook['id']}/ping")):
            response = await client.request(method, url, headers=headers)
            assert response.status_code == 403, (method, url, response.text)
            assert response.json()["code"] == "insufficient_scope"
    assert (await client.get(HOOKS, headers={"Authorization": "Bearer not-a-token"})).status_code == 401

    # A district system registered with the scope may manage its own subscription.
    registered = await client.post(
        "/api/v1/clients", json={"name": "区政务公开平台", "scopes": ["webhooks:manage"]}, headers=admin_headers
    )
    assert registered.status_code == 201, registered.text
    creds = registered.json()
    token = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "client_credentials"},
        auth=(creds["client_id"], creds["client_secret"]),
    )
    system = {"Authorization": f"Bearer {token.json()['access_token']}"}
    own = await subscribe(client, system, "disclosure.published")
    assert own["created_by"] == "区政务公开平台"
    types = await client.get(f"{HOOKS}/event-types", headers=system)
    assert [t["type"] for t in types.json()] == [
        "project.stage_changed",
        "milestone.overdue",
        "service_request.breached",
        "disclosure.published",
    ]


# --- deliveries ------------------------------------------------------------------------------------------


async def test_a_stage_change_is_delivered_signed_to_its_subscribers_only(
    client: httpx.AsyncClient,
    admin_headers: Headers,
    officer: Headers,
    clock: FixedClock,
    database: Database,
    settings: Settings,
) -> None:
    wants = await subscribe(client, admin_headers, "project.stage_changed", "milestone.overdue")
    other = await subscribe(client, admin_headers, "milestone.overdue", "disclosure.published")
    paused = await subscribe(client, admin_headers, "project.stage_changed", is_active=False)
    project = await new_project(client, officer, name="某世界500强华南总部项目", code_name="珠江一号")
    moved = await client.post(
        f"/api/v1/projects/{project['id']}/stage-events",
        json={"to_stage": "signed", "occurred_on": "2018-10-30"},
        headers=officer | {"If-Match": "*"},
    )
    assert moved.status_code == 201, moved.text
    # A refused change announces nothing.
    refused = await client.post(
        f"/api/v1/projects/{project['id']}/stage-events",
        json={"to_stage": "negotiating", "occurred_on": "2018-10-31"},
        headers=officer | {"If-Match": "*"},
    )
    assert refused.status_code == 409, refused.text

    queued = await deliveries(client, admin_headers, wants)
    assert [(d["status"], d["event"]["type"], d["attempts"]) for d in queued] == [
        ("pending", "project.stage_changed", 0)
    ]
    assert await deliveries(client, admin_headers, other) == []
    assert await deliveries(client, admin_headers, paused) == []

    receiver = Receiver()
    # The stage event is stamped when it was recorded (real time), whatever date it says it happened.
    sending = datetime.now(UTC) + timedelta(seconds=1)
    result = await dispatch(database, settings, receiver, sending)
    assert (result.sent, result.succeeded) == (1, 1)
    (sent,) = receiver.requests
    assert str(sent.url) == wants["url"]
    assert sent.headers["Zhaoshang-Event"] == "project.stage_changed"
    assert sent.headers["Zhaoshang-Delivery"] == str(queued[0]["id"])
    assert sent.headers["Content-Type"] == "application/json"
    body = json.loads(sent.content)
    assert body["type"] == "project.stage_changed" and body["id"] == queued[0]["event"]["id"]
    assert body["data"] == {
        "project_id": project["id"],
        "project_name": "珠江一号",  # the code name: the receiver may not be cleared for the real one
        "stage_event_id": moved.json()["id"],
        "from_stage": "negotiating",
        "to_stage": "signed",
        "occurred_on": "2018-10-30",
    }
    assert "500强" not in sent.content.decode()

    verify = readme_verify()
    signature = sent.headers["Zhaoshang-Signature"]
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", signature)
    now = sending.timestamp()
    assert verify(wants["secret"], signature, sent.content, now=now)
    assert not verify(other["secret"], signature, sent.content, now=now)
    assert not verify(wants["secret"], signature, sent.content.replace(b"signed", b"operating"), now=now)
    assert not verify(wants["secret"], signature, sent.content, now=now + 3600)  # an old delivery replayed

    (done,) = await deliveries(client, admin_headers, wants)
    assert done["status"] == "succeeded" and done["next_attempt_at"] is None
    assert [(a["number"], a["status_code"], a["succeeded"]) for a in done["attempt_log"]] == [(1, 200, True)]
    # Nothing is due any more: a second round sends nothing.
    assert (await dispatch(database, settings, receiver, sending + timedelta(hours=1))).sent == 0


async def test_a_failed_delivery_is_retried_after_the_back_off(
    client: httpx.AsyncClient, admin_headers: Headers, clock: FixedClock, database: Database, settings: Settings
) -> None:
    hook = await subscribe(client, admin_headers, "milestone.overdue")
    assert (await client.post(f"{HOOKS}/{hook['id']}/ping", headers=admin_headers)).status_code == 202
    receiver = Receiver(500)
    t0 = REPORT_EVENING

    first = await dispatch(database, settings, receiver, t0)
    assert (first.sent, first.retrying) == (1, 1)
    (pending,) = await deliveries(client, admin_headers, hook)
    assert pending["status"] == "pending" and pending["attempts"] == 1
    assert (pending["last_status_code"], pending["last_error"]) == (500, "HTTP 500")
    retry_at = datetime.fromisoformat(pending["next_attempt_at"])
    # 30 s, plus up to 25% jitter.
    assert t0 + timedelta(seconds=30) <= retry_at <= t0 + timedelta(seconds=37.5)

    assert (await dispatch(database, settings, receiver, t0 + timedelta(seconds=29))).sent == 0
    second = await dispatch(database, settings, receiver, t0 + timedelta(seconds=38))
    assert (second.sent, second.succeeded) == (1, 1)
    (done,) = await deliveries(client, admin_headers, hook)
    assert done["status"] == "succeeded" and done["attempts"] == 2
    assert [(a["number"], a["status_code"], a["error"], a["succeeded"]) for a in done["attempt_log"]] == [
        (1, 500, "HTTP 500", False),
        (2, 200, None, True),
    ]
    # Both attempts carry the same event and delivery id, so the receiver can deduplicate.
    assert len({r.headers["Zhaoshang-Delivery"] for r in receiver.requests}) == 1
    assert receiver.requests[0].content == receiver.requests[1].content
    assert receiver.bodies()[0]["type"] == "ping"


async def test_a_delivery_is_given_up_after_the_last_attempt_and_can_be_redelivered(
    client: httpx.AsyncClient, admin_headers: Headers, clock: FixedClock, database: Database, settings: Settings
) -> None:
    hook = await subscribe(client, admin_headers, "milestone.overdue")
    ping = await client.post(f"{HOOKS}/{hook['id']}/ping", headers=admin_headers)
    delivery_url = f"{HOOKS}/deliveries/{ping.json()['id']}"
    receiver = Receiver(httpx.ConnectError("refused"), 503, 302, 200)
    now = REPORT_EVENING
    for _ in range(3):
        assert (await dispatch(database, settings, receiver, now, webhooks_max_attempts=3)).sent == 1
        now += timedelta(hours=7)  # past any back-off
    failed = (await client.get(delivery_url, headers=admin_headers)).json()
    assert failed["status"] == "failed" and failed["next_attempt_at"] is None
    assert [(a["status_code"], a["error"]) for a in failed["attempt_log"]] == [
        (None, "connection failed"),
        (503, "HTTP 503"),
        (302, "HTTP 302 (redirects are not followed)"),
    ]
    assert (await dispatch(database, settings, receiver, now, webhooks_max_attempts=3)).sent == 0
    listed = await deliveries(client, admin_headers, hook, status="failed")
    assert [d["id"] for d in listed] == [failed["id"]]
    assert await deliveries(client, admin_headers, hook, status="pending") == []

    again = await client.post(delivery_url + "/redeliver", headers=admin_headers)
    assert again.status_code == 202 and again.json()["status"] == "pending" and again.json()["attempts"] == 0
    assert (await dispatch(database, settings, receiver, now, webhooks_max_attempts=3)).succeeded == 1
    done = (await client.get(delivery_url, headers=admin_headers)).json()
    assert done["status"] == "succeeded"
    assert [a["number"] for a in done["attempt_log"]] == [1, 2, 3, 4]
    trail = await client.get("/api/v1/audit-events", params={"entity_type": "webhook_delivery"}, headers=admin_headers)
    assert [e["action"] for e in trail.json()["items"]] == ["redeliver"]


async def test_a_paused_subscription_is_not_sent_to_until_resumed(
    client: httpx.AsyncClient, admin_headers: Headers, clock: FixedClock, database: Database, settings: Settings
) -> None:
    hook = await subscribe(client, admin_headers, "milestone.overdue")
    url = f"{HOOKS}/{hook['id']}"
    assert (await client.post(url + "/ping", headers=admin_headers)).status_code == 202
    await client.patch(url, json={"is_active": False}, headers=admin_headers | {"If-Match": '"1"'})
    refused = await client.post(url + "/ping", headers=admin_headers)
    assert refused.status_code == 409 and refused.json()["code"] == "subscription_inactive"
    receiver = Receiver()
    assert (await dispatch(database, settings, receiver, REPORT_EVENING)).sent == 0
    await client.patch(url, json={"is_active": True}, headers=admin_headers | {"If-Match": '"2"'})
    assert (await dispatch(database, settings, receiver, REPORT_EVENING)).succeeded == 1
    assert receiver.requests[0].headers["Zhaoshang-Event"] == "ping"


async def test_two_workers_at_once_send_each_delivery_once(
    client: httpx.AsyncClient, admin_headers: Headers, clock: FixedClock, database: Database, settings: Settings
) -> None:
    hooks = [await subscribe(client, admin_headers, "milestone.overdue") for _ in range(3)]
    for hook in hooks:
        for _ in range(4):
            assert (await client.post(f"{HOOKS}/{hook['id']}/ping", headers=admin_headers)).status_code == 202
    receiver = Receiver()
    async with receiver.client() as http:
        results = await asyncio.gather(
            *(dispatcher.dispatch_due(database, settings, http, REPORT_EVENING, limit=5) for _ in range(4)),
            return_exceptions=True,
        )
    assert not [r for r in results if isinstance(r, BaseException)], results
    sent = [r.headers["Zhaoshang-Delivery"] for r in receiver.requests]
    assert len(sent) == 12 and len(set(sent)) == 12


# --- time-based events -----------------------------------------------------------------------------------


async def test_overdue_milestones_are_announced_once_per_due_date(
    client: httpx.AsyncClient,
    admin_headers: Headers,
    officer: Headers,
    clock: FixedClock,
    database: Database,
    settings: Settings,
) -> None:
    hook = await subscribe(client, admin_headers, "milestone.overdue")
    project = await new_project(client, officer)
    late = await new_milestone(client, officer, project["id"], "取得施工许可", "2018-10-30")
    today = await new_milestone(client, officer, project["id"], "主体结构封顶", "2018-10-31")
    done = await new_milestone(client, officer, project["id"], "完成土地出让", "2018-10-01")
    await client.patch(
        f"/api/v1/projects/{project['id']}/milestones/{done['id']}",
        json={"completed_on": "2018-10-05"},
        headers=officer | {"If-Match": '"1"'},
    )
    await new_milestone(client, officer, project["id"], "未排期节点", None)

    # 23:30 in Guangzhou on the 31st: due today is not overdue yet, though it is only 15:30 UTC.
    assert (await scan(database, REPORT_EVENING))["milestone.overdue"] == 1
    assert (await scan(database, REPORT_EVENING))["milestone.overdue"] == 0  # the second scan adds nothing
    queued = await deliveries(client, admin_headers, hook)
    assert [d["event"]["data"]["milestone_id"] for d in queued] == [late["id"]]
    assert queued[0]["event"]["data"] == {
        "milestone_id": late["id"],
        "milestone_name": "取得施工许可",
        "track": "construction",
        "due_on": "2018-10-30",
        "project_id": project["id"],
        "project_name": "示例智能制造华南总部项目",
    }
    # 00:30 on 1 November in Guangzhou (still the 31st in UTC): the other one is now late too.
    assert (await scan(database, datetime(2018, 10, 31, 16, 30, tzinfo=UTC)))["milestone.overdue"] == 1

    # Re-planned to a new date: missing that date again is news again.
    clock.set(datetime(2018, 11, 1, 2, 0, tzinfo=UTC))
    replanned = await client.post(
        f"/api/v1/projects/{project['id']}/milestones/{late['id']}/replans",
        json={"new_due_on": "2018-11-05", "reason": "施工图审查延期"},
        headers=officer | {"If-Match": "*"},
    )
    assert replanned.status_code in (200, 201), replanned.text
    assert (await scan(database, datetime(2018, 11, 5, 12, 0, tzinfo=UTC)))["milestone.overdue"] == 0
    assert (await scan(database, datetime(2018, 11, 5, 16, 0, tzinfo=UTC)))["milestone.overdue"] == 1
    assert await event_count(database, "milestone.overdue") == 3
    received = [
        (d["event"]["data"]["milestone_id"], d["event"]["data"]["due_on"])
        for d in await deliveries(client, admin_headers, hook, sort="created_at")
    ]
    assert received == [(late["id"], "2018-10-30"), (today["id"], "2018-10-31"), (late["id"], "2018-11-05")]


async def test_a_breached_service_request_is_announced_once_without_personal_data(
    client: httpx.AsyncClient,
    admin_headers: Headers,
    officer: Headers,
    clock: FixedClock,
    database: Database,
    settings: Settings,
) -> None:
    hook = await subscribe(client, admin_headers, "service_request.breached")
    dept = await department(client, officer)
    kind = await service_type(client, officer, dept["id"], limit=3)
    company = await enterprise(
        client, officer, contacts=[{"name": "陈小明", "phone": "13812345678", "position": "董事长秘书"}]
    )
    late = await request(client, officer, company["id"], kind["id"])  # due 2018-10-08 (National Day in between)
    on_time = await request(client, officer, company["id"], kind["id"])
    await advance(
        client,
        officer,
        on_time,
        ("accepted", {"occurred_at": "2018-09-29T09:00:00+08:00"}),
        ("in_progress", {"occurred_at": "2018-09-29T10:00:00+08:00"}),
        ("resolved", {"occurred_at": "2018-10-08T17:00:00+08:00", "resolution": "办结"}),
    )
    assert (await scan(database, REPORT_EVENING))["service_request.breached"] == 1
    # It stays breached (and is resolved late in the end): still one event.
    await advance(
        client,
        officer,
        late,
        ("accepted", {"occurred_at": "2018-10-09T09:00:00+08:00"}),
        ("in_progress", {"occurred_at": "2018-10-09T10:00:00+08:00"}),
        ("resolved", {"occurred_at": "2018-10-31T17:00:00+08:00", "resolution": "办结"}),
    )
    assert (await scan(database, REPORT_EVENING + timedelta(days=1)))["service_request.breached"] == 0

    assert len(await deliveries(client, admin_headers, hook)) == 1
    receiver = Receiver()
    assert (await dispatch(database, settings, receiver, REPORT_EVENING)).succeeded == 1
    (body,) = receiver.bodies()
    assert body["data"] == {
        "service_request_id": late["id"],
        "enterprise_id": company["id"],
        "service_type_id": kind["id"],
        "department_id": dept["id"],
        "status": "registered",
        "received_on": "2018-09-28",
        "due_on": late["due_on"],
        "kind": "open_overdue",
    }
    text = receiver.requests[0].content.decode()
    for personal in ("13812345678", "陈小明", company["uscc"], company["name"], late["description"]):
        assert personal not in text


async def test_disclosures_are_announced_when_they_become_public(
    client: httpx.AsyncClient,
    admin_headers: Headers,
    officer: Headers,
    clock: FixedClock,
    database: Database,
    settings: Settings,
) -> None:
    hook = await subscribe(client, admin_headers, "disclosure.published")
    items = "/api/v1/disclosures"
    public = await client.post(
        items,
        json={
            "title": "海珠区招商引资优惠政策解读",
            "category": "policy_documents",
            "channels": ["website", "wechat"],
            "published_at": "2018-10-31T10:00:00+08:00",
        },
        headers=officer,
    )
    assert public.status_code == 201, public.text
    # Announced in the transaction that made it public: queued before any scan.
    (first,) = await deliveries(client, admin_headers, hook)
    assert first["event"]["data"] == {
        "disclosure_item_id": public.json()["id"],
        "title": "海珠区招商引资优惠政策解读",
        "category": "policy_documents",
        "link": None,
    }
    assert first["event"]["occurred_at"] == "2018-10-31T02:00:00Z"

    scheduled = await client.post(
        items,
        json={
            "title": "2018年第四季度重点项目推介会通知",
            "category": "notices",
            "channels": ["website"],
            "published_at": "2018-11-01T09:00:00+08:00",
            "scheduled": True,
        },
        headers=officer,
    )
    assert scheduled.status_code == 201, scheduled.text
    assert (await scan(database, REPORT_EVENING))["disclosure.published"] == 0  # not public yet
    due = datetime(2018, 11, 1, 1, 0, 1, tzinfo=UTC)
    assert (await scan(database, due))["disclosure.published"] == 1
    assert (await scan(database, due + timedelta(minutes=1)))["disclosure.published"] == 0
    # Editing a public item announces nothing new.
    edit = await client.patch(
        f"{items}/{public.json()['id']}",
        json={"title": "海珠区招商引资优惠政策（解读）"},
        headers=officer | {"If-Match": '"1"'},
    )
    assert edit.status_code == 200, edit.text
    assert await event_count(database, "disclosure.published") == 2
    assert [d["event"]["data"]["disclosure_item_id"] for d in await deliveries(client, admin_headers, hook)] == [
        scheduled.json()["id"],
        public.json()["id"],
    ]


async def test_a_scheduled_item_published_early_by_an_edit_is_announced_at_once(
    client: httpx.AsyncClient, admin_headers: Headers, officer: Headers, clock: FixedClock, database: Database
) -> None:
    hook = await subscribe(client, admin_headers, "disclosure.published")
    scheduled = await client.post(
        "/api/v1/disclosures",
        json={
            "title": "重点项目签约仪式公告",
            "category": "notices",
            "channels": ["website"],
            "published_at": "2018-11-02T09:00:00+08:00",
            "scheduled": True,
        },
        headers=officer,
    )
    assert await deliveries(client, admin_headers, hook) == []
    now = await client.patch(
        f"/api/v1/disclosures/{scheduled.json()['id']}",
        json={"published_at": "2018-10-31T23:00:00+08:00", "scheduled": False},
        headers=officer | {"If-Match": '"1"'},
    )
    assert now.status_code == 200, now.text
    assert len(await deliveries(client, admin_headers, hook)) == 1
    assert (await scan(database, REPORT_EVENING))["disclosure.published"] == 0


# --- the background loop ---------------------------------------------------------------------------------


async def test_the_server_loop_sends_and_stops_cleanly(app_factory: Callable[..., Any], admin_headers: Headers) -> None:
    app = app_factory(webhooks_enabled=True, webhooks_poll_seconds=1, webhooks_timeout_seconds=1)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as api:
        # Port 9 (discard) on the loopback refuses the connection: the attempt is logged and retried later.
        hook = await subscribe(api, admin_headers, "milestone.overdue", url="http://127.0.0.1:9/hooks")
        ping = (await api.post(f"{HOOKS}/{hook['id']}/ping", headers=admin_headers)).json()
        async with app.router.lifespan_context(app):
            for _ in range(50):
                delivery = (await api.get(f"{HOOKS}/deliveries/{ping['id']}", headers=admin_headers)).json()
                if delivery["attempts"]:
                    break
                await asyncio.sleep(0.1)
        assert delivery["attempts"] == 1 and delivery["status"] == "pending"
        assert delivery["last_error"] == "connection failed" and delivery["last_status_code"] is None
