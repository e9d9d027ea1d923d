from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.api.deps import IdPath, IfMatchDep, SessionDep, TodayDep, require, set_etag, sort_dependency
from app.api.export import EXPORT_RESPONSES, ExportDep, each
from app.core.errors import problem_responses
from app.core.principal import Principal
from app.core.scopes import SENSITIVE_KPIS
from app.models import KpiFact
from app.schemas.audit import AuditEventRead
from app.schemas.common import MAX_ID, PageOut
from app.schemas.kpi import BulkResult, FactBatch, FactRead, MetricCode, MetricCreate, MetricRead, MetricUpdate
from app.services import audit
from app.services import kpi_facts as service
from app.services.calculators.periods import Period
from app.services.exports import metric_money
from app.services.pagination import PageRequest

router = APIRouter(tags=["kpis 指标"], responses=problem_responses(401, 403, 422))

FactPage = Annotated[PageRequest, sort_dependency(service.FACT_SORTS, default="year,month,enterprise_id")]


def fact_read(fact: KpiFact, codes: dict[int, str]) -> FactRead:
    return FactRead(
        id=fact.id,
        enterprise_id=fact.enterprise_id,
        metric=codes[fact.metric_id],
        period=str(Period(fact.year, fact.month)),
        reported_as=fact.reported_as,
        reported_value=fact.reported_value,
        monthly_value=fact.monthly_value,
        ytd_value=fact.ytd_value,
        updated_at=fact.updated_at,
        version=fact.version,
    )


async def _codes(session: SessionDep) -> dict[int, str]:
    return {m.id: m.code for m in await service.list_metrics(session)}


@router.get("/metrics", response_model=list[MetricRead], summary="The metrics facts are reported for")
async def list_metrics(session: SessionDep, _actor: Annotated[Principal, require("kpis:read")]) -> list[MetricRead]:
    return [MetricRead.model_validate(m) for m in await service.list_metrics(session)]


@router.post(
    "/metrics",
    response_model=MetricRead,
    status_code=status.HTTP_201_CREATED,
    summary="Add a metric",
    responses=problem_responses(409, 415),
)
async def create_metric(
    data: MetricCreate, response: Response, session: SessionDep, actor: Annotated[Principal, require("kpis:write")]
) -> MetricRead:
    metric = await service.create_metric(session, actor, data)
    set_etag(response, metric.version)
    return MetricRead.model_validate(metric)


@router.patch(
    "/metrics/{metric_id:int}",
    response_model=MetricRead,
    summary="Rename a metric or change its unit",
    responses=problem_responses(404, 412, 415, 428),
)
async def update_metric(
    metric_id: IdPath,
    data: MetricUpdate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("kpis:write")],
    expected: IfMatchDep,
) -> MetricRead:
    metric = await service.update_metric(session, actor, metric_id, data, expected)
    set_etag(response, metric.version)
    return MetricRead.model_validate(metric)


@router.post(
    "/kpi-facts/bulk",
    response_model=BulkResult,
    summary="Submit monthly or cumulative (1–N月) figures, up to 5,000 rows, all or nothing",
    description=(
        "Each row names an enterprise (`enterprise_id` or `uscc`), a metric, a month and whether the value is "
        "the month's own (`monthly`) or the 1–N月 cumulative (`ytd`). Both figures are derived and stored. "
        "Any bad row refuses the whole batch with `errors[]` naming the row (`loc: [body, rows, i, field]`), "
        "and nothing is written. A cumulative below the previous month's for a non-negative metric is "
        "`inconsistent_cumulative`. Correcting an earlier month re-derives the later ones. Sending the same "
        "batch again changes nothing."
    ),
    responses=problem_responses(413, 415),
)
async def bulk_upsert(
    batch: FactBatch, session: SessionDep, actor: Annotated[Principal, require("kpis:write")], today: TodayDep
) -> BulkResult:
    return await service.upsert_facts(session, actor, batch, today)


@router.get(
    "/kpi-facts",
    response_model=PageOut[FactRead],
    summary="Stored facts, with both derived figures",
    description="In csv/xlsx, `money_unit` rescales the values of metrics whose unit is 元 only.",
    responses=EXPORT_RESPONSES,
)
async def list_facts(
    session: SessionDep,
    actor: Annotated[Principal, require("kpis:read")],
    page: FactPage,
    export: ExportDep,
    enterprise_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    metric: MetricCode | None = None,
    year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
    month_from: Annotated[int | None, Query(ge=1, le=12)] = None,
    month_to: Annotated[int | None, Query(ge=1, le=12)] = None,
) -> PageOut[FactRead] | Response:
    metrics = await service.list_metrics(session)
    codes = {m.id: m.code for m in metrics}
    metric_id = None
    if metric is not None:
        chosen = next((m for m in metrics if m.code == metric), None)
        if chosen is not None:
            service.ensure_visible(chosen, actor.scopes)
        metric_id = chosen.id if chosen else -1
    flt = service.FactFilter(
        cleared=SENSITIVE_KPIS in actor.scopes,
        enterprise_id=enterprise_id,
        metric_id=metric_id,
        year=year,
        month_from=month_from,
        month_to=month_to,
    )
    if export.wanted:
        # Values of 元 metrics follow money_unit; the metrics the export can hold decide the headers.
        shown = [m for m in metrics if m.id == metric_id or (metric is None and (flt.cleared or not m.sensitive))]
        money = metric_money(shown)
        stmt = service.facts_query(flt, page.sort)
        return await export.respond(actor, "指标数据", FactRead, stmt, each(lambda f: fact_read(f, codes)), money)
    result = await service.list_facts(session, flt, page)
    return PageOut[FactRead](
        items=[fact_read(f, codes) for f in result.items],
        total=result.total,
        limit=result.limit,
        offset=result.offset,
    )


@router.get("/kpi-facts/{fact_id:int}", response_model=FactRead, summary="One fact", responses=problem_responses(404))
async def get_fact(
    fact_id: IdPath, response: Response, session: SessionDep, actor: Annotated[Principal, require("kpis:read")]
) -> FactRead:
    fact = await service.get_fact(session, fact_id, actor.scopes)
    set_etag(response, fact.version)
    return fact_read(fact, await _codes(session))


@router.get(
    "/kpi-facts/{fact_id:int}/history",
    response_model=list[AuditEventRead],
    summary="Corrections of a fact: who, when, old → new",
    responses=problem_responses(404),
)
async def fact_history(
    fact_id: IdPath, session: SessionDep, actor: Annotated[Principal, require("kpis:read")]
) -> list[AuditEventRead]:
    await service.get_fact(session, fact_id, actor.scopes)  # 404 for an id the caller may not see
    trail = await audit.list_events(
        session,
        audit.AuditFilter(entity_type="kpi_fact", entity_id=str(fact_id)),
        PageRequest(limit=200, offset=0, sort=("occurred_at",)),
    )
    return [AuditEventRead.model_validate(e) for e in trail.items]
