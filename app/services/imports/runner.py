"""Running an import job: one streamed pass that checks and writes every row in one transaction.

The transaction is committed only for a real run without a single refused row; a dry run, or any error,
rolls it back, so a dry run reports exactly what the real run would do (service rules included) and a
failed run leaves nothing behind. Each row is written in a savepoint, so a row the service refuses is
reported and the rows after it are still tried: the report lists every refused row, not only the first.
Re-importing the same file finds every row unchanged.
"""

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import func, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import Database, rows_affected
from app.core.principal import Principal
from app.models import ImportJob, ImportStatus
from app.models.base import utcnow
from app.services.imports.base import Column, ImportSpec, Outcome
from app.services.imports.reading import MAX_ROWS, Cell, FileFormat, FileProblem, rows

logger = logging.getLogger("app.imports")

MAX_STORED_ERRORS = 1000
PROGRESS_EVERY = 5000
# Live progress of the jobs this process runs (the job row carries it too, where the database allows).
PROGRESS: dict[int, int] = {}


@dataclass
class Tally:
    rows: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: {o.value: 0 for o in Outcome})

    def refuse(self, row: int, column: Column | None, value: Any, code: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_STORED_ERRORS:
            self.errors.append(
                {
                    "row": row,
                    "column": column.header if column else None,
                    "value": None if value is None else str(value)[:200],
                    "code": code,
                    "message": message,
                }
            )


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 16):
            digest.update(chunk)
    return digest.hexdigest()


def _header(spec: ImportSpec, cells: list[Cell]) -> dict[int, Column]:
    by_header = {c.header: c for c in spec.columns}
    found = [str(c.value).strip() if c.value is not None else "" for c in cells]
    while found and not found[-1]:
        found.pop()
    unknown = [h for h in found if h not in by_header and h not in spec.ignored_headers]
    missing = [c.header for c in spec.columns if c.required and c.header not in found]
    repeated = sorted({h for h in found if h and found.count(h) > 1})
    if unknown or missing or repeated:
        parts = []
        if missing:
            parts.append(f"缺少列 / missing: {'、'.join(missing)}")
        if unknown:
            parts.append(f"无法识别的列 / unknown: {'、'.join(h or '（空）' for h in unknown)}")
        if repeated:
            parts.append(f"重复的列 / repeated: {'、'.join(repeated)}")
        raise FileProblem(
            "header_mismatch", "表头与模板不符 / the header row does not match the template: " + "；".join(parts)
        )
    return {i: by_header[h] for i, h in enumerate(found) if h in by_header}


def _cell_value(cell: Cell) -> Any:
    value = cell.value
    if isinstance(value, datetime):
        return value.date() if value.time() == datetime.min.time() else value
    if isinstance(value, float):
        # Excel stores numbers as doubles: repr gives the shortest text that reads back the same.
        return Decimal(repr(value)) if not value.is_integer() else int(value)
    if isinstance(value, str):
        value = value.strip()
        # The export writes text that starts like a formula with a leading ' (so Excel keeps it text).
        if value[:1] == "'" and value[1:2] in ("=", "+", "-", "@"):
            return value[1:]
    return value


def _records(spec: ImportSpec, path: Path, file_format: FileFormat) -> Iterator[tuple[int, list[Cell]]]:
    iterator = rows(path, file_format)
    header = next(iterator, None)
    if header is None:
        raise FileProblem("empty_file", "文件为空 / the file is empty")
    yield 1, header
    for number, cells in enumerate(iterator, start=2):
        if number - 1 > MAX_ROWS:
            raise FileProblem("too_many_rows", f"超过 {MAX_ROWS:,} 行上限 / more than {MAX_ROWS:,} rows")
        if any(c.value is not None for c in cells):
            yield number, cells


def _check_row(
    spec: ImportSpec, columns: dict[int, Column], number: int, cells: list[Cell], tally: Tally, seen: set[Any]
) -> BaseModel | None:
    values: dict[str, Any] = {}
    by_field: dict[str, Column] = {}
    failed = False
    for index, column in columns.items():
        cell = cells[index] if index < len(cells) else Cell(None)
        by_field[column.field] = column
        if cell.formula or (isinstance(cell.value, str) and cell.value.startswith("=")):
            tally.refuse(
                number, column, cell.value, "formula_not_allowed", "单元格不能是公式 / a cell may not hold a formula"
            )
            failed = True
            continue
        values[column.field] = _cell_value(cell)
    if failed:
        return None
    try:
        checked = spec.parse(values)
    except ValidationError as exc:
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else ""
            tally.refuse(number, by_field.get(name), values.get(name), str(error["type"]), error["msg"])
        return None
    key = spec.key(checked)
    if key is not None and key in seen:
        first = next(iter(columns.values()))
        tally.refuse(
            number, first, values.get(first.field), "duplicate_in_file", "与文件中前面的行重复 / repeats an earlier row"
        )
        return None
    seen.add(key)
    return checked


async def _apply(
    spec: ImportSpec,
    session: AsyncSession,
    actor: Principal,
    batch: list[tuple[int, BaseModel]],
    now: datetime,
    tally: Tally,
) -> None:
    applied = await spec.apply(session, actor, [row for _, row in batch], now)
    for refused in sorted(applied.refused, key=lambda r: r.index):
        number, row = batch[refused.index]
        column = next((c for c in spec.columns if c.field == refused.field), None)
        tally.refuse(number, column, getattr(row, refused.field, None), refused.code, refused.message)
    for outcome in applied.outcomes:
        tally.outcomes[outcome.value] += 1


async def run_job(
    database: Database,
    spec: ImportSpec,
    job_id: int,
    path: Path,
    file_format: FileFormat,
    actor: Principal,
    now: datetime,
) -> None:
    """Runs the job to its end and records the outcome on its row; never raises."""
    tally = Tally()
    problem: dict[str, Any] | None = None
    status = ImportStatus.failed
    await _set(database, job_id, status=ImportStatus.running, started_at=utcnow(), heartbeat_at=utcnow())
    try:
        async with database.savepoint_session() as session:
            job = await session.get(ImportJob, job_id)
            dry_run = job is None or job.dry_run
            problem = await _run(database, spec, session, job_id, path, file_format, actor, now, tally)
            if problem is None and tally.error_count == 0 and not dry_run:
                await session.commit()
            else:
                await session.rollback()
            if problem is None and tally.error_count == 0:
                status = ImportStatus.succeeded
    except Exception:
        logger.exception("import job %s failed", job_id)
        problem = {"code": "internal_error", "detail": "导入时发生内部错误 / the import failed on our side"}
    finally:
        PROGRESS.pop(job_id, None)
        path.unlink(missing_ok=True)  # noqa: ASYNC240 - one local unlink
    await _set(
        database,
        job_id,
        status=status,
        finished_at=utcnow(),
        rows_processed=tally.rows,
        error_count=tally.error_count,
        errors=sorted(tally.errors, key=lambda e: int(e["row"])),  # the service's refusals come per batch
        problem=problem,
        result=tally.outcomes,
    )


async def _run(
    database: Database,
    spec: ImportSpec,
    session: AsyncSession,
    job_id: int,
    path: Path,
    file_format: FileFormat,
    actor: Principal,
    now: datetime,
    tally: Tally,
) -> dict[str, Any] | None:
    seen: set[Any] = set()
    batch: list[tuple[int, BaseModel]] = []
    columns: dict[int, Column] = {}
    # SQLite has one writer: the open import transaction would block a progress update from another session.
    live_updates = database.engine.dialect.name != "sqlite"
    try:
        for number, cells in _records(spec, path, file_format):
            if number == 1:
                columns = _header(spec, cells)
                continue
            tally.rows += 1
            checked = _check_row(spec, columns, number, cells, tally, seen)
            # After a refused row the file will not be committed, but every later row is still checked
            # and tried, so the report is complete.
            if checked is not None:
                batch.append((number, checked))
            if len(batch) >= spec.batch_size:
                await _apply(spec, session, actor, batch, now, tally)
                batch = []
            if tally.rows % PROGRESS_EVERY == 0:
                PROGRESS[job_id] = tally.rows
                if live_updates:
                    await _set(database, job_id, rows_processed=tally.rows, heartbeat_at=utcnow())
        if batch:
            await _apply(spec, session, actor, batch, now, tally)
    except FileProblem as exc:
        return {"code": exc.code, "detail": exc.detail}
    if not columns:
        return {"code": "empty_file", "detail": "文件为空 / the file is empty"}
    return None


async def _set(database: Database, job_id: int, **values: Any) -> None:
    async with database.session() as session:
        await session.execute(update(ImportJob).where(ImportJob.id == job_id).values(**values))


INTERRUPTED = {
    "code": "interrupted",
    "detail": "服务在导入过程中重启，未写入任何数据，请重新上传 / the server restarted during the import; nothing was "
    "written: upload the file again",
}


async def fail_abandoned(database: Database, stale_after: timedelta) -> int:
    """Marks failed the jobs whose worker is gone (queued or running, no heartbeat for `stale_after`).

    Their transaction died with the worker, so nothing was written. On SQLite a job still running holds the
    write lock, so this waits (busy timeout) and gives up rather than touch it; so it does when the database
    is unreachable or not migrated yet (readiness reports those).
    """
    now = utcnow()
    cut_off = now - stale_after
    try:
        async with database.session() as session:
            result = await session.execute(
                update(ImportJob)
                .where(
                    ImportJob.status.in_((ImportStatus.queued, ImportStatus.running)),
                    func.coalesce(ImportJob.heartbeat_at, ImportJob.created_at) < cut_off,
                )
                .values(status=ImportStatus.failed, finished_at=now, problem=INTERRUPTED)
                .execution_options(synchronize_session=False)
            )
    except SQLAlchemyError:
        # Busy (SQLite: a live import holds the lock), unreachable, or not migrated yet: the next start checks.
        logger.warning("abandoned import jobs not checked", exc_info=True)
        return 0
    count = rows_affected(result)
    if count:
        logger.warning("%s abandoned import jobs marked failed", count)
    return count
