"""Parallel writers at the database: If-Match races, overlapping KPI submissions, parallel idempotent retries.

The requests run in parallel against the in-process app (httpx.ASGITransport, one event loop): each awaits the
database between its statements, so N requests interleave there, each in its own transaction on its own pooled
connection. Timing alone would make the race likely, not certain, so a `Gate` holds every request at the point
where it has read and is about to write until all N are there: then all N have read the same state and all N
write. `PoolMeter.peak` counts the app's connections checked out at once, and on PostgreSQL the gate also
counts the open transactions the server sees (pg_stat_activity), so each test shows that the requests truly
overlapped at the database.

All of it runs on SQLite as well: SQLite serialises writers, but the session reads outside a transaction
(pysqlite begins one at the first write), so two requests still both read before either writes: a version
check, a derived figure or a uniqueness claim is exactly as exposed there.
"""

import asyncio
import contextlib
import itertools
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import ModuleType
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import Database
from app.core.scopes import Role
from app.models import AuditEvent, Change, Enterprise, EnterpriseContact, IdempotencyKey, KpiFact, Milestone, Project
from app.models.base import Base
from app.services import enterprises as enterprise_service
from app.services import milestones as milestone_service
from app.services import projects as project_service
from app.services.calculators.cumulative import Reported, derive_year
from tests.api.test_enterprises import body
from tests.conftest import UserFactory

Headers = dict[str, str]
Json = dict[str, Any]
PARALLEL = 8
PROBLEM = "application/problem+json"


# --- making the race certain, and showing that it happened --------------------------------------------------


class Gate:
    """Holds each caller until `parties` callers wait at it, then lets them all through at once.

    It opens for good `patience` seconds after the first caller came in any case: a writer that takes a lock
    before it reads arrives alone (the others queue at its lock), and must not wait for them for ever. `full`
    says whether all the parties were held together.
    """

    def __init__(self, parties: int, patience: float, on_full: Callable[[], Awaitable[None]] | None = None) -> None:
        self.parties = parties
        self.patience = patience
        self.on_full = on_full
        self.waiting = 0
        self.full = False
        self.opened = asyncio.Event()

    async def wait(self) -> None:
        if self.opened.is_set():
            return
        self.waiting += 1
        if self.waiting == self.parties:
            self.full = True
            if self.on_full is not None:
                await self.on_full()
            self.opened.set()
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.opened.wait(), self.patience)
        self.opened.set()


def gate_after(monkeypatch: pytest.MonkeyPatch, module: ModuleType, name: str, gate: Gate) -> None:
    """`module.name` (an async service function) waits at the gate after it returns."""
    real = getattr(module, name)

    async def gated(*args: Any, **kwargs: Any) -> Any:
        result = await real(*args, **kwargs)
        await gate.wait()
        return result

    monkeypatch.setattr(module, name, gated)


def gate_flushes(monkeypatch: pytest.MonkeyPatch, gate: Gate) -> None:
    """Every explicit flush waits at the gate first: the point where a service has read and starts to write."""
    real = AsyncSession.flush

    async def gated(self: AsyncSession, objects: Sequence[Any] | None = None) -> None:
        await gate.wait()
        await real(self, objects)

    monkeypatch.setattr(AsyncSession, "flush", gated)


class PoolMeter:
    """Connections of one engine checked out at once: the peak is how many requests were at the database together."""

    def __init__(self) -> None:
        self.out = 0
        self.peak = 0

    def checkout(self, *_: Any) -> None:
        self.out += 1
        self.peak = max(self.peak, self.out)

    def checkin(self, *_: Any) -> None:
        self.out -= 1


@pytest.fixture
def pool(app: Any) -> Iterator[PoolMeter]:
    engine = app.state.database.engine.sync_engine
    meter = PoolMeter()
    event.listen(engine, "checkout", meter.checkout)
    event.listen(engine, "checkin", meter.checkin)
    yield meter
    event.remove(engine, "checkout", meter.checkout)
    event.remove(engine, "checkin", meter.checkin)


class ServerView:
    """On PostgreSQL, how many transactions of the test database the server saw open at the gate."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.open_transactions: int | None = None

    async def look(self) -> None:
        if self.database.engine.dialect.name != "postgresql":
            return
        async with self.database.engine.connect() as conn:
            self.open_transactions = await conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
                )
            )

    def assert_saw(self, at_least: int) -> None:
        if self.database.engine.dialect.name == "postgresql":
            assert self.open_transactions is not None and self.open_transactions >= at_least, self.open_transactions


@pytest.fixture
async def officer(make_user: UserFactory) -> Headers:
    _, headers = await make_user(Role.officer)
    return headers


def assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["code"] == code


async def audit_rows(database: Database, entity_type: str, entity_id: int | None = None) -> list[AuditEvent]:
    async with database.session() as session:
        stmt = select(AuditEvent).where(AuditEvent.entity_type == entity_type)
        if entity_id is not None:
            stmt = stmt.where(AuditEvent.entity_id == str(entity_id))
        return list(await session.scalars(stmt.order_by(AuditEvent.id)))


async def feed_rows(database: Database, resource: str, entity_id: int) -> int:
    async with database.session() as session:
        stmt = select(func.count()).where(Change.resource == resource, Change.entity_id == entity_id)
        return int(await session.scalar(stmt) or 0)


# --- N PATCHes with the same If-Match ----------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A versioned resource, the service function that loads it for a PATCH, and where its writes are logged."""

    kind: str
    model: type[Base]
    service: ModuleType
    loader: str
    audit_type: str
    feed: str


TARGETS = [
    Target("enterprise", Enterprise, enterprise_service, "get_enterprise", "enterprise", "enterprises"),
    Target("project", Project, project_service, "get_project", "project", "projects"),
    Target("milestone", Milestone, milestone_service, "get_milestone", "milestone", "milestones"),
]


async def created(client: httpx.AsyncClient, headers: Headers, url: str, json: Json) -> Json:
    response = await client.post(url, json=json, headers=headers)
    assert response.status_code == 201, response.text
    made: Json = response.json()
    return made


async def make_target(client: httpx.AsyncClient, headers: Headers, kind: str) -> tuple[int, str]:
    """A fresh resource of that kind: (id, its URL)."""
    if kind == "enterprise":
        contacts = [{"name": "原联系人", "phone": "13800000000"}]
        made = await created(client, headers, "/api/v1/enterprises", body(1, contacts=contacts))
        return made["id"], f"/api/v1/enterprises/{made['id']}"
    project = await created(
        client, headers, "/api/v1/projects", {"name": "并发项目", "introduced_on": "2016-03-01", "is_key": True}
    )
    if kind == "project":
        return project["id"], f"/api/v1/projects/{project['id']}"
    url = f"/api/v1/projects/{project['id']}/milestones"
    milestone = await created(client, headers, url, {"track": "construction", "name": "主体开工", "planned_on": None})
    return milestone["id"], f"{url}/{milestone['id']}"


def change_of(kind: str, i: int) -> Json:
    if kind == "enterprise":  # a scalar and a child list: the winner's contacts, no mix of two requests
        return {"name": f"并发改名企业{i}", "contacts": [{"name": f"联系人{i}", "phone": f"1381234567{i}"}]}
    return {"name": f"并发改名{kind}{i}"}


@pytest.mark.parametrize("target", TARGETS, ids=[t.kind for t in TARGETS])
async def test_parallel_patches_with_one_etag_let_exactly_one_through(
    client: httpx.AsyncClient,
    officer: Headers,
    database: Database,
    pool: PoolMeter,
    monkeypatch: pytest.MonkeyPatch,
    target: Target,
) -> None:
    entity_id, url = await make_target(client, officer, target.kind)
    etag = (await client.get(url, headers=officer)).headers["etag"]
    assert etag == '"1"'
    feed_before = await feed_rows(database, target.feed, entity_id)
    audits_before = len(await audit_rows(database, target.audit_type, entity_id))

    # Every PATCH loads the row (version 1), then waits until all have: each passes the If-Match check against
    # what it read, and only the UPDATE's own version check can stop the others.
    server = ServerView(database)
    gate = Gate(PARALLEL, patience=10.0, on_full=server.look)
    gate_after(monkeypatch, target.service, target.loader, gate)
    answers = await asyncio.gather(
        *(
            client.patch(
                url, json=change_of(target.kind, i), headers=officer | {"If-Match": etag, "X-Request-ID": f"patch-{i}"}
            )
            for i in range(PARALLEL)
        )
    )
    monkeypatch.undo()

    assert gate.full, "the PATCHes did not all read before one wrote"
    assert pool.peak >= PARALLEL
    server.assert_saw(PARALLEL)
    winners = [i for i, a in enumerate(answers) if a.status_code == 200]
    assert len(winners) == 1, [a.status_code for a in answers]
    [winner] = winners
    for i, answer in enumerate(answers):
        if i != winner:
            assert_problem(answer, 412, "version_mismatch")
    assert answers[winner].headers["etag"] == '"2"'
    assert answers[winner].json()["name"] == change_of(target.kind, winner)["name"]

    async with database.session() as session:
        row: Any = await session.get(target.model, entity_id)
        assert row is not None
        assert (row.name, row.version) == (change_of(target.kind, winner)["name"], 2)
        if target.kind == "enterprise":
            contacts = await session.scalars(
                select(EnterpriseContact.name).where(EnterpriseContact.enterprise_id == entity_id)
            )
            assert list(contacts) == [f"联系人{winner}"]
    trail = await audit_rows(database, target.audit_type, entity_id)
    assert len(trail) == audits_before + 1
    assert (trail[-1].action, trail[-1].request_id) == ("update", f"patch-{winner}")
    assert trail[-1].after is not None and trail[-1].after["name"] == change_of(target.kind, winner)["name"]
    assert await feed_rows(database, target.feed, entity_id) == feed_before + 1
    # The ETag the winner handed out is current: the next writer goes through with it.
    again = await client.patch(url, json={"name": "之后的修改"}, headers=officer | {"If-Match": '"2"'})
    assert again.status_code == 200, again.text


# --- overlapping KPI bulk submissions ----------------------------------------------------------------------

Key = tuple[int, int]  # enterprise, month (metric revenue, year 2018)
Submission = dict[Key, tuple[str, Decimal]]  # what one request sends: reported_as and value per key


def submission(request: int, enterprises: Sequence[int], months: Sequence[int]) -> Submission:
    """Values that name their request, and that any mix of requests keeps consistent: a 1–N月 figure for month m
    is m×1000 + a little, a month's own value is under 100, so no cumulative ever falls."""
    sent: Submission = {}
    for e, enterprise_id in enumerate(enterprises):
        for month in months:
            if (request + month + e) % 2 == 0:
                sent[(enterprise_id, month)] = ("ytd", Decimal(month * 1000 + request * 10 + e))
            else:
                sent[(enterprise_id, month)] = ("monthly", Decimal(request * 10 + e + 1))
    return sent


def rows_of(sent: Submission, reverse: bool) -> list[Json]:
    rows = [
        {"enterprise_id": e, "metric": "revenue", "period": f"2018-{m:02d}", "reported_as": how, "value": f"{v}.00"}
        for (e, m), (how, v) in sent.items()
    ]
    return rows[::-1] if reverse else rows


def explained_by_a_serial_order(stored: Submission, sent: dict[int, Submission], succeeded: Sequence[int]) -> bool:
    """Whether applying the successful requests one after the other, in some order, gives exactly `stored`."""
    for order in itertools.permutations(succeeded):
        state: Submission = {}
        for request in order:
            state |= sent[request]
        if state == stored:
            return True
    return False


WINDOWS: dict[str, list[tuple[int, ...]]] = {
    # Disjoint months of the same enterprise-years, each request's first month right after another's last:
    # no row in common, but each one's figures depend on the months the others write.
    "adjacent": [(1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12)],
    # Sliding windows: every request shares months with its neighbours, in opposite row orders.
    "overlapping": [(1, 2, 3), (2, 3, 4), (3, 4, 5), (4, 5, 6), (5, 6, 7), (1, 4, 7)],
}


@pytest.mark.parametrize("case", sorted(WINDOWS))
async def test_overlapping_bulk_submissions_end_consistent(
    client: httpx.AsyncClient,
    officer: Headers,
    database: Database,
    pool: PoolMeter,
    monkeypatch: pytest.MonkeyPatch,
    case: str,
) -> None:
    enterprises = [(await created(client, officer, "/api/v1/enterprises", body(serial)))["id"] for serial in (101, 102)]
    windows = WINDOWS[case]
    sent = {r: submission(r, enterprises, months) for r, months in enumerate(windows)}

    # Each submission reads the stored months, then waits at its first write until all have read (or, where
    # the service serialises them, until the first one gives up waiting for the others).
    gate = Gate(len(windows), patience=1.0)
    gate_flushes(monkeypatch, gate)
    answers = await asyncio.gather(
        *(
            client.post(
                "/api/v1/kpi-facts/bulk",
                json={"rows": rows_of(sent[r], reverse=r % 2 == 1)},
                headers=officer | {"X-Request-ID": f"kpi-{case}-{r}"},
            )
            for r in range(len(windows))
        )
    )
    monkeypatch.undo()
    assert pool.peak >= len(windows)

    succeeded = []
    for r, answer in enumerate(answers):
        if answer.status_code == 200:
            result = answer.json()
            assert result["received"] == len(sent[r])
            assert result["created"] + result["updated"] + result["unchanged"] == len(sent[r])
            succeeded.append(r)
        else:  # a clean refusal of a concurrent write, never a server error
            assert answer.status_code in (409, 412), answer.text
            assert answer.headers["content-type"].startswith(PROBLEM)
    assert succeeded, [a.status_code for a in answers]

    async with database.session() as session:
        facts = list(await session.scalars(select(KpiFact).where(KpiFact.enterprise_id.in_(enterprises))))
    stored: Submission = {(f.enterprise_id, f.month): (f.reported_as.value, f.reported_value) for f in facts}
    assert len(stored) == len(facts)  # one fact per key
    assert {(f.year, f.metric_id) for f in facts} == {(2018, facts[0].metric_id)}
    # Each request is all there or overwritten by later ones; a refused one left nothing of its own.
    assert explained_by_a_serial_order(stored, sent, succeeded), (succeeded, stored)
    # Both figures of every month are what the service derives from the months now stored.
    for enterprise_id in enterprises:
        months = {f.month: f for f in facts if f.enterprise_id == enterprise_id}
        derived, problems = derive_year(
            {m: Reported(f.reported_as.value == "ytd", f.reported_value) for m, f in months.items()},
            non_negative=True,
        )
        assert problems == []
        shown = {m: (f.monthly_value, f.ytd_value) for m, f in months.items()}
        assert shown == {m: (d.monthly, d.ytd) for m, d in derived.items()}, enterprise_id

    # The audit trail holds the writes of successful requests only, one creation per fact.
    trail = await audit_rows(database, "kpi_fact")
    assert {e.request_id for e in trail} <= {f"kpi-{case}-{r}" for r in succeeded}
    creations = sorted(int(e.entity_id) for e in trail if e.action == "create")
    assert creations == sorted(f.id for f in facts)
    assert sum(answers[r].json()["created"] for r in succeeded) == len(facts)


# --- parallel retries with one Idempotency-Key -------------------------------------------------------------


async def test_parallel_retries_with_one_key_write_once_and_answer_alike(
    client: httpx.AsyncClient,
    officer: Headers,
    database: Database,
    pool: PoolMeter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keyed = officer | {"Idempotency-Key": "parallel-retry-1"}
    # Each retry looks the key up (not there yet), then waits until all have before claiming it.
    server = ServerView(database)
    gate = Gate(PARALLEL, patience=10.0, on_full=server.look)
    gate_flushes(monkeypatch, gate)
    answers = await asyncio.gather(
        *(client.post("/api/v1/enterprises", json=body(7), headers=keyed) for _ in range(PARALLEL))
    )
    monkeypatch.undo()

    assert gate.full, "the retries did not all look the key up before one claimed it"
    assert pool.peak >= PARALLEL
    server.assert_saw(PARALLEL)
    assert {a.status_code for a in answers} <= {201, 409}, [a.status_code for a in answers]
    done = [a for a in answers if a.status_code == 201]
    assert done
    # The write ran once: one original answer, any other 201 is its replay, byte for byte.
    assert [a.headers.get("idempotent-replayed") for a in done].count(None) == 1
    assert {(a.content, a.headers["location"], a.headers["etag"]) for a in done} == {
        (done[0].content, done[0].headers["location"], done[0].headers["etag"])
    }
    for answer in answers:
        if answer.status_code == 409:
            assert_problem(answer, 409, "idempotency_in_progress")
            assert answer.headers["retry-after"] == "1"

    async with database.session() as session:
        assert await session.scalar(select(func.count()).select_from(Enterprise)) == 1
        keys = list(await session.scalars(select(IdempotencyKey)))
    assert [(k.key, k.status) for k in keys] == [("parallel-retry-1", 201)]
    assert [e.action for e in await audit_rows(database, "enterprise")] == ["create"]
    # A retry after the storm gets the same answer again.
    late = await client.post("/api/v1/enterprises", json=body(7), headers=keyed)
    assert (late.status_code, late.content, late.headers["idempotent-replayed"]) == (201, done[0].content, "true")
