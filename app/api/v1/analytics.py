from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.api.deps import IdPath, SessionDep, TodayDep, page_params, require
from app.core.errors import ProblemError, problem_responses
from app.core.principal import Principal
from app.schemas.analytics import GroupRollupPage, SettlementCohort, ZoneSummary
from app.schemas.common import MAX_ID, QueryDate
from app.schemas.project import PipelineSummary
from app.services import project_views
from app.services import registry_analytics as service
from app.services.zones import get_zone

router = APIRouter(prefix="/analytics", tags=["analytics 统计"], responses=problem_responses(401, 403, 422))


@router.get(
    "/settlement",
    response_model=SettlementCohort,
    summary="Enterprises settled (落户) in a date range: count, capital, sources, investor classes",
    description=(
        "The cohort is every enterprise whose `settled_on` lies in [settled_from, settled_to] (both inclusive), "
        "optionally within a zone and its sub-zones. Investor-class counts are distinct enterprises; an "
        "enterprise listed in several years or classes counts once per class and once in `in_any_investor_class`. "
        "Shares are ratios to the cohort size, rounded to 4 places (ROUND_HALF_UP) for display."
    ),
)
async def settlement(
    session: SessionDep,
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
)
async def groups(
    session: SessionDep,
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
    description="Medians are over consecutive stage events of each project (e.g. signed → registered), in "
    "days, rounded to 1 place; both figures are SQL aggregates.",
)
async def pipeline(
    session: SessionDep,
    _actor: Annotated[Principal, require("analytics:read", "projects:read")],
    key_only: bool = False,
    zone_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Projects in this zone or below")] = None,
) -> PipelineSummary:
    if zone_id is not None:
        await get_zone(session, zone_id)
    return await project_views.pipeline_summary(session, key_only, zone_id)


@router.get(
    "/zones/{zone_id}",
    response_model=ZoneSummary,
    summary="A zone's registry figures as of a date: enterprises, groups, companies, parcels, area basis",
    responses=problem_responses(404),
)
async def zone_summary(
    zone_id: IdPath,
    session: SessionDep,
    _actor: Annotated[Principal, require("analytics:read")],
    today: TodayDep,
    as_of: Annotated[QueryDate | None, Query(description="Default: today in Asia/Shanghai")] = None,
) -> ZoneSummary:
    return await service.zone_summary(session, zone_id, as_of or today)
