"""Change feeds for district systems that mirror the data: `GET /api/v1/changes/{resource}?cursor=`."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import NowDep, SessionDep, TodayDep, require
from app.api.v1 import (
    consultation_events,
    disclosure_requests,
    disclosures,
    enterprises,
    kpis,
    meetings,
    milestones,
    projects,
    service_officers,
    service_requests,
    talent_apartments,
    talents,
    visits,
)
from app.core.errors import problem_responses
from app.core.principal import Principal
from app.core.scopes import SENSITIVE_KPIS
from app.models import CHANGE_RESOURCES, Metric
from app.schemas.change import ChangeItem, ChangePage
from app.schemas.consultation_event import ConsultationEventRead
from app.schemas.department import DepartmentRead
from app.schemas.disclosure import DisclosureRead, DisclosureRequestRead, RemedyRead
from app.schemas.enterprise import EnterpriseRead
from app.schemas.kpi import FactRead, MetricRead
from app.schemas.land_parcel import LandParcelRead
from app.schemas.meeting import DecisionRead, MeetingRead
from app.schemas.project import EscalationRead, MilestoneRead, ProjectRead, TemplateRead
from app.schemas.service_officer import AssignmentRead
from app.schemas.service_request import ServiceRequestRead
from app.schemas.service_type import ServiceTypeRead
from app.schemas.talent import AllocationRead, ApplicationRead, BatchRead, GreenCardRead, TalentRead, UnitRead
from app.schemas.visit import VisitRead
from app.schemas.zone import AreaVersionRead, ZoneRead
from app.services import change_feed
from app.services import consultation_events as fair_service
from app.services import kpi_facts as kpi_service
from app.services import meetings as meeting_service
from app.services import milestones as milestone_service
from app.services import talent_apartments as apartment_service
from app.services import visits as visit_service

router = APIRouter(prefix="/changes", tags=["sync 数据同步"], responses=problem_responses(401, 403, 422))


@dataclass(frozen=True)
class Context:
    session: AsyncSession
    actor: Principal
    today: date
    now: datetime


# Turns the rows that still exist into read models; a row left out is one the caller may not see.
Converter = Callable[[Context, dict[int, Any]], Awaitable[dict[int, BaseModel]]]


def _plain(model: type[BaseModel]) -> Converter:
    """Read models that are the row's own columns."""

    async def convert(_ctx: Context, rows: dict[int, Any]) -> dict[int, BaseModel]:
        return {i: model.model_validate(row, from_attributes=True) for i, row in rows.items()}

    return convert


async def _enterprises(ctx: Context, rows: dict[int, Any]) -> dict[int, BaseModel]:
    return {i: enterprises.to_read(row, ctx.actor) for i, row in rows.items()}


async def _projects(ctx: Context, rows: dict[int, Any]) -> dict[int, BaseModel]:
    return {i: projects.to_read(row, ctx.actor) for i, row in rows.items()}


async def _milestones(ctx: Context, rows: dict[int, Any]) -> dict[int, BaseModel]:
    replans = await milestone_service.replans_of(ctx.session, list(rows))
    return {i: milestones.to_read(row, replans[i], ctx.today) for i, row in rows.items()}


async def _kpi_facts(ctx: Context, rows: dict[int, Any]) -> dict[int, BaseModel]:
    metrics: list[Metric] = await kpi_service.list_metrics(ctx.session)
    codes = {m.id: m.code for m in metrics}
    # Facts of sensitive metrics (tax) are not in the feed of a caller who may not read them.
    hidden = set() if SENSITIVE_KPIS in ctx.actor.scopes else {m.id for m in metrics if m.sensitive}
    return {i: kpis.fact_read(row, codes) for i, row in rows.items() if row.metric_id not in hidden}


async def _service_requests(ctx: Context, rows: dict[int, Any]) -> dict[int, BaseModel]:
    return {i: service_requests.to_read(row, ctx.today) for i, row in rows.items()}


async def _visits(ctx: Context, rows: dict[int, Any]) -> dict[int, BaseModel]:
    request_ids = await visit_service.request_ids(ctx.session, list(rows))
    return {i: visits.to_read(row, request_ids[i]) for i, row in rows.items()}


async def _consultation_events(ctx: Context, rows: dict[int, Any]) -> dict[int, BaseModel]:
    counts = await fair_service.appointment_counts(ctx.session, list(rows))
    return {i: consultation_events.to_read(row, counts[i]) for i, row in rows.items()}


async def _talents(ctx: Context, rows: dict[int, Any]) -> dict[int, BaseModel]:
    return {i: talents.to_read(row, ctx.actor) for i, row in rows.items()}


async def _allocations(ctx: Context, rows: dict[int, Any]) -> dict[int, BaseModel]:
    return {i: talent_apartments.allocation_read(row, ctx.today) for i, row in rows.items()}


async def _assignments(ctx: Context, rows: dict[int, Any]) -> dict[int, BaseModel]:
    reads = await service_officers.reads(ctx.session, list(rows.values()))
    return {read.id: read for read in reads}


async def _batches(ctx: Context, rows: dict[int, Any]) -> dict[int, BaseModel]:
    counts = await apartment_service.unit_counts(ctx.session, list(rows))
    return {i: talent_apartments.batch_read(row, counts[i]) for i, row in rows.items()}


async def _units(ctx: Context, rows: dict[int, Any]) -> dict[int, BaseModel]:
    occupied = await apartment_service.occupied_units(ctx.session, list(rows), ctx.today)
    return {i: talent_apartments.unit_read(row, i in occupied) for i, row in rows.items()}


async def _disclosure_items(ctx: Context, rows: dict[int, Any]) -> dict[int, BaseModel]:
    return {i: disclosures.to_read(row, ctx.now) for i, row in rows.items()}


async def _disclosure_requests(ctx: Context, rows: dict[int, Any]) -> dict[int, BaseModel]:
    return {i: disclosure_requests.to_read(row, ctx.actor) for i, row in rows.items()}


async def _meetings(ctx: Context, rows: dict[int, Any]) -> dict[int, BaseModel]:
    counts = await meeting_service.decision_counts(ctx.session, list(rows))
    return {i: meetings.to_read(row, counts[i]) for i, row in rows.items()}


async def _decisions(ctx: Context, rows: dict[int, Any]) -> dict[int, BaseModel]:
    held_on = await meeting_service.meeting_dates(ctx.session, {row.meeting_id for row in rows.values()})
    return {i: meetings.decision_read(row, held_on) for i, row in rows.items()}


@dataclass(frozen=True)
class Feed:
    resource: str
    scope: str
    read_model: type[BaseModel]
    convert: Converter
    title: str


FEEDS = (
    Feed("enterprises", "enterprises:read", EnterpriseRead, _enterprises, "企业"),
    Feed("zones", "zones:read", ZoneRead, _plain(ZoneRead), "集聚区"),
    Feed("zone_area_versions", "zones:read", AreaVersionRead, _plain(AreaVersionRead), "集聚区面积口径"),
    Feed("land_parcels", "land_parcels:read", LandParcelRead, _plain(LandParcelRead), "地块"),
    Feed("projects", "projects:read", ProjectRead, _projects, "项目"),
    Feed("milestones", "projects:read", MilestoneRead, _milestones, "项目节点"),
    Feed("escalations", "projects:read", EscalationRead, _plain(EscalationRead), "督办"),
    Feed("milestone_templates", "projects:read", TemplateRead, _plain(TemplateRead), "节点模板"),
    Feed("metrics", "kpis:read", MetricRead, _plain(MetricRead), "指标"),
    Feed("kpi_facts", "kpis:read", FactRead, _kpi_facts, "指标数据"),
    Feed("service_officer_assignments", "services:read", AssignmentRead, _assignments, "首席服务官任职"),
    Feed("departments", "services:read", DepartmentRead, _plain(DepartmentRead), "部门"),
    Feed("service_types", "services:read", ServiceTypeRead, _plain(ServiceTypeRead), "服务事项"),
    Feed("service_requests", "services:read", ServiceRequestRead, _service_requests, "服务诉求"),
    Feed("visits", "services:read", VisitRead, _visits, "走访"),
    Feed("consultation_events", "services:read", ConsultationEventRead, _consultation_events, "问诊会"),
    Feed("talents", "talents:read", TalentRead, _talents, "人才"),
    Feed("apartment_batches", "talents:read", BatchRead, _batches, "人才公寓批次"),
    Feed("apartment_units", "talents:read", UnitRead, _units, "人才公寓房源"),
    Feed("apartment_allocations", "talents:read", AllocationRead, _allocations, "人才公寓分配"),
    Feed(
        "household_registrations",
        "talents:read",
        ApplicationRead,
        _plain(ApplicationRead),
        "白卡落户申请",
    ),
    Feed("talent_green_cards", "talents:read", GreenCardRead, _plain(GreenCardRead), "人才绿卡申请"),
    Feed("disclosure_items", "disclosures:read", DisclosureRead, _disclosure_items, "主动公开事项"),
    Feed("disclosure_requests", "disclosures:read", DisclosureRequestRead, _disclosure_requests, "依申请公开"),
    Feed("disclosure_remedies", "disclosures:read", RemedyRead, _plain(RemedyRead), "行政复议与诉讼"),
    Feed("meetings", "decisions:read", MeetingRead, _meetings, "会议"),
    Feed("major_decisions", "decisions:read", DecisionRead, _decisions, "“三重一大”决策"),
)
assert {f.resource for f in FEEDS} == CHANGE_RESOURCES, "every logged resource has a feed"  # noqa: S101

CursorQuery = Annotated[
    str | None, Query(max_length=50, description="The `next_cursor` of the previous page; omit to start from the first")
]
LimitQuery = Annotated[int, Query(ge=1, le=500, description="Changes to read (a row changed twice counts twice)")]


def _add_feed(feed: Feed) -> None:
    async def read_feed(
        session: SessionDep,
        actor: Annotated[Principal, require(feed.scope)],
        today: TodayDep,
        now: NowDep,
        cursor: CursorQuery = None,
        limit: LimitQuery = 200,
    ) -> Any:
        position = change_feed.parse_cursor(cursor)
        generation = await change_feed.check_cursor(session, feed.resource, position)
        changed = await change_feed.read_changes(session, feed.resource, position, limit)
        if await change_feed.check_cursor(session, feed.resource, position) != generation:
            # Deletions were forgotten while this page was read: it may lack one, so start again.
            raise change_feed.expired()
        rows = await change_feed.current_rows(session, feed.resource, changed.entity_ids)
        visible = await feed.convert(Context(session, actor, today, now), rows)
        items = [
            ChangeItem[Any](id=i, deleted=i not in rows, data=visible.get(i))
            for i in changed.entity_ids
            if i in visible or i not in rows
        ]
        next_cursor = replace(changed.next_position, generation=generation)
        return ChangePage[Any](items=items, next_cursor=str(next_cursor), has_more=changed.has_more)

    router.add_api_route(
        f"/{feed.resource}",
        read_feed,
        methods=["GET"],
        response_model=ChangePage[feed.read_model],  # type: ignore[name-defined]
        name=f"changes_{feed.resource}",
        summary=f"Change feed of {feed.resource.replace('_', ' ')}（{feed.title}变更）",
        description=(
            "Every create, change and delete, in commit order, resumable with `cursor`. Each changed row appears "
            "once per page with its current state, or `deleted: true`; apply the pages in order and the mirror "
            "equals the source. `has_more: false` means caught up: keep `next_cursor` and poll. Masking and "
            "visibility follow the caller's scopes as in the resource's own GET. A cursor older than the deletions "
            "still kept (`CHANGE_TOMBSTONE_DAYS`) answers 410 `cursor_expired`: empty the mirror and start again."
        ),
        responses=problem_responses(410),
    )


for _feed in FEEDS:
    _add_feed(_feed)
