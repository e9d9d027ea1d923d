"""Faults: the database going away and coming back, and failures in the middle of multi-row writes.

On PostgreSQL the app reaches the server through `Proxy`, a TCP forwarder run by the test: stopping it cuts
every open connection and refuses new ones (the server is gone for the app, and only for this app: the cluster
and the other tests' connections never notice); starting it again on the same port brings the database back.
An SQLite file cannot vanish from under connections that hold it open, so there the fault is the one SQLite
does have: another process holding the write lock (`database is locked`).
"""

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError

from app.core.config import Settings
from app.core.db import Database
from app.core.scopes import Role
from app.models import AuditEvent, Base, Enterprise
from app.services import audit
from tests.api.test_enterprises import body
from tests.conftest import UserFactory

Headers = dict[str, str]
Json = dict[str, Any]
PROBLEM = "application/problem+json"
# No request may hang while the database is away: each answers within this, or the test fails.
ANSWER_WITHIN = 15.0


def assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert (problem["status"], problem["code"]) == (status, code)
    assert problem["request_id"] == response.headers["x-request-id"]
    # A generic, Chinese-readable text: no SQL, no driver message, no stack trace.
    assert "数据库" in problem["detail"] or "服务器" in problem["detail"]
    for leak in ("SELECT", "INSERT", "Traceback", "asyncpg", "sqlite3", "disk I/O"):
        assert leak not in response.text


def assert_unavailable(response: httpx.Response, code: str = "service_unavailable") -> None:
    assert_problem(response, 503, code)
    assert response.headers["retry-after"] == "5"


def is_postgres(settings: Settings) -> bool:
    return make_url(settings.database_url).get_backend_name() == "postgresql"


# --- a database that can go away --------------------------------------------------------------------------


class Proxy:
    """Forwards TCP connections from a local port to the database server, until stopped."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.port = 0  # chosen by the system at the first start, kept for the restarts
        self.server: asyncio.Server | None = None
        self.links: set[asyncio.StreamWriter] = set()
        self.handlers: set[asyncio.Task[Any]] = set()
        self.connections = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """The database goes away: new connections are refused, every open one is cut."""
        if self.server is not None:
            self.server.close()
            self.cut()
            await self.server.wait_closed()
            self.server = None
        self.cut()
        if self.handlers:
            await asyncio.wait(self.handlers, timeout=5)

    def cut(self) -> None:
        """Every open connection breaks at once (a restart of the server, a failed-over address)."""
        for writer in list(self.links):
            writer.transport.abort()

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.handlers.add(task)
        try:
            try:
                server_reader, server_writer = await asyncio.open_connection(*self.upstream)
            except OSError:
                client_writer.transport.abort()
                return
            self.connections += 1
            pair = {client_writer, server_writer}
            self.links |= pair
            try:
                await asyncio.gather(self._pipe(client_reader, server_writer), self._pipe(server_reader, client_writer))
            finally:
                self.links -= pair
        finally:
            self.handlers.discard(task)

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(1 << 16):
                writer.write(chunk)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.transport.abort()


# One proxy and one app behind it for the module (a new app builds its routes at its first requests: seconds).
# Each test leaves the proxy running.
@pytest.fixture(scope="module")
async def proxy(settings: Settings) -> AsyncIterator[Proxy]:
    if not is_postgres(settings):
        pytest.skip("SQLite is a local file: there is no server connection to lose")
    url = make_url(settings.database_url)
    forwarder = Proxy(url.host or "127.0.0.1", url.port or 5432)
    await forwarder.start()
    yield forwarder
    await forwarder.stop()


@pytest.fixture(scope="module")
async def proxied_app(app_factory: Callable[..., Any], proxy: Proxy, settings: Settings) -> AsyncIterator[Any]:
    """An app whose database is reached through the proxy."""
    url = make_url(settings.database_url).set(host="127.0.0.1", port=proxy.port)
    app = app_factory(database_url=url.render_as_string(hide_password=False))
    yield app
    await app.state.database.dispose()


def client_of(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def answer(request: Awaitable[httpx.Response]) -> httpx.Response:
    async with asyncio.timeout(ANSWER_WITHIN):
        return await request


async def enterprise_count(database: Database) -> int:
    async with database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(Enterprise)) or 0)


async def test_an_outage_is_503_and_the_same_app_recovers_by_itself(
    proxied_app: Any, proxy: Proxy, make_user: UserFactory, database: Database
) -> None:
    _, officer = await make_user(Role.officer)
    async with client_of(proxied_app) as client:
        assert (await client.get("/readyz")).status_code == 200
        first = await client.post("/api/v1/enterprises", json=body(1), headers=officer)
        assert first.status_code == 201, first.text
        url = first.headers["location"]
        assert (await client.get(url, headers=officer)).status_code == 200

        await proxy.stop()  # the pooled connections die, and no new one gets through
        assert_unavailable(await answer(client.get(url, headers=officer)))
        assert_unavailable(await answer(client.get("/api/v1/enterprises", headers=officer)))
        assert_unavailable(await answer(client.post("/api/v1/enterprises", json=body(2), headers=officer)))
        assert_unavailable(await answer(client.get("/readyz")), "database_unavailable")
        assert (await client.get("/healthz")).status_code == 200  # alive, only not ready

        reached = proxy.connections
        await proxy.start()  # the database is back: the same app, no restart
        assert (await answer(client.get(url, headers=officer))).status_code == 200
        again = await answer(client.post("/api/v1/enterprises", json=body(2), headers=officer))
        assert again.status_code == 201, again.text  # the refused write left nothing that stands in its way
        assert (await client.get("/readyz")).status_code == 200
        assert proxy.connections > reached  # it did reconnect through the restarted proxy
    assert await enterprise_count(database) == 2


@pytest.mark.parametrize(("ping_idle_seconds", "replaced"), [(0, True), (3600, False)])
async def test_a_pooled_connection_cut_while_idle_is_replaced_when_its_idle_time_calls_for_a_ping(
    proxy: Proxy, settings: Settings, ping_idle_seconds: int, replaced: bool
) -> None:
    # The pool pings only connections idle for DATABASE_PING_IDLE_SECONDS (a connection in steady use is
    # not pinged: three round trips a request). Cut while idle, a pinged connection is replaced unseen;
    # one not pinged fails its request (503), and the pool then replaces it.
    own = Proxy(*proxy.upstream)  # not the module's proxy: its app's pooled connections stay whole
    await own.start()
    url = make_url(settings.database_url).set(host="127.0.0.1", port=own.port)
    database = Database(
        settings.model_copy(
            update={
                "database_url": url.render_as_string(hide_password=False),
                "database_ping_idle_seconds": ping_idle_seconds,
            }
        )
    )
    try:
        async with database.session() as session:
            first = await session.scalar(text("SELECT pg_backend_pid()"))
        own.cut()  # the pooled connection breaks while it waits in the pool
        await asyncio.sleep(0.05)
        if replaced:
            async with database.session() as session:
                assert await session.scalar(text("SELECT pg_backend_pid()")) != first
        else:
            with pytest.raises((OperationalError, InterfaceError)):  # both answered 503 by the app
                async with database.session() as session:
                    await session.scalar(text("SELECT pg_backend_pid()"))
            async with database.session() as session:  # the pool let the dead connection go
                assert await session.scalar(text("SELECT pg_backend_pid()")) != first
    finally:
        await database.dispose()
        await own.stop()


async def test_every_pooled_connection_busy_is_503_service_busy_then_served_again(
    app_factory: Callable[..., Any], settings: Settings, make_user: UserFactory
) -> None:
    if not is_postgres(settings):
        pytest.skip("the pool settings are PostgreSQL's; SQLite's file needs no pool sizing")
    app = app_factory(database_pool_size=1, database_max_overflow=0, database_pool_timeout_seconds=0.2)
    _, officer = await make_user(Role.officer)
    async with client_of(app) as client:
        async with app.state.database.engine.connect() as held:  # the pool's only connection, busy elsewhere
            await held.execute(text("SELECT 1"))
            busy = await answer(client.get("/api/v1/enterprises", headers=officer))
        assert_problem(busy, 503, "service_busy")
        assert busy.headers["retry-after"] == "5"
        assert (await answer(client.get("/api/v1/enterprises", headers=officer))).status_code == 200


def _impatient(dbapi_connection: Any, _record: Any) -> None:
    # The app waits 5 s for a lock; the outcome once it gives up is the same after 0.2 s.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=200")
    cursor.close()


@pytest.fixture
def sqlite_path(settings: Settings) -> str:
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        pytest.skip("PostgreSQL makes a writer wait for a row lock, it does not fail it: see the outage test")
    return url.database


@pytest.fixture
def write_lock(sqlite_path: str) -> Iterator[Callable[[], sqlite3.Connection]]:
    """Takes SQLite's write lock from another connection, as a second process would; released at the end."""
    holders: list[sqlite3.Connection] = []

    def take() -> sqlite3.Connection:
        holder = sqlite3.connect(sqlite_path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        holders.append(holder)
        return holder

    yield take
    for holder in holders:
        holder.close()  # rolls back if still held


async def test_a_write_lock_held_elsewhere_is_503_for_writes_while_reads_go_on(
    app_factory: Callable[..., Any],
    make_user: UserFactory,
    database: Database,
    write_lock: Callable[[], sqlite3.Connection],
) -> None:
    app = app_factory()
    event.listen(app.state.database.engine.sync_engine, "connect", _impatient)
    _, officer = await make_user(Role.officer)
    try:
        async with client_of(app) as client:
            first = await client.post("/api/v1/enterprises", json=body(1), headers=officer)
            assert first.status_code == 201, first.text

            holder = write_lock()
            assert_unavailable(await answer(client.post("/api/v1/enterprises", json=body(2), headers=officer)))
            # WAL: readers run beside the writer, and the app is still ready.
            assert (await client.get(first.headers["location"], headers=officer)).status_code == 200
            assert (await client.get("/readyz")).status_code == 200
            holder.execute("ROLLBACK")

            again = await client.post("/api/v1/enterprises", json=body(2), headers=officer)
            assert again.status_code == 201, again.text
    finally:
        await app.state.database.dispose()
    assert await enterprise_count(database) == 2


async def test_a_brief_write_lock_is_waited_for_not_refused(
    app: Any, client: httpx.AsyncClient, make_user: UserFactory, write_lock: Callable[[], sqlite3.Connection]
) -> None:
    _, officer = await make_user(Role.officer)
    sent = asyncio.Event()

    def inserting(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("INSERT INTO enterprises "):
            sent.set()

    engine = app.state.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", inserting)
    holder = write_lock()
    try:
        write = asyncio.ensure_future(client.post("/api/v1/enterprises", json=body(1), headers=officer))
        async with asyncio.timeout(ANSWER_WITHIN):
            await sent.wait()  # the INSERT is at SQLite, behind the other connection's lock
        await asyncio.sleep(0.3)
        assert not write.done()  # still waiting for the lock, not refused
        holder.execute("COMMIT")
        response = await answer(write)
    finally:
        event.remove(engine, "before_cursor_execute", inserting)
    assert response.status_code == 201, response.text


# --- a failure in the middle of a multi-row write ---------------------------------------------------------


@dataclass(frozen=True)
class Write:
    """A request that writes rows in several tables, and what it writes there when it succeeds."""

    name: str
    prepare: Callable[[httpx.AsyncClient, Headers, int], Awaitable[tuple[str, Json]]]  # → url, body
    status: int
    rows: dict[str, int]  # table → rows the request adds
    first: tuple[str, ...]  # tables it has written to when the fault strikes


async def _kpi_bulk(client: httpx.AsyncClient, headers: Headers, _officer_id: int) -> tuple[str, Json]:
    enterprise = await client.post("/api/v1/enterprises", json=body(31), headers=headers)
    assert enterprise.status_code == 201, enterprise.text
    rows = [
        {"enterprise_id": enterprise.json()["id"], "metric": metric, "period": f"2018-{m:02d}", "reported_as": how}
        | {"value": f"{m * (100 if how == 'ytd' else 7)}.00"}
        for metric, how in (("revenue", "ytd"), ("tax", "monthly"))
        for m in range(1, 7)
    ]
    return "/api/v1/kpi-facts/bulk", {"rows": rows}


async def _enterprise_with_children(client: httpx.AsyncClient, _headers: Headers, officer_id: int) -> tuple[str, Json]:
    return "/api/v1/enterprises", body(
        32,
        contacts=[{"name": "陈小明", "phone": "13812345678"}, {"name": "李小红", "phone": "13912345678"}],
        investor_classes=[
            {"investor_class": "fortune_global_500", "list_year": 2018},
            {"investor_class": "leading_enterprise"},
        ],
        service_officer_id=officer_id,
        service_officer_since="2018-06-01",
    )


async def _milestones_from_template(client: httpx.AsyncClient, headers: Headers, _officer_id: int) -> tuple[str, Json]:
    items = [
        {"track": "construction", "name": "取得用地", "offset_days": 0},
        {"track": "construction", "name": "主体开工", "offset_days": 90},
        {"track": "industry", "name": "首批企业入驻", "offset_days": 200},
    ]
    template = await client.post(
        "/api/v1/milestone-templates", json={"code": "site", "name": "用地项目", "items": items}, headers=headers
    )
    assert template.status_code == 201, template.text
    project = await client.post(
        "/api/v1/projects", json={"name": "琶洲总部大楼", "introduced_on": "2018-01-01"}, headers=headers
    )
    assert project.status_code == 201, project.text
    url = f"/api/v1/projects/{project.json()['id']}/milestones/from-template"
    return url, {"template_id": template.json()["id"], "start_on": "2018-03-01"}


WRITES = [
    Write("kpi_bulk", _kpi_bulk, 200, {"kpi_facts": 12, "audit_events": 12}, ("kpi_facts", "changes")),
    Write(
        "enterprise_with_children",
        _enterprise_with_children,
        201,
        {
            "enterprises": 1,
            "enterprise_contacts": 2,
            "enterprise_investor_classes": 2,
            "service_officer_assignments": 1,
            "audit_events": 2,
        },
        ("enterprises", "enterprise_contacts", "enterprise_investor_classes", "changes"),
    ),
    Write("milestones_from_template", _milestones_from_template, 201, {"milestones": 3}, ("milestones", "changes")),
]
# python_error: the service raises after its first rows are flushed (a bug) → 500.
# driver_error: the driver fails the first audit INSERT, after the data rows (a disk or server error) → 503.
# backend_terminated: PostgreSQL ends the session just before that INSERT, as pg_terminate_backend, a restart
#   or a fail-over does → 503.
FAULTS = ["python_error", "driver_error", "backend_terminated"]


async def row_counts(database: Database) -> dict[str, int]:
    tables = Base.metadata.sorted_tables
    async with database.engine.connect() as conn:
        counts = (
            await conn.execute(select(*(select(func.count()).select_from(t).scalar_subquery() for t in tables)))
        ).one()
    return {t.name: int(n) for t, n in zip(tables, counts, strict=True)}


class StatementLog:
    """The INSERTs an engine ran, and a fault that strikes at the first INSERT into a given table."""

    def __init__(self, engine: Any, fault: Callable[[Any], None] | None, at_table: str) -> None:
        self.engine = engine
        self.fault = fault
        self.at = f"INSERT INTO {at_table} "
        self.inserts: list[str] = []
        self.struck_after: list[str] | None = None

    def __enter__(self) -> "StatementLog":
        event.listen(self.engine, "do_execute", self.before)
        event.listen(self.engine, "do_executemany", self.before)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(self.engine, "do_execute", self.before)
        event.remove(self.engine, "do_executemany", self.before)

    def before(self, cursor: Any, statement: str, _parameters: Any, _context: Any) -> bool:
        if statement.startswith("INSERT INTO "):
            if self.fault is not None and self.struck_after is None and statement.startswith(self.at):
                self.struck_after = list(self.inserts)
                self.fault(cursor)
            self.inserts.append(statement.split()[2])
        return False  # the driver runs the statement as usual


async def fail_midway(
    target: Any,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    make_user: UserFactory,
    write: Write,
    fault: str,
    cut: Callable[[], None] | None = None,
) -> None:
    """Sends the write to `target` with the fault armed; checks the answer and that nothing of it stayed."""
    user, officer = await make_user(Role.officer)
    async with client_of(target) as client:
        url, json = await write.prepare(client, officer, user.id)
        before = await row_counts(database)

        engine = target.state.database.engine.sync_engine
        strike: Callable[[Any], None] | None = None
        if fault == "driver_error":
            driver_error = engine.dialect.loaded_dbapi.OperationalError

            def strike(_cursor: Any) -> None:
                raise driver_error("disk I/O error")

        elif fault == "backend_terminated":

            def strike(cursor: Any) -> None:
                cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")

        elif fault == "connection_lost":
            assert cut is not None
            proxy_cut = cut

            def strike(_cursor: Any) -> None:
                proxy_cut()

        else:
            real_record, real_record_created = audit.record, audit.record_created
            calls = 0

            def second_call_fails() -> None:
                nonlocal calls
                calls += 1
                if calls == 2:  # the second audit write: the data rows are written, one audit write done
                    raise RuntimeError("bug in the middle of a write")

            def failing_record(*args: Any, **kwargs: Any) -> Any:
                second_call_fails()
                return real_record(*args, **kwargs)

            async def failing_record_created(*args: Any, **kwargs: Any) -> None:
                second_call_fails()  # rows registered together (an enterprise) get their audit rows this way
                await real_record_created(*args, **kwargs)

            monkeypatch.setattr(audit, "record", failing_record)
            monkeypatch.setattr(audit, "record_created", failing_record_created)
        with StatementLog(engine, strike, "audit_events") as log:
            response = await answer(client.post(url, json=json, headers=officer | {"X-Request-ID": "half-written"}))
        monkeypatch.undo()

        if fault == "python_error":
            assert_problem(response, 500, "internal_error")
            written = log.inserts
        else:
            assert_unavailable(response)
            assert log.struck_after is not None, "the fault never struck"
            written = log.struck_after
        # It did fail midway: its data rows had been sent to the database.
        assert set(write.first) <= set(written), written

        assert await row_counts(database) == before  # not one row of it, audit trail and change log included
        async with database.session() as session:
            trail = await session.scalar(select(func.count()).where(AuditEvent.request_id == "half-written"))
        assert trail == 0

        # The same request again, with nothing failing: it goes through, and adds exactly its rows.
        retried = await answer(client.post(url, json=json, headers=officer))
        assert retried.status_code == write.status, retried.text
    after = await row_counts(database)
    for table, added in write.rows.items():
        assert after[table] - before[table] == added, table


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("write", WRITES, ids=[w.name for w in WRITES])
async def test_a_failure_midway_through_a_multi_row_write_leaves_nothing_of_it(
    app: Any,
    settings: Settings,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    make_user: UserFactory,
    write: Write,
    fault: str,
) -> None:
    if fault == "backend_terminated" and not is_postgres(settings):
        pytest.skip("SQLite has no server to end the session")
    await fail_midway(app, database, monkeypatch, make_user, write, fault)


@pytest.mark.parametrize("write", WRITES, ids=[w.name for w in WRITES])
async def test_a_connection_lost_midway_through_a_multi_row_write_leaves_nothing_of_it(
    proxied_app: Any,
    proxy: Proxy,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    make_user: UserFactory,
    write: Write,
) -> None:
    # PostgreSQL rolls back the transaction of a connection that breaks: the rows it was sent never commit.
    await fail_midway(proxied_app, database, monkeypatch, make_user, write, "connection_lost", cut=proxy.cut)
