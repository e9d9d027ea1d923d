"""The raw-driver baseline the load benchmark compares the service with: a bare ASGI callable (no framework,
no ORM, no validation, no auth), asyncpg and orjson, served by the same uvicorn set-up as the service.

    uvicorn bench.baseline:app --workers 2 --loop uvloop --http httptools --port 8101

It answers the benchmark's requests with the least work that gives the same result, running the service's
own SQL (compiled or recorded by bench/load.py into var/bench-statements.pickle before it starts):

- `/enterprises` and `/enterprises/{id}`: the service's statement for the list page and for the record,
  shaped into the same JSON document (the harness checks they are equal);
- `/kpi-summary?zone_id=&metric_id=&year=&month=`: the comparable-basis aggregate as ONE SQL statement;
- `/replay/{name}`: the statements the service ran for that request (minus the caller's account lookup),
  in order, their rows dumped as JSON;
- `/export`: the enterprise list as the service's CSV, byte for byte, from a server-side cursor.

DATABASE_URL (asyncpg form), DATABASE_POOL_SIZE and REPLICA_URL (optional: the analytics' replica, as the
service's DATABASE_REPLICA_URL) come from the environment.
"""

import csv
import io
import os
import pickle
from collections.abc import Awaitable, Callable, MutableMapping
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import asyncpg
import orjson

from app.reference.industries import DIVISIONS, SECTIONS
from app.schemas.enterprise import EnterpriseRead
from app.services.exports import Table

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

STATEMENTS = Path(__file__).resolve().parents[1] / "var" / "bench-statements.pickle"
SUMMARY = """
WITH RECURSIVE zone_subtree(id) AS (
    SELECT id FROM zones WHERE id = $1
    UNION SELECT z.id FROM zones z JOIN zone_subtree ON z.parent_id = zone_subtree.id
), paired AS (
    SELECT e.id, c.ytd_value AS current_value, b.ytd_value AS base_value
    FROM enterprises e
    LEFT JOIN kpi_facts c
        ON c.enterprise_id = e.id AND c.metric_id = $2 AND c.year = $3 AND c.month = $4
    LEFT JOIN kpi_facts b
        ON b.enterprise_id = e.id AND b.metric_id = $2 AND b.year = $3 - 1 AND b.month = $4
    WHERE e.zone_id = ANY(ARRAY(SELECT id FROM zone_subtree))
)
SELECT sum(current_value) AS actual,
       sum(current_value) FILTER (WHERE current_value IS NOT NULL AND base_value IS NOT NULL) AS comparable_current,
       sum(base_value) FILTER (WHERE current_value IS NOT NULL AND base_value IS NOT NULL) AS comparable_base,
       count(*) FILTER (WHERE (current_value IS NULL) <> (base_value IS NULL)) AS excluded_count
FROM paired
"""
# The service's column headers for the enterprise list, read once from its export code.
HEADER = Table(EnterpriseRead).headers


class State:
    pool: asyncpg.Pool
    analytics: asyncpg.Pool  # the replica's when REPLICA_URL is set, as the service's analytics
    statements: dict[str, Any]


state = State()


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value))


def dumps(document: Any) -> bytes:
    return orjson.dumps(document, default=_default, option=orjson.OPT_UTC_Z)


async def _reply(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _enterprise(row: asyncpg.Record) -> dict[str, Any]:
    """The service's JSON item from a row of its statement (children as JSON text: [[…], …])."""
    section = DIVISIONS[row["industry_code"]][0]
    return {
        "id": row["id"],
        "uscc": row["uscc"],
        "name": row["name"],
        "registered_capital": row["registered_capital"],
        "currency": row["currency"],
        "established_on": row["established_on"],
        "settled_on": row["settled_on"],
        "industry": {
            "code": row["industry_code"],
            "name": DIVISIONS[row["industry_code"]][1],
            "section_code": section,
            "section_name": SECTIONS[section],
        },
        "source": row["source"],
        "status": row["status"],
        "operations_started_on": row["operations_started_on"],
        "investor_classes": [{"investor_class": c, "list_year": y} for c, y in orjson.loads(row["investor_classes"])],
        "parent_id": row["parent_id"],
        "zone_id": row["zone_id"],
        "service_officer_id": row["service_officer_id"],
        "contacts": [{"name": n, "phone": p, "position": q} for n, p, q in orjson.loads(row["contacts"])],
        "contacts_masked": False,
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "version": row["version"],
    }


async def enterprises(send: Send) -> None:
    """The list page the harness loads: the service's one statement (page, children, total)."""
    sql, params, limit, offset = state.statements["list"]
    rows = await state.pool.fetch(sql, *params)
    items = [_enterprise(r) for r in rows]
    total = rows[0]["total"] if rows else 0
    await _reply(send, 200, dumps({"items": items, "total": total, "limit": limit, "offset": offset}))


async def enterprise(send: Send, enterprise_id: int) -> None:
    sql, params, position = state.statements["detail"]
    arguments = list(params)
    arguments[position] = enterprise_id
    row = await state.pool.fetchrow(sql, *arguments)
    if row is None:
        await _reply(send, 404, b'{"status":404}')
        return
    await _reply(send, 200, dumps(_enterprise(row)))


async def kpi_summary(send: Send, query: dict[str, str]) -> None:
    args = (int(query["zone_id"]), int(query["metric_id"]), int(query["year"]), int(query["month"]))
    row = await state.analytics.fetchrow(SUMMARY, *args)
    await _reply(send, 200, dumps(dict(row)))


async def replay(send: Send, name: str) -> None:
    statements = state.statements["replay"].get(name)
    if statements is None:
        await _reply(send, 404, b'{"status":404}')
        return
    results = []
    async with state.analytics.acquire() as conn:
        for sql, params in statements:
            results.append([tuple(r) for r in await conn.fetch(sql, *params)])
    await _reply(send, 200, dumps(results))


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return orjson.dumps(value, option=orjson.OPT_UTC_Z)[1:-1].decode()
    return value


def _csv_row(item: dict[str, Any]) -> list[Any]:
    industry = item["industry"]
    cells = [
        item["id"],
        item["uscc"],
        item["name"],
        item["registered_capital"],
        item["currency"],
        item["established_on"],
        item["settled_on"],
        industry["code"],
        industry["name"],
        industry["section_code"],
        industry["section_name"],
        item["source"],
        item["status"],
        item["operations_started_on"],
        orjson.dumps(item["investor_classes"]).decode(),
        item["parent_id"],
        item["zone_id"],
        item["service_officer_id"],
        orjson.dumps(item["contacts"]).decode(),
        item["contacts_masked"],
        item["created_at"],
        item["updated_at"],
        item["version"],
    ]
    return [_cell(c) for c in cells]


async def export(send: Send) -> None:
    """The export the harness downloads, as the service writes it (UTF-8 with BOM, CRLF), from the service's
    statement through a server-side cursor, 500 rows at a time."""
    sql, params = state.statements["export"]
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/csv")]})
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(HEADER)
    async with state.pool.acquire() as conn, conn.transaction():
        cursor = await conn.cursor(sql, *params)
        while rows := await cursor.fetch(500):
            for r in rows:
                writer.writerow(_csv_row(_enterprise(r)))
            await send({"type": "http.response.body", "body": buffer.getvalue().encode(), "more_body": True})
            buffer.seek(0)
            buffer.truncate()
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            size = int(os.environ.get("DATABASE_POOL_SIZE", "10"))
            state.pool = await asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=size, max_size=size)
            replica = os.environ.get("REPLICA_URL")
            state.analytics = (
                await asyncpg.create_pool(replica, min_size=size, max_size=size) if replica else state.pool
            )
            state.statements = pickle.loads(STATEMENTS.read_bytes())  # noqa: S301 - the harness's file
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if state.analytics is not state.pool:
                await state.analytics.close()
            await state.pool.close()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    path: str = scope["path"]
    if path == "/enterprises":
        await enterprises(send)
    elif path.startswith("/enterprises/"):
        await enterprise(send, int(path.rsplit("/", 1)[1]))
    elif path == "/kpi-summary":
        query = {k: v[-1] for k, v in parse_qs(scope["query_string"].decode()).items()}
        await kpi_summary(send, query)
    elif path.startswith("/replay/"):
        await replay(send, path.rsplit("/", 1)[1])
    elif path == "/export":
        await export(send)
    elif path == "/readyz":
        await _reply(send, 200, b'{"status":"ready"}')
    else:
        await _reply(send, 404, b'{"status":404}')
