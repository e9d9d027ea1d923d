from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from app.api.deps import AnalyticsSessionDep, IdPath, TodayDep, page_params, require
from app.core.errors import ProblemError, problem_responses
from app.core.principal import Principal
from app.schemas.analytics import GroupRollupPage, SettlementCohort, ZoneSummary
from app.schemas.common import MAX_ID, QueryDate
from app.schemas.kpi import Breakdown, Intensity, KpiSummary, Series, ThresholdGroup
from app.schemas.project import PipelineSummary
from app.services import kpi_analytics, project_views
from app.services import registry_analytics as service
from app.services.calculators.kpi import LightThresholds
from app.services.calculators.periods import Period
from app.services.zones import get_zone

router = APIRouter(prefix="/analytics", tags=["analytics 统计"], responses=problem_responses(401, 403, 422))


@router.get(
    "/settlement",
    response_model=SettlementCohort,
    summary="Enterprises settled (落户) in a date range: count, capital, sources, investor classes",
    responses=problem_responses(404),
    description=(
        "The cohort is every enterprise whose `settled_on` lies in [settled_from, settled_to] (both inclusive), "
        "optionally within a zone and its sub-zones. Investor-class counts are distinct enterprises; an "
        "enterprise listed in several years or classes counts once per class and once in `in_any_investor_class`. "
        "Shares are ratios to the cohort size, rounded to 4 places (ROUND_HALF_UP) for display."
    ),
)
async def settlement(
    session: AnalyticsSessionDep,
    _actor: Annotated[Principal, require("analytics:read")],
    settled_from: QueryDate,
    settled_to: Annotated[QueryDate, Query(description="Inclusive")],
    zone_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Within this zone and its sub-zones")] = None,
    list_year: Annotated[int | None, Query(ge=1955, le=2100, description="Count only this list year's classes")] = None,
) -> SettlementCohort:
    if settled_to < settled_from:
        raise ProblemError(
            422,
            "validation_failed",
            "settled_to 早于 settled_from / settled_to is before settled_from",
            errors=[{"loc": ["query", "settled_to"], "message": "before settled_from", "type": "date_order"}],
        )
    if zone_id is not None:
        await get_zone(session, zone_id)
    return await service.settlement_cohort(session, settled_from, settled_to, zone_id, list_year)


@router.get(
    "/groups",
    response_model=GroupRollupPage,
    summary="Per top-level group: its project and business companies (any depth, each once) and their capital",
    responses=problem_responses(404),
)
async def groups(
    session: AnalyticsSessionDep,
    _actor: Annotated[Principal, require("analytics:read")],
    paging: Annotated[tuple[int, int], Depends(page_params)],
    zone_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Companies within this zone")] = None,
) -> GroupRollupPage:
    limit, offset = paging
    if zone_id is not None:
        await get_zone(session, zone_id)
    return await service.group_rollup(session, zone_id, limit, offset)


@router.get(
    "/pipeline",
    response_model=PipelineSummary,
    summary="Projects and planned investment per stage, and the median days between stages",
    responses=problem_responses(404),
    description="Medians are over consecutive stage events of each project (e.g. signed → registered), in "
    "days, rounded to 1 place; both figures are SQL aggregates.",
)
async def pipeline(
    session: AnalyticsSessionDep,
    _actor: Annotated[Principal, require("analytics:read", "projects:read")],
    key_only: bool = False,
    zone_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Projects in this zone or below")] = None,
) -> PipelineSummary:
    if zone_id is not None:
        await get_zone(session, zone_id)
    return await project_views.pipeline_summary(session, key_only, zone_id)


@router.get(
    "/zones/{zone_id:int}",
    response_model=ZoneSummary,
    summary="A zone's registry figures as of a date: enterprises, groups, companies, parcels, area basis",
    responses=problem_responses(404),
)
async def zone_summary(
    zone_id: IdPath,
    session: AnalyticsSessionDep,
    _actor: Annotated[Principal, require("analytics:read")],
    today: TodayDep,
    as_of: Annotated[QueryDate | None, Query(description="Default: today in Asia/Shanghai")] = None,
) -> ZoneSummary:
    return await service.zone_summary(session, zone_id, as_of or today)


def _period(text: str, today: date) -> Period:
    period = Period.parse(text)
    if (period.year, period.month) > (today.year, today.month):
        raise ProblemError(
            422,
            "period_in_future",
            f"{period} 尚未到来 / {period} is in the future",
            errors=[{"loc": ["query", "period"], "message": "in the future", "type": "period_in_future"}],
        )
    return period


CohortQuery = Annotated[int, Query(ge=1, le=MAX_ID, description="The cohort figures are computed over")]
MetricQuery = Annotated[str, Query(max_length=32, pattern=r"^[a-z][a-z0-9_]*$", description="e.g. revenue, tax")]
PeriodQuery = Annotated[
    str, Query(pattern=r"^(199\d|20\d\d|2100)-(0[1-9]|1[0-2])$", description="The month, YYYY-MM (1–N月)")
]


@router.get(
    "/kpi-summary",
    response_model=KpiSummary,
    summary="A cohort's 1–N月 figure: actual, comparable-basis growth, targets, completion, time progress, light",
    description=(
        "Growth is on a comparable basis (可比口径): only members with a value both now and a year earlier count on "
        "either side; the others are listed in `excluded`. A base of zero or below gives no rate (`--`). "
        "Completion is actual / target (annual, and staged 任务目标 for 1–N月); the gap is annual completion minus "
        "time progress (N/12) in percentage points, lit green / yellow / red at `green_from` / `yellow_from`. "
        "Amounts are exact; `display` rounds once, half-up."
    ),
    responses=problem_responses(404),
)
async def kpi_summary(
    session: AnalyticsSessionDep,
    actor: Annotated[Principal, require("kpis:read")],
    today: TodayDep,
    cohort_id: CohortQuery,
    metric: MetricQuery,
    period: PeriodQuery,
    progress: Annotated[
        Literal["months", "days"], Query(description="Time progress as months ÷ 12, or days elapsed ÷ days in year")
    ] = "months",
    green_from: Annotated[Decimal, Query(ge=-100, le=100)] = Decimal(0),
    yellow_from: Annotated[Decimal, Query(ge=-100, le=100)] = Decimal(-10),
) -> KpiSummary:
    if yellow_from > green_from:
        raise ProblemError(
            422,
            "validation_failed",
            "yellow_from 不能高于 green_from / yellow_from must not be above green_from",
            errors=[{"loc": ["query", "yellow_from"], "message": "above green_from", "type": "threshold_order"}],
        )
    thresholds = LightThresholds(green_from=green_from, yellow_from=yellow_from)
    return await kpi_analytics.summary(
        session, cohort_id, metric, _period(period, today), thresholds, actor.scopes, day_weighted=progress == "days"
    )


@router.get(
    "/kpi-intensity",
    response_model=Intensity,
    summary="地均强度: a zone's 1–N月 total per km² of its area basis (亿元/平方公里, 万元/亩)",
    responses=problem_responses(404),
)
async def kpi_intensity(
    session: AnalyticsSessionDep,
    actor: Annotated[Principal, require("kpis:read")],
    today: TodayDep,
    zone_id: Annotated[int, Query(ge=1, le=MAX_ID)],
    metric: MetricQuery,
    period: PeriodQuery,
) -> Intensity:
    return await kpi_analytics.zone_intensity(session, zone_id, metric, _period(period, today), actor.scopes)


@router.get(
    "/kpi-threshold",
    response_model=ThresholdGroup,
    summary="Members whose 1–N月 value reaches a threshold (e.g. 亿元税收企业: tax ≥ 100000000)",
    responses=problem_responses(404),
)
async def kpi_threshold(
    session: AnalyticsSessionDep,
    actor: Annotated[Principal, require("kpis:read")],
    today: TodayDep,
    cohort_id: CohortQuery,
    metric: MetricQuery,
    period: PeriodQuery,
    threshold: Annotated[
        Decimal, Query(gt=0, le=Decimal("1000000000000000"), decimal_places=2, description="In the metric's unit")
    ],
) -> ThresholdGroup:
    return await kpi_analytics.threshold_group(
        session, cohort_id, metric, _period(period, today), threshold, actor.scopes
    )


@router.get(
    "/kpi-breakdown",
    response_model=Breakdown,
    summary="A cohort's 1–N月 value by zone, industry section, project stage or enterprise (top N, largest first)",
    responses=problem_responses(404),
)
async def kpi_breakdown(
    session: AnalyticsSessionDep,
    actor: Annotated[Principal, require("kpis:read")],
    today: TodayDep,
    cohort_id: CohortQuery,
    metric: MetricQuery,
    period: PeriodQuery,
    by: Literal["zone", "industry", "stage", "enterprise"],
    limit: Annotated[int, Query(ge=1, le=200)] = 10,
) -> Breakdown:
    return await kpi_analytics.breakdown(session, cohort_id, metric, _period(period, today), by, limit, actor.scopes)


@router.get(
    "/kpi-series",
    response_model=Series,
    summary="A cohort's monthly and cumulative totals for a year, with the previous year beside them",
    responses=problem_responses(404),
)
async def kpi_series(
    session: AnalyticsSessionDep,
    actor: Annotated[Principal, require("kpis:read")],
    cohort_id: CohortQuery,
    metric: MetricQuery,
    year: Annotated[int, Query(ge=1990, le=2100)],
) -> Series:
    return await kpi_analytics.series(session, cohort_id, metric, year, actor.scopes)
