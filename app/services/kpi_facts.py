"""Metrics and monthly KPI facts: accept monthly or cumulative reports, derive the other, stay consistent."""

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import ConflictError, NotFoundError, ProblemError
from app.core.principal import Principal
from app.core.scopes import SENSITIVE_KPIS
from app.models import Enterprise, KpiFact, Metric, ReportedAs, Target
from app.schemas.kpi import BulkResult, FactBatch, MetricCreate, MetricUpdate
from app.services import audit, locks
from app.services.calculators.cumulative import Reported, derive_year
from app.services.calculators.periods import Period
from app.services.pagination import Page, PageRequest, ordered, page_of
from app.services.versioning import check_version

FACT_SORTS = {"year": KpiFact.year, "month": KpiFact.month, "enterprise_id": KpiFact.enterprise_id}
MAX_ROW_ERRORS = 50


# --- metrics ---------------------------------------------------------------------------------------------


def ensure_visible(metric: Metric, scopes: frozenset[str]) -> None:
    """Sensitive metrics (tax) are for cleared callers only, as contacts are (DESIGN §4)."""
    if metric.sensitive and SENSITIVE_KPIS not in scopes:
        raise ProblemError(
            403,
            "insufficient_scope",
            f"指标 {metric.code} 为敏感指标，需要 {SENSITIVE_KPIS} / {metric.code} figures need {SENSITIVE_KPIS}",
        )


async def sensitive_figure_ids(session: AsyncSession, entity_type: str, ids: Collection[int]) -> set[int]:
    """Of these facts (`kpi_fact`) or targets (`target`), the ones of a sensitive metric; a row no longer there
    counts as sensitive, since its metric can no longer be told."""
    model: type[KpiFact] | type[Target] = KpiFact if entity_type == "kpi_fact" else Target
    rows = await session.execute(
        select(model.id, Metric.sensitive).join(Metric, Metric.id == model.metric_id).where(model.id.in_(ids))
    )
    sensitive = {row_id: flag for row_id, flag in rows.all()}
    return {i for i in ids if sensitive.get(i, True)}


async def list_metrics(session: AsyncSession) -> list[Metric]:
    return list(await session.scalars(select(Metric).order_by(Metric.id)))


async def get_metric(session: AsyncSession, metric_id: int) -> Metric:
    metric = await session.get(Metric, metric_id)
    if metric is None:
        raise NotFoundError("metric", metric_id)
    return metric


async def create_metric(session: AsyncSession, actor: Principal, data: MetricCreate) -> Metric:
    existing = await session.scalar(select(Metric.id).where(Metric.code == data.code))
    if existing is not None:
        raise ConflictError(
            "duplicate", f"指标编码 {data.code} 已存在 / metric {data.code} exists", existing_id=existing
        )
    metric = Metric(**data.model_dump())
    session.add(metric)
    await session.flush()
    audit.record(session, actor, "create", "metric", metric.id, None, audit.snapshot(metric))
    return metric


async def update_metric(
    session: AsyncSession, actor: Principal, metric_id: int, data: MetricUpdate, expected: frozenset[int] | None
) -> Metric:
    metric = await get_metric(session, metric_id)
    check_version(metric.version, expected)
    before = audit.snapshot(metric)
    for field, value in data.model_dump(exclude_unset=True).items():
        setattr(metric, field, value)
    await session.flush()
    audit.record(session, actor, "update", "metric", metric.id, before, audit.snapshot(metric))
    return metric


# --- facts -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FactFilter:
    cleared: bool  # may see sensitive metrics' facts
    enterprise_id: int | None = None
    metric_id: int | None = None
    year: int | None = None
    month_from: int | None = None
    month_to: int | None = None


def facts_query(flt: FactFilter, sort: tuple[str, ...]) -> Select[KpiFact]:
    """The list's statement in its order: one page of it for the list, all of it for an export."""
    stmt = select(KpiFact)
    equals = {KpiFact.enterprise_id: flt.enterprise_id, KpiFact.metric_id: flt.metric_id, KpiFact.year: flt.year}
    for column, value in equals.items():
        if value is not None:
            stmt = stmt.where(column == value)
    if flt.month_from is not None:
        stmt = stmt.where(KpiFact.month >= flt.month_from)
    if flt.month_to is not None:
        stmt = stmt.where(KpiFact.month <= flt.month_to)
    if not flt.cleared:
        stmt = stmt.where(KpiFact.metric_id.not_in(select(Metric.id).where(Metric.sensitive.is_(True))))
    return ordered(stmt, sort, FACT_SORTS, KpiFact.id)


async def list_facts(session: AsyncSession, flt: FactFilter, page: PageRequest) -> Page[KpiFact]:
    return await page_of(session, facts_query(flt, page.sort), page)


async def get_fact(session: AsyncSession, fact_id: int, scopes: frozenset[str]) -> KpiFact:
    """A fact of a sensitive metric does not exist for an uncleared caller: the same 404 as an id no row has."""
    fact = await session.get(KpiFact, fact_id)
    if fact is None or ((await get_metric(session, fact.metric_id)).sensitive and SENSITIVE_KPIS not in scopes):
        raise NotFoundError("kpi fact", fact_id)
    return fact


def _row_error(index: int, field: str, message: str) -> dict[str, Any]:
    return {"loc": ["body", "rows", index, field], "message": message, "type": "invalid_row"}


def _refuse(errors: list[dict[str, Any]], code: str) -> ProblemError:
    shown = errors[:MAX_ROW_ERRORS]
    return ProblemError(
        422,
        code,
        f"{len(errors)} 行有误，未写入任何数据 / {len(errors)} row(s) refused; nothing was written"
        + (f" (first {MAX_ROW_ERRORS} listed)" if len(errors) > MAX_ROW_ERRORS else ""),
        errors=shown,
    )


Key = tuple[int, int, int, int]  # enterprise, metric, year, month


async def upsert_facts(session: AsyncSession, actor: Principal, batch: FactBatch, today: date) -> BulkResult:
    """All-or-nothing upsert. Safe to retry: rows equal to what is stored change nothing.

    Every touched enterprise-metric-year is re-derived from its reported months, so correcting an
    earlier month carries through to the later cumulatives (or is refused if it contradicts them).
    """
    rows = batch.rows
    metrics = {
        m.code: m for m in await session.scalars(select(Metric).where(Metric.code.in_({r.metric for r in rows})))
    }
    by_uscc = dict(
        (
            await session.execute(
                select(Enterprise.uscc, Enterprise.id).where(Enterprise.uscc.in_({r.uscc for r in rows if r.uscc}))
            )
        ).all()
    )
    known_ids = set(
        await session.scalars(
            select(Enterprise.id).where(Enterprise.id.in_({r.enterprise_id for r in rows if r.enterprise_id}))
        )
    )

    for chosen in metrics.values():
        ensure_visible(chosen, actor.scopes)  # who may not read tax may not write it either
    errors: list[dict[str, Any]] = []
    wanted: dict[Key, tuple[int, ReportedAs, Any]] = {}
    for index, row in enumerate(rows):
        metric = metrics.get(row.metric)
        enterprise_id = row.enterprise_id if row.enterprise_id in known_ids else by_uscc.get(row.uscc or "")
        if metric is None:
            errors.append(_row_error(index, "metric", f"未知指标 / unknown metric {row.metric}"))
        if enterprise_id is None:
            field = "uscc" if row.uscc else "enterprise_id"
            errors.append(
                _row_error(index, field, f"未登记的企业 / no such enterprise {row.uscc or row.enterprise_id}")
            )
        if metric is None or enterprise_id is None:
            continue
        period = Period.parse(row.period)
        if (period.year, period.month) > (today.year, today.month):
            errors.append(_row_error(index, "period", f"{period} 尚未到来 / {period} is in the future"))
            continue
        key = (enterprise_id, metric.id, period.year, period.month)
        if key in wanted:
            errors.append(_row_error(index, "period", f"与第 {wanted[key][0]} 行重复 / repeats row {wanted[key][0]}"))
            continue
        if metric.non_negative and row.reported_as is ReportedAs.monthly and row.value < 0:
            errors.append(_row_error(index, "value", f"{metric.code} 的当月值不能为负 / cannot be negative"))
            continue
        wanted[key] = (index, row.reported_as, row.value)
    if errors:
        raise _refuse(errors, "invalid_rows")

    groups = {(e, m, y) for e, m, y, _ in wanted}
    # Each year is re-derived from all its stored months: a batch running beside another for the same enterprise
    # would derive from months the other has not committed yet (a split left unknown, or taken from a stale
    # month). Batches for one enterprise therefore run one after the other, and read the stored months after.
    await locks.hold_rows(session, Enterprise.id, {e for e, _, _ in groups})
    stored: dict[tuple[int, int, int], dict[int, KpiFact]] = defaultdict(dict)
    for fact in await session.scalars(
        select(KpiFact).where(tuple_(KpiFact.enterprise_id, KpiFact.metric_id, KpiFact.year).in_(groups))
    ):
        stored[(fact.enterprise_id, fact.metric_id, fact.year)][fact.month] = fact

    created = updated = unchanged = 0
    before: dict[int, dict[str, Any]] = {}
    fresh: list[KpiFact] = []
    for (enterprise_id, metric_id, year, month), (_, reported_as, value) in wanted.items():
        current = stored[(enterprise_id, metric_id, year)].get(month)
        if current is None:
            fact = KpiFact(
                enterprise_id=enterprise_id,
                metric_id=metric_id,
                year=year,
                month=month,
                reported_as=reported_as,
                reported_value=value,
            )
            stored[(enterprise_id, metric_id, year)][month] = fact
            fresh.append(fact)
            created += 1
        elif current.reported_as is reported_as and current.reported_value == value:
            unchanged += 1
        else:
            updated += 1
            before[id(current)] = audit.snapshot(current)
            current.reported_as, current.reported_value = reported_as, value

    non_negative = {m.id: m.non_negative for m in metrics.values()}
    for (enterprise_id, metric_id, year), months in stored.items():
        derived, problems = derive_year(
            {m: Reported(f.reported_as is ReportedAs.ytd, f.reported_value) for m, f in months.items()},
            non_negative=non_negative[metric_id],
        )
        for problem in problems:
            # Blame the row of this request for that month, or the latest earlier month it changed.
            candidates = [
                (m, wanted[(enterprise_id, metric_id, year, m)][0])
                for m in range(problem.month, 0, -1)
                if (enterprise_id, metric_id, year, m) in wanted
            ]
            index = candidates[0][1] if candidates else 0
            errors.append(_row_error(index, "value", problem.message))
        for month, fact in months.items():
            if (fact.monthly_value, fact.ytd_value) != (derived[month].monthly, derived[month].ytd):
                if fact not in fresh and id(fact) not in before:
                    before[id(fact)] = audit.snapshot(fact)
                fact.monthly_value, fact.ytd_value = derived[month].monthly, derived[month].ytd
    if errors:
        raise _refuse(errors, "inconsistent_cumulative")

    session.add_all(fresh)
    await session.flush()
    for fact in fresh:
        audit.record(session, actor, "create", "kpi_fact", fact.id, None, audit.snapshot(fact))
    for months in stored.values():
        for fact in months.values():
            if id(fact) in before:
                audit.record(session, actor, "update", "kpi_fact", fact.id, before[id(fact)], audit.snapshot(fact))
    return BulkResult(received=len(rows), created=created, updated=updated, unchanged=unchanged)
