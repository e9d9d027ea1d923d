"""Where the enterprise detail's time goes: the same request served by ever more of the service's stack.

    .venv/bin/python bench/ladder.py                 # after bench/generate.py; ~2 min
    .venv/bin/python bench/ladder.py --duration 20

One uvicorn worker at a time (uvloop, httptools) on the benchmark database, each loaded with `wrk -c16` on
random enterprise ids, and measured as the server process's CPU time (user + system, from /proc) divided
by the requests it answered: unlike requests/s, that figure hardly moves with the other load on the machine.
The rungs:

1. `fastapi`: FastAPI alone, a path parameter and a two-field response_model, no database;
2. `baseline`: bench/baseline.py, asyncpg + orjson running the service's record statement;
3. the service's own app (`create_app()`, every middleware, the JSON access log) with probe routes placed
   first in the routing table: `static` (no dependency), `session` (+ the read session dependency),
   `orm` (+ the record statement through the ORM session), `core` (the statement on a Core connection, no
   session), and `service`: the real `GET /api/v1/enterprises/{id}` (+ caller, scopes, read model, ETag);
4. `plain`: a plain FastAPI + SQLAlchemy ORM + response_model detail (`session.get` and two
   `selectinload`s), the stack issue #10 compares with.
"""

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import httpx
from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel, ConfigDict

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.generate import DEFAULT_URL  # noqa: E402
from bench.load import APP_PORT, read_data, record_statements, scenarios, server_env, token  # noqa: E402


def fastapi() -> FastAPI:
    app = FastAPI()

    class Item(BaseModel):
        id: int
        name: str

    @app.get("/api/v1/enterprises/{enterprise_id}", response_model=Item)
    async def detail(enterprise_id: int) -> Item:
        return Item(id=enterprise_id, name="广州示例科技有限公司")

    @app.get("/readyz")
    async def ready() -> dict[str, str]:
        return {"status": "ready"}

    return app


def service() -> FastAPI:
    """The service's app with the probe routes tried first (a route tried costs a few µs: the busiest go first)."""
    from app.api.deps import SessionDep
    from app.main import create_app
    from app.services import enterprises

    app = create_app()
    database = app.state.database

    @app.get("/ladder/static/{enterprise_id}")
    async def static(enterprise_id: int) -> dict[str, Any]:
        return {"id": enterprise_id}

    @app.get("/ladder/session/{enterprise_id}")
    async def session_only(enterprise_id: int, session: SessionDep) -> dict[str, Any]:
        return {"id": enterprise_id}

    @app.get("/ladder/orm/{enterprise_id}")
    async def orm(enterprise_id: int, session: SessionDep) -> dict[str, Any]:
        row = await enterprises.read_enterprise(session, enterprise_id)
        return {"id": row.id}

    @app.get("/ladder/core/{enterprise_id}")
    async def core(enterprise_id: int) -> dict[str, Any]:
        async with database.engine.connect() as connection:
            result = await connection.execute(enterprises.RECORD_STATEMENT, {"enterprise_id": enterprise_id})
            return {"id": result.one().id}

    probes = [r for r in app.router.routes if getattr(r, "path", "").startswith("/ladder/")]
    app.router.routes[:] = probes + [r for r in app.router.routes if r not in probes]
    return app


def plain() -> FastAPI:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
    from sqlalchemy.orm import selectinload

    from app.models import Enterprise

    class Orm(BaseModel):
        model_config = ConfigDict(from_attributes=True)

    class Contact(Orm):
        name: str
        phone: str | None
        position: str | None

    class InvestorClass(Orm):
        investor_class: str
        list_year: int | None

    class EnterpriseOut(Orm):
        id: int
        uscc: str
        name: str
        registered_capital: Decimal
        currency: str
        established_on: date | None
        settled_on: date | None
        industry_code: str
        source: str
        status: str
        operations_started_on: date | None
        parent_id: int | None
        zone_id: int | None
        service_officer_id: int | None
        investor_classes: list[InvestorClass]
        contacts: list[Contact]
        created_at: datetime
        updated_at: datetime
        version: int

    engine = create_async_engine(os.environ["DATABASE_URL"], pool_size=int(os.environ["DATABASE_POOL_SIZE"]))
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    app = FastAPI()

    async def session() -> AsyncIterator[AsyncSession]:
        async with sessions() as s:
            yield s

    @app.get("/api/v1/enterprises/{enterprise_id}", response_model=EnterpriseOut)
    async def detail(enterprise_id: int, s: Annotated[AsyncSession, Depends(session)]) -> Enterprise:
        options = [selectinload(Enterprise.contacts), selectinload(Enterprise.investor_classes)]
        enterprise = await s.get(Enterprise, enterprise_id, options=options)
        if enterprise is None:
            raise HTTPException(404)
        return enterprise

    @app.get("/readyz")
    async def ready() -> dict[str, str]:
        return {"status": "ready"}

    return app


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(pid: int, path: str, ids: tuple[int, int], auth: str | None, duration: int) -> tuple[float, float, int]:
    """requests/s, CPU µs per request, failed requests."""
    prefix = path.split("{id}")[0]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            f'math.randomseed(42)\nrequest = function()\n  return wrk.format(nil, "{prefix}" .. '
            f"math.random({ids[0]}, {ids[1]}))\nend\n"
        )
    command = ["wrk", "-t1", "-c16", "-s", script.name, *(["-H", f"Authorization: Bearer {auth}"] if auth else [])]
    url = f"http://127.0.0.1:{APP_PORT}"
    subprocess.run([*command, "-d2s", url], capture_output=True, check=True)  # warm-up
    before = cpu_seconds(pid)
    output = subprocess.run([*command, f"-d{duration}s", url], capture_output=True, text=True, check=True).stdout
    used = cpu_seconds(pid) - before
    os.unlink(script.name)
    answered = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return rps, used / answered * 1e6, int(failed.group(1)) if failed else 0


def serve(target: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "uvicorn", target, "--port", str(APP_PORT), "--loop", "uvloop"]
    command += [] if target.startswith("bench.baseline") else ["--factory"]
    command += ["--http", "httptools", "--no-access-log", "--log-level", "warning"]
    out = log.open("ab")
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{APP_PORT}/readyz", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    server.terminate()
    raise SystemExit(f"{target} did not become ready; see {log}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk on each rung")
    args = parser.parse_args()

    data = asyncio.run(read_data(args.url))
    detail = [s for s in scenarios(data) if s.key == "detail"]
    asyncio.run(record_statements(args.url, data, detail))  # the baseline's record statement
    ids = (data.first_enterprise, data.last_enterprise)
    env = server_env(args.url, 1, 10, None)
    log = ROOT / "var" / "bench-ladder.log"
    rungs: list[tuple[str, str, list[tuple[str, str]]]] = [
        ("fastapi", "bench.ladder:fastapi", [("FastAPI alone", "/api/v1/enterprises/{id}")]),
        ("baseline", "bench.baseline:app", [("baseline (asyncpg + orjson)", "/enterprises/{id}")]),
        (
            "service",
            "bench.ladder:service",
            [
                ("service app, static route", "/ladder/static/{id}"),
                ("… + read session dependency", "/ladder/session/{id}"),
                ("… + the record statement (ORM session)", "/ladder/orm/{id}"),
                ("the record statement on a Core connection", "/ladder/core/{id}"),
                ("**the service's detail**", "/api/v1/enterprises/{id}"),
            ],
        ),
        ("plain", "bench.ladder:plain", [("plain FastAPI + ORM + response_model", "/api/v1/enterprises/{id}")]),
    ]
    rows = []
    for key, target, paths in rungs:
        server = serve(target, env | {"DATABASE_URL": _url(key, args.url)}, log)
        try:
            auth = token("staff") if key == "service" else None
            for title, path in paths:
                rps, cpu, failed = measure(server.pid, path, ids, auth, args.duration)
                if failed:
                    raise SystemExit(f"{title}: {failed} failed requests; see {log}")
                rows.append((title, rps, cpu))
                print(f"  {title:45} {rps:9,.0f} req/s {cpu:7,.0f} CPU µs/request", flush=True)
        finally:
            server.terminate()
            server.wait(timeout=60)
    print()
    print(
        f"one worker, wrk -t1 -c16 for {args.duration} s on random ids; CPU = the server process's user + system time"
    )
    print()
    print("| served by | req/s | CPU µs per request |")
    print("|---|---:|---:|")
    for title, rps, cpu in rows:
        print(f"| {title} | {rps:,.0f} | {cpu:,.0f} |")


def _url(key: str, url: str) -> str:
    # The baseline takes asyncpg's form of the URL; everything else SQLAlchemy's.
    return url if key == "baseline" else url.replace("postgresql://", "postgresql+asyncpg://", 1)


if __name__ == "__main__":
    main()
