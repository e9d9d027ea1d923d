"""KPI figures for a cohort and period: sums and pairings in SQL, ratios in the pure calculators."""

from decimal import Decimal

from sqlalchemy import String, and_, func, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.core.errors import ProblemError
from app.models import Enterprise, Industry, KpiFact, Metric, Project, ProjectStage, Zone
from app.models.functions import json_ids
from app.reference.industries import SECTIONS
from app.schemas.kpi import (
    Breakdown,
    BreakdownRow,
    Excluded,
    Intensity,
    KpiSummary,
    Series,
    SeriesPoint,
    ThresholdGroup,
    ThresholdMember,
)
from app.services.calculators import kpi
from app.services.calculators.periods import Period
from app.services.calculators.presentation import growth_text, percent
from app.services.calculators.units import round_half_up, share, yuan_to_yi
from app.services.cohorts import get_cohort, members_query, period_end, targets_for
from app.services.kpi_facts import ensure_visible
from app.services.trees import in_zone
from app.services.zones import area_basis, get_zone

MAX_EXCLUDED_LISTED = 100


async def _metric(session: AsyncSession, code: str, scopes: frozenset[str]) -> Metric:
    metric = await session.scalar(select(Metric).where(Metric.code == code))
    if metric is not None:
        ensure_visible(metric, scopes)
    if metric is None:
        raise ProblemError(
            422,
            "unknown_reference",
            f"指标 {code} 不存在 / metric {code} does not exist",
            errors=[{"loc": ["query", "metric"], "message": f"no metric {code}", "type": "unknown_reference"}],
        )
    return metric


async def summary(
    session: AsyncSession,
    cohort_id: int,
    metric_code: str,
    period: Period,
    thresholds: kpi.LightThresholds,
    scopes: frozenset[str],
    *,
    day_weighted: bool = False,
) -> KpiSummary:
    """1–N月 actual, growth on a comparable basis, targets, completion, time progress, gap and light."""
    cohort = await get_cohort(session, cohort_id)
    metric = await _metric(session, metric_code, scopes)
    members = members_query(cohort, period_end(period)).subquery("members")
    current, base = aliased(KpiFact), aliased(KpiFact)
    base_period = period.a_year_earlier

    def fact_join(alias: type[KpiFact], p: Period) -> object:
        return and_(
            alias.enterprise_id == members.c[0],
            alias.metric_id == metric.id,
            alias.year == p.year,
            alias.month == p.month,
        )

    paired = (
        select(members.c[0].label("enterprise_id"), current.ytd_value.label("now"), base.ytd_value.label("then"))
        .select_from(members)
        .outerjoin(current, fact_join(current, period))  # type: ignore[arg-type]
        .outerjoin(base, fact_join(base, base_period))  # type: ignore[arg-type]
        .subquery("paired")
    )
    both = and_(paired.c.now.is_not(None), paired.c.then.is_not(None))
    no_current = and_(paired.c.now.is_(None), paired.c.then.is_not(None))
    no_base = and_(paired.c.now.is_not(None), paired.c.then.is_(None))
    # One pass over the pairing (the expensive part): the sums, and the excluded members' ids beside them.
    actual, comparable_now, comparable_then, without_current, without_base = (
        await session.execute(
            select(
                func.sum(paired.c.now),
                func.sum(paired.c.now).filter(both),
                func.sum(paired.c.then).filter(both),
                json_ids(paired.c.enterprise_id).filter(no_current),
                json_ids(paired.c.enterprise_id).filter(no_base),
            )
        )
    ).one()
    excluded_rows = sorted(
        [(member, True) for member in without_current or []] + [(member, False) for member in without_base or []]
    )
    excluded_count = len(excluded_rows)
    actual = actual or Decimal(0)
    comparable = kpi.comparable_growth(
        {"all": (comparable_now, comparable_then)} if comparable_then is not None else {}
    )
    annual, staged = await targets_for(session, cohort.id, metric.id, period)
    annual_completion = kpi.completion(actual, annual)
    staged_completion = kpi.completion(actual, staged)
    progress = kpi.day_weighted_progress(period_end(period)) if day_weighted else kpi.time_progress(period.month)
    gap = kpi.gap_points(annual_completion, progress) if annual_completion is not None else None
    return KpiSummary(
        cohort_id=cohort.id,
        metric=metric.code,
        period=str(period),
        label=period.label,
        actual=actual,
        actual_yi=yuan_to_yi(actual, 1),
        comparable_current=comparable.current,
        comparable_base=comparable.base,
        yoy_growth=comparable.growth.rate,
        no_rate_reason=comparable.growth.reason.value if comparable.growth.reason else None,
        yoy_text=growth_text(comparable.growth),
        excluded=[
            Excluded(enterprise_id=e, reason="no_current" if no_now else "no_base")
            for e, no_now in excluded_rows[:MAX_EXCLUDED_LISTED]
        ],
        excluded_count=excluded_count,
        annual_target=annual,
        annual_completion=annual_completion,
        staged_target=staged,
        staged_completion=staged_completion,
        time_progress=progress,
        gap_points=gap,
        light=kpi.traffic_light(gap, thresholds) if gap is not None else None,
        display={
            "actual": f"{yuan_to_yi(actual, 1)}亿元",
            "yoy": growth_text(comparable.growth),
            "annual_completion": percent(annual_completion),
            "staged_completion": percent(staged_completion),
            "time_progress": percent(progress),
            "gap": "--" if gap is None else f"{round_half_up(gap, 1):+}个百分点",
        },
    )


async def zone_intensity(
    session: AsyncSession, zone_id: int, metric_code: str, period: Period, scopes: frozenset[str]
) -> Intensity:
    """地均强度: the zone's enterprises' 1–N月 total over the zone's area basis on the period's last day."""
    await get_zone(session, zone_id)
    metric = await _metric(session, metric_code, scopes)
    value = await session.scalar(
        select(func.sum(KpiFact.ytd_value))
        .join(Enterprise, Enterprise.id == KpiFact.enterprise_id)
        .where(
            in_zone(Enterprise.zone_id, zone_id),
            KpiFact.metric_id == metric.id,
            KpiFact.year == period.year,
            KpiFact.month == period.month,
        )
    ) or Decimal(0)
    basis = await area_basis(session, zone_id, period_end(period))
    # A sub-zone without an area would count its value but not its land: no figure rather than an inflated one.
    result = kpi.intensity(value, basis.area_km2) if not basis.missing else None
    return Intensity(
        zone_id=zone_id,
        metric=metric.code,
        period=str(period),
        value=value,
        area_missing=basis.missing,
        area_km2=basis.area_km2,
        yi_per_km2=result.yi_per_km2 if result else None,
        wan_per_mu=result.wan_per_mu if result else None,
        display={
            "yi_per_km2": f"{round_half_up(result.yi_per_km2, 1)}亿元/平方公里" if result else "--",
            "wan_per_mu": f"{round_half_up(result.wan_per_mu, 1)}万元/亩" if result else "--",
        },
    )


async def threshold_group(
    session: AsyncSession, cohort_id: int, metric_code: str, period: Period, threshold: Decimal, scopes: frozenset[str]
) -> ThresholdGroup:
    """Members whose 1–N月 value reaches the threshold (亿元税收企业: tax ≥ 1亿元), largest first."""
    cohort = await get_cohort(session, cohort_id)
    metric = await _metric(session, metric_code, scopes)
    members = members_query(cohort, period_end(period))
    rows = await session.execute(
        select(Enterprise.id, Enterprise.name, KpiFact.ytd_value)
        .join(KpiFact, KpiFact.enterprise_id == Enterprise.id)
        .where(
            Enterprise.id.in_(members),
            KpiFact.metric_id == metric.id,
            KpiFact.year == period.year,
            KpiFact.month == period.month,
            KpiFact.ytd_value >= threshold,
        )
        .order_by(KpiFact.ytd_value.desc(), Enterprise.id)
    )
    return ThresholdGroup(
        cohort_id=cohort.id,
        metric=metric.code,
        period=str(period),
        threshold=threshold,
        members=[ThresholdMember(enterprise_id=i, name=n, value=v) for i, n, v in rows],
    )


async def breakdown(
    session: AsyncSession,
    cohort_id: int,
    metric_code: str,
    period: Period,
    by: str,
    limit: int,
    scopes: frozenset[str],
) -> Breakdown:
    """The cohort's 1–N月 value split by zone, industry section or enterprise (top N), summed in SQL."""
    cohort = await get_cohort(session, cohort_id)
    metric = await _metric(session, metric_code, scopes)
    members = members_query(cohort, period_end(period))
    facts = (
        select(KpiFact.enterprise_id, KpiFact.ytd_value)
        .where(
            KpiFact.enterprise_id.in_(members),
            KpiFact.metric_id == metric.id,
            KpiFact.year == period.year,
            KpiFact.month == period.month,
            KpiFact.ytd_value.is_not(None),
        )
        .subquery("facts")
    )
    total = await session.scalar(select(func.sum(facts.c.ytd_value))) or Decimal(0)
    value = func.sum(facts.c.ytd_value).label("value")
    joined = select().select_from(facts).join(Enterprise, Enterprise.id == facts.c.enterprise_id)
    if by == "zone":
        stmt = (
            joined.outerjoin(Zone, Zone.id == Enterprise.zone_id)
            .add_columns(func.coalesce(Zone.code, "-"), func.coalesce(Zone.name, "未分区 / no zone"), value)
            .group_by(Zone.code, Zone.name)
        )
    elif by == "industry":
        stmt = (
            joined.join(Industry, Industry.code == Enterprise.industry_code)
            .add_columns(Industry.section_code, Industry.section_code, value)
            .group_by(Industry.section_code)
        )
    elif by == "stage":
        # An enterprise's stage is that of its most recently introduced project still in play.
        latest = (
            select(Project.stage)
            .where(Project.enterprise_id == Enterprise.id, Project.stage != ProjectStage.dropped)
            .order_by(Project.introduced_on.desc(), Project.id.desc())
            .limit(1)
            .correlate(Enterprise)
            .scalar_subquery()
        )
        # Plain text, not the enum type: "no_project" is not a stage.
        stage = func.coalesce(type_coerce(latest, String), "no_project").label("stage")
        stmt = joined.add_columns(stage, stage, value).group_by(stage)
    else:
        stmt = joined.add_columns(Enterprise.uscc, Enterprise.name, value).group_by(Enterprise.uscc, Enterprise.name)
    rows = await session.execute(stmt.order_by(value.desc()).limit(limit))
    return Breakdown(
        cohort_id=cohort.id,
        metric=metric.code,
        period=str(period),
        by=by,
        total=total,
        rows=[
            BreakdownRow(
                key=str(key),
                label=SECTIONS.get(str(label), str(label)) if by == "industry" else str(label),
                value=amount,
                share=share(amount, total),
            )
            for key, label, amount in rows
        ],
    )


async def series(session: AsyncSession, cohort_id: int, metric_code: str, year: int, scopes: frozenset[str]) -> Series:
    """Month by month for a year, with the previous year beside it (members as of the year's end)."""
    cohort = await get_cohort(session, cohort_id)
    metric = await _metric(session, metric_code, scopes)
    sums: dict[tuple[int, int], tuple[Decimal | None, Decimal | None]] = {}
    for month in range(1, 13):
        # Membership as of each month's end, the same set for both years (as the summary counts it).
        members = members_query(cohort, period_end(Period(year, month)))
        for y, monthly, ytd in await session.execute(
            select(KpiFact.year, func.sum(KpiFact.monthly_value), func.sum(KpiFact.ytd_value))
            .where(
                KpiFact.enterprise_id.in_(members),
                KpiFact.metric_id == metric.id,
                KpiFact.year.in_((year, year - 1)),
                KpiFact.month == month,
            )
            .group_by(KpiFact.year)
        ):
            sums[(y, month)] = (monthly, ytd)
    return Series(
        cohort_id=cohort.id,
        metric=metric.code,
        year=year,
        points=[
            SeriesPoint(
                month=m,
                monthly=sums.get((year, m), (None, None))[0],
                ytd=sums.get((year, m), (None, None))[1],
                previous_monthly=sums.get((year - 1, m), (None, None))[0],
                previous_ytd=sums.get((year - 1, m), (None, None))[1],
            )
            for m in range(1, 13)
        ],
    )
