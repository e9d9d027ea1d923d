"""Change feeds for district systems that mirror the data: `GET /api/v1/changes/{resource}?cursor=`."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import NowDep, SessionDep, TodayDep, require
from app.api.v1 import disclosures, enterprises, kpis, milestones, projects, service_requests, talents
from app.core.errors import problem_responses
from app.core.principal import Principal
from app.core.scopes import SENSITIVE_KPIS
from app.models import CHANGE_RESOURCES, Metric
from app.schemas.change import ChangeItem, ChangePage
from app.schemas.disclosure import DisclosureRead
from app.schemas.enterprise import EnterpriseRead
from app.schemas.kpi import FactRead
from app.schemas.land_parcel import LandParcelRead
from app.schemas.project import MilestoneRead, ProjectRead
from app.schemas.service_request import ServiceRequestRead
from app.schemas.talent import TalentRead
from app.schemas.zone import ZoneRead
from app.services import change_feed
from app.services import kpi_facts as kpi_service
from app.services import milestones as milestone_service

router = APIRouter(prefix="/changes", tags=["sync 数据同步"], responses=problem_responses(401, 403, 422))


@dataclass(frozen=True)
class Context:
    session: AsyncSession
    actor: Principal
    today: date
    now: datetime


# Turns the rows that still exist into read models; a row left out is one the caller may not see.
Converter = Callable[[Context, dict[int, Any]], Awaitable[dict[int, BaseModel]]]


async def _enterprises(ctx: Context, rows: dict[int, Any]) -> dict[int, BaseModel]:
    return {i: enterprises.to_read(row, ctx.actor) for i, row in rows.items()}


async def _validated(model: type[BaseModel], rows: dict[int, Any]) -> dict[int, BaseModel]:
    return {i: model.model_validate(row) for i, row in rows.items()}


async def _zones(_ctx: Context, rows: dict[int, Any]) -> dict[int, BaseModel]:
    return await _validated(ZoneRead, rows)


async def _land_parcels(_ctx: Context, rows: dict[int, Any]) -> dict[int, BaseModel]:
    return await _validated(LandParcelRead, rows)


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


async def _talents(ctx: Context, rows: dict[int, Any]) -> dict[int, BaseModel]:
    return {i: talents.to_read(row, ctx.actor) for i, row in rows.items()}


async def _disclosure_items(ctx: Context, rows: dict[int, Any]) -> dict[int, BaseModel]:
    return {i: disclosures.to_read(row, ctx.now) for i, row in rows.items()}


@dataclass(frozen=True)
class Feed:
    resource: str
    scope: str
    read_model: type[BaseModel]
    convert: Converter
    title: str


FEEDS = (
    Feed("enterprises", "enterprises:read", EnterpriseRead, _enterprises, "企业"),
    Feed("zones", "zones:read", ZoneRead, _zones, "集聚区"),
    Feed("land_parcels", "land_parcels:read", LandParcelRead, _land_parcels, "地块"),
    Feed("projects", "projects:read", ProjectRead, _projects, "项目"),
    Feed("milestones", "projects:read", MilestoneRead, _milestones, "项目节点"),
    Feed("kpi_facts", "kpis:read", FactRead, _kpi_facts, "指标数据"),
    Feed("service_requests", "services:read", ServiceRequestRead, _service_requests, "服务诉求"),
    Feed("talents", "talents:read", TalentRead, _talents, "人才"),
    Feed("disclosure_items", "disclosures:read", DisclosureRead, _disclosure_items, "主动公开事项"),
)
assert {f.resource for f in FEEDS} == CHANGE_RESOURCES, "every logged resource has a feed"  # noqa: S101

CursorQuery = Annotated[
    str | None, Query(max_length=40, description="The `next_cursor` of the previous page; omit to start from the first")
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
        changed = await change_feed.read_changes(session, feed.resource, position, limit)
        rows = await change_feed.current_rows(session, feed.resource, changed.entity_ids)
        visible = await feed.convert(Context(session, actor, today, now), rows)
        items = [
            ChangeItem[Any](id=i, deleted=i not in rows, data=visible.get(i))
            for i in changed.entity_ids
            if i in visible or i not in rows
        ]
        return ChangePage[Any](items=items, next_cursor=str(changed.next_position), has_more=changed.has_more)

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
            "visibility follow the caller's scopes as in the resource's own GET."
        ),
    )


for _feed in FEEDS:
    _add_feed(_feed)
