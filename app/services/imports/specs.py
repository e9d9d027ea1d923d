"""What each importable resource's file holds: its Chinese columns, and how one checked row is written.

Headers are the export's (app/services/exports.HEADERS), so an exported file imports back unchanged.
Writing goes through the resource's own service, with its rules, audit trail and change log.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import ProblemError
from app.core.principal import Principal
from app.models import Enterprise
from app.schemas.enterprise import EnterpriseCreate, EnterpriseUpdate
from app.schemas.kpi import FactBatch, FactIn
from app.services import enterprises, kpi_facts
from app.services.exports import HEADERS


class Outcome(StrEnum):
    created = "created"
    updated = "updated"
    unchanged = "unchanged"


@dataclass(frozen=True)
class Column:
    field: str
    header: str
    required: bool
    example: str
    note: str = ""


# Checks one row's values (field → text or cell value); raises pydantic.ValidationError.
Parse = Callable[[dict[str, Any]], BaseModel]
# Writes a batch of checked rows in the caller's transaction; returns each row's outcome, or raises
# RowErrors naming the rows (by their index in the batch) that the service refused.
Apply = Callable[[AsyncSession, Principal, list[BaseModel], date], Awaitable[list[Outcome]]]


class RowErrors(Exception):
    def __init__(self, errors: list[tuple[int, str, str, str]]) -> None:
        super().__init__(f"{len(errors)} rows refused")
        self.errors = errors  # (index in batch, field, code, message)


@dataclass(frozen=True)
class ImportSpec:
    resource: str
    title: str
    scope: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # fields that identify a row inside the file (a repeat is an error)
    parse: Parse
    apply: Apply
    batch_size: int


def _column(field: str, required: bool, example: str, note: str = "", header_key: str | None = None) -> Column:
    return Column(field, HEADERS[header_key or field], required, example, note)


# --- enterprises -----------------------------------------------------------------------------------------

_ENTERPRISE_FIELDS = (
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
)


def _parse_enterprise(values: dict[str, Any]) -> BaseModel:
    return EnterpriseCreate.model_validate({k: v for k, v in values.items() if v is not None})


async def _apply_enterprises(
    session: AsyncSession, actor: Principal, rows: list[BaseModel], today: date
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for index, row in enumerate(rows):
        assert isinstance(row, EnterpriseCreate)  # noqa: S101 - the spec's own parse made it
        try:
            outcomes.append(await _upsert_enterprise(session, actor, row, today))
        except ProblemError as exc:
            # The transaction will be rolled back; what the refused row half-wrote is not built on.
            field = str(exc.errors[0]["loc"][-1]) if exc.errors else "uscc"
            raise RowErrors([(index, field, exc.code, exc.detail)]) from None
    return outcomes


async def _upsert_enterprise(session: AsyncSession, actor: Principal, row: EnterpriseCreate, today: date) -> Outcome:
    existing = await session.scalar(select(Enterprise).where(Enterprise.uscc == row.uscc))
    if existing is None:
        await enterprises.create_enterprise(session, actor, row, today)
        return Outcome.created
    wanted = row.model_dump(include=set(_ENTERPRISE_FIELDS) - {"uscc"})
    changed = {field: value for field, value in wanted.items() if getattr(existing, field) != value}
    if not changed:
        return Outcome.unchanged
    await enterprises.update_enterprise(
        session, actor, existing.id, EnterpriseUpdate.model_validate(changed), None, today
    )
    return Outcome.updated


ENTERPRISES = ImportSpec(
    resource="enterprises",
    title="企业库",
    scope="enterprises:write",
    columns=(
        _column("uscc", True, "91440105MA59XXXXXX", "18 位，含校验位；已登记的代码按本行更新"),
        _column("name", True, "广州示例科技有限公司"),
        _column("registered_capital", True, "10000000.00", "元，最多两位小数"),
        _column("currency", False, "CNY", "默认 CNY"),
        _column("established_on", False, "2018-03-01", "YYYY-MM-DD"),
        _column("settled_on", False, "2018-06-01", "落户日期，YYYY-MM-DD"),
        _column("industry_code", True, "64", "GB/T 4754-2017 大类代码", header_key="industry.code"),
        _column("source", True, "new", "new 新引进 / relocated 迁入 / existing 存量"),
        _column("status", False, "active", "默认 active"),
        _column("operations_started_on", False, "2018-09-01", "实质性运营日期，YYYY-MM-DD"),
        _column("parent_id", False, "", "所属集团的企业编号"),
        _column("zone_id", False, "", "集聚区编号"),
        _column("service_officer_id", False, "", "首席服务官（员工）编号"),
    ),
    key=("uscc",),
    parse=_parse_enterprise,
    apply=_apply_enterprises,
    batch_size=500,
)


# --- KPI facts --------------------------------------------------------------------------------------------


def _parse_fact(values: dict[str, Any]) -> BaseModel:
    return FactIn.model_validate({k: v for k, v in values.items() if v is not None})


async def _apply_facts(session: AsyncSession, actor: Principal, rows: list[BaseModel], today: date) -> list[Outcome]:
    facts = [row for row in rows if isinstance(row, FactIn)]
    try:
        result = await kpi_facts.upsert_facts(session, actor, FactBatch(rows=facts), today)
    except ProblemError as exc:
        errors = [
            (int(e["loc"][2]), str(e["loc"][-1]), str(e.get("type", exc.code)), str(e["message"]))
            for e in exc.errors or []
            if len(e.get("loc", ())) >= 4 and isinstance(e["loc"][2], int)
        ]
        if not errors:
            raise
        raise RowErrors(errors) from None
    # The service counts per batch; each row's own outcome is not needed beyond the totals.
    return (
        [Outcome.created] * result.created + [Outcome.updated] * result.updated + [Outcome.unchanged] * result.unchanged
    )


KPI_FACTS = ImportSpec(
    resource="kpi_facts",
    title="指标数据",
    scope="kpis:write",
    columns=(
        _column("uscc", False, "91440105MA59XXXXXX", "与企业编号二选一"),
        _column("enterprise_id", False, "", "与统一社会信用代码二选一"),
        _column("metric", True, "revenue", "revenue 营业收入 / tax 税收 / fixed_asset_investment 固定资产投资"),
        _column("period", True, "2018-10", "YYYY-MM"),
        _column("reported_as", True, "ytd", "ytd 1–N月累计 / monthly 当月"),
        _column("value", True, "1234567.89", "元", header_key="reported_value"),
    ),
    key=("uscc", "enterprise_id", "metric", "period"),
    parse=_parse_fact,
    apply=_apply_facts,
    batch_size=2000,
)

SPECS: dict[str, ImportSpec] = {spec.resource: spec for spec in (ENTERPRISES, KPI_FACTS)}
