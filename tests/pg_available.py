"""Exit 0 when the PostgreSQL at the given URL answers; used by `make test` to decide the second run."""

import asyncio
import sys

import asyncpg
from sqlalchemy.engine import make_url


async def _probe(url: str) -> bool:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        conn = await asyncpg.connect(dsn, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()
    return True


if __name__ == "__main__":
    sys.exit(0 if asyncio.run(_probe(sys.argv[1])) else 1)
