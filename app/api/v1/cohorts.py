from typing import Annotated

from fastapi import APIRouter, Body, Response, status

from app.api.deps import IdPath, SessionDep, TodayDep, require, set_etag
from app.core.errors import problem_responses
from app.core.principal import Principal
from app.core.scopes import SENSITIVE_KPIS
from app.schemas.kpi import CohortCreate, CohortRead, MemberIn, MemberRead, TargetIn, TargetRead
from app.services import cohorts as service
from app.services import kpi_facts

router = APIRouter(prefix="/cohorts", tags=["kpis 指标"], responses=problem_responses(401, 403, 422))


@router.get("", response_model=list[CohortRead], summary="Cohorts: the sets of enterprises figures are computed over")
async def list_cohorts(session: SessionDep, _actor: Annotated[Principal, require("kpis:read")]) -> list[CohortRead]:
    return [CohortRead.model_validate(c) for c in await service.list_cohorts(session)]


@router.post(
    "",
    response_model=CohortRead,
    status_code=status.HTTP_201_CREATED,
    summary="Define a cohort: a static list, or a rule (zone, group, settled in a year, key projects)",
    description="A rule that matches no enterprise today is refused (`empty_cohort`).",
    responses=problem_responses(409, 415),
)
async def create_cohort(
    data: CohortCreate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("kpis:write")],
    today: TodayDep,
) -> CohortRead:
    cohort = await service.create_cohort(session, actor, data, today)
    response.headers["Location"] = f"/api/v1/cohorts/{cohort.id}"
    set_etag(response, cohort.version)
    return CohortRead.model_validate(cohort)


@router.get("/{cohort_id:int}", response_model=CohortRead, summary="Read a cohort", responses=problem_responses(404))
async def get_cohort(
    cohort_id: IdPath, session: SessionDep, _actor: Annotated[Principal, require("kpis:read")]
) -> CohortRead:
    return CohortRead.model_validate(await service.get_cohort(session, cohort_id))


@router.get(
    "/{cohort_id:int}/members",
    response_model=list[MemberRead],
    summary="A static cohort's member list",
    responses=problem_responses(404),
)
async def list_members(
    cohort_id: IdPath, session: SessionDep, _actor: Annotated[Principal, require("kpis:read")]
) -> list[MemberRead]:
    return [MemberRead.model_validate(m) for m in await service.list_members(session, cohort_id)]


@router.put(
    "/{cohort_id:int}/members",
    response_model=list[MemberRead],
    summary="Replace a static cohort's members (with join and leave dates)",
    responses=problem_responses(404, 409, 415),
)
async def set_members(
    cohort_id: IdPath,
    members: Annotated[list[MemberIn], Body(max_length=20_000)],
    session: SessionDep,
    actor: Annotated[Principal, require("kpis:write")],
) -> list[MemberRead]:
    await service.set_members(session, actor, cohort_id, members)
    return [MemberRead.model_validate(m) for m in await service.list_members(session, cohort_id)]


@router.get(
    "/{cohort_id:int}/targets",
    response_model=list[TargetRead],
    summary="Annual and staged targets",
    responses=problem_responses(404),
)
async def list_targets(
    cohort_id: IdPath, session: SessionDep, actor: Annotated[Principal, require("kpis:read")]
) -> list[TargetRead]:
    # A tax target is a tax figure: only for callers who may read the metric's facts.
    cleared = SENSITIVE_KPIS in actor.scopes
    hidden = set() if cleared else {m.code for m in await kpi_facts.list_metrics(session) if m.sensitive}
    return [
        TargetRead(id=t.id, metric=code, year=t.year, month=t.month, value=t.value, version=t.version)
        for t, code in await service.list_targets(session, cohort_id)
        if code not in hidden
    ]


@router.put(
    "/{cohort_id:int}/targets",
    response_model=TargetRead,
    summary="Set a target: annual (month omitted) or staged 任务目标 for 1–N月",
    responses=problem_responses(404, 415),
)
async def set_target(
    cohort_id: IdPath,
    data: TargetIn,
    session: SessionDep,
    actor: Annotated[Principal, require("kpis:write")],
) -> TargetRead:
    target, code = await service.upsert_target(session, actor, cohort_id, data)
    return TargetRead(
        id=target.id, metric=code, year=target.year, month=target.month, value=target.value, version=target.version
    )
