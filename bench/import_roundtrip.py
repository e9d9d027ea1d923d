"""Import round trip (issue #8): a template downloaded, filled with 100,000 rows, imported, exported unchanged.

    .venv/bin/python bench/import_roundtrip.py                       # 100,000 enterprises, xlsx, SQLite in /tmp
    .venv/bin/python bench/import_roundtrip.py --rows 2000 --format csv
    .venv/bin/python bench/import_roundtrip.py \
        --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench_roundtrip
    .venv/bin/python bench/import_roundtrip.py --resource kpi_facts --rows 36000

Against a fresh database (a SQLite file under /tmp, or a scratch PostgreSQL database that is created first
and dropped afterwards): migrates it with the project's Alembic scripts, creates an officer and logs in with
the password grant, then talks to the real app **in process** (httpx.ASGITransport: no port, no uvicorn;
the import job runs as the app's own asyncio task in the same event loop, as it would under uvicorn):

1. downloads the import template (xlsx or CSV) and checks its header row;
2. fills it with N valid, distinct rows, written as the export writes them: openpyxl write-only for xlsx
   (numbers as numbers, dates as date cells, text as text; the template's 说明 sheet kept), CSV as UTF-8
   with BOM and CRLF (money with two decimals, ISO dates). Enterprises: USCCs with GB 32100-2015 check
   characters, Chinese names, capital with two decimals, dates, three currencies, every source and status,
   zones on three rows in four and the officer as chief service officer on every tenth;
3. uploads it, polls the job to its end, records wall time, rows/s, status and result counts;
4. exports the list in the same format, keeps the template's columns and compares every cell with the
   filled file, matched by the row's key (no normalisation: the file is written as the export writes it);
   prints "round trip: identical" or the first differences and exits 1 if there are any;
5. imports the same file again and checks every row is `unchanged`;
6. prints the timings and the process's peak RSS (resource.getrusage: client, app and job together).

Unless `--bare`, the first import is instrumented from here (no app code is changed): SQL statements are
counted and timed per statement (SQLAlchemy cursor events), and the job's phases — reading the file,
checking rows, the service's writes, audit records, the change-log flush hook — are timed by wrapping the
runner's and services' functions. `--profile FILE` runs the first import under cProfile instead (slower).
"""

import argparse
import asyncio
import cProfile
import csv
import io
import math
import pstats
import re
import resource
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import asyncpg
import httpx
from alembic import command
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, AsyncSessionTransaction
from sqlalchemy.orm import Session

from app.core.config import Environment, Settings
from app.core.migrations import alembic_config
from app.core.principal import SYSTEM
from app.core.scopes import Role
from app.main import create_app
from app.models import change as change_log
from app.reference.industries import DIVISIONS
from app.schemas.user import UserCreate
from app.services import audit, enterprises, kpi_facts, users
from app.services.calculators.uscc import check_character
from app.services.imports import runner
from app.services.imports.specs import SPECS

SECRET_KEY = "bench-roundtrip-" + "x" * 40
USERNAME = "bench.officer"
PASSWORD = "bench-officer-password-1"  # noqa: S105 - a scratch database's account
XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Value = str | int | Decimal | date | None
Headers = dict[str, str]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# --- the scratch database ---------------------------------------------------------------------------------


def _pg_admin_dsn(url: str) -> tuple[str, str]:
    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    return admin, str(parsed.database)


async def _pg(url: str, sql: str) -> None:
    admin, _ = _pg_admin_dsn(url)
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def create_database(url: str) -> None:
    if url.startswith("sqlite"):
        path = Path(str(make_url(url).database))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    _, name = _pg_admin_dsn(url)
    asyncio.run(_pg(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(_pg(url, f'CREATE DATABASE "{name}"'))


def drop_database(url: str) -> None:
    if url.startswith("sqlite"):
        path = Path(str(make_url(url).database))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    _, name = _pg_admin_dsn(url)
    asyncio.run(_pg(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def make_settings(url: str) -> Settings:
    return Settings(
        _env_file=None,
        environment=Environment.test,
        secret_key=SECRET_KEY,
        database_url=url,
        log_level="WARNING",
        cors_origins=[],
        demo_admin_password=None,
        access_token_ttl_seconds=86_400,  # a long import must not outlive the poller's token
    )


def migrate(settings: Settings) -> None:
    config = alembic_config(settings)
    config.attributes["configure_logging"] = False
    command.upgrade(config, "head")


# --- instrumentation (first import only) --------------------------------------------------------------------


@dataclass
class Stat:
    count: int = 0
    seconds: float = 0.0

    def add(self, seconds: float) -> None:
        self.count += 1
        self.seconds += seconds


@dataclass
class Instruments:
    on: bool = False
    sql: dict[str, Stat] = field(default_factory=dict)
    phases: dict[str, Stat] = field(default_factory=dict)

    def phase(self, name: str, seconds: float) -> None:
        if self.on:
            self.phases.setdefault(name, Stat()).add(seconds)


_SELECT_LIST = re.compile(r"^SELECT (\S+?)(?:, .*?)? FROM ", re.S)
_INSERT_LIST = re.compile(r"^(INSERT INTO \S+) \(.*?\) (VALUES|SELECT)", re.S)
_SPACES = re.compile(r"\s+")


def statement_label(sql: str) -> str:
    text = _SPACES.sub(" ", sql).strip()
    text = _SELECT_LIST.sub(lambda m: f"SELECT {m[1]}, … FROM ", text)  # noqa: S608 - a label, not a query
    text = _INSERT_LIST.sub(lambda m: f"{m[1]} (…) {m[2]}", text)
    text = re.sub(r"SAVEPOINT \w+", "SAVEPOINT sp", text)
    return text if len(text) <= 110 else text[:107] + "…"


def replace(module: ModuleType | type, name: str, value: Any) -> None:
    """Swaps a module's function for a timed one (callers look it up on the module at each call)."""
    setattr(module, name, value)


def instrument(app: Any, inst: Instruments) -> None:
    """Counts and times every SQL statement and the import's phases while `inst.on` is set."""
    engine = app.state.database.engine.sync_engine
    for name in (  # printed in this order (a parent before what it contains)
        "read the file (parse cells)",
        "check rows (typing + input model)",
        "write rows (spec.apply)",
        "  › savepoint: begin_nested() enter",
        "  › enterprises.create_enterprise",
        "    › enterprises._check_uscc_free",
        "    › enterprises._check_references",
        "    › session.flush() in the service",
        "      › change-log after_flush hook (+ INSERT)",
        "    › audit.record (building the row)",
        "  › savepoint: exit (flush + RELEASE)",
        "  › kpi_facts.upsert_facts",
    ):
        inst.phases[name] = Stat()

    def before(conn: Any, _cursor: Any, _stmt: str, _params: Any, _context: Any, _many: bool) -> None:
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def after(conn: Any, _cursor: Any, stmt: str, _params: Any, _context: Any, _many: bool) -> None:
        started = conn.info["bench_started"].pop()
        if inst.on:
            inst.sql.setdefault(statement_label(stmt), Stat()).add(time.perf_counter() - started)

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)

    read_rows: Callable[..., Iterator[Any]] = getattr(runner, "rows")  # noqa: B009 - not re-exported

    def timed_rows(path: Path, file_format: Any) -> Iterator[Any]:
        iterator = read_rows(path, file_format)
        while True:
            started = time.perf_counter()
            try:
                item = next(iterator)
            except StopIteration:
                return
            finally:
                inst.phase("read the file (parse cells)", time.perf_counter() - started)
            yield item

    replace(runner, "rows", timed_rows)

    check_row = runner._check_row

    def timed_check(*args: Any) -> Any:
        started = time.perf_counter()
        try:
            return check_row(*args)
        finally:
            inst.phase("check rows (typing + input model)", time.perf_counter() - started)

    replace(runner, "_check_row", timed_check)

    def timed_async(name: str, function: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await function(*args, **kwargs)
            finally:
                inst.phase(name, time.perf_counter() - started)

        return wrapper

    replace(runner, "_apply", timed_async("write rows (spec.apply)", runner._apply))
    replace(
        enterprises,
        "create_enterprise",
        timed_async("  › enterprises.create_enterprise", enterprises.create_enterprise),
    )
    replace(kpi_facts, "upsert_facts", timed_async("  › kpi_facts.upsert_facts", kpi_facts.upsert_facts))

    for name in ("_check_uscc_free", "_check_references"):
        replace(enterprises, name, timed_async(f"    › enterprises.{name}", getattr(enterprises, name)))
    # The library's own steps, timed around (SQLAlchemy's asyncio classes, in this process only).
    replace(AsyncSession, "flush", timed_async("    › session.flush() in the service", AsyncSession.flush))
    replace(
        AsyncSessionTransaction,
        "__aenter__",
        timed_async("  › savepoint: begin_nested() enter", AsyncSessionTransaction.__aenter__),
    )
    replace(
        AsyncSessionTransaction,
        "__aexit__",
        timed_async("  › savepoint: exit (flush + RELEASE)", AsyncSessionTransaction.__aexit__),
    )

    record = audit.record

    def timed_record(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return record(*args, **kwargs)
        finally:
            inst.phase("    › audit.record (building the row)", time.perf_counter() - started)

    replace(audit, "record", timed_record)

    hook = change_log._log_changes
    event.remove(Session, "after_flush", hook)

    def timed_hook(session: Session, flush: Any) -> None:
        started = time.perf_counter()
        try:
            hook(session, flush)
        finally:
            inst.phase("      › change-log after_flush hook (+ INSERT)", time.perf_counter() - started)

    event.listen(Session, "after_flush", timed_hook)


# --- the rows ---------------------------------------------------------------------------------------------

AREAS = ("440103", "440104", "440105", "440106", "440111", "440112", "440113", "440114")
PLACES = ("海珠", "琶洲", "天河", "越秀", "荔湾", "白云", "黄埔", "番禺", "花都", "南沙")
WORDS = ("数字", "智能", "云端", "星河", "鲲鹏", "蓝海", "华信", "粤芯", "恒通", "新元", "瑞丰", "锦程")
KINDS = ("科技", "信息技术", "网络科技", "电子商务", "文化传媒", "贸易", "供应链管理", "生物医药")
FORMS = ("有限公司", "股份有限公司", "有限责任公司")
DIGITS = "零一二三四五六七八九"
DIVISION_CODES = sorted(DIVISIONS)
SOURCES = ("new", "relocated", "existing")
CURRENCIES = ("CNY",) * 8 + ("USD", "HKD")


def uscc(serial: int) -> str:
    first17 = f"91{AREAS[serial % len(AREAS)]}MA5{serial:06d}"
    return first17 + check_character(first17)


def chinese_number(n: int) -> str:
    return "".join(DIGITS[int(d)] for d in str(n))


def enterprise_row(serial: int, zone_ids: Sequence[int], officer_id: int) -> dict[str, Value]:
    """Row `serial` (1-based) by field: distinct USCCs and names, every value valid."""
    established = date(1995, 1, 1) + timedelta(days=serial * 37 % 8000)
    settled = None if serial % 11 == 0 else established + timedelta(days=30 + serial % 900)
    operating = settled + timedelta(days=60 + serial % 120) if settled is not None and serial % 3 == 0 else None
    status = "deregistered" if serial % 23 == 0 else "relocated_out" if serial % 17 == 0 else "active"
    yuan = (serial * 7919) % 999_999_999 + 1  # under 10^9 yuan: 11 significant digits with the fen
    name = (
        f"广州{PLACES[serial % len(PLACES)]}{WORDS[serial // 10 % len(WORDS)]}{KINDS[serial // 7 % len(KINDS)]}"
        f"{chinese_number(serial)}号{FORMS[serial % len(FORMS)]}"
    )
    return {
        "uscc": uscc(serial),
        "name": name,
        "registered_capital": Decimal(f"{yuan}.{serial * 13 % 100:02d}"),
        "currency": CURRENCIES[serial % len(CURRENCIES)],
        "established_on": established,
        "settled_on": settled,
        "industry_code": DIVISION_CODES[serial % len(DIVISION_CODES)],
        "source": SOURCES[serial % len(SOURCES)],
        "status": status,
        "operations_started_on": operating,
        "parent_id": None,
        "zone_id": zone_ids[serial % len(zone_ids)] if serial % 4 else None,
        "service_officer_id": officer_id if serial % 10 == 0 else None,
    }


METRICS = ("revenue", "tax", "fixed_asset_investment")


def fact_row(serial: int, enterprise_ids: Sequence[int]) -> dict[str, Value]:
    """Row `serial` (1-based): enterprise × metric × month of 2018, monthly values (always consistent)."""
    index = serial - 1
    month = index % 12 + 1
    metric = METRICS[index // 12 % len(METRICS)]
    enterprise_id = enterprise_ids[index // (12 * len(METRICS))]
    cents = (serial * 104_729) % 10_000_000_000 + 100
    return {
        "uscc": None,
        "enterprise_id": enterprise_id,
        "metric": metric,
        "period": f"2018-{month:02d}",
        "reported_as": "monthly",
        "value": Decimal(cents).scaleb(-2),
    }


# --- files as the export writes them ---------------------------------------------------------------------


def csv_text(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def write_csv(path: Path, header: list[str], rows: Iterator[list[Value]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("\ufeff")
        writer = csv.writer(f, lineterminator="\r\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(csv_text(v) for v in row)


def write_xlsx(path: Path, template: bytes, rows: Iterator[list[Value]]) -> list[str]:
    """The template's first sheet (its header) filled in write-only mode, then its 说明 sheet as it was."""
    source = load_workbook(io.BytesIO(template))
    first = source.worksheets[0]
    header = [str(c.value) for c in first[1] if c.value is not None]
    book = Workbook(write_only=True)
    sheet = book.create_sheet(first.title)
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    cells = []
    for text in header:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = bold
        cells.append(cell)
    sheet.append(cells)
    for row in rows:
        out: list[Any] = []
        for value in row:
            if isinstance(value, date):
                cell = WriteOnlyCell(sheet)
                cell.value = value
                cell.number_format = "yyyy-mm-dd"
                out.append(cell)
            else:
                out.append(value)  # text as text, int and Decimal as numbers, None as an empty cell
        sheet.append(out)
    for other in source.worksheets[1:]:
        copy = book.create_sheet(other.title)
        for values in other.iter_rows(values_only=True):
            copy.append(list(values))
    book.save(path)
    return header


def read_table(path: Path) -> Iterator[list[Any]]:
    """Rows of a CSV (as text) or of an xlsx's first sheet (as openpyxl reads them)."""
    if path.suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as f:
            yield from csv.reader(f)
        return
    book = load_workbook(path, read_only=True)
    try:
        for values in book.worksheets[0].iter_rows(values_only=True):
            yield list(values)
    finally:
        book.close()


@dataclass
class Comparison:
    rows_file: int = 0
    rows_export: int = 0
    differences: list[str] = field(default_factory=list)
    difference_count: int = 0
    not_exported: list[str] = field(default_factory=list)
    same_order: bool = True

    @property
    def identical(self) -> bool:
        return self.difference_count == 0 and self.rows_file == self.rows_export


def compare(filled: Path, exported: Path, key_headers: Sequence[str], limit: int = 10) -> Comparison:
    """Every cell of the filled file's columns against the export's cell for the same key."""
    result = Comparison()
    file_rows = read_table(filled)
    header = [str(h) for h in next(file_rows)]
    export_rows = read_table(exported)
    export_header = [str(h) for h in next(export_rows)]
    where = {h: i for i, h in enumerate(export_header)}
    result.not_exported = [h for h in header if h not in where]
    compared = [(i, h, where[h]) for i, h in enumerate(header) if h in where]
    key_at = [where[h] for h in key_headers]
    exported_by_key: dict[tuple[Any, ...], tuple[int, list[Any]]] = {}
    for number, values in enumerate(export_rows, start=2):
        result.rows_export += 1
        exported_by_key[tuple(values[i] for i in key_at)] = (number, values)
    file_key_at = [header.index(h) for h in key_headers]

    def differ(text: str) -> None:
        result.difference_count += 1
        if len(result.differences) < limit:
            result.differences.append(text)

    for number, values in enumerate(file_rows, start=2):
        result.rows_file += 1
        key = tuple(values[i] for i in file_key_at)
        found = exported_by_key.pop(key, None)
        if found is None:
            differ(f"file row {number}: key {key} is not in the export")
            continue
        export_number, exported_values = found
        if export_number != number:
            result.same_order = False
        for index, name, export_index in compared:
            mine = values[index] if index < len(values) else None
            theirs = exported_values[export_index] if export_index < len(exported_values) else None
            if mine != theirs or type(mine) is not type(theirs):
                differ(
                    f"file row {number} (export row {export_number}), column {name}: "
                    f"file {mine!r} ≠ exported {theirs!r}"
                )
    for key, (export_number, _) in list(exported_by_key.items())[:limit]:
        differ(f"export row {export_number}: key {key} is not in the file")
    result.difference_count += max(0, len(exported_by_key) - limit)
    return result


# --- talking to the app ------------------------------------------------------------------------------------


@dataclass
class JobRun:
    status: str
    seconds: float
    server_seconds: float | None
    rows_processed: int
    result: dict[str, int] | None
    error_count: int
    errors: list[dict[str, Any]]
    problem: dict[str, Any] | None


def _instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


async def import_file(
    client: httpx.AsyncClient, headers: Headers, resource_name: str, path: Path, poll: float, label: str
) -> JobRun:
    started = time.perf_counter()
    with path.open("rb") as f:
        response = await client.post(
            f"/api/v1/imports/{resource_name}", files={"file": (path.name, f.read())}, headers=headers
        )
    if response.status_code != 202:
        raise SystemExit(f"{label}: upload answered {response.status_code}: {response.text}")
    location = response.headers["location"]
    last_report = started
    while True:
        await asyncio.sleep(poll)
        polled = await client.get(location, headers=headers)
        if polled.status_code != 200:
            print(f"  {label}: poll answered {polled.status_code} (retrying)", flush=True)
            continue
        job = polled.json()
        now = time.perf_counter()
        if job["status"] in ("succeeded", "failed"):
            break
        if now - last_report >= 30:
            last_report = now
            done = job["rows_processed"]
            rate = done / (now - started)
            print(f"  {label}: {done:,} rows after {now - started:,.0f} s ({rate:,.0f} rows/s)", flush=True)
    seconds = time.perf_counter() - started
    begun, ended = _instant(job["started_at"]), _instant(job["finished_at"])
    return JobRun(
        status=job["status"],
        seconds=seconds,
        server_seconds=(ended - begun).total_seconds() if begun and ended else None,
        rows_processed=job["rows_processed"],
        result=job["result"],
        error_count=job["error_count"],
        errors=job["errors"] or [],
        problem=job["problem"],
    )


async def download(client: httpx.AsyncClient, headers: Headers, url: str, params: dict[str, str], path: Path) -> int:
    async with client.stream("GET", url, params=params, headers=headers) as response:
        if response.status_code != 200:
            await response.aread()
            raise SystemExit(f"GET {url} answered {response.status_code}: {response.text}")
        with path.open("wb") as out:
            async for chunk in response.aiter_bytes():
                out.write(chunk)
    return path.stat().st_size  # noqa: ASYNC240 - one local stat


@asynccontextmanager
async def in_process(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=None) as client:  # noqa: S113 - in process
        yield client


# --- the run ------------------------------------------------------------------------------------------------


@dataclass
class Options:
    rows: int
    file_format: str
    resource_name: str
    database_url: str
    workdir: Path
    poll: float
    bare: bool
    profile: Path | None
    keep_files: bool


@dataclass
class Timings:
    values: dict[str, float] = field(default_factory=dict)
    rss: dict[str, float] = field(default_factory=dict)

    def mark(self, name: str, seconds: float) -> None:
        self.values[name] = seconds
        self.rss[name] = peak_rss_mb()


def print_instruments(inst: Instruments, rows: int, wall: float) -> None:
    print(f"\nwhere the first import's time went ({rows:,} rows, {wall:,.1f} s wall):")
    for name, stat in inst.phases.items():
        if not stat.count:
            continue
        per_row = stat.seconds / rows * 1e6
        print(f"  {name:<52} {stat.seconds:9.1f} s  {100 * stat.seconds / wall:5.1f} %  {per_row:8.0f} µs/row")
    total_sql = sum(s.seconds for s in inst.sql.values())
    count_sql = sum(s.count for s in inst.sql.values())
    print(
        f"  {'SQL, all statements (driver round trips)':<52} {total_sql:9.1f} s  {100 * total_sql / wall:5.1f} %  "
        f"{total_sql / rows * 1e6:8.0f} µs/row   {count_sql:,} statements, {count_sql / rows:.1f} per row"
    )
    print("\n  statements by total time (count, per row, total s, mean µs):")
    for label, stat in sorted(inst.sql.items(), key=lambda kv: -kv[1].seconds)[:14]:
        print(
            f"  {stat.count:>9,} {stat.count / rows:5.2f}/row {stat.seconds:8.1f} s "
            f"{stat.seconds / stat.count * 1e6:7.0f}  {label}"
        )


async def bench(options: Options, settings: Settings, timings: Timings) -> int:
    spec = SPECS[options.resource_name]
    app = create_app(settings)
    inst = Instruments()
    if not options.bare:
        instrument(app, inst)
    database = app.state.database
    async with database.session() as session:
        officer = await users.create_user(
            session,
            SYSTEM,
            UserCreate(username=USERNAME, display_name="基准测试专员", role=Role.officer, password=PASSWORD),
        )
    officer_id = officer.id
    fmt = options.file_format
    suffix = fmt
    work = options.workdir
    filled = work / f"roundtrip-{options.resource_name}-{options.rows}.{suffix}"
    exported = work / f"roundtrip-{options.resource_name}-{options.rows}-export.{suffix}"
    failures = 0
    profiler: cProfile.Profile | None = None
    first: JobRun | None = None
    try:
        async with in_process(app) as client:
            token = await client.post(
                "/api/v1/auth/token", data={"grant_type": "password", "username": USERNAME, "password": PASSWORD}
            )
            token.raise_for_status()
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}

            # References the rows point at.
            zone_ids: list[int] = []
            for code, name in (("PZ", "琶洲互联网创新集聚区"), ("PZ-CORE", "琶洲核心区"), ("ZJ", "中大国际创新生态谷")):
                made = await client.post(
                    "/api/v1/zones", json={"code": code, "name": name, "kind": "cluster"}, headers=headers
                )
                made.raise_for_status()
                zone_ids.append(int(made.json()["id"]))
            enterprise_ids: list[int] = []
            if options.resource_name == "kpi_facts":
                enterprise_ids = await setup_enterprises(client, headers, options, zone_ids, officer_id, timings)

            # 1. The template.
            started = time.perf_counter()
            template = await client.get(
                f"/api/v1/imports/{options.resource_name}/template", params={"format": fmt}, headers=headers
            )
            template.raise_for_status()
            if fmt == "csv":
                header = next(csv.reader(io.StringIO(template.content.decode("utf-8-sig"))))
            else:
                header = [str(c.value) for c in load_workbook(io.BytesIO(template.content)).worksheets[0][1]]
            by_header = {c.header: c.field for c in spec.columns}
            if header != [c.header for c in spec.columns]:
                raise SystemExit(f"the template's header is not the spec's: {header}")
            fields = [by_header[h] for h in header]

            def typed_rows() -> Iterator[list[Value]]:
                for serial in range(1, options.rows + 1):
                    if options.resource_name == "kpi_facts":
                        row = fact_row(serial, enterprise_ids)
                    else:
                        row = enterprise_row(serial, zone_ids, officer_id)
                    yield [row[f] for f in fields]

            # 2. Filled in.
            if fmt == "csv":
                write_csv(filled, header, typed_rows())
            else:
                write_xlsx(filled, template.content, typed_rows())
            timings.mark("fill the template", time.perf_counter() - started)
            size_mb = filled.stat().st_size / 1e6
            print(f"filled {filled} ({options.rows:,} rows, {size_mb:.1f} MB)", flush=True)

            # 3. Imported.
            inst.on = not options.bare
            if options.profile:
                profiler = cProfile.Profile()
            if profiler is not None:
                profiler.enable()
            first = await import_file(client, headers, options.resource_name, filled, options.poll, "import")
            if profiler is not None:
                profiler.disable()
            inst.on = False
            timings.mark("import", first.seconds)
            print(
                f"import: {first.status} in {first.seconds:,.1f} s (job {first.server_seconds or 0:,.1f} s), "
                f"{options.rows / first.seconds:,.0f} rows/s, result {first.result}, errors {first.error_count}",
                flush=True,
            )
            if first.status != "succeeded" or first.result is None or first.result["created"] != options.rows:
                print(f"  problem: {first.problem}\n  first errors: {first.errors[:5]}")
                return 1

            # 4. Exported and compared.
            started = time.perf_counter()
            export_path = "/api/v1/enterprises" if options.resource_name == "enterprises" else "/api/v1/kpi-facts"
            size = await download(client, headers, export_path, {"format": fmt}, exported)
            timings.mark("export", time.perf_counter() - started)
            print(f"export: {size / 1e6:.1f} MB in {timings.values['export']:,.1f} s", flush=True)
            started = time.perf_counter()
            keys = ["统一社会信用代码"] if options.resource_name == "enterprises" else ["企业编号", "指标", "报告期"]
            comparison = compare(filled, exported, keys)
            timings.mark("compare", time.perf_counter() - started)
            if comparison.not_exported:
                print(f"columns of the file the export does not have (not compared): {comparison.not_exported}")
            if comparison.identical:
                order = "same order" if comparison.same_order else "rows in another order"
                print(f"round trip: identical ({comparison.rows_file:,} rows, every template column, {order})")
            else:
                failures += 1
                print(
                    f"round trip: DIFFERENT — {comparison.difference_count:,} differences; file "
                    f"{comparison.rows_file:,} rows, export {comparison.rows_export:,} rows. First:"
                )
                for line in comparison.differences:
                    print(f"  {line}")

            # 5. Imported again.
            again = await import_file(client, headers, options.resource_name, filled, options.poll, "re-import")
            timings.mark("re-import", again.seconds)
            expected = {"created": 0, "updated": 0, "unchanged": options.rows}
            verdict = "all unchanged" if again.result == expected and again.status == "succeeded" else "NOT UNCHANGED"
            print(
                f"re-import: {again.status} in {again.seconds:,.1f} s, {options.rows / again.seconds:,.0f} rows/s, "
                f"result {again.result}: {verdict}",
                flush=True,
            )
            if verdict != "all unchanged":
                failures += 1
                print(f"  problem: {again.problem}\n  first errors: {again.errors[:5]}")
    finally:
        await database.dispose()
        if not options.keep_files:
            filled.unlink(missing_ok=True)
            exported.unlink(missing_ok=True)

    # 6. The table.
    backend = make_url(options.database_url).get_backend_name()
    print(f"\n{options.rows:,} {options.resource_name} rows, {fmt}, {backend}:")
    print(f"  {'phase':<22} {'seconds':>9} {'rows/s':>9} {'peak RSS after':>15}")
    for name, seconds in timings.values.items():
        rate = f"{options.rows / seconds:,.0f}" if name in ("import", "re-import", "export") else ""
        print(f"  {name:<22} {seconds:9.1f} {rate:>9} {timings.rss[name]:12.0f} MB")
    print(f"  peak RSS of the process: {peak_rss_mb():.0f} MB")
    if not options.bare and first is not None:
        print_instruments(inst, options.rows, first.seconds)
    if profiler is not None and options.profile is not None:
        profiler.dump_stats(options.profile)
        print(f"\ncProfile of the first import written to {options.profile}; top 30 by own time:")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
    return 1 if failures else 0


async def setup_enterprises(
    client: httpx.AsyncClient,
    headers: Headers,
    options: Options,
    zone_ids: Sequence[int],
    officer_id: int,
    timings: Timings,
) -> list[int]:
    """The enterprises the facts belong to, imported from a CSV first (timed apart)."""
    count = math.ceil(options.rows / (12 * len(METRICS)))
    spec = SPECS["enterprises"]
    fields = [c.field for c in spec.columns]
    path = options.workdir / f"roundtrip-setup-enterprises-{count}.csv"
    started = time.perf_counter()
    write_csv(
        path,
        [c.header for c in spec.columns],
        ([enterprise_row(n, zone_ids, officer_id)[f] for f in fields] for n in range(1, count + 1)),
    )
    job = await import_file(client, headers, "enterprises", path, options.poll, "setup")
    path.unlink(missing_ok=True)
    if job.status != "succeeded":
        raise SystemExit(f"setting up {count} enterprises failed: {job.problem} {job.errors[:3]}")
    listing = options.workdir / "roundtrip-setup-enterprises-export.csv"
    await download(client, headers, "/api/v1/enterprises", {"format": "csv"}, listing)
    rows = list(read_table(listing))
    listing.unlink(missing_ok=True)
    at = rows[0].index("编号")
    timings.mark(f"setup: {count:,} enterprises", time.perf_counter() - started)
    return [int(r[at]) for r in rows[1:]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--format", dest="file_format", choices=("xlsx", "csv"), default="xlsx")
    parser.add_argument("--resource", dest="resource_name", choices=("enterprises", "kpi_facts"), default="enterprises")
    parser.add_argument(
        "--database-url",
        default="sqlite+aiosqlite:////tmp/zhaoshang-roundtrip.db",
        help="a SQLite file (replaced) or postgresql+asyncpg://…/<scratch db> (created, then dropped)",
    )
    parser.add_argument("--workdir", type=Path, default=Path("/tmp"), help="where the files go")  # noqa: S108 - scratch files
    parser.add_argument("--poll", type=float, default=0.5, help="seconds between polls of the job")
    parser.add_argument("--bare", action="store_true", help="no instrumentation (SQL and phase timing)")
    parser.add_argument("--profile", type=Path, help="run the first import under cProfile, stats to this file")
    parser.add_argument("--keep", action="store_true", help="keep the database and the files")
    args = parser.parse_args()
    if not 1 <= args.rows <= 999_999:
        parser.error("--rows: 1 to 999,999 (the USCC serial has six digits)")
    if args.profile:
        args.bare = True  # one kind of measurement at a time
    options = Options(
        rows=args.rows,
        file_format=args.file_format,
        resource_name=args.resource_name,
        database_url=args.database_url,
        workdir=args.workdir,
        poll=args.poll,
        bare=args.bare,
        profile=args.profile,
        keep_files=args.keep,
    )
    settings = make_settings(options.database_url)
    timings = Timings()
    create_database(options.database_url)
    try:
        started = time.perf_counter()
        migrate(settings)
        timings.mark("migrate", time.perf_counter() - started)
        code = asyncio.run(bench(options, settings, timings))
    finally:
        if not args.keep:
            drop_database(options.database_url)
    print(f"\nfinished {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, python {sys.version.split()[0]}")
    sys.exit(code)


if __name__ == "__main__":
    main()
