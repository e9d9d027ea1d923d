"""Load benchmark: the service against the raw-driver baseline, in the same run, on the city-scale database.

    .venv/bin/python bench/generate.py            # once: ~200,000 enterprises, 20,000 projects, ~13M facts
    .venv/bin/python bench/load.py                # every scenario, 10 s of wrk on each side
    .venv/bin/python bench/load.py --only list,detail --duration 20 --workers 2

Starts two servers with the same production set-up (`zhaoshang serve`: uvicorn, uvloop, httptools, WORKERS
processes, the connection pool of DATABASE_POOL_SIZE): the service, and `bench/baseline.py` (a bare ASGI
callable with asyncpg and orjson). Each scenario is checked first (the same JSON document, the same CSV
bytes, the same total), then loaded with wrk for `--duration` seconds on each side, one after the other,
with real tokens: a staff officer's (password grant) for the lists, the API client's (client credentials)
for the analytics. Prints requests/s, p50 and p99 per side, the ratio service / baseline, the peak memory of
the worker processes, and the exports: a 100,000-row enterprise CSV on both sides and a ~1,000,000-row KPI
fact CSV on the service, with the workers' peak RSS while it streams.

Needs wrk (Debian: `apt-get install wrk`). Talks only to 127.0.0.1.
"""

import argparse
import asyncio
import hashlib
import json
import os
import pickle
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.generate import ADMIN_PASSWORD, DEFAULT_URL, SECRET_KEY  # noqa: E402

APP_PORT, BASE_PORT = 8100, 8101
STATEMENTS_FILE = ROOT / "var" / "bench-statements.pickle"
LIST_STATUS, LIST_SORT, LIST_LIMIT = "active", "-registered_capital", 50


@dataclass
class Scenario:
    key: str
    title: str
    app: str  # path on the service
    base: str  # path on the baseline
    check: str  # json: the same document; total: the same aggregate; none: replayed statements
    connections: int  # wrk's; 0: one request at a time, `--rounds` of them (heavy reports), p50 and max
    caller: str = "staff"  # whose token: a staff officer's, or the API "client"'s
    lua_ids: tuple[int, int] | None = None  # spread `{id}` over this range with a wrk script
    results: dict[str, "Load"] = field(default_factory=dict)


@dataclass
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def server_env(url: str, workers: int, pool: int, replica: str | None) -> dict[str, str]:
    replica_settings = {"DATABASE_REPLICA_URL": _asyncpg_url(replica)} if replica else {}
    return (
        os.environ
        | replica_settings
        | {
            "DATABASE_URL": _asyncpg_url(url),
            "ENVIRONMENT": "production",
            "SECRET_KEY": SECRET_KEY,
            "WORKERS": str(workers),
            "DATABASE_POOL_SIZE": str(pool),
            "WEBHOOKS_ENABLED": "false",
            "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "INFO"),
        }
    )


def _asyncpg_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+asyncpg://", 1)


def start_servers(
    url: str, workers: int, pool: int, replica: str | None, log: Path, serving: tuple[str, str]
) -> tuple[subprocess.Popen[bytes], ...]:
    env = server_env(url, workers, pool, replica)
    out = log.open("ab")
    loop, http = serving
    service = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(APP_PORT), "--loop", loop, "--http", http],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=out,
    )
    baseline = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.baseline:app",
            "--port",
            str(BASE_PORT),
            "--workers",
            str(workers),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env | {"DATABASE_URL": url} | ({"REPLICA_URL": replica} if replica else {}),
        stdout=out,
        stderr=out,
    )
    for port in (APP_PORT, BASE_PORT):
        for _ in range(300):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        else:
            raise SystemExit(f"the server on port {port} did not become ready; see {log}")
    return service, baseline


def workers_of(pid: int) -> list[int]:
    """The uvicorn worker processes under a master (the master itself when it serves alone)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in children if "multiprocessing" not in Path(f"/proc/{c}/cmdline").read_text()] or [pid]


def _status(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb(pid: int) -> float:
    return max(_status(w, "VmHWM") for w in workers_of(pid))


@contextmanager
def rss_sampler(pid: int) -> Iterator[dict[str, float]]:
    """The highest VmRSS of any worker while the block runs (sampled every 50 ms), and the level before."""
    workers = workers_of(pid)
    seen = {"before": max(_status(w, "VmRSS") for w in workers), "peak": 0.0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            seen["peak"] = max(seen["peak"], *(_status(w, "VmRSS") for w in workers))
            time.sleep(0.05)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        stop.set()
        thread.join()


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def one_at_a_time(url: str, token: str | None, rounds: int) -> Load:
    """For requests that take seconds: `rounds` in a row after one warm-up; p99 is the slowest."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    times = []
    for n in range(rounds + 1):
        started = time.perf_counter()
        response = httpx.get(url, headers=headers, timeout=600)
        response.raise_for_status()
        if n:
            times.append((time.perf_counter() - started) * 1000)
    return Load(rounds / sum(times) * 1000, statistics.median(times), max(times), 0)


def wrk(url: str, token: str | None, connections: int, duration: int, ids: tuple[int, int] | None) -> Load:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "60s"]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    script = None
    if ids is not None:
        # Each request reads another row: `{id}` in the path is replaced by a random id in the range.
        prefix, _, suffix = url.partition("{id}")
        path_prefix = "/" + prefix.split("/", 3)[3]
        script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)  # noqa: SIM115
        script.write(
            f'math.randomseed(42)\nrequest = function()\n  return wrk.format(nil, "{path_prefix}" .. '
            f'math.random({ids[0]}, {ids[1]}) .. "{suffix}")\nend\n'
        )
        script.close()
        command += ["-s", script.name]
        url = prefix.rsplit("/", 1)[0]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    if script is not None:
        os.unlink(script.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: .*?timeout (\d+)", output)
    failed = int(errors.group(1)) if errors else 0
    failed += int(socket_errors.group(1)) if socket_errors else 0
    return Load(rps, p50, p99, failed)


@dataclass
class Data:
    district: int
    cluster: int
    city_cohort: int
    revenue: int
    first_enterprise: int
    last_enterprise: int
    export_settled_from: str
    export_rows: int
    fact_export_months: int
    fact_export_rows: int


async def read_data(url: str) -> Data:
    conn = await asyncpg.connect(url)
    try:
        district = await conn.fetchval("SELECT id FROM zones WHERE code = 'HZ'")
        cluster = await conn.fetchval("SELECT id FROM zones WHERE code = 'C05'")
        city = await conn.fetchval("SELECT id FROM cohorts WHERE code = 'city'")
        revenue = await conn.fetchval("SELECT id FROM metrics WHERE code = 'revenue'")
        first, last = await conn.fetchrow("SELECT min(id), max(id) FROM enterprises WHERE uscc LIKE '91%MA%'")
        # The settlement date from which ~100,000 of the district's active enterprises remain (the export).
        settled_from, rows = await conn.fetchrow(
            """
            WITH RECURSIVE tree(id) AS (
                SELECT $1::int UNION SELECT z.id FROM zones z JOIN tree ON z.parent_id = tree.id
            )
            SELECT settled_on, n FROM (
                SELECT settled_on, count(*) OVER (ORDER BY settled_on DESC) AS n
                FROM enterprises WHERE zone_id IN (SELECT id FROM tree) AND status = 'active'
                  AND settled_on IS NOT NULL
            ) t WHERE n >= 100000 ORDER BY n LIMIT 1
            """,
            district,
        ) or (None, 0)
        # As many months of 2018's revenue facts as stay under the export limit of 1,000,000 rows.
        per_month = await conn.fetchval(
            "SELECT count(*) FROM kpi_facts WHERE metric_id = $1 AND year = 2018 AND month = 1", revenue
        )
        months = max(1, min(12, 1_000_000 // max(per_month, 1)))
    finally:
        await conn.close()
    return Data(district, cluster, city, revenue, first, last, str(settled_from), rows, months, months * per_month)


def scenarios(d: Data) -> list[Scenario]:
    listing = f"zone_id={d.cluster}&status={LIST_STATUS}&sort={LIST_SORT}"
    return [
        Scenario("list", "enterprise list (zone, status, sort; 50 a page)", f"/api/v1/enterprises?{listing}",
                 f"/enterprises?{listing}", "json", 32),
        Scenario("detail", "enterprise detail (random id)", "/api/v1/enterprises/{id}", "/enterprises/{id}", "json",
                 32, lua_ids=(d.first_enterprise, d.last_enterprise)),
        Scenario("kpi", "KPI summary (district cohort, 2018-10)",
                 f"/api/v1/analytics/kpi-summary?cohort_id={d.city_cohort}&metric=revenue&period=2018-10",
                 f"/kpi-summary?zone_id={d.district}&metric_id={d.revenue}&year=2018&month=10", "total", 0,
                 caller="client"),
        Scenario("intensity", "zone intensity (cluster, 2018-10)",
                 f"/api/v1/analytics/kpi-intensity?zone_id={d.cluster}&metric=revenue&period=2018-10",
                 "/replay/intensity", "none", 4, caller="client"),
        Scenario("overdue", "overdue milestones (as of 2018-10-31)", "/api/v1/milestones/overdue?as_of=2018-10-31",
                 "/replay/overdue", "none", 4),
        Scenario("report", "annual report 2018 (JSON)", "/api/v1/reports/annual/2018", "/replay/report", "none", 0,
                 caller="client"),
    ]  # fmt: skip


def compiled(stmt: Any, values: dict[str, Any] | None = None) -> tuple[str, tuple[Any, ...]]:
    """The statement as the service sends it through asyncpg: SQL with $n parameters, and their values."""
    from sqlalchemy.dialects.postgresql.asyncpg import dialect

    sql = stmt.compile(dialect=dialect())  # type: ignore[no-untyped-call]
    params = sql.construct_params(values or {})
    return str(sql), tuple(params[name] for name in sql.positiontup)


async def record_statements(url: str, data: "Data", items: list[Scenario]) -> None:
    """Writes the service's SQL for the baseline: the enterprise page, record and export statements compiled
    from the service's own builders, and for each replayed scenario the statements the app sent when it ran
    the request once in this process (minus the caller's account lookup, which the baseline does not do)."""
    from sqlalchemy import event

    from app.core.config import Settings
    from app.main import create_app
    from app.models import EnterpriseStatus
    from app.services import enterprises
    from app.services.pagination import PageRequest

    listing = enterprises.EnterpriseFilter(zone_id=data.cluster, status=EnterpriseStatus.active)
    page = PageRequest(limit=LIST_LIMIT, offset=0, sort=(LIST_SORT,))
    detail_sql, detail_params = compiled(enterprises.RECORD_STATEMENT, {"enterprise_id": -1})
    export_filter = enterprises.EnterpriseFilter(
        zone_id=data.district, status=EnterpriseStatus.active, settled_from=date.fromisoformat(data.export_settled_from)
    )
    statements: dict[str, Any] = {
        "list": (*compiled(*enterprises.page_statement(listing, page)), page.limit, page.offset),
        "detail": (detail_sql, detail_params, detail_params.index(-1)),
        "export": compiled(enterprises.enterprise_reads(export_filter, ("name",))),
        "replay": {},
    }

    settings = Settings(
        database_url=url.replace("postgresql://", "postgresql+asyncpg://", 1),
        secret_key=SECRET_KEY,
        webhooks_enabled=False,
        log_level="WARNING",
    )
    app = create_app(settings)
    recorded: list[tuple[str, tuple[Any, ...]]] = []

    def before(_conn: Any, _cursor: Any, sql: str, params: Any, _context: Any, _many: bool) -> None:
        if "FROM users" not in sql and "FROM api_clients" not in sql:
            recorded.append((sql, tuple(params or ())))

    event.listen(app.state.database.engine.sync_engine, "before_cursor_execute", before)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=600) as client:
            token = await _token(client, "client")
            for s in items:
                if s.check != "none":
                    continue
                recorded.clear()
                response = await client.get(s.app, headers={"Authorization": f"Bearer {token}"})
                response.raise_for_status()
                statements["replay"][s.base.rsplit("/", 1)[1]] = list(recorded)
    await app.state.database.dispose()
    STATEMENTS_FILE.parent.mkdir(exist_ok=True)
    STATEMENTS_FILE.write_bytes(pickle.dumps(statements))
    for name, sql in statements["replay"].items():
        print(f"  recorded {name}: {len(sql)} statements")


async def _token(client: httpx.AsyncClient, kind: str) -> str:
    if kind == "staff":
        form = {"grant_type": "password", "username": "admin", "password": ADMIN_PASSWORD}
    else:
        saved = json.loads((ROOT / "var" / "bench-client.json").read_text(encoding="utf-8"))
        form = {
            "grant_type": "client_credentials",
            "client_id": saved["client_id"],
            "client_secret": saved["client_secret"],
        }
    response = await client.post("/api/v1/auth/token", data=form)
    response.raise_for_status()
    return str(response.json()["access_token"])


def token(kind: str) -> str:
    async def fetch() -> str:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{APP_PORT}") as client:
            return await _token(client, kind)

    return asyncio.run(fetch())


def check(s: Scenario, tok: str, d: Data) -> None:
    path = s.app.replace("{id}", str(d.first_enterprise + 7))
    app = httpx.get(f"http://127.0.0.1:{APP_PORT}{path}", headers={"Authorization": f"Bearer {tok}"}, timeout=600)
    base = httpx.get(f"http://127.0.0.1:{BASE_PORT}{s.base.replace('{id}', str(d.first_enterprise + 7))}", timeout=600)
    app.raise_for_status()
    base.raise_for_status()
    if s.check == "json" and app.json() != base.json():
        raise SystemExit(f"{s.key}: the service and the baseline answer differently")
    if s.check == "total":
        body, row = app.json(), base.json()
        for key in ("actual", "comparable_current", "comparable_base", "excluded_count"):
            if str(body[key]) != str(row[key]):
                raise SystemExit(f"{s.key}: {key} differs: {body[key]} != {row[key]}")


def timed_download(url: str, headers: dict[str, str]) -> tuple[float, int, str]:
    started = time.perf_counter()
    digest, size = hashlib.sha256(), 0
    with httpx.stream("GET", url, headers=headers, timeout=3600) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            digest.update(chunk)
            size += len(chunk)
    return time.perf_counter() - started, size, digest.hexdigest()


def exports(d: Data, service: subprocess.Popen[bytes], baseline: subprocess.Popen[bytes]) -> list[str]:
    lines = []
    filters = f"zone_id={d.district}&status=active&settled_from={d.export_settled_from}"
    staff = {"Authorization": f"Bearer {token('staff')}"}
    with rss_sampler(service.pid) as app_rss:
        app_s, app_size, app_hash = timed_download(
            f"http://127.0.0.1:{APP_PORT}/api/v1/enterprises?format=csv&{filters}", staff
        )
    with rss_sampler(baseline.pid) as base_rss:
        base_s, base_size, base_hash = timed_download(f"http://127.0.0.1:{BASE_PORT}/export", {})
    same = "identical bytes" if app_hash == base_hash else f"DIFFERENT ({app_size:,} vs {base_size:,} bytes)"
    lines.append(
        f"| enterprise CSV, {d.export_rows:,} rows | {d.export_rows / app_s:,.0f} rows/s ({app_s:.1f} s) "
        f"| {d.export_rows / base_s:,.0f} rows/s ({base_s:.1f} s) | {base_s / app_s:.2f}× "
        f"| {app_rss['before']:.0f} → {app_rss['peak']:.0f} | {base_rss['before']:.0f} → {base_rss['peak']:.0f} "
        f"| {same} |"
    )
    facts = f"metric=revenue&year=2018&month_from=1&month_to={d.fact_export_months}"
    staff = {"Authorization": f"Bearer {token('staff')}"}
    with rss_sampler(service.pid) as app_rss:
        fact_s, fact_size, _ = timed_download(f"http://127.0.0.1:{APP_PORT}/api/v1/kpi-facts?format=csv&{facts}", staff)
    lines.append(
        f"| KPI fact CSV, {d.fact_export_rows:,} rows ({fact_size / 1e6:.0f} MB) | {d.fact_export_rows / fact_s:,.0f} "
        f"rows/s ({fact_s:.1f} s) | – | – | {app_rss['before']:.0f} → {app_rss['peak']:.0f} | – | – |"
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per side and scenario")
    parser.add_argument("--rounds", type=int, default=5, help="requests in a row for the one-at-a-time scenarios")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="server processes (both sides)")
    parser.add_argument("--pool", type=int, default=10, help="connections per worker (both sides)")
    parser.add_argument("--only", help="comma-separated scenario keys: list,detail,kpi,intensity,overdue,report")
    parser.add_argument("--no-exports", action="store_true")
    parser.add_argument(
        "--replica-url", help="a streaming replica (bench/replica.sh start): analytics read it on both sides"
    )
    parser.add_argument("--loop", default="uvloop", help="the service's event loop: uvloop, asyncio")
    parser.add_argument("--http", default="httptools", help="the service's HTTP parser: httptools, h11")
    args = parser.parse_args()

    data = asyncio.run(read_data(args.url))
    chosen = [s for s in scenarios(data) if not args.only or s.key in args.only.split(",")]
    print(f"recording the service's SQL for the baseline ({', '.join(s.key for s in chosen)})")
    asyncio.run(record_statements(args.url, data, chosen))
    log = ROOT / "var" / "bench-servers.log"
    service, baseline = start_servers(args.url, args.workers, args.pool, args.replica_url, log, (args.loop, args.http))
    try:
        tokens = {"staff": token("staff"), "client": token("client")}
        for s in chosen:
            check(s, tokens[s.caller], data)
            tokens = {"staff": token("staff"), "client": token("client")}  # fresh: a run outlasts a token
            app_url = f"http://127.0.0.1:{APP_PORT}{s.app}"
            base_url = f"http://127.0.0.1:{BASE_PORT}{s.base}"
            if s.connections == 0:
                s.results["app"] = one_at_a_time(app_url, tokens[s.caller], args.rounds)
                s.results["base"] = one_at_a_time(base_url, None, args.rounds)
            else:
                warm = max(2, args.duration // 5)
                wrk(app_url, tokens[s.caller], s.connections, warm, s.lua_ids)
                wrk(base_url, None, s.connections, warm, s.lua_ids)
                s.results["app"] = wrk(app_url, tokens[s.caller], s.connections, args.duration, s.lua_ids)
                s.results["base"] = wrk(base_url, None, s.connections, args.duration, s.lua_ids)
            a, b = s.results["app"], s.results["base"]
            print(
                f"  {s.key:9} service {a.rps:8.1f} req/s p50 {a.p50_ms:8.1f} ms p99 {a.p99_ms:8.1f} ms | "
                f"baseline {b.rps:8.1f} req/s p50 {b.p50_ms:8.1f} ms | ratio {a.rps / b.rps:.2f}×",
                flush=True,
            )
            if a.errors or b.errors:
                raise SystemExit(f"{s.key}: {a.errors} failed requests on the service, {b.errors} on the baseline")
        app_peak, base_peak = peak_rss_mb(service.pid), peak_rss_mb(baseline.pid)
        export_lines = [] if args.no_exports else exports(data, service, baseline)
    finally:
        for server in (service, baseline):
            server.terminate()
            server.wait(timeout=60)

    print()
    print(
        f"{args.workers} worker(s) a side, pool {args.pool} a worker, service on {args.loop} + {args.http}, "
        f"wrk -t1, {args.duration} s a side; "
        f"analytics on {'the replica' if args.replica_url else 'the primary'}; ratio = service ÷ baseline throughput"
    )
    print()
    print("| scenario | conns | service req/s | p50 ms | p99 ms | baseline req/s | p50 ms | p99 ms | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for s in chosen:
        a, b = s.results["app"], s.results["base"]
        conns = s.connections or f"1, {args.rounds} in a row"
        print(
            f"| {s.title} | {conns} | {a.rps:,.1f} | {a.p50_ms:,.1f} | {a.p99_ms:,.1f} | {b.rps:,.1f} | "
            f"{b.p50_ms:,.1f} | {b.p99_ms:,.1f} | **{a.rps / b.rps:.2f}×** |"
        )
    print()
    print(f"peak RSS of a worker: service {app_peak:.0f} MB, baseline {base_peak:.0f} MB")
    if export_lines:
        print()
        print("| export | service | baseline | ratio | service RSS MB before → peak | baseline RSS MB | check |")
        print("|---|---:|---:|---:|---:|---:|---|")
        print("\n".join(export_lines))
    latency = [s.results["app"].p50_ms / s.results["base"].p50_ms for s in chosen if s.key == "kpi"]
    if latency:
        print(f"\nKPI summary latency ÷ the one raw SQL statement's: {statistics.median(latency):.2f}× (goal ≤ 2×)")


if __name__ == "__main__":
    main()
