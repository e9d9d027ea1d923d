"""Upgrading from each earlier revision with data present keeps the data (issue #9).

For every revision but the head (read from the Alembic script directory, so a new migration is covered
without touching this file): take a database at it (a copy of one walked up the chain once, see Walker),
write rows into every table that exists then (reflected from that revision's schema, so only columns that
exist are written), upgrade to the head and check that

* every row is still there, by primary key, with the values of every column it had (read through the
  app's column types, so money comes back as the same Decimal and instants as the same aware datetime);
* the only new rows in any table are the ones a data migration on the way is expected to add, and those
  are exactly right: the change-log backfills (`BACKFILL` in a migration module), the primary service
  officer posts, the reference data seeded by migrations;
* the app reads it all: every ORM model loads every row, the list endpoints return every row with the
  stored values, and every change feed serves every row (a mirror built from the feeds alone is complete).

Rows are written the way the app of that revision would have left them: where the change log already
exists, the resources it tracked then get their change rows. Values are realistic (Chinese names, Decimal
money with fen, business dates, UTC instants); columns no table override names get a value by type, so a
table added later gets rows without an edit here (or a clear error naming the column to override).
"""

import asyncio
import os
import re
import shutil
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from alembic import command
from alembic.config import Config
from alembic.script import Script, ScriptDirectory
from sqlalchemy import JSON, Boolean, Date, DateTime, Enum, Integer, LargeBinary, MetaData, Numeric, String, Table
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.schema import sort_tables
from sqlalchemy.sql.type_api import TypeEngine

from app.core.clock import SHANGHAI
from app.core.db import Database
from app.core.migrations import alembic_config
from app.core.scopes import ROLE_SCOPES, Role
from app.core.security import create_access_token, credential_fingerprint
from app.main import create_app
from app.models import CHANGE_RESOURCES, Base
from app.models.change import TRACKED, _own
from app.models.types import ScaledDecimal, UTCDateTime
from app.reference.industries import DIVISIONS, SECTIONS
from app.reference.work_calendar import ARRANGEMENTS, shipped_days
from app.services.calculators import national_id, uscc
from tests.conftest import _is_postgres, _pg_admin, make_settings

Row = dict[str, Any]
Key = tuple[Any, ...]
Snapshot = dict[str, dict[Key, Row]]  # table → primary key → column → value
Claimed = dict[str, set[Key]]  # rows a data migration was expected to add, by table


def _config(url: str) -> Config:
    config = alembic_config(make_settings(database_url=url))
    config.attributes["configure_logging"] = False
    return config


def _chain() -> list[Script]:
    """Every revision, base first. One line of history: a branch would need a test of its own."""
    scripts = ScriptDirectory.from_config(_config("sqlite+aiosqlite://"))
    assert len(scripts.get_heads()) == 1, "more than one head: merge them first"
    return list(reversed(list(scripts.walk_revisions("base", "heads"))))


CHAIN = _chain()
HEAD = CHAIN[-1].revision
TARGET = {table.name: table for table in Base.metadata.sorted_tables}  # the head's tables, with the app's types


def _backfill(script: Script) -> tuple[tuple[str, str], ...]:
    """A migration that starts change feeds lists `BACKFILL = ((resource, table), ...)`."""
    return tuple(getattr(script.module, "BACKFILL", ()))


def _tracked_at(start: str) -> list[tuple[str, str]]:
    """The (resource, table) pairs whose changes the app logged at `start`: those backfilled up to it."""
    tracked: list[tuple[str, str]] = []
    for script in CHAIN:
        tracked += _backfill(script)
        if script.revision == start:
            return tracked
    raise AssertionError(start)


FEED_TABLES = {resource: table for script in CHAIN for resource, table in _backfill(script)}


# --- the data written at the starting revision ---------------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    """The primary key of the `index`-th row this test wrote into `table`."""

    table: str
    index: int = 0


@dataclass(frozen=True)
class Seeded:
    """The primary key of a row a migration seeded, found by one column's value."""

    table: str
    column: str
    value: Any


def _uscc(body: str) -> str:
    """A valid 统一社会信用代码: 91 (enterprise), 440105 (海珠区), a 9-character organisation code."""
    first17 = f"91440105{body}"
    return first17 + uscc.check_character(first17)


def _national_id(address: str, born: str, sequence: str) -> str:
    first17 = f"{address}{born}{sequence}"
    return first17 + national_id.check_character(first17)


def _at(text: str) -> datetime:
    """An instant given in UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


STAMP = _at("2018-06-30T17:00:00")  # 1 July in Guangzhou
PLANNED_SETTLEMENT = date(2030, 1, 1)
WHEN = {"version": 1, "created_at": STAMP, "updated_at": _at("2018-10-31T15:30:00")}
HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0$ZmFrZWhhc2hmYWtlaGFzaGZha2VoYXNo"

# Per-table rows: realistic values for the columns that matter; anything not named gets a value by type.
# A column a revision does not have yet is left out there (a name the head does not know is an error).
ROWS: dict[str, list[Row]] = {
    "users": [
        {"username": "admin", "display_name": "系统管理员", "role": "admin", "password_hash": HASH, **WHEN},
        {"username": "zhangwei", "display_name": "张伟", "role": "officer", "password_hash": HASH + "2", **WHEN},
        {"username": "lina", "display_name": "李娜", "role": "leader", "is_active": False, "last_login_at": None},
    ],
    "api_clients": [
        {
            "client_id": "haizhu-stats",
            "name": "海珠区统计局数据报送",
            "scopes": "kpis:read kpis:write",
            "secret_hash": HASH,
            "is_active": True,
            "secret_rotated_at": _at("2018-01-02T01:00:00"),
        }
    ],
    "audit_events": [
        {
            "occurred_at": _at("2018-03-05T02:00:00"),
            "actor_type": "user",
            "actor_id": Ref("users"),
            "actor_name": "系统管理员",
            "action": "create",
            "entity_type": "enterprise",
            "entity_id": "1",
            "before": None,
            "after": {"name": "广州琶洲互联网科技集团有限公司", "registered_capital": "500000000.00"},
            "request_id": "req-7f3a9c",
        }
    ],
    "auth_failures": [{"subject": "user:zhangwei@password", "occurred_at": _at("2018-10-31T00:59:59.123456")}],
    "zones": [
        {"code": "pazhou", "name": "琶洲互联网创新集聚区", "kind": "cluster", "parent_id": None},
        {"code": "pazhou-core", "name": "琶洲核心区", "kind": "core", "parent_id": Ref("zones", 0)},
        {"code": "pazhou-west", "name": "琶洲西区", "kind": "expansion", "parent_id": Ref("zones", 0)},
    ],
    "zone_area_versions": [
        {"zone_id": Ref("zones", 1), "area_km2": Decimal("0.370000"), "effective_from": date(2018, 1, 1)},
        {
            "zone_id": Ref("zones", 2),
            "area_km2": Decimal("1.234567"),
            "effective_from": date(2017, 1, 1),
            "effective_to": date(2018, 1, 1),
            "note": "2017年规划口径",
        },
    ],
    "enterprises": [
        {
            "uscc": _uscc("MA59C8K2X"),
            "name": "广州琶洲互联网科技集团有限公司",
            "registered_capital": Decimal("500000000.00"),
            "currency": "CNY",
            "established_on": date(2016, 5, 20),
            "settled_on": date(2017, 3, 5),
            "industry_code": "64",
            "source": "new",
            "status": "active",
            "operations_started_on": date(2017, 6, 1),
            "parent_id": None,
            "zone_id": Ref("zones", 1),
            "service_officer_id": Ref("users", 1),
        },
        {
            # No settlement date: the migration that adds officer posts dates this one from its creation.
            "uscc": _uscc("MA5AB3T7Q"),
            "name": "广州琶洲云计算有限公司",
            "registered_capital": Decimal("12345678.91"),
            "currency": "CNY",
            "established_on": None,
            "settled_on": None,
            "industry_code": "65",
            "source": "relocated",
            "status": "active",
            "operations_started_on": None,
            "parent_id": Ref("enterprises", 0),
            "zone_id": Ref("zones", 2),
            "service_officer_id": Ref("users", 1),
        },
        {
            "uscc": _uscc("MA5C1WN4R"),
            "name": "海珠区人工智能研究院有限公司",
            "registered_capital": Decimal("3000000.05"),
            "currency": "HKD",
            "established_on": date(2010, 12, 31),
            "settled_on": date(2018, 10, 31),
            "industry_code": "73",
            "source": "existing",
            "status": "relocated_out",
            "parent_id": None,
            "zone_id": None,
            "service_officer_id": None,
        },
        {
            # Signed to move in from another city; its settlement date is still ahead.
            "uscc": _uscc("MA5D2PQ6L"),
            "name": "深圳前沿生物科技有限公司广州分公司",
            "registered_capital": Decimal("80000000.00"),
            "currency": "CNY",
            "established_on": date(2015, 8, 8),
            "settled_on": PLANNED_SETTLEMENT,
            "industry_code": "73",
            "source": "relocated",
            "status": "active",
            "operations_started_on": None,
            "parent_id": None,
            "zone_id": Ref("zones", 1),
            "service_officer_id": Ref("users", 1),
        },
    ],
    "enterprise_contacts": [
        {"enterprise_id": Ref("enterprises", 0), "name": "王芳", "phone": "13800138000", "position": "总经理助理"},
        {"enterprise_id": Ref("enterprises", 1), "name": "周杰", "phone": "020-89001234", "position": None},
    ],
    "enterprise_investor_classes": [
        {"enterprise_id": Ref("enterprises", 0), "investor_class": "fortune_global_500", "list_year": 2018},
        {"enterprise_id": Ref("enterprises", 0), "investor_class": "leading_enterprise", "list_year": None},
    ],
    "land_parcels": [
        {
            "code": "AH040130",
            "zone_id": Ref("zones", 1),
            "area_m2": Decimal("45678.90"),
            "planned_use": "商务设施用地",
            "transferred_on": date(2018, 4, 12),
            "buyer_enterprise_id": Ref("enterprises", 0),
            "price": Decimal("2350000000.00"),
        },
        {
            "code": "AH040212",
            "zone_id": Ref("zones", 2),
            "area_m2": Decimal("12000.00"),
            "planned_use": None,
            "transferred_on": None,
            "buyer_enterprise_id": None,
            "price": None,
        },
    ],
    "projects": [
        {
            "name": "琶洲互联网总部大楼",
            "code_name": "P项目",
            "project_type": "hq",
            "enterprise_id": Ref("enterprises", 0),
            "zone_id": Ref("zones", 1),
            "is_key": True,
            "industry_code": "64",
            "planned_investment": Decimal("8000000000.00"),
            "planned_registered_capital": Decimal("500000000.00"),
            "responsible_officer_id": Ref("users", 1),
            "service_officer_id": Ref("users", 1),
            "introduced_on": date(2017, 2, 10),
            "stage": "under_construction",
            "stage_since": date(2018, 3, 1),
        },
        {
            "name": "华南云计算数据中心",
            "code_name": None,
            "project_type": "industrial",
            "enterprise_id": Ref("enterprises", 1),
            "zone_id": Ref("zones", 2),
            "is_key": False,
            "industry_code": "65",
            "planned_investment": Decimal("1234567.89"),
            "planned_registered_capital": None,
            "responsible_officer_id": Ref("users", 1),
            "service_officer_id": None,
            "introduced_on": date(2018, 5, 18),
            "stage": "negotiating",
            "stage_since": date(2018, 5, 18),
        },
    ],
    "project_stage_events": [
        {
            "project_id": Ref("projects", 0),
            "from_stage": None,
            "to_stage": "negotiating",
            "occurred_on": date(2017, 2, 10),
            "recorded_by": "张伟",
            "recorded_at": _at("2017-02-10T08:00:00"),
        },
        {
            "project_id": Ref("projects", 0),
            "from_stage": "registered",
            "to_stage": "under_construction",
            "occurred_on": date(2018, 3, 1),
            "note": "取得施工许可证后开工",
            "recorded_by": "张伟",
            "recorded_at": _at("2018-03-08T08:00:00"),
        },
    ],
    "milestones": [
        {
            "project_id": Ref("projects", 0),
            "track": "construction",
            "name": "取得施工许可证",
            "sort_order": 1,
            "planned_on": date(2018, 2, 28),
            "due_on": date(2018, 3, 31),
            "completed_on": date(2018, 3, 1),
            "note": None,
        },
        {
            "project_id": Ref("projects", 0),
            "track": "construction",
            "name": "主体结构封顶",
            "sort_order": 2,
            "planned_on": date(2018, 10, 31),
            "due_on": date(2018, 12, 31),
            "completed_on": None,
        },
        {
            "project_id": Ref("projects", 1),
            "track": "industry",
            "name": "首批企业入驻",
            "sort_order": 1,
            "planned_on": None,
            "due_on": None,
            "completed_on": None,
        },
    ],
    "milestone_replans": [
        {
            "milestone_id": Ref("milestones", 1),
            "previous_due_on": date(2018, 10, 31),
            "new_due_on": date(2018, 12, 31),
            "decided_on": date(2018, 9, 20),
            "reason": "台风影响工期",
            "recorded_by": "张伟",
        }
    ],
    "escalations": [
        {
            "project_id": Ref("projects", 0),
            "milestone_id": Ref("milestones", 1),
            "level": "supervision",
            "occurred_on": date(2018, 10, 8),
            "officer_id": Ref("users", 1),
            "note": "节点滞后，发督办函",
            "outcome": None,
        }
    ],
    "supervision_rounds": [
        {
            "held_on": date(2018, 9, 28),
            "title": "2018年第三季度重点项目督查",
            "findings": "总部大楼主体结构进度滞后约两个月",
        }
    ],
    "supervision_round_projects": [{"round_id": Ref("supervision_rounds"), "project_id": Ref("projects", 0)}],
    "milestone_templates": [
        {
            "code": "hq",
            "name": "总部类项目关键节点表",
            "project_type": "hq",
            "items": [
                {"track": "construction", "name": "取得施工许可证", "offset_days": 90},
                {"track": "industry", "name": "首批企业入驻", "offset_days": 720},
            ],
        }
    ],
    "metrics": [
        {
            "code": "employees",
            "name": "从业人员",
            "unit": "人",
            "kind": "count",
            "higher_is_better": True,
            "non_negative": True,
            "sensitive": False,
        }
    ],
    "kpi_facts": [
        *(
            {
                "enterprise_id": Ref("enterprises", 0),
                "metric_id": Seeded("metrics", "code", "revenue"),
                "year": 2018,
                "month": month,
                "reported_as": "ytd",
                "reported_value": ytd,
                "monthly_value": monthly,
                "ytd_value": ytd,
            }
            for month, monthly, ytd in (
                (1, Decimal("1000000.00"), Decimal("1000000.00")),
                (2, Decimal("1500000.50"), Decimal("2500000.50")),
            )
        ),
        {
            "enterprise_id": Ref("enterprises", 0),
            "metric_id": Seeded("metrics", "code", "tax"),
            "year": 2018,
            "month": 1,
            "reported_as": "monthly",
            "reported_value": Decimal("123456.78"),
            "monthly_value": Decimal("123456.78"),
            "ytd_value": Decimal("123456.78"),
        },
        {
            "enterprise_id": Ref("enterprises", 1),
            "metric_id": Seeded("metrics", "code", "revenue"),
            "year": 2018,
            "month": 3,
            "reported_as": "ytd",
            "reported_value": Decimal("98765432109.01"),
            "monthly_value": None,  # months 1–2 were never reported
            "ytd_value": None,
        },
    ],
    "cohorts": [
        {"code": "key-2018", "name": "2018年重点项目企业", "kind": "static", "rule_value": None},
        {"code": "pazhou", "name": "琶洲集聚区企业", "kind": "zone", "rule_value": 1},
    ],
    "cohort_members": [
        {
            "cohort_id": Ref("cohorts", 0),
            "enterprise_id": Ref("enterprises", 0),
            "joined_on": date(2018, 1, 1),
            "left_on": None,
        },
        {
            "cohort_id": Ref("cohorts", 0),
            "enterprise_id": Ref("enterprises", 1),
            "joined_on": date(2018, 1, 1),
            "left_on": date(2018, 7, 1),
        },
    ],
    "targets": [
        {
            "cohort_id": Ref("cohorts", 0),
            "metric_id": Seeded("metrics", "code", "revenue"),
            "year": 2018,
            "month": None,
            "value": Decimal("48610000000.00"),
        },
        {
            "cohort_id": Ref("cohorts", 0),
            "metric_id": Seeded("metrics", "code", "revenue"),
            "year": 2018,
            "month": 10,
            "value": Decimal("33000000000.00"),
        },
    ],
    "departments": [
        {"code": "tax", "name": "海珠区税务局", "is_active": True},
        {"code": "hr", "name": "区人力资源和社会保障局", "is_active": True},
    ],
    "service_types": [
        {
            "code": "export-rebate",
            "name": "出口退税办理",
            "category": "enterprise",
            "department_id": Ref("departments", 0),
            "time_limit_working_days": 5,
            "description": "材料齐全之日起五个工作日内办结",
            "is_active": True,
        },
        {
            "code": "talent-hukou",
            "name": "人才入户",
            "category": "talent",
            "department_id": Ref("departments", 1),
            "time_limit_working_days": 10,
            "description": None,
            "is_active": True,
        },
    ],
    # Where the posts exist, enterprises with an officer have their open primary post (as the app keeps them).
    "service_officer_assignments": [
        {
            "enterprise_id": Ref("enterprises", 0),
            "officer_id": Ref("users", 0),
            "role": "primary",
            "started_on": date(2017, 3, 5),
            "ended_on": date(2018, 1, 15),
            "note": None,
            "ended_note": "工作调整，移交张伟",
            "recorded_by": "系统管理员",
        },
        {
            "enterprise_id": Ref("enterprises", 0),
            "officer_id": Ref("users", 1),
            "role": "primary",
            "started_on": date(2018, 1, 15),
            "ended_on": None,
            "note": "交接完成",
            "ended_note": None,
            "recorded_by": "系统管理员",
        },
        {
            "enterprise_id": Ref("enterprises", 1),
            "officer_id": Ref("users", 1),
            "role": "primary",
            "started_on": date(2018, 7, 1),
            "ended_on": None,
            "note": None,
            "ended_note": None,
            "recorded_by": "张伟",
        },
        {
            "enterprise_id": Ref("enterprises", 3),
            "officer_id": Ref("users", 1),
            "role": "primary",
            "started_on": date(2018, 10, 31),  # the app dates a post no later than the day it is recorded
            "ended_on": None,
            "note": "签约后提前对接",
            "ended_note": None,
            "recorded_by": "系统管理员",
        },
    ],
    "visits": [
        {
            "enterprise_id": Ref("enterprises", 0),
            "visited_on": date(2018, 8, 14),
            "purpose": "了解总部大楼建设用工需求",
            "findings": "企业反映人才住房紧张",
        },
        {"enterprise_id": Ref("enterprises", 1), "visited_on": date(2018, 9, 3), "purpose": None, "findings": "无"},
    ],
    "visit_officers": [
        {"visit_id": Ref("visits", 0), "user_id": Ref("users", 1)},
        {"visit_id": Ref("visits", 0), "user_id": Ref("users", 0)},
    ],
    "consultation_events": [
        {"held_on": date(2018, 6, 21), "title": "海珠区企业服务问诊会", "place": "琶洲会展中心B区", "note": None}
    ],
    "consultation_event_departments": [
        {"event_id": Ref("consultation_events"), "department_id": Ref("departments", 0)},
        {"event_id": Ref("consultation_events"), "department_id": Ref("departments", 1)},
    ],
    "consultation_appointments": [
        {
            "event_id": Ref("consultation_events"),
            "enterprise_id": Ref("enterprises", 1),
            "department_id": Ref("departments", 0),
            "topic": "跨境服务出口退税",
        }
    ],
    "service_requests": [
        {
            "enterprise_id": Ref("enterprises", 0),
            "service_type_id": Ref("service_types", 1),
            "department_id": Ref("departments", 1),
            "assignee_id": Ref("users", 1),
            "source": "visit",
            "visit_id": Ref("visits", 0),
            "appointment_id": None,
            "title": "高管人才入户",
            "description": "三名高管申请人才入户",
            "received_at": _at("2018-08-14T15:30:00"),  # 23:30 in Guangzhou: still the 14th
            "received_on": date(2018, 8, 14),
            "time_limit_working_days": 10,
            "due_on": date(2018, 8, 28),
            "status": "resolved",
            "status_changed_at": _at("2018-08-24T02:00:00"),
            "resolved_on": date(2018, 8, 24),
            "resolution": "已办结",
            "rejected_on": None,
            "rejection_reason": None,
            "callback_on": None,
            "satisfaction": None,
            "evaluated_on": None,
        },
        {
            "enterprise_id": Ref("enterprises", 1),
            "service_type_id": Ref("service_types", 0),
            "department_id": Ref("departments", 0),
            "assignee_id": None,
            "source": "consultation",
            "visit_id": None,
            "appointment_id": Ref("consultation_appointments"),
            "title": "出口退税进度查询",
            "description": "问诊会现场提出",
            "received_at": _at("2018-06-21T03:00:00"),
            "received_on": date(2018, 6, 21),
            "time_limit_working_days": 5,
            "due_on": date(2018, 6, 28),
            "status": "evaluated",
            "status_changed_at": _at("2018-07-02T02:00:00"),
            "resolved_on": date(2018, 6, 27),
            "resolution": "退税已到账",
            "rejected_on": None,
            "rejection_reason": None,
            "callback_on": date(2018, 7, 2),
            "satisfaction": 5,
            "evaluated_on": date(2018, 7, 2),
        },
        {
            "enterprise_id": Ref("enterprises", 2),
            "service_type_id": Ref("service_types", 0),
            "department_id": Ref("departments", 0),
            "assignee_id": None,
            "source": "direct",
            "visit_id": None,
            "appointment_id": None,
            "title": "劳动争议协调",
            "description": "已进入仲裁程序",
            "received_at": _at("2018-10-08T01:00:00"),
            "received_on": date(2018, 10, 8),
            "time_limit_working_days": 5,
            "due_on": date(2018, 10, 15),
            "status": "rejected",
            "status_changed_at": _at("2018-10-09T01:00:00"),
            "resolved_on": None,
            "resolution": None,
            "rejected_on": date(2018, 10, 9),
            "rejection_reason": "in_litigation",
            "callback_on": None,
            "satisfaction": None,
            "evaluated_on": None,
        },
    ],
    "service_request_events": [
        {
            "request_id": Ref("service_requests", 0),
            "from_status": None,
            "to_status": "registered",
            "occurred_at": _at("2018-08-14T15:30:00"),
            "note": None,
            "reason_code": None,
            "recorded_by": "张伟",
        },
        {
            "request_id": Ref("service_requests", 2),
            "from_status": "registered",
            "to_status": "rejected",
            "occurred_at": _at("2018-10-09T01:00:00"),
            "note": "已进入劳动仲裁",
            "reason_code": "in_litigation",
            "recorded_by": "张伟",
        },
    ],
    "talent_persons": [
        {
            "name": "陈静",
            "enterprise_id": Ref("enterprises", 0),
            "role": "senior_executive",
            "position": "首席技术官",
            "national_id": _national_id("440105", "19850312", "002"),
            "phone": "13912345678",
        },
        {
            "name": "刘洋",
            "enterprise_id": Ref("enterprises", 0),
            "role": "core_technical",
            "position": None,
            "national_id": _national_id("110101", "19900101", "123"),
            "phone": None,
        },
        {
            "name": "赵磊",
            "enterprise_id": Ref("enterprises", 1),
            "role": "high_end",
            "position": "研究员",
            "national_id": None,
            "phone": "020-34567890",
        },
    ],
    "apartment_batches": [
        {
            "code": "2018-01",
            "name": "2018年第一批人才公寓",
            "supplied_on": date(2018, 3, 1),
            "source": "国有物业存量房源",
            "provider": "海珠区国资公司",
        }
    ],
    "apartment_units": [
        {
            "batch_id": Ref("apartment_batches"),
            "code": "PZ-A-1201",
            "address": "琶洲大道东1号A座1201",
            "area_m2": Decimal("89.50"),
            "bedrooms": 2,
        },
        {
            "batch_id": Ref("apartment_batches"),
            "code": "PZ-A-1202",
            "address": "琶洲大道东1号A座1202",
            "area_m2": None,
            "bedrooms": None,
        },
    ],
    "apartment_allocations": [
        {
            "unit_id": Ref("apartment_units", 0),
            "person_id": Ref("talent_persons", 0),
            "enterprise_id": Ref("enterprises", 0),
            "start_on": date(2018, 4, 1),
            "end_on": None,
            "rent_free": False,
            "monthly_rent": Decimal("1500.00"),
            "note": None,
        },
        {
            "unit_id": Ref("apartment_units", 1),
            "person_id": Ref("talent_persons", 1),
            "enterprise_id": Ref("enterprises", 0),
            "start_on": date(2018, 4, 1),
            "end_on": date(2018, 9, 30),
            "rent_free": True,
            "monthly_rent": None,
            "note": "租期届满退租",
        },
    ],
    "household_registrations": [
        {
            "person_id": Ref("talent_persons", 0),
            "enterprise_id": Ref("enterprises", 0),
            "applied_on": date(2018, 5, 2),
            "status": "approved",
            "decided_on": date(2018, 6, 15),
            "note": None,
        },
        {
            "person_id": Ref("talent_persons", 2),
            "enterprise_id": Ref("enterprises", 1),
            "applied_on": date(2018, 9, 10),
            "status": "submitted",
            "decided_on": None,
            "note": "材料补正中",
        },
    ],
    "talent_green_cards": [
        {
            "person_id": Ref("talent_persons", 1),
            "enterprise_id": Ref("enterprises", 0),
            "applied_on": date(2018, 3, 20),
            "status": "approved",
            "decided_on": date(2018, 4, 20),
            "card_number": "GZRC2018000123",
            "expires_on": date(2021, 4, 19),
            "note": None,
        }
    ],
    "disclosure_items": [
        {
            "title": "海珠区2018年重点项目建设计划",
            "category": "plans",
            "legal_basis_item": 5,
            "published_at": _at("2018-02-28T02:00:00"),
            "link": "http://www.haizhu.gov.cn/gkmlpt/content/2/2018/post_1.html",
            "abolished_on": None,
        },
        {
            "title": "琶洲集聚区招商工作动态",
            "category": "news",
            "legal_basis_item": None,
            "published_at": _at("2018-10-31T15:59:59"),
            "link": None,
            "abolished_on": None,
        },
        {
            "title": "海珠区促进总部经济发展办法",
            "category": "normative_documents",
            "legal_basis_item": 1,
            "published_at": _at("2016-07-01T01:00:00"),
            "link": None,
            "abolished_on": date(2018, 6, 30),
        },
    ],
    "disclosure_item_channels": [
        {"item_id": Ref("disclosure_items", 0), "channel": "website"},
        {"item_id": Ref("disclosure_items", 0), "channel": "wechat"},
        {"item_id": Ref("disclosure_items", 1), "channel": "weibo"},
        {"item_id": Ref("disclosure_items", 2), "channel": "gazette"},
    ],
    "disclosure_requests": [
        {
            "applicant_type": "natural_person",
            "applicant_name": "黄敏",
            "subject": "琶洲西区地块出让信息",
            "received_on": date(2018, 5, 7),
            "concluded_on": date(2018, 5, 25),
            "outcome": "3.4",
            "fee_basis": "per_volume",
            "monthly_ordinal": None,
            "pages": 120,
            "fee": Decimal("100.00"),
            "note": None,
        },
        {
            "applicant_type": "commercial_enterprise",
            "applicant_name": "广州某律师事务所",
            "subject": "2017年招商引资奖励名单",
            "received_on": date(2018, 10, 30),
            "concluded_on": None,
            "outcome": None,
            "fee_basis": "none",
            "monthly_ordinal": None,
            "pages": None,
            "fee": Decimal("0.00"),
            "note": None,
        },
    ],
    "disclosure_remedies": [
        {
            "request_id": Ref("disclosure_requests", 0),
            "kind": "administrative_review",
            "filed_on": date(2018, 6, 20),
            "result": "upheld",
            "concluded_on": date(2018, 8, 20),
            "as_review_organ_co_defendant": False,
            "note": None,
        }
    ],
    "disclosure_enforcement_figures": [
        {
            "year": 2018,
            "licensing_decisions": 0,
            "penalty_decisions": 2,
            "coercion_decisions": 0,
            "fee_income": Decimal("300.00"),
        }
    ],
    "meetings": [
        {
            "kind": "office_meeting",
            "held_on": date(2018, 3, 12),
            "title": "2018年第5次办务会",
            "topics": "研究重点项目服务保障",
            "attendees": 12,
        },
        {
            "kind": "central_group_study",
            "held_on": date(2018, 4, 2),
            "title": "中心组学习（第二季度）",
            "topics": None,
            "attendees": None,
        },
    ],
    "major_decisions": [
        {
            "kind": "large_sum",
            "title": "拨付总部企业落户奖励资金",
            "meeting_id": Ref("meetings", 0),
            "amount": Decimal("5000000.00"),
            "note": None,
        },
        {
            "kind": "project",
            "title": "同意引进华南云计算数据中心项目",
            "meeting_id": Ref("meetings", 0),
            "amount": None,
        },
    ],
    "report_snapshots": [
        {
            "kind": "annual_work",
            "year": 2018,
            "parameters": {"year": 2018, "through_month": 10},
            "content": {"key_projects": {"revenue": "48610000000.00", "yoy_growth": "0.261"}},
            "content_sha256": "9f" * 32,
            "includes_sensitive": False,
            "document": "2018年海珠区招商工作报告".encode(),
            "title": "2018年1–10月工作报告",
            "created_by": "系统管理员",
            "created_at": _at("2018-11-05T02:00:00"),
        }
    ],
    "change_horizons": [
        {"resource": "kpi_facts", "txid": 0, "change_id": 1, "generation": 1, "pruned_at": _at("2018-11-01T00:00:00")}
    ],
    "idempotency_keys": [
        {
            "principal": "client:haizhu-stats",
            "key": "kpi-2018-10-batch-1",
            "fingerprint": "ab" * 32,
            "created_at": _at("2018-10-31T02:00:00"),
            "status": 201,
            "headers": {"content-type": "application/json"},
            "body": b'{"created": 2}',
        }
    ],
    "import_jobs": [
        {
            "resource": "enterprises",
            "filename": "2018年新落户企业.xlsx",
            "file_format": "xlsx",
            "file_sha256": "cd" * 32,
            "dry_run": False,
            "status": "succeeded",
            "created_by": "user:1",
            "created_at": _at("2018-09-01T01:00:00"),
            "started_at": _at("2018-09-01T01:00:01"),
            "finished_at": _at("2018-09-01T01:00:09"),
            "heartbeat_at": _at("2018-09-01T01:00:09"),
            "rows_processed": 17,
            "error_count": 0,
            "errors": None,
            "problem": None,
            "result": {"created": 15, "updated": 2, "unchanged": 0},
        }
    ],
    # Only at the head so far: written once a later migration makes the webhooks' revision a starting point.
    "webhook_subscriptions": [
        {
            "url": "https://tongji.haizhu.gov.cn/hooks/zhaoshang",
            "description": "区统计局项目库同步",
            "is_active": True,
            "secret": "whsec_" + "5f" * 24,
            "secret_rotated_at": _at("2018-09-01T00:00:00"),
            "created_by": "系统管理员",
        }
    ],
    "webhook_subscription_events": [
        {"subscription_id": Ref("webhook_subscriptions"), "event_type": "project.stage_changed"}
    ],
    "webhook_events": [
        {
            "type": "project.stage_changed",
            "dedup_key": "project.stage_changed:2",
            "data": {"project_id": 1, "from_stage": "registered", "to_stage": "under_construction"},
            "occurred_at": _at("2018-03-08T08:00:00"),
            "created_at": _at("2018-03-08T08:00:00"),
            "fanned_out": True,
        }
    ],
    "webhook_deliveries": [
        {
            "event_id": Ref("webhook_events"),
            "subscription_id": Ref("webhook_subscriptions"),
            "status": "succeeded",
            "attempts": 2,
            "next_attempt_at": None,
            "last_attempt_at": _at("2018-03-08T08:01:00"),
            "last_status_code": 204,
            "last_error": None,
            "last_duration_ms": 85,
            "delivered_at": _at("2018-03-08T08:01:00"),
        }
    ],
    "webhook_attempts": [
        {
            "delivery_id": Ref("webhook_deliveries"),
            "number": number,
            "attempted_at": at,
            "status_code": code,
            "error": error,
            "duration_ms": ms,
            "succeeded": code == 204,
        }
        for number, at, code, error, ms in (
            (1, _at("2018-03-08T08:00:01"), 503, "HTTP 503", 1200),
            (2, _at("2018-03-08T08:01:00"), 204, None, 85),
        )
    ],
}
# Tables of reference data the migrations seed: read and compared, not written to.
REFERENCE = frozenset({"industries", "work_calendar_years", "work_calendar_days"})
NOT_WRITTEN = REFERENCE | {"alembic_version", "changes"}  # the change log is written as the app writes it
GENERIC_ROWS = 2  # rows for a table without an entry in ROWS


def _retype(meta: MetaData) -> None:
    """Reflection sees the storage types (a BIGINT for money on SQLite); bind and read through the app's."""
    for table in meta.tables.values():
        target = TARGET.get(table.name)
        for column in table.columns:
            if target is not None and column.name in target.c:
                wanted = target.c[column.name].type
                if isinstance(wanted, ScaledDecimal | UTCDateTime):
                    column.type = wanted


def _reflect(conn: Connection) -> MetaData:
    meta = MetaData()
    meta.reflect(conn)
    _retype(meta)
    return meta


def _suffixed(text: str, suffix: str, length: int | None) -> str:
    if length is None or len(text) + len(suffix) <= length:
        return text + suffix
    return text[: max(0, length - len(suffix))] + suffix


def _by_type(table: Table, name: str, kind: TypeEngine[Any], index: int, dialect: str) -> Any:
    """A plausible value for a column no override names."""
    n = index + 1
    target = TARGET.get(table.name)
    app_type = target.c[name].type if target is not None and name in target.c else kind
    if isinstance(app_type, Enum):
        return app_type.enums[index % len(app_type.enums)]
    if isinstance(kind, ScaledDecimal):
        return Decimal(f"{n * 1234}.{'5' * kind.scale}") if kind.scale else Decimal(n * 1234)
    if isinstance(kind, UTCDateTime):
        return _at("2018-10-31T15:30:00") + timedelta(hours=index)
    if isinstance(kind, Boolean):
        return index % 2 == 0
    if isinstance(kind, DateTime):
        instant = _at("2018-10-31T15:30:00") + timedelta(hours=index)
        return instant if dialect == "postgresql" and kind.timezone else instant.replace(tzinfo=None)
    if isinstance(kind, Date):
        return date(2018, 1 + index % 12, 15)
    if isinstance(kind, Integer):
        return {"year": 2018 - index, "month": 1 + index % 12, "version": 1}.get(name, n)
    if isinstance(kind, Numeric):
        return Decimal(f"{n}.25")
    if isinstance(kind, String):
        return _suffixed(f"测试{name}", str(n), kind.length)
    if isinstance(kind, JSON):
        return {"说明": f"测试{name}", "序号": n}
    if isinstance(kind, LargeBinary):
        return f"测试{name}{n}".encode()
    raise TypeError(f"no value for {table.name}.{name} ({kind!r}): add it to ROWS")


class Seeder:
    """Writes the rows of ROWS (and generic ones) into a database at some revision, in dependency order."""

    def __init__(self, conn: Connection, meta: MetaData) -> None:
        self.conn = conn
        self.meta = meta
        self.dialect = conn.dialect.name
        self.written: dict[str, list[Row]] = {}

    def key(self, table: str, index: int) -> Any:
        rows = self.written.get(table, [])
        assert index < len(rows), f"{table} row {index} is referred to before it is written"
        (column,) = self.meta.tables[table].primary_key.columns
        return rows[index][column.name]

    def resolve(self, value: Any) -> Any:
        if isinstance(value, Ref):
            return self.key(value.table, value.index)
        if isinstance(value, Seeded):
            table = self.meta.tables[value.table]
            (column,) = table.primary_key.columns
            found = self.conn.scalar(sa_select(column).where(table.c[value.column] == value.value))
            assert found is not None, value
            return found
        return value

    def _foreign_key(self, table: Table, name: str, index: int) -> Any:
        """A column no override names that refers to another table: the `index`-th row there, cyclically."""
        column = table.c[name]
        (fk,) = column.foreign_keys
        referred = fk.column
        values = list(self.conn.scalars(sa_select(referred).order_by(referred)))
        if referred.table.name == table.name:  # a tree: the first row is a root, the others hang from it
            return values[0] if values else None
        assert values or column.nullable, f"{table.name}.{name}: nothing to refer to in {referred.table.name}"
        return values[index % len(values)] if values else None

    def write(self, table: Table) -> None:
        target = TARGET.get(table.name)
        auto = (target if target is not None else table).autoincrement_column
        for index, partial in enumerate(ROWS.get(table.name, [{}] * GENERIC_ROWS)):
            unknown = set(partial) - {c.name for c in (target if target is not None else table).columns}
            assert not unknown, f"ROWS[{table.name!r}] names columns the head does not have: {unknown}"
            row: Row = {}
            for column in table.columns:
                if column.name in partial:
                    row[column.name] = self.resolve(partial[column.name])
                elif auto is not None and column.name == auto.name:
                    continue  # the database numbers it, as it did for the app
                elif column.name in WHEN:
                    row[column.name] = WHEN[column.name]
                elif column.foreign_keys:
                    row[column.name] = self._foreign_key(table, column.name, index)
                else:
                    row[column.name] = _by_type(table, column.name, column.type, index, self.dialect)
            result = self.conn.execute(table.insert().values(row))
            if auto is not None:
                (row[auto.name],) = result.inserted_primary_key or (None,)
            self.written.setdefault(table.name, []).append(row)

    def log_changes(self, tracked: Iterable[tuple[str, str]]) -> None:
        """The change rows the app's flush hook wrote for these rows, for the resources it tracked then."""
        changes = self.meta.tables["changes"]
        stamp = _at("2018-10-31T15:30:00")
        for resource, table in tracked:
            for row in self.written.get(table, []):
                # txid 0 also on PostgreSQL: a real transaction id would hide the row from the feed while an
                # older transaction elsewhere on a shared test cluster is still open.
                self.conn.execute(
                    changes.insert().values(txid=0, resource=resource, entity_id=row["id"], changed_at=stamp)
                )


def _seed(conn: Connection, start: str) -> tuple[dict[str, list[Row]], Snapshot]:
    """Writes the rows; returns them and what the database then holds."""
    meta = _reflect(conn)
    seeder = Seeder(conn, meta)
    # Foreign keys, and the references ROWS makes without one (an audit event's actor).
    refers = [
        (meta.tables[value.table], meta.tables[name])
        for name, rows in ROWS.items()
        for row in rows
        for value in row.values()
        if isinstance(value, Ref | Seeded) and name in meta.tables and value.table != name
    ]
    for table in sort_tables(meta.tables.values(), extra_dependencies=refers):
        if table.name not in NOT_WRITTEN:
            seeder.write(table)
    if "changes" in meta.tables:
        seeder.log_changes(_tracked_at(start))
    return seeder.written, _snapshot(conn, meta)


def _snapshot(conn: Connection, meta: MetaData | None = None) -> Snapshot:
    meta = meta if meta is not None else _reflect(conn)
    found: Snapshot = {}
    for table in meta.sorted_tables:
        if table.name == "alembic_version":
            continue
        keys = list(table.primary_key.columns)
        rows = conn.execute(sa_select(table)).mappings()
        found[table.name] = {tuple(row[c.name] for c in keys): dict(row) for row in rows}
    return found


async def _run(url: str, work: Callable[[Connection], Any], *, write: bool = False) -> Any:
    engine = create_async_engine(url)
    try:
        async with engine.begin() if write else engine.connect() as conn:
            return await conn.run_sync(work)
    finally:
        await engine.dispose()


# --- what the data migrations on the way must have done -----------------------------------------------------

Check = Callable[[Snapshot, Snapshot, datetime], Claimed]


def _new(before: Snapshot, after: Snapshot, table: str) -> dict[Key, Row]:
    old = before.get(table, {})
    return {key: row for key, row in after[table].items() if key not in old}


def _change_backfill(backfill: Sequence[tuple[str, str]]) -> Check:
    """One change (txid 0) for every row of each newly fed resource, in id order, stamped during the upgrade."""

    def check(before: Snapshot, after: Snapshot, started: datetime) -> Claimed:
        resources = {resource for resource, _ in backfill}
        new = {k: r for k, r in _new(before, after, "changes").items() if r["resource"] in resources}
        got = Counter((r["txid"], r["resource"], r["entity_id"]) for r in new.values())
        expected = Counter((0, resource, key[0]) for resource, table in backfill for key in after[table])
        assert got == expected, f"change log backfill for {sorted(resources)}"
        for resource in resources:
            entities = [r["entity_id"] for _, r in sorted(new.items()) if r["resource"] == resource]
            assert entities == sorted(entities), f"{resource}: backfilled out of id order"
        assert all(started <= r["changed_at"] <= datetime.now(UTC) for r in new.values())
        return {"changes": set(new)}

    return check


def _post_start(enterprise: Row, today: date) -> date:
    settled: date | None = enterprise["settled_on"]
    return min(settled or enterprise["created_at"].astimezone(SHANGHAI).date(), today)


def _primary_posts(before: Snapshot, after: Snapshot, started: datetime) -> Claimed:
    """Enterprises with a service officer get the open primary post behind it, from the day they settled
    (or were created, as a Guangzhou date), and never from a day still ahead: the officer serves today."""
    new = _new(before, after, "service_officer_assignments")
    today = started.astimezone(SHANGHAI).date()
    got = Counter(
        (r["enterprise_id"], r["officer_id"], r["role"], r["started_on"], r["ended_on"], r["note"], r["recorded_by"])
        for r in new.values()
    )
    expected = Counter(
        (e["id"], e["service_officer_id"], "primary", _post_start(e, today), None, None, "migration 2aad09b9827a")
        for e in before.get("enterprises", {}).values()
        if e["service_officer_id"] is not None
    )
    assert got == expected
    if before.get("enterprises"):  # ours: settled 5 March 2017; created 17:00 UTC 30 June (1 July there); ahead
        assert sorted(r["started_on"] for r in new.values()) == [
            date(2017, 3, 5),
            date(2018, 7, 1),
            min(PLANNED_SETTLEMENT, today),
        ]
    assert all(started <= r["recorded_at"] <= datetime.now(UTC) for r in new.values())
    return {"service_officer_assignments": set(new)}


def _industries(before: Snapshot, after: Snapshot, _started: datetime) -> Claimed:
    expected = {(c,): {"code": c, "name": n, "section_code": None} for c, n in SECTIONS.items()}
    expected |= {(c,): {"code": c, "name": n, "section_code": s} for c, (s, n) in DIVISIONS.items()}
    assert after["industries"] == expected
    return {"industries": set(expected)}


def _preset_metrics(before: Snapshot, after: Snapshot, _started: datetime) -> Claimed:
    presets = {r["code"]: (k, r) for k, r in _new(before, after, "metrics").items()}
    assert sorted(presets) == ["fixed_asset_investment", "revenue", "tax"]
    assert [presets[c][1]["name"] for c in ("revenue", "tax", "fixed_asset_investment")] == [
        "营业收入",
        "税收",
        "固定资产投资",
    ]
    assert {c for c, (_, r) in presets.items() if r["sensitive"]} == {"tax"}
    return {"metrics": {k for k, _ in presets.values()}}


def _work_calendar(before: Snapshot, after: Snapshot, _started: datetime) -> Claimed:
    shipped_through = next(s for s in CHAIN if s.revision == "2aad09b9827a").module.SHIPPED_THROUGH
    years = {a.year: a for a in ARRANGEMENTS if a.year <= shipped_through}
    assert {k[0]: (r["source"], r["published_on"]) for k, r in after["work_calendar_years"].items()} == {
        y: (a.source, a.published_on) for y, a in years.items()
    }
    days = {(d["day"],): dict(d) for d in shipped_days() if d["year"] in years}
    assert after["work_calendar_days"] == days
    return {"work_calendar_years": {(y,) for y in years}, "work_calendar_days": set(days)}


DATA_CHECKS: dict[str, tuple[Check, ...]] = {
    "50445305ca50": (_industries,),
    "5ecc269db815": (_preset_metrics,),
    "2aad09b9827a": (_work_calendar, _primary_posts),
}


def _checks(script: Script) -> tuple[Check, ...]:
    backfill = _backfill(script)
    return DATA_CHECKS.get(script.revision, ()) + ((_change_backfill(backfill),) if backfill else ())


DATA_STATEMENTS = re.compile(r"\bop\.(execute|bulk_insert)\(|\.get_bind\(\)|\bbind\.execute\(")


def test_every_migration_that_writes_data_has_a_check_here() -> None:
    """A new data migration fails here until DATA_CHECKS says what it must do to existing rows."""
    unchecked = [s.revision for s in CHAIN if DATA_STATEMENTS.search(Path(s.path).read_text()) and not _checks(s)]
    assert unchecked == []


def test_the_rows_written_name_tables_of_the_head() -> None:
    assert set(ROWS) <= set(TARGET)


def test_every_change_feed_is_backfilled_by_some_migration() -> None:
    """Each feed of the head starts complete on an upgraded database: some migration backfilled its table."""
    assert set(FEED_TABLES) == CHANGE_RESOURCES
    # A resource's own rows are the table the backfill read (children log as their parent).
    own = {links[0][0]: model.__tablename__ for model, links in TRACKED.items() if links[0][1] is _own}
    assert own == FEED_TABLES


# --- what the app reads at the head -------------------------------------------------------------------------

LISTS = {
    "users": "/api/v1/users",
    "api_clients": "/api/v1/clients",
    "audit_events": "/api/v1/audit-events",
    "enterprises": "/api/v1/enterprises",
    "zones": "/api/v1/zones",
    "land_parcels": "/api/v1/land-parcels",
    "projects": "/api/v1/projects",
    "supervision_rounds": "/api/v1/supervision-rounds",
    "kpi_facts": "/api/v1/kpi-facts",
    "departments": "/api/v1/departments",
    "service_types": "/api/v1/service-types",
    "service_requests": "/api/v1/service-requests",
    "visits": "/api/v1/visits",
    "consultation_events": "/api/v1/consultation-events",
    "talent_persons": "/api/v1/talents",
    "apartment_batches": "/api/v1/talent-apartments/batches",
    "apartment_units": "/api/v1/talent-apartments/units",
    "apartment_allocations": "/api/v1/talent-apartments/allocations",
    "household_registrations": "/api/v1/household-registrations",
    "talent_green_cards": "/api/v1/talent-green-cards",
    "disclosure_items": "/api/v1/disclosures",
    "disclosure_requests": "/api/v1/disclosure-requests",
    "disclosure_remedies": "/api/v1/disclosure-remedies",
    "meetings": "/api/v1/meetings",
    "major_decisions": "/api/v1/major-decisions",
    "report_snapshots": "/api/v1/report-snapshots",
}


# Columns a read model shows in another form than stored: (table, column) → the stored value as shown.
SHOWN_AS: dict[tuple[str, str], Callable[[Any], Any]] = {
    ("api_clients", "scopes"): lambda text: sorted(text.split()),
    ("report_snapshots", "content"): lambda _: None,  # null in lists; the snapshot's own GET serves it
}


def _same(api: Any, stored: Any) -> bool:
    """Whether a JSON value shows a stored one (money as a decimal string, dates and instants in ISO)."""
    if stored is None or api is None:
        return api is stored
    if isinstance(stored, Decimal):
        return Decimal(str(api)) == stored
    if isinstance(stored, datetime):
        return datetime.fromisoformat(str(api).replace("Z", "+00:00")) == stored
    if isinstance(stored, date):
        return bool(api == stored.isoformat())
    return bool(api == stored)


@pytest.fixture(scope="module")
def app() -> Any:
    """One app for the module (building one takes a second or two); each test points it at its database."""
    return create_app(make_settings(database_url="sqlite+aiosqlite:///:memory:"))


async def _read_through_the_app(app: Any, url: str, after: Snapshot) -> None:
    settings = make_settings(database_url=url)
    app.state.settings = settings
    app.state.database = Database(settings)
    try:
        # The ORM: every model loads every row (an enum value it does not know, a bad Decimal would raise).
        async with AsyncSession(app.state.database.engine) as session:
            for mapper in Base.registry.mappers:
                name = cast(Table, mapper.local_table).name
                loaded = (await session.scalars(sa_select(mapper.class_))).all()
                assert len(loaded) == len(after[name]), name

        (admin,) = [r for r in after["users"].values() if r["username"] == "admin"]
        token, _ = create_access_token(
            settings, f"user:{admin['id']}", ROLE_SCOPES[Role.admin], credential_fingerprint(admin["password_hash"])
        )
        headers = {"Authorization": f"Bearer {token}"}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=headers) as client:
            for table, path in LISTS.items():
                response = await client.get(path, params={"limit": 200})
                assert response.status_code == 200, (path, response.text)
                page = response.json()
                items = {item["id"]: item for item in page["items"]}
                assert page["total"] == len(items) == len(after[table]), path
                assert set(items) == {key[0] for key in after[table]}, path
                for key, row in after[table].items():
                    shown = items[key[0]]
                    row = {c: SHOWN_AS.get((table, c), lambda v: v)(v) for c, v in row.items()}
                    differ = {c: (shown[c], v) for c, v in row.items() if c in shown and not _same(shown[c], v)}
                    assert not differ, (path, key, differ)
            for resource, table in FEED_TABLES.items():
                response = await client.get(f"/api/v1/changes/{resource}", params={"limit": 200})
                assert response.status_code == 200, (resource, response.text)
                page = response.json()
                assert not page["has_more"], resource
                assert not [item for item in page["items"] if item["deleted"]], resource
                assert {item["id"] for item in page["items"]} == {key[0] for key in after[table]}, resource
    finally:
        await app.state.database.dispose()


# --- the test -------------------------------------------------------------------------------------------------


class Walker:
    """One database walked up the chain once; each test gets a copy of it at its revision instead of migrating
    one of its own from the base (that would run the whole chain once more per revision).

    On PostgreSQL the copies are `CREATE DATABASE … TEMPLATE`, dropped together when the module is done:
    each DROP DATABASE waits for a checkpoint, and concurrent ones share it.
    """

    def __init__(self, url: str, scratch: Path, admin: str = "") -> None:
        self.url = url
        self.admin = admin  # PostgreSQL: a database of the cluster to run CREATE DATABASE from
        self.config = _config(url)
        self.scratch = scratch
        self.at = -1  # index in CHAIN of the revision the walker is at; -1: empty
        self.copies: list[str] = []

    def database_at(self, start: str) -> str:
        """A new database at revision `start`."""
        name = f"zhaoshang_data_{uuid.uuid4().hex[:10]}"
        index = [s.revision for s in CHAIN].index(start)
        behind = index < self.at  # tests run out of order (-k, a plugin): migrate the copy itself
        if not behind:
            command.upgrade(self.config, start)
            self.at = index
        if _is_postgres(self.url):
            template = "" if behind else f' TEMPLATE "{make_url(self.url).database}"'
            asyncio.run(_pg_admin(self.admin, f'CREATE DATABASE "{name}"{template}'))
            self.copies.append(name)
            url = make_url(self.url).set(database=name).render_as_string(hide_password=False)
        else:
            path = self.scratch / f"{name}.db"
            if not behind:
                shutil.copyfile(str(make_url(self.url).database), path)
            url = f"sqlite+aiosqlite:///{path}"
        if behind:
            command.upgrade(_config(url), start)
        return url


async def _drop_all(admin: str, names: Sequence[str]) -> None:
    await asyncio.gather(*(_pg_admin(admin, f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)') for n in names))


@pytest.fixture(scope="module")
def walker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Walker]:
    scratch = tmp_path_factory.mktemp("walker")
    configured = os.environ.get("TEST_DATABASE_URL", "")
    if not _is_postgres(configured):
        yield Walker(f"sqlite+aiosqlite:///{scratch / 'walker.db'}", scratch)
        return
    name = f"zhaoshang_walk_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_admin(configured, f'CREATE DATABASE "{name}"'))
    walker = Walker(make_url(configured).set(database=name).render_as_string(hide_password=False), scratch, configured)
    try:
        yield walker
    finally:
        asyncio.run(_drop_all(configured, [*walker.copies, name]))


@pytest.mark.parametrize("start", [s.revision for s in CHAIN[:-1]], ids=[s.revision for s in CHAIN[:-1]])
def test_upgrading_with_data_keeps_it(app: Any, walker: Walker, start: str) -> None:
    url = walker.database_at(start)
    config = _config(url)
    written, before = asyncio.run(_run(url, lambda conn: _seed(conn, start), write=True))
    assert {t for t in before if t not in NOT_WRITTEN} <= {t for t, rows in written.items() if rows}

    # What was written is what is stored (the baseline really is our values, money and instants included).
    for table, rows in written.items():
        keys = [c.name for c in TARGET[table].primary_key.columns]
        for row in rows:
            assert {c: before[table][tuple(row[k] for k in keys)][c] for c in row} == row, table

    started = datetime.now(UTC)
    command.upgrade(config, "head")
    after: Snapshot = asyncio.run(_run(url, _snapshot))

    # The data migrations on the way added exactly what they should; nothing else appeared or went.
    path = CHAIN[[s.revision for s in CHAIN].index(start) + 1 :]
    claimed: Claimed = {}
    for script in path:
        for check in _checks(script):
            for table, added in check(before, after, started).items():
                claimed.setdefault(table, set()).update(added)
    for table, rows in after.items():
        assert set(rows) == set(before.get(table, {})) | claimed.get(table, set()), f"rows of {table}"

    # Every row that was there has every value it had, read through the app's types.
    for table, rows in before.items():
        assert table in after, f"{table} is gone"
        for key, row in rows.items():
            kept = after[table][key]
            assert {c: kept.get(c, "<column dropped>") for c in row} == row, (table, key)

    # Every fed resource's rows have a change at the head (the feeds start complete).
    logged = {(r["resource"], r["entity_id"]) for r in after["changes"].values()}
    for resource, table in FEED_TABLES.items():
        missing = [key for key in after[table] if (resource, key[0]) not in logged]
        assert not missing, f"{resource}: rows without a change {missing}"

    asyncio.run(_read_through_the_app(app, url, after))
