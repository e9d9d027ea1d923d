"""Named write locks for check-then-write sections (overlapping ranges, cycles in hierarchies).

Two requests that both check "no overlap" and then both insert would each pass the check. Taking the
lock first makes them run one after the other, and the second one's check sees the first one's row.
"""

import zlib
from collections.abc import Iterable

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute


async def hold(session: AsyncSession, name: str) -> None:
    """Blocks until this transaction holds the lock `name`; released at commit or rollback."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(zlib.crc32(name.encode()))))
    else:
        # SQLite allows one writer at a time: a (no-op) write statement takes the database's write lock
        # now, and the reads that follow see every commit made before it.
        await session.execute(text("UPDATE alembic_version SET version_num = version_num WHERE 0"))


async def hold_rows(session: AsyncSession, key: InstrumentedAttribute[int], ids: Iterable[int]) -> None:
    """Blocks until this transaction holds the rows whose `key` is in `ids`, as for an update (their key stays
    usable by foreign keys meanwhile); released at commit or rollback. They are taken in key order, so two
    transactions wanting overlapping sets queue one behind the other instead of deadlocking.

    On SQLite, as for `hold`, the database's write lock.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(key).where(key.in_(set(ids))).order_by(key).with_for_update(key_share=True))
    else:
        await hold(session, "rows")
