"""Engine and session factory. One `Database` per app; sessions are opened per request."""

import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import CursorResult, Result, event
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session

from app.core.config import Settings


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # SQLite ignores foreign keys unless asked; WAL lets readers run beside one writer.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _sqlite_explicit_begin(connection: Any) -> None:
    # SQLAlchemy's pysqlite recipe, on connections that ask for it (Database.savepoint_session). IMMEDIATE
    # takes the write lock now: a long writer that only read at first could not upgrade later in WAL mode.
    if connection.get_execution_options().get("explicit_begin"):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


# SQLSTATE classes that mean "the server cannot serve this now": connection exceptions (08), insufficient
# resources (53: too many connections, disk full), operator intervention (57: shutdown, restart, starting up,
# a cancelled statement). psycopg raises OperationalError for them, as the DB-API prescribes.
_UNAVAILABLE_SQLSTATE_CLASSES = frozenset({"08", "53", "57"})


def _unavailable_as_operational(context: ExceptionContext) -> BaseException | None:
    """A lost connection or a server going away raised as the OperationalError it is (the app answers 503).

    asyncpg's adapter maps what it has no narrower class for, e.g. "connection was closed in the middle of
    operation" or "terminating connection due to administrator command", to a bare DBAPIError: without this
    a database that drops mid-request would look like a bug (500) instead of an outage to retry.
    """
    error = context.sqlalchemy_exception
    if type(error) is not DBAPIError:
        return None
    sqlstate = str(getattr(context.original_exception, "sqlstate", None) or "")
    if not (context.is_disconnect or sqlstate[:2] in _UNAVAILABLE_SQLSTATE_CLASSES):
        return None
    return OperationalError(
        error.statement,
        error.params,
        context.original_exception,
        hide_parameters=error.hide_parameters,
        connection_invalidated=context.is_disconnect,
    )


def rows_affected(result: Result[Any]) -> int:
    """How many rows an INSERT, UPDATE or DELETE touched (0 where the driver cannot say)."""
    return max(result.rowcount, 0) if isinstance(result, CursorResult) else 0


def ensure_sqlite_directory(database_url: str) -> None:
    """SQLite creates the file but not its folder (var/ on a fresh checkout)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def _ping_when_idle(idle_seconds: float) -> tuple[Callable[..., None], Callable[..., None]]:
    """Pool listeners that ping a connection before use only when it has sat unused for `idle_seconds`.

    SQLAlchemy's `pool_pre_ping` pings at every checkout; on asyncpg that is BEGIN, an empty query and
    ROLLBACK, three round trips on every request. A connection in steady use has just proved itself; one
    that sat idle may have been cut by a restart or a firewall, and raising DisconnectionError from a
    checkout makes the pool replace it and try again.
    """

    def checkin(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["returned_at"] = time.monotonic()

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned_at = record.info.get("returned_at")
        if returned_at is None or time.monotonic() - returned_at < idle_seconds:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:
            raise DisconnectionError("the idle connection is gone") from exc

    return checkin, checkout


def create_engine(settings: Settings, database_url: str | None = None) -> AsyncEngine:
    """An engine on `database_url` (default: DATABASE_URL) with the app's pool, ping and error handling."""
    url = make_url(database_url or settings.database_url)
    # hide_parameters: a failed statement's error (and so the log) never carries the values bound to it,
    # which may be personal data such as a national ID number.
    kwargs: dict[str, Any] = {"hide_parameters": True}
    ensure_sqlite_directory(url.render_as_string(hide_password=False))
    if url.get_backend_name() != "sqlite":
        kwargs |= {
            "pool_size": settings.database_pool_size,
            "max_overflow": settings.database_max_overflow,
            "pool_timeout": settings.database_pool_timeout_seconds,
        }
    engine = create_async_engine(url, **kwargs)
    if url.get_backend_name() == "postgresql":
        event.listen(engine.sync_engine, "handle_error", _unavailable_as_operational)
        checkin, checkout = _ping_when_idle(settings.database_ping_idle_seconds)
        event.listen(engine.sync_engine.pool, "checkin", checkin)
        event.listen(engine.sync_engine.pool, "checkout", checkout)
    if url.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_explicit_begin)
    return engine


class ReadOnlySession(Session):
    """A session that cannot write: its connection commits every statement on its own (no transaction), so a
    write through it would stand at once and alone. Flushing changes and sending INSERT, UPDATE or DELETE
    both raise."""

    def flush(self, objects: Sequence[Any] | None = None) -> None:
        if self.new or self.dirty or self.deleted:
            raise ReadOnlySessionError("a read session does not write; this route needs Database.session()")
        super().flush(objects)


class ReadOnlySessionError(RuntimeError):
    pass


def _refuse_writes(_conn: Any, _cursor: Any, _statement: str, _params: Any, context: Any, _many: bool) -> None:
    if context is not None and (context.isinsert or context.isupdate or context.isdelete):
        raise ReadOnlySessionError("a read session does not write; this route needs Database.session()")


def _read_engine(engine: AsyncEngine) -> AsyncEngine:
    """The engine's pool without transactions, refusing writes. Under READ COMMITTED every statement reads
    its own snapshot inside a transaction too, so BEGIN and COMMIT would only add two round trips."""
    reader = engine.execution_options(isolation_level="AUTOCOMMIT")
    event.listen(reader.sync_engine, "before_cursor_execute", _refuse_writes)
    return reader


class Database:
    """The primary database and, when DATABASE_REPLICA_URL is set, a read replica for analytics.

    - `session()`: a transaction on the primary, committed at the end (every write).
    - `read_session()`: reads on the primary without a transaction (GET requests: reads see every write
      the caller has made).
    - `read_session(analytics=True)`: reads on the replica when there is one, else as above. A replica
      trails the primary by its replication lag (usually under a second), which figures over months of
      facts can afford; lists and records a user has just edited come from the primary.
    """

    def __init__(self, settings: Settings) -> None:
        self.engine = create_engine(settings)
        # expire_on_commit=False: responses are shaped after commit, without lazy loads.
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self.replica_engine = (
            create_engine(settings, settings.database_replica_url) if settings.database_replica_url else None
        )
        read_options: dict[str, Any] = {
            "expire_on_commit": False,
            "autoflush": False,
            "sync_session_class": ReadOnlySession,
        }
        self.read_sessionmaker = async_sessionmaker(_read_engine(self.engine), **read_options)
        self.analytics_sessionmaker = (
            async_sessionmaker(_read_engine(self.replica_engine), **read_options)
            if self.replica_engine is not None
            else self.read_sessionmaker
        )

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: commits on success, rolls back on any exception."""
        async with self.sessionmaker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    @asynccontextmanager
    async def read_session(self, *, analytics: bool = False) -> AsyncIterator[AsyncSession]:
        """Reads only (see the class): nothing to commit, and writing through it raises."""
        async with (self.analytics_sessionmaker if analytics else self.read_sessionmaker)() as session:
            yield session

    @asynccontextmanager
    async def savepoint_session(self) -> AsyncIterator[AsyncSession]:
        """A session (not committed for you) whose transaction may hold savepoints on SQLite too.

        pysqlite begins transactions on its own and ends them at a RELEASE, so a savepoint there would
        commit the work around it. On this connection pysqlite stays out (autocommit at the driver) and
        SQLAlchemy's BEGIN opens the transaction, so SAVEPOINT and ROLLBACK nest as on PostgreSQL.
        """
        if self.engine.dialect.name != "sqlite":
            async with self.sessionmaker() as session:
                yield session
            return
        async with self.engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT", explicit_begin=True)
            async with AsyncSession(bind=connection, expire_on_commit=False, autoflush=False) as session:
                yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.replica_engine is not None:
            await self.replica_engine.dispose()
