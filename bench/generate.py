"""Load a city-scale data set into a PostgreSQL database for the benchmarks (never used by the tests).

    .venv/bin/python bench/generate.py                      # 200,000 enterprises, 20,000 projects, ~13M facts
    .venv/bin/python bench/generate.py --enterprises 20000 --projects 2000   # a quick small one

Creates the database (default `zhaoshang_bench`; `--drop` recreates it), migrates it with the project's
migrations, loads the demo data through the service (staff, the 2018 report's registry, disclosure, the
service desk), then adds the city on top with COPY and `INSERT … SELECT generate_series` inside PostgreSQL:

- 12 more clusters under the district, each with core / expansion / support zones and dated area versions,
  and a zone cohort with annual and staged (1–10月) targets per cluster and for the whole district;
- 200 service officers; N enterprises with valid USCCs and Chinese names: groups with companies two levels
  deep, 85 % in a zone, every tenth with a chief service officer (and the assignment), 1–2 contacts each,
  investor classes on 3 %;
- land parcels; projects (8 % key) with their stage events, 10 milestones each (5 per track), re-plans and
  escalations; visits for the service figures;
- monthly KPI facts for 3 metrics over `--years` (default 2017–2018) for every enterprise settled by then,
  with consistent 当月 and 1–N月累计 values (some reported cumulatively).

Everything is derived from the row number, so two runs give the same data. ANALYZE and VACUUM at the end.
The database keeps the schema of the migrations it was built with: after a schema change, `--drop`.
"""

import argparse
import asyncio
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.reference.industries import DIVISIONS  # noqa: E402
from app.services.calculators.uscc import check_character  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/zhaoshang_bench"
SECRET_KEY = "bench-" + "x" * 40
ADMIN_PASSWORD = "bench-password-1"  # noqa: S105 - a scratch database's demo accounts
CLIENT_NAME = "bench-statistics-bureau"
CLIENT_SCOPES = "enterprises:read projects:read kpis:read analytics:read reports:read"

CLUSTERS = (
    "天河中央商务区",
    "国际金融城",
    "科学城",
    "知识城",
    "生物岛",
    "南沙明珠湾",
    "白云湖数字科技城",
    "花都空港经济区",
    "番禺汽车城",
    "增城经济技术开发区",
    "海珠创新湾",
    "广州人工智能与数字经济试验区",
)
AREAS = ("440103", "440104", "440105", "440106", "440111", "440112", "440113", "440114", "440115", "440117")
PLACES = ("海珠", "琶洲", "天河", "越秀", "荔湾", "白云", "黄埔", "番禺", "花都", "南沙", "从化", "增城")
WORDS = ("数字", "智能", "云端", "星河", "鲲鹏", "蓝海", "华信", "粤芯", "恒通", "新元", "瑞丰", "锦程", "汇智", "腾跃")
KINDS = ("科技", "信息技术", "网络科技", "电子商务", "文化传媒", "贸易", "供应链管理", "生物医药", "新能源", "金融服务")
FORMS = ("有限公司", "股份有限公司", "有限责任公司")
DIGITS = "零一二三四五六七八九"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚"
POSITIONS = ("总经理", "财务总监", "行政经理", "董事长", None)
DIVISION_CODES = sorted(DIVISIONS)
GROUP_SHARE = 100  # one enterprise in 100 heads a group


def _env(url: str) -> dict[str, str]:
    return os.environ | {
        "DATABASE_URL": url.replace("postgresql://", "postgresql+asyncpg://", 1),
        "ENVIRONMENT": "test",
        "SECRET_KEY": SECRET_KEY,
        "DEMO_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "LOG_LEVEL": "WARNING",
    }


def zhaoshang(url: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "app", *args], cwd=ROOT, env=_env(url), check=True, capture_output=True, text=True
    )
    return result.stdout


async def ensure_database(url: str, drop: bool) -> bool:
    """True when the database was created (so it needs loading)."""
    base, _, name = url.rpartition("/")
    admin = await asyncpg.connect(f"{base}/postgres")
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists and drop:
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            await admin.execute(f'CREATE DATABASE "{name}"')
        return not exists
    finally:
        await admin.close()


def uscc(serial: int) -> str:
    first17 = f"91{AREAS[serial % len(AREAS)]}MA{serial:07d}"[:17]
    first17 = first17.replace("I", "1").replace("O", "0")
    return first17 + check_character(first17)


def chinese_number(n: int) -> str:
    return "".join(DIGITS[int(d)] for d in str(n))


def _parent_serial(serial: int) -> int | None:
    """Groups: every GROUP_SHARE-th enterprise heads one; a company under it every 7th, and under such a
    company (a second level) every 11th. Parents come first, so the rows can be copied in order."""
    if serial % GROUP_SHARE == 0 or serial < GROUP_SHARE:
        return None
    if serial % 7 == 0:
        return serial // GROUP_SHARE * GROUP_SHARE
    if serial % 11 == 0:
        company = serial - serial % 7
        return company if company % GROUP_SHARE and company > GROUP_SHARE else None
    return None


def enterprise_rows(
    first_id: int, count: int, zone_ids: list[int], officer_ids: list[int]
) -> Iterator[tuple[Any, ...]]:
    """Rows for `enterprises` in COPY column order; a group's head comes before its companies."""
    now = datetime.now(UTC)
    rng = random.Random(20181031)  # noqa: S311 - reproducible fake data
    # Bigger zones first: a few zones hold most companies, as in a real city.
    weights = [1 / (i + 1) for i in range(len(zone_ids))]
    for serial in range(1, count + 1):
        ident = first_id + serial - 1
        established = date(1992, 1, 1) + timedelta(days=rng.randrange(9500))
        settled = established + timedelta(days=rng.randrange(30, 2500))
        settled = min(settled, date(2018, 12, 20))
        operating = settled + timedelta(days=rng.randrange(60, 400)) if serial % 3 else None
        status = "deregistered" if serial % 41 == 0 else "relocated_out" if serial % 37 == 0 else "active"
        # A group head is every GROUP_SHARE-th; companies join the group before them (two levels at most).
        parent = _parent_serial(serial)
        zone = rng.choices(zone_ids, weights)[0] if serial % 7 != 3 else None
        yuan = rng.randrange(100_000, 2_000_000_000)
        name = (
            f"广州{PLACES[serial % len(PLACES)]}{WORDS[serial // 10 % len(WORDS)]}{KINDS[serial // 7 % len(KINDS)]}"
            f"{chinese_number(serial)}号{FORMS[serial % len(FORMS)]}"
        )
        officer = officer_ids[serial % len(officer_ids)] if serial % 10 == 0 else None
        yield (
            ident,
            uscc(serial),
            name,
            Decimal(yuan).scaleb(-2) * 100,
            "CNY" if serial % 13 else "USD",
            established,
            settled,
            DIVISION_CODES[rng.randrange(len(DIVISION_CODES))],
            ("new", "relocated", "existing")[serial % 3],
            status,
            operating,
            None if parent is None else first_id + parent - 1,
            zone,
            officer,
            1,
            now,
            now,
        )


def contact_rows(first_id: int, count: int) -> Iterator[tuple[Any, ...]]:
    for serial in range(1, count + 1):
        for n in range(1 + serial % 2):
            name = SURNAMES[(serial + n) % len(SURNAMES)] + GIVEN[(serial * 3 + n) % len(GIVEN)]
            phone = f"13{(serial * 7 + n) % 10}{(serial * 7919 + n) % 100_000_000:08d}"
            yield (first_id + serial - 1, name, phone, POSITIONS[(serial + n) % len(POSITIONS)])


async def load_registry(conn: asyncpg.Connection, enterprises: int) -> None:
    now = datetime.now(UTC)
    district = await conn.fetchval("SELECT id FROM zones WHERE code = 'HZ'")
    admin_hash = await conn.fetchval("SELECT password_hash FROM users WHERE username = 'admin'")
    started = time.perf_counter()
    await conn.execute(
        """
        INSERT INTO users (username, display_name, role, password_hash, is_active, version, created_at, updated_at)
        SELECT 'cso.bench' || g, '首席服务官' || g, 'officer', $1, true, 1, now(), now()
        FROM generate_series(1, 200) AS g
        """,
        admin_hash,
    )
    officer_ids = [r[0] for r in await conn.fetch("SELECT id FROM users WHERE role = 'officer' ORDER BY id")]

    zone_ids: list[int] = []
    for n, name in enumerate(CLUSTERS, start=1):
        cluster = await conn.fetchval(
            "INSERT INTO zones (code, name, kind, parent_id, version, created_at, updated_at) "
            "VALUES ($1, $2, 'cluster', $3, 1, now(), now()) RETURNING id",
            f"C{n:02d}",
            name,
            district,
        )
        for kind, word, km2 in (("core", "核心区", 1.2), ("expansion", "拓展区", 2.5), ("support", "配套区", 0.8)):
            zone = await conn.fetchval(
                "INSERT INTO zones (code, name, kind, parent_id, version, created_at, updated_at) "
                "VALUES ($1, $2, $3, $4, 1, now(), now()) RETURNING id",
                f"C{n:02d}-{kind[:3].upper()}",
                name + word,
                kind,
                cluster,
            )
            zone_ids.append(zone)
            # The expansion area grew in 2018, as the demo's Pazhou did: the basis depends on the date.
            km = Decimal(str(round(km2 * (1 + n / 10), 2)))
            versions = (
                [(km, date(2015, 1, 1), date(2018, 1, 1)), (km * Decimal("1.2"), date(2018, 1, 1), None)]
                if kind == "expansion"
                else [(km, date(2015, 1, 1), None)]
            )
            for area, start, end in versions:
                await conn.execute(
                    "INSERT INTO zone_area_versions (zone_id, area_km2, effective_from, effective_to, version, "
                    "created_at, updated_at) VALUES ($1, $2, $3, $4, 1, now(), now())",
                    zone,
                    area,
                    start,
                    end,
                )
        await conn.execute(
            "INSERT INTO cohorts (code, name, kind, rule_value, version, created_at, updated_at) "
            "VALUES ($1, $2, 'zone', $3, 1, now(), now())",
            f"cluster-{n:02d}",
            name,
            cluster,
        )
    await conn.execute(
        "INSERT INTO cohorts (code, name, kind, rule_value, version, created_at, updated_at) "
        "VALUES ('city', '全区企业', 'zone', $1, 1, now(), now())",
        district,
    )
    zone_ids += [r[0] for r in await conn.fetch("SELECT id FROM zones WHERE code LIKE 'PZ-%'")]

    first_id = (await conn.fetchval("SELECT coalesce(max(id), 0) FROM enterprises")) + 1
    await conn.copy_records_to_table(
        "enterprises",
        records=enterprise_rows(first_id, enterprises, zone_ids, officer_ids),
        columns=[
            "id",
            "uscc",
            "name",
            "registered_capital",
            "currency",
            "established_on",
            "settled_on",
            "industry_code",
            "source",
            "status",
            "operations_started_on",
            "parent_id",
            "zone_id",
            "service_officer_id",
            "version",
            "created_at",
            "updated_at",
        ],
    )
    await conn.execute("SELECT setval('enterprises_id_seq', (SELECT max(id) FROM enterprises))")
    await conn.copy_records_to_table(
        "enterprise_contacts",
        records=contact_rows(first_id, enterprises),
        columns=["enterprise_id", "name", "phone", "position"],
    )
    await conn.execute(
        """
        INSERT INTO enterprise_investor_classes (enterprise_id, investor_class, list_year)
        SELECT id, (ARRAY['fortune_global_500', 'china_500', 'leading_enterprise'])[1 + id % 3], 2000 + id % 19
        FROM enterprises WHERE id >= $1 AND id % 33 = 0
        """,
        first_id,
    )
    await conn.execute(
        """
        INSERT INTO service_officer_assignments (enterprise_id, officer_id, role, started_on, recorded_by, recorded_at)
        SELECT id, service_officer_id, 'primary', coalesce(settled_on, DATE '2015-01-01'), 'bench', $2
        FROM enterprises WHERE id >= $1 AND service_officer_id IS NOT NULL
        """,
        first_id,
        now,
    )
    await conn.execute(
        """
        INSERT INTO land_parcels (code, zone_id, area_m2, planned_use, transferred_on, buyer_enterprise_id, price,
                                  version, created_at, updated_at)
        SELECT 'BENCH' || lpad(g::text, 6, '0'), z.ids[1 + g % array_length(z.ids, 1)], 5000 + g % 40000, '商务用地',
               CASE WHEN g % 5 < 3 THEN DATE '2012-01-01' + g % 2500 END,
               CASE WHEN g % 5 < 3 THEN $1 + (g * 37) % $2 END,
               CASE WHEN g % 5 < 3 THEN (5000 + g % 40000) * 12000.00 END, 1, now(), now()
        FROM generate_series(1, $2 / 60) AS g, (SELECT array_agg(id ORDER BY id) AS ids FROM zones
                                               WHERE kind IN ('core', 'expansion', 'support')) AS z
        """,
        first_id,
        enterprises,
    )
    print(f"registry: {enterprises:,} enterprises with contacts and groups in {time.perf_counter() - started:.1f} s")


async def load_projects(conn: asyncpg.Connection, projects: int) -> None:
    started = time.perf_counter()
    # Stage reached: 0 negotiating … 4 operating; 5 on hold, 6 dropped. Introduced 2014–2018.
    await conn.execute(
        """
        WITH officers AS (SELECT array_agg(id ORDER BY id) AS ids FROM users WHERE role = 'officer'),
        zoned AS (SELECT array_agg(id ORDER BY id) AS ids FROM enterprises WHERE zone_id IS NOT NULL)
        INSERT INTO projects (name, code_name, project_type, enterprise_id, zone_id, is_key, industry_code,
                              planned_investment, planned_registered_capital, responsible_officer_id,
                              service_officer_id, introduced_on, stage, stage_since, version, created_at, updated_at)
        SELECT '城市项目' || g || '号', CASE WHEN g % 50 = 0 THEN '代号' || g END,
               (ARRAY['headquarters', 'industrial', 'rnd'])[1 + g % 3],
               e.id, e.zone_id, g % 12 = 0, e.industry_code, (10 + g % 500) * 1000000.00,
               (1 + g % 50) * 1000000.00, o.ids[1 + g % array_length(o.ids, 1)],
               o.ids[1 + (g * 7) % array_length(o.ids, 1)], DATE '2014-01-01' + (g * 13) % 1800,
               (ARRAY['negotiating', 'signed', 'registered', 'under_construction', 'operating', 'on_hold',
                      'dropped'])[1 + s.reached],
               DATE '2014-01-01' + (g * 13) % 1800 + 120 * least(s.reached, 4), 1, now(), now()
        FROM generate_series(1, $1) AS g
        CROSS JOIN officers o CROSS JOIN zoned z
        CROSS JOIN LATERAL (SELECT CASE WHEN g % 20 = 0 THEN 5 WHEN g % 23 = 0 THEN 6 ELSE g % 5 END AS reached) s
        JOIN enterprises e ON e.id = z.ids[1 + (g * 7919) % array_length(z.ids, 1)]
        """,
        projects,
    )
    # One event per step up to the stage reached (on hold and dropped after a signature).
    await conn.execute(
        """
        INSERT INTO project_stage_events (project_id, from_stage, to_stage, occurred_on, recorded_by, recorded_at)
        SELECT p.id, CASE WHEN k > 0 THEN steps[k] END, steps[k + 1], p.introduced_on + 120 * k, 'bench', now()
        FROM projects p
        CROSS JOIN LATERAL (
            SELECT CASE WHEN p.stage IN ('on_hold', 'dropped')
                        THEN ARRAY['negotiating', 'signed', p.stage::text]
                        ELSE (ARRAY['negotiating', 'signed', 'registered', 'under_construction', 'operating'])
                             [1:array_position(ARRAY['negotiating', 'signed', 'registered', 'under_construction',
                                                     'operating'], p.stage::text)] END AS steps) st
        CROSS JOIN LATERAL generate_series(0, array_length(st.steps, 1) - 1) AS k
        WHERE p.name LIKE '城市项目%'
        """
    )
    # Ten milestones a project, due a quarter apart; most of those the project's stage is past are done (some
    # late), the rest open: a project on hold or dropped has none done.
    await conn.execute(
        """
        INSERT INTO milestones (project_id, track, name, sort_order, planned_on, due_on, completed_on, version,
                                created_at, updated_at)
        SELECT p.id, CASE WHEN k <= 5 THEN 'construction' ELSE 'industry' END,
               (ARRAY['立项', '用地', '规划', '施工许可', '竣工', '注册', '入驻', '投产', '达产', '纳统'])[k], k,
               p.introduced_on + 90 * k,
               p.introduced_on + 90 * k + CASE WHEN (p.id + k) % 9 = 0 THEN 60 ELSE 0 END,
               CASE WHEN k <= 2 * array_position(ARRAY['negotiating', 'signed', 'registered', 'under_construction',
                                                        'operating'], p.stage::text) - (p.id + k) % 3
                    THEN p.introduced_on + 90 * k + (p.id + k) % 45 - 10 END,
               1, now(), now()
        FROM projects p CROSS JOIN generate_series(1, 10) AS k
        WHERE p.name LIKE '城市项目%'
        """
    )
    await conn.execute(
        """
        INSERT INTO milestone_replans (milestone_id, previous_due_on, new_due_on, decided_on, reason, recorded_by,
                                       recorded_at)
        SELECT m.id, m.planned_on, m.due_on, m.planned_on - 20, '征地延期', 'bench', now()
        FROM milestones m JOIN projects p ON p.id = m.project_id
        WHERE p.name LIKE '城市项目%' AND m.due_on <> m.planned_on
        """
    )
    await conn.execute(
        """
        INSERT INTO escalations (project_id, milestone_id, level, occurred_on, officer_id, note, version, created_at,
                                 updated_at)
        SELECT m.project_id, m.id, (ARRAY['reminder', 'supervision', 'interview'])[1 + m.id % 3],
               m.due_on + 15, p.responsible_officer_id, '节点滞后，督促推进', 1, now(), now()
        FROM milestones m JOIN projects p ON p.id = m.project_id
        WHERE p.name LIKE '城市项目%' AND m.completed_on IS NULL AND m.id % 7 = 0
        """
    )
    counts = await conn.fetchrow(
        "SELECT (SELECT count(*) FROM projects), (SELECT count(*) FROM milestones), (SELECT count(*) FROM escalations)"
    )
    print(
        f"projects: {counts[0]:,} projects, {counts[1]:,} milestones, {counts[2]:,} escalations "
        f"in {time.perf_counter() - started:.1f} s"
    )


async def load_facts(conn: asyncpg.Connection, first_year: int, last_year: int) -> None:
    started = time.perf_counter()
    # Every enterprise reports from its settlement month on; a value per metric is steady with a seasonal
    # swing and 12–25 % growth a year. 1–N月累计 is the running sum, so every submission is consistent.
    # Enterprises whose id ends in 3 report cumulatives (reported_as ytd), the others monthly values.
    await conn.execute(
        """
        INSERT INTO kpi_facts (enterprise_id, metric_id, year, month, reported_as, reported_value, monthly_value,
                               ytd_value, version, created_at, updated_at)
        SELECT enterprise_id, metric_id, year, month,
               CASE WHEN enterprise_id % 10 = 3 THEN 'ytd' ELSE 'monthly' END,
               CASE WHEN enterprise_id % 10 = 3 THEN ytd ELSE monthly END, monthly, ytd, 1, now(), now()
        FROM (
            SELECT f.*, sum(monthly) OVER (PARTITION BY enterprise_id, metric_id, year ORDER BY month) AS ytd
            FROM (
                SELECT e.id AS enterprise_id, m.id AS metric_id, y AS year, mo AS month,
                       round(((e.id * 7919 + m.id * 104729) % 9000 + 1000) * scale.factor
                             * (1 + (y - $1) * (0.12 + (e.id % 14) / 100.0))
                             * (1 + 0.15 * sin(mo + e.id))::numeric, 2) AS monthly
                FROM enterprises e
                CROSS JOIN metrics m
                CROSS JOIN LATERAL (SELECT CASE m.code WHEN 'revenue' THEN 100.0 WHEN 'tax' THEN 6.0
                                                       ELSE 30.0 END AS factor) AS scale
                CROSS JOIN generate_series($1::int, $2::int) AS y
                CROSS JOIN generate_series(1, 12) AS mo
                WHERE e.settled_on IS NOT NULL AND make_date(y, mo, 1) >= date_trunc('month', e.settled_on)
                  AND m.code IN ('revenue', 'tax', 'fixed_asset_investment')
                  AND NOT EXISTS (SELECT 1 FROM kpi_facts k WHERE k.enterprise_id = e.id)
            ) AS f
        ) AS g
        """,
        first_year,
        last_year,
    )
    facts = await conn.fetchval("SELECT count(*) FROM kpi_facts")
    # Targets for the district and each cluster: the year before's actual plus 15 %, staged for 1–10月.
    await conn.execute(
        """
        INSERT INTO targets (cohort_id, metric_id, year, month, value, version, created_at, updated_at)
        SELECT c.id, m.id, $1::smallint, t.month, round(coalesce(sum(k.ytd_value), 0) * t.share * 1.15, 2), 1,
               now(), now()
        FROM cohorts c
        CROSS JOIN metrics m
        CROSS JOIN (VALUES (NULL::smallint, 1.0), (10::smallint, 0.8)) AS t(month, share)
        JOIN zones root ON root.id = c.rule_value
        LEFT JOIN LATERAL (
            WITH RECURSIVE tree(id) AS (
                SELECT root.id UNION ALL SELECT z.id FROM zones z JOIN tree ON z.parent_id = tree.id
            )
            SELECT f.ytd_value FROM kpi_facts f JOIN enterprises e ON e.id = f.enterprise_id
            WHERE e.zone_id IN (SELECT id FROM tree) AND f.metric_id = m.id AND f.year = $1 - 1 AND f.month = 12
        ) k ON true
        WHERE c.kind = 'zone' AND (c.code = 'city' OR c.code LIKE 'cluster-%')
          AND m.code IN ('revenue', 'tax', 'fixed_asset_investment')
        GROUP BY c.id, m.id, t.month, t.share
        ON CONFLICT DO NOTHING
        """,
        last_year,
    )
    print(f"kpi facts: {facts:,} in {time.perf_counter() - started:.1f} s")


async def load_visits(conn: asyncpg.Connection, enterprises: int) -> None:
    started = time.perf_counter()
    await conn.execute(
        """
        INSERT INTO visits (enterprise_id, visited_on, purpose, findings, version, created_at, updated_at)
        SELECT e.id, DATE '2017-01-02' + (g * 17) % 720, '走访服务', '了解企业经营情况，收集诉求', 1, now(), now()
        FROM generate_series(1, $1 / 4) AS g
        JOIN enterprises e ON e.id = (SELECT min(id) FROM enterprises) + (g * 7919) % $1
        """,
        enterprises,
    )
    await conn.execute(
        """
        INSERT INTO visit_officers (visit_id, user_id)
        SELECT v.id, e.service_officer_id FROM visits v JOIN enterprises e ON e.id = v.enterprise_id
        WHERE e.service_officer_id IS NOT NULL
        ON CONFLICT DO NOTHING
        """
    )
    print(f"visits in {time.perf_counter() - started:.1f} s")


async def load(url: str, enterprises: int, projects: int, first_year: int, last_year: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        await load_registry(conn, enterprises)
        await load_projects(conn, projects)
        await load_visits(conn, enterprises)
        await load_facts(conn, first_year, last_year)
        started = time.perf_counter()
        await conn.execute("VACUUM ANALYZE")
        print(f"VACUUM ANALYZE in {time.perf_counter() - started:.1f} s")
        size = await conn.fetchval("SELECT pg_size_pretty(pg_database_size(current_database()))")
        print(f"database size: {size}")
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=DEFAULT_URL, help="a PostgreSQL URL (asyncpg form, no +driver)")
    parser.add_argument("--enterprises", type=int, default=200_000)
    parser.add_argument("--projects", type=int, default=20_000)
    parser.add_argument("--years", default="2017-2018", help="KPI fact years, FIRST-LAST")
    parser.add_argument("--drop", action="store_true", help="drop and recreate the database first")
    args = parser.parse_args()
    first_year, _, last_year = args.years.partition("-")
    started = time.perf_counter()
    if not asyncio.run(ensure_database(args.url, args.drop)):
        print(f"{args.url} exists; pass --drop to build it again")
        return
    zhaoshang(args.url, "migrate")
    zhaoshang(args.url, "demo-data")
    client = zhaoshang(args.url, "create-client", "--name", CLIENT_NAME, "--scopes", CLIENT_SCOPES)
    (ROOT / "var").mkdir(exist_ok=True)
    (ROOT / "var" / "bench-client.json").write_text(client, encoding="utf-8")
    print(f"migrated, demo data loaded, API client in var/bench-client.json ({time.perf_counter() - started:.1f} s)")
    asyncio.run(load(args.url, args.enterprises, args.projects, int(first_year), int(last_year or first_year)))
    print(f"done in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
