"""Load city-scale KPI facts into a PostgreSQL database for the benchmark (not for tests).

    .venv/bin/python bench/generate.py --url postgresql://postgres@127.0.0.1:5432/zhaoshang_bench \
        --enterprises 140000

creates the database if needed, migrates it with the project's migrations, and inserts the enterprises
(all in one zone, with a zone cohort over it) and monthly facts for 3 metrics × 24 months (2017–2018):
140,000 enterprises give 10,080,000 facts. Inserts run as single INSERT … SELECT generate_series
statements inside PostgreSQL, which is the fast path.
"""

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parents[1]


async def ensure_database(url: str) -> None:
    base, _, name = url.rpartition("/")
    admin = await asyncpg.connect(f"{base}/postgres")
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


def migrate(url: str) -> None:
    env = os.environ | {
        "DATABASE_URL": url.replace("postgresql://", "postgresql+asyncpg://", 1),
        "ENVIRONMENT": "test",
        "SECRET_KEY": "bench-" + "x" * 40,
    }
    subprocess.run([sys.executable, "-m", "app", "migrate"], cwd=ROOT, env=env, check=True)


async def load(url: str, enterprises: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        if await conn.fetchval("SELECT count(*) FROM kpi_facts") > 0:
            print("facts already loaded; drop the database to regenerate")
            return
        started = time.perf_counter()
        zone_id = await conn.fetchval(
            "INSERT INTO zones (code, name, kind, version, created_at, updated_at) "
            "VALUES ('BENCH', '基准区', 'other', 1, now(), now()) RETURNING id"
        )
        await conn.execute(
            """
            INSERT INTO enterprises (uscc, name, registered_capital, currency, industry_code, source, status,
                                     zone_id, version, created_at, updated_at)
            SELECT 'B' || lpad(g::text, 17, '0'), '基准企业' || g, 1000000, 'CNY',
                   (ARRAY['64','65','72','52','39'])[1 + g % 5], 'new', 'active', $1, 1, now(), now()
            FROM generate_series(1, $2) AS g
            """,
            zone_id,
            enterprises,
        )
        print(f"{enterprises:,} enterprises in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        # One steady monthly value per enterprise, metric and year keeps every cumulative consistent.
        await conn.execute(
            """
            INSERT INTO kpi_facts (enterprise_id, metric_id, year, month, reported_as, reported_value,
                                   monthly_value, ytd_value, version, created_at, updated_at)
            SELECT e.id, m.id, y, mo, 'monthly', v.amount, v.amount, v.amount * mo, 1, now(), now()
            FROM enterprises e
            CROSS JOIN metrics m
            CROSS JOIN generate_series(2017, 2018) AS y
            CROSS JOIN LATERAL (SELECT round((100000 + (e.id * 7919 + m.id * 104729 + y) % 900000)::numeric
                                             * (1 + (y - 2017) * 0.2), 2) AS amount) AS v
            CROSS JOIN generate_series(1, 12) AS mo
            """
        )
        count = await conn.fetchval("SELECT count(*) FROM kpi_facts")
        print(f"{count:,} facts in {time.perf_counter() - started:.1f} s")
        await conn.execute(
            "INSERT INTO cohorts (code, name, kind, rule_value, version, created_at, updated_at) "
            "VALUES ('bench', '基准区全部企业', 'zone', $1, 1, now(), now())",
            zone_id,
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/zhaoshang_bench")
    parser.add_argument("--enterprises", type=int, default=140_000)
    args = parser.parse_args()
    asyncio.run(ensure_database(args.url))
    migrate(args.url)
    asyncio.run(load(args.url, args.enterprises))


if __name__ == "__main__":
    main()
