"""`format=csv|xlsx` on list endpoints: the whole filtered, sorted list as a streamed download.

A list route takes `export: ExportDep`, documents `responses=EXPORT_RESPONSES`, and when `export.wanted`
returns `await export.respond(actor, "企业库", EnterpriseRead, service.enterprises_query(flt, page.sort),
each(lambda e: to_read(e, actor)))`: the same statement, order and item converter as its JSON page.

The rows are counted first (more than MAX_EXPORT_ROWS: 422 `export_too_large`, before anything is sent),
then read in batches by a session of the export's own (the request's session is closed once the handler
returns), so memory stays flat however many rows there are. xlsx is written to a temporary file that is
streamed in chunks and deleted.
"""

import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

import anyio
from fastapi import Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import SessionDep, TodayDep
from app.core.db import Database
from app.core.errors import ProblemError, problem_responses
from app.core.masking import mask_national_id
from app.core.principal import Principal
from app.services import audit
from app.services.exports import (
    MAX_EXPORT_ROWS,
    CsvWriter,
    ExportFormat,
    Money,
    MoneyUnit,
    Table,
    XlsxWriter,
    filename,
)
from app.services.pagination import batches, count

M = TypeVar("M", bound=BaseModel)

CSV_MEDIA_TYPE = "text/csv"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BATCH_SIZE = 500
CHUNK_SIZE = 64 * 1024
# Filter values not copied into the audit trail as they are.
_PERSONAL_FILTERS = {"national_id": mask_national_id}

# Turns a batch of rows into the read models of the JSON items (it may query, e.g. counts per batch).
Convert = Callable[[AsyncSession, Sequence[Any]], Awaitable[Iterable[M]]]

_DESCRIPTION = (
    "The page as JSON; with `format=csv` or `format=xlsx` the **whole** filtered list as a file "
    "(`limit`/`offset` ignored, `sort` kept), at most 1,000,000 rows (more: 422 `export_too_large`). "
    "Columns are the JSON item's fields with Chinese headers; nested objects become `parent.child` columns."
)

EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": _DESCRIPTION,
        "content": {
            CSV_MEDIA_TYPE: {"schema": {"type": "string"}},
            XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
        },
    },
    422: problem_responses(422)[422]
    | {
        "description": "Validation failed; `errors[]` lists each field: `validation_failed`. "
        "An export of more than 1,000,000 rows: `export_too_large` (with `total` and `max_rows`)"
    },
}


def each(read: Callable[[Any], M]) -> Convert[M]:
    """A converter that reads rows one at a time, without queries of its own."""

    async def convert(_session: AsyncSession, rows: Sequence[Any]) -> list[M]:
        return [read(row) for row in rows]

    return convert


def _content_disposition(title: str, ascii_name: str, today: date, fmt: ExportFormat) -> str:
    fallback = f"{ascii_name}-{today.isoformat()}.{fmt.value}"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename(title, today, fmt), safe='')}"


@dataclass
class Export:
    format: ExportFormat
    money_unit: MoneyUnit
    request: Request
    session: AsyncSession
    today: date

    @property
    def wanted(self) -> bool:
        return self.format is not ExportFormat.json

    async def respond(
        self,
        actor: Principal,
        title: str,
        model: type[M],
        stmt: Select[Any],
        convert: Convert[M],
        money: Money = Money(),
        *,
        rows: bool = False,
    ) -> Response:
        """The download: `title` names the file (企业库-2026-12-02.csv), `model` gives the columns. `convert`
        gets ORM objects, or with `rows` the rows of a statement of columns."""
        total = await count(self.session, stmt)
        if total > MAX_EXPORT_ROWS:
            raise ProblemError(
                422,
                "export_too_large",
                f"导出行数 {total} 超过上限 {MAX_EXPORT_ROWS}，请缩小筛选范围 / "
                f"{total} rows is more than the {MAX_EXPORT_ROWS} an export holds; narrow the filters",
                extra={"total": total, "max_rows": MAX_EXPORT_ROWS},
            )
        path = self.request.url.path
        database: Database = self.request.app.state.database
        await self._record(database, actor, path, total)
        table = Table(model, self.money_unit, money)
        if self.format is ExportFormat.csv:
            body, media_type = _csv(database, stmt, convert, table, rows), f"{CSV_MEDIA_TYPE}; charset=utf-8"
        else:
            body, media_type = _xlsx(database, stmt, convert, table, title, rows), XLSX_MEDIA_TYPE
        ascii_name = path.removeprefix("/api/v1/").strip("/").replace("/", "-") or "export"
        headers = {
            "Content-Disposition": _content_disposition(title, ascii_name, self.today, self.format),
            "X-Total-Count": str(total),
            "Cache-Control": "no-store",
        }
        return StreamingResponse(body, media_type=media_type, headers=headers)

    async def _record(self, database: Database, actor: Principal, path: str, total: int) -> None:
        # Exports carry personal data out of the system: who took which list, when, how many rows. Committed
        # before the first byte is sent; the list itself is read without a transaction (a GET).
        query = {
            key: _PERSONAL_FILTERS[key](value) if key in _PERSONAL_FILTERS else value
            for key, value in self.request.query_params.items()
        }
        after = {"format": self.format.value, "money_unit": self.money_unit.value, "query": query, "rows": total}
        async with database.session() as session:
            audit.record(session, actor, "export", "export", path, None, after)


async def export_params(
    request: Request,
    session: SessionDep,
    today: TodayDep,
    fmt: Annotated[
        ExportFormat,
        Query(
            alias="format",
            description="`json`: this page. `csv` (UTF-8 with BOM) or `xlsx`: every row matching the filters, "
            "in `sort` order, as a download; `limit`/`offset` are ignored.",
        ),
    ] = ExportFormat.json,
    money_unit: Annotated[
        MoneyUnit,
        Query(description="Unit of money columns in csv/xlsx: `yuan` 元, `wan` 万元, `yi` 亿元 (exact, not rounded)"),
    ] = MoneyUnit.yuan,
) -> Export:
    return Export(format=fmt, money_unit=money_unit, request=request, session=session, today=today)


ExportDep = Annotated[Export, Depends(export_params)]


async def _csv(
    database: Database, stmt: Select[Any], convert: Convert[M], table: Table, rows: bool
) -> AsyncIterator[bytes]:
    writer = CsvWriter(table)
    yield writer.header()
    async with database.session() as session:
        async for batch in batches(session, stmt, BATCH_SIZE, rows=rows):
            yield writer.rows(await convert(session, batch))


async def _xlsx(
    database: Database, stmt: Select[Any], convert: Convert[M], table: Table, title: str, rows: bool
) -> AsyncIterator[bytes]:
    handle, name = tempfile.mkstemp(prefix="export-", suffix=".xlsx")
    os.close(handle)
    path = Path(name)
    writer: XlsxWriter | None = None
    try:
        writer = XlsxWriter(table, title)
        async with database.session() as session:
            async for batch in batches(session, stmt, BATCH_SIZE, rows=rows):
                items = list(await convert(session, batch))
                # Writing cells is CPU work: off the event loop, one batch at a time, in order.
                await anyio.to_thread.run_sync(writer.rows, items)
        await anyio.to_thread.run_sync(writer.save, path)
        async with await anyio.open_file(path, "rb") as file:
            while chunk := await file.read(CHUNK_SIZE):
                yield chunk
    finally:
        if writer is not None:
            writer.discard()
        # Synchronous on purpose: an await here would not run once the download is cancelled.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
