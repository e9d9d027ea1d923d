"""Test fixtures. The suite runs against SQLite by default, or the database in TEST_DATABASE_URL.

With TEST_DATABASE_URL=postgresql+asyncpg://…/test a fresh database is created for the run (and
dropped after), migrated with Alembic exactly as production is, and emptied after every test.
"""

import asyncio
import itertools
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from alembic import command
from argon2 import PasswordHasher
from sqlalchemy import delete, insert, literal, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.core import security
from app.core.clock import FixedClock
from app.core.config import Environment, Settings
from app.core.db import Database
from app.core.migrations import alembic_config
from app.core.principal import SYSTEM
from app.core.scopes import ROLE_SCOPES, Role
from app.core.security import create_access_token, credential_fingerprint
from app.main import create_app
from app.models import Base, Change, Metric, User, WorkCalendarDay, WorkCalendarYear
from app.models.types import UTCDateTime
from app.reference.work_calendar import ARRANGEMENTS, shipped_days
from app.schemas.user import UserCreate
from app.services import users
from tests import log_scan

TEST_SECRET_KEY = "test-signing-key-0123456789abcdef-0123456789"
DEFAULT_PASSWORD = "correct horse battery"
DEMO_PASSWORD = "demo-password-for-tests"
REFERENCE_TABLES = frozenset({"industries", "metrics", "work_calendar_years", "work_calendar_days"})
PRESET_METRICS = ("revenue", "tax", "fixed_asset_investment")


def _is_postgres(url: str) -> bool:
    return url.startswith("postgresql")


async def _pg_admin(url: str, sql: str) -> None:
    admin = make_url(url).set(drivername="postgresql")
    conn = await asyncpg.connect(admin.render_as_string(hide_password=False))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing() -> Iterator[None]:
    """Argon2id with its smallest costs: the suite hashes and verifies thousands of passwords, and at the
    production costs (64 MiB, 3 passes) each takes 0.1–0.3 s of CPU. The algorithm, the hash format and
    every check stay the same; a hash records its own costs, so verifying needs no change."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    saved = security._hasher, security._DUMMY_HASH
    security._hasher, security._DUMMY_HASH = cheap, cheap.hash("dummy-for-timing")
    yield
    security._hasher, security._DUMMY_HASH = saved


@pytest.fixture(scope="session", autouse=True)
def _logs_hold_no_secrets_or_personal_data() -> Iterator[None]:
    """Scans every log line of the run (tests/log_scan.py); the run fails if one holds a secret."""
    scan, uninstall = log_scan.install((TEST_SECRET_KEY, DEFAULT_PASSWORD, DEMO_PASSWORD))
    yield
    uninstall()
    assert not scan.findings, scan.report()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    configured = os.environ.get("TEST_DATABASE_URL")
    if not configured:
        yield f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return
    if not _is_postgres(configured):
        yield configured
        return
    name = f"zhaoshang_test_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_admin(configured, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(configured).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_pg_admin(configured, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def scratch_url(tmp_path: Path) -> Iterator[str]:
    """An empty database of the kind the suite runs on."""
    configured = os.environ.get("TEST_DATABASE_URL", "")
    if not _is_postgres(configured):
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}"
        return
    name = f"zhaoshang_mig_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_admin(configured, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(configured).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_pg_admin(configured, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": Environment.test,
        "secret_key": TEST_SECRET_KEY,
        "log_level": "INFO",
        "cors_origins": [],
        "demo_admin_password": None,
    }
    return Settings(_env_file=None, **(values | overrides))


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return make_settings(database_url=database_url)


@pytest.fixture(scope="session")
def migrated(settings: Settings) -> None:
    config = alembic_config(settings)
    config.attributes["configure_logging"] = False
    command.upgrade(config, "head")


@pytest.fixture(scope="session")
async def database(settings: Settings, migrated: None) -> AsyncIterator[Database]:
    db = Database(settings)
    yield db
    await db.dispose()


@pytest.fixture(autouse=True)
async def _empty_tables(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    yield
    # Tests on the shared demo data read it together; the module's fixture empties it when they are done.
    if "database" not in request.fixturenames or "demo_data" in request.fixturenames:
        return
    await empty_database(request.getfixturevalue("database"))


async def empty_database(db: Database) -> None:
    # Reference data seeded by migrations stays; everything the tests wrote goes.
    tables = [t for t in Base.metadata.sorted_tables if t.name not in REFERENCE_TABLES]
    async with db.engine.begin() as conn:
        await _restore_work_calendar(conn)
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY"))
        else:
            for table in reversed(tables):
                await conn.execute(delete(table))
            # Tables never reuse ids (AUTOINCREMENT); restart the counters so each test starts at 1.
            await conn.execute(text("DELETE FROM sqlite_sequence"))
        # Metrics seeded by the migration stay; ones a test added go (after the facts and targets that use them).
        await conn.execute(delete(Metric).where(Metric.code.not_in(PRESET_METRICS)))
        # The change log as the migrations left it: one change for each seeded metric.
        seeded = select(literal(0), literal("metrics"), Metric.id, literal(datetime.now(UTC), UTCDateTime()))
        await conn.execute(insert(Change).from_select(["txid", "resource", "entity_id", "changed_at"], seeded))


async def _restore_work_calendar(conn: AsyncConnection) -> None:
    """The shipped holiday arrangements, as the migration left them: years a test added, replaced or removed."""
    shipped = {a.year for a in ARRANGEMENTS}
    rows = (await conn.execute(select(WorkCalendarYear.year, WorkCalendarYear.version))).all()
    redo = {year for year, version in rows if year not in shipped or version != 1} | (shipped - {y for y, _ in rows})
    if not redo:
        return
    await conn.execute(delete(WorkCalendarYear).where(WorkCalendarYear.year.in_(redo)))  # days cascade
    await conn.execute(delete(WorkCalendarDay).where(WorkCalendarDay.year.in_(redo)))
    now = datetime.now(UTC)
    for a in ARRANGEMENTS:
        if a.year in redo:
            await conn.execute(
                insert(WorkCalendarYear).values(
                    year=a.year, source=a.source, published_on=a.published_on, version=1, created_at=now, updated_at=now
                )
            )
    days = [row for row in shipped_days() if row["year"] in redo]
    if days:
        await conn.execute(insert(WorkCalendarDay), days)


@pytest.fixture
async def session(database: Database) -> AsyncIterator[AsyncSession]:
    async with database.session() as s:
        yield s


@pytest.fixture(scope="session")
async def app_factory(database: Database) -> AsyncIterator[Callable[..., Any]]:
    """Builds an app on the test database; keyword arguments override settings."""
    apps: list[Any] = []

    def factory(**overrides: Any) -> Any:
        url = database.engine.url.render_as_string(hide_password=False)
        app = create_app(make_settings(**({"database_url": url} | overrides)))
        apps.append(app)
        return app

    yield factory
    for app in apps:
        await app.state.database.dispose()


@pytest.fixture(scope="session")
def app(app_factory: Callable[..., Any]) -> Any:
    return app_factory()


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


# 23:30 on 2018-10-31 in Guangzhou, which is still 15:30 the same day in UTC.
REPORT_EVENING = datetime(2018, 10, 31, 15, 30, tzinfo=UTC)


@pytest.fixture
async def clock(app: Any) -> AsyncIterator[FixedClock]:
    """Sets the shared app's service clock (default: the report evening); restored afterwards."""
    original = app.state.clock
    fixed = FixedClock(REPORT_EVENING)
    app.state.clock = fixed
    yield fixed
    app.state.clock = original


UserFactory = Callable[..., Awaitable[tuple[User, dict[str, str]]]]
# One sequence for the whole run: tests sharing a database (the demo modules) never reuse a username.
USER_SERIAL = itertools.count(1)


@pytest.fixture
def make_user(database: Database, settings: Settings) -> UserFactory:
    """Creates a staff user with a role and returns it with ready Authorization headers."""
    counter = USER_SERIAL

    async def factory(
        role: Role = Role.officer, *, username: str | None = None, password: str = DEFAULT_PASSWORD
    ) -> tuple[User, dict[str, str]]:
        name = username or f"{role.value}{next(counter)}"
        async with database.session() as s:
            user = await users.create_user(
                s, SYSTEM, UserCreate(username=name, display_name=f"测试{name}", role=role, password=password)
            )
        token, _ = create_access_token(
            settings, f"user:{user.id}", ROLE_SCOPES[role], credential_fingerprint(user.password_hash)
        )
        return user, {"Authorization": f"Bearer {token}"}

    return factory


@pytest.fixture
async def admin_headers(make_user: UserFactory) -> dict[str, str]:
    _, headers = await make_user(Role.admin, username="root-admin")
    return headers


def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
async def demo_data(database: Database) -> AsyncIterator[None]:
    """The demo data, loaded once for a module of tests that read it (loading takes seconds), emptied after."""
    from app.services.demo import load_demo_data

    async with database.session() as session:
        await load_demo_data(session, DEMO_PASSWORD)
    yield
    await empty_database(database)


@pytest.fixture
async def demo_leader(client: httpx.AsyncClient, demo_data: None) -> dict[str, str]:
    """The demo's leader, logged in: reads everything, tax figures included."""
    response = await client.post(
        "/api/v1/auth/token", data={"grant_type": "password", "username": "leader", "password": DEMO_PASSWORD}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
