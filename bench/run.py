"""Time the KPI summary endpoint against the same aggregate as one raw SQL query, in the same run.

    .venv/bin/python bench/run.py --url postgresql://postgres@127.0.0.1:5432/zhaoshang_bench

Starts the service (one uvicorn worker) on the database bench/generate.py filled, logs in, then
alternates: the HTTP endpoint (auth, cohort and metric lookups, the paired aggregate, the excluded
list, targets, JSON) and the bare paired aggregate through asyncpg. Prints p50 / max per side, the
ratio of the medians, and the service's peak memory. Only 127.0.0.1 is contacted.
"""

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
PORT = 8097
RAW = """
WITH RECURSIVE zs(id) AS (
    SELECT id FROM zones WHERE id = $1
    UNION SELECT z.id FROM zones z JOIN zs ON z.parent_id = zs.id
), paired AS (
    SELECT e.id, c.ytd_value AS cur, b.ytd_value AS prev
    FROM enterprises e
    LEFT JOIN kpi_facts c ON c.enterprise_id = e.id AND c.metric_id = $2 AND c.year = 2018 AND c.month = 10
    LEFT JOIN kpi_facts b ON b.enterprise_id = e.id AND b.metric_id = $2 AND b.year = 2017 AND b.month = 10
    WHERE e.zone_id IN (SELECT id FROM zs)
)
SELECT sum(cur),
       sum(cur) FILTER (WHERE cur IS NOT NULL AND prev IS NOT NULL),
       sum(prev) FILTER (WHERE cur IS NOT NULL AND prev IS NOT NULL),
       count(*) FILTER (WHERE (cur IS NULL) <> (prev IS NULL))
FROM paired
"""


def _env(url: str) -> dict[str, str]:
    return os.environ | {
        "DATABASE_URL": url.replace("postgresql://", "postgresql+asyncpg://", 1),
        "ENVIRONMENT": "test",
        "SECRET_KEY": "bench-" + "x" * 40,
        "LOG_LEVEL": "WARNING",
        "PORT": str(PORT),
    }


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def bench(url: str, rounds: int, server: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{PORT}", timeout=120) as client:
        for _ in range(100):
            try:
                if (await client.get("/readyz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
        token = (
            await client.post(
                "/api/v1/auth/token",
                data={"grant_type": "password", "username": "bench", "password": "bench-password-1"},
            )
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        conn = await asyncpg.connect(url)
        cohort_id, zone_id = await conn.fetchrow("SELECT id, rule_value FROM cohorts WHERE code = 'bench'")
        metric_id = await conn.fetchval("SELECT id FROM metrics WHERE code = 'revenue'")
        query = f"/api/v1/analytics/kpi-summary?cohort_id={cohort_id}&metric=revenue&period=2018-10"
        api_times, raw_times = [], []
        for n in range(rounds + 2):  # two warm-up rounds are not counted
            started = time.perf_counter()
            response = await client.get(query, headers=headers)
            api = time.perf_counter() - started
            response.raise_for_status()
            started = time.perf_counter()
            row = await conn.fetchrow(RAW, zone_id, metric_id)
            raw = time.perf_counter() - started
            if n >= 2:
                api_times.append(api)
                raw_times.append(raw)
        await conn.close()
        body = response.json()
        if str(body["actual"]) != str(row[0]):
            raise SystemExit(f"the API and the raw query disagree: {body['actual']} != {row[0]}")
        facts = await (await asyncpg.connect(url)).fetchval("SELECT count(*) FROM kpi_facts")
    api_p50, raw_p50 = statistics.median(api_times), statistics.median(raw_times)
    print(f"facts: {facts:,}; excluded members: {body['excluded_count']}; actual {body['display']['actual']}")
    print(f"kpi-summary API : p50 {api_p50 * 1000:8.1f} ms   max {max(api_times) * 1000:8.1f} ms   ({rounds} runs)")
    print(f"raw SQL (asyncpg): p50 {raw_p50 * 1000:8.1f} ms   max {max(raw_times) * 1000:8.1f} ms")
    print(f"ratio API / raw  : {api_p50 / raw_p50:.2f}x   (goal: within 2x)")
    print(f"service peak RSS : {_peak_rss_mb(server.pid):.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/zhaoshang_bench")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    env = _env(args.url)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "app",
            "create-user",
            "--username",
            "bench",
            "--password",
            "bench-password-1",
            "--role",
            "leader",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        check=False,
    )
    server = subprocess.Popen([sys.executable, "-m", "app", "serve"], cwd=ROOT, env=env)
    try:
        asyncio.run(bench(args.url, args.rounds, server))
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
