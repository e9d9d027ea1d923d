import calendar
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.api.deps import IdPath, IfMatchDep, NowDep, SessionDep, require, set_etag, sort_dependency
from app.api.export import EXPORT_RESPONSES, ExportDep, each
from app.core.errors import problem_responses
from app.core.principal import Principal
from app.models import DisclosureCategory, DisclosureChannel, DisclosureItem
from app.schemas.common import PageOut, QueryDate, SearchText
from app.schemas.disclosure import DisclosureCreate, DisclosureRead, DisclosureStatistics, DisclosureUpdate
from app.services import disclosures as service
from app.services.pagination import PageRequest

router = APIRouter(prefix="/disclosures", tags=["disclosure 政务公开"], responses=problem_responses(401, 403, 422))

ItemPage = Annotated[PageRequest, sort_dependency(service.ITEM_SORTS, default="-published_at")]


def to_read(item: DisclosureItem, now: datetime) -> DisclosureRead:
    return DisclosureRead(
        id=item.id,
        title=item.title,
        category=item.category,
        legal_basis_item=item.legal_basis_item,
        channels=[c.channel for c in item.channels],
        published_at=item.published_at,
        status="scheduled" if item.published_at > now else "published",
        link=item.link,
        abolished_on=item.abolished_on,
        created_at=item.created_at,
        updated_at=item.updated_at,
        version=item.version,
    )


@router.get(
    "", response_model=PageOut[DisclosureRead], summary="List disclosure items (主动公开)", responses=EXPORT_RESPONSES
)
async def list_items(
    session: SessionDep,
    actor: Annotated[Principal, require("disclosures:read")],
    current: NowDep,
    page: ItemPage,
    export: ExportDep,
    q: Annotated[SearchText | None, Query(description="Title contains")] = None,
    category: DisclosureCategory | None = None,
    channel: DisclosureChannel | None = None,
    legal_basis_item: Annotated[int | None, Query(ge=1, le=15)] = None,
    published_from: QueryDate | None = None,
    published_to: Annotated[QueryDate | None, Query(description="Inclusive (Asia/Shanghai date)")] = None,
    scheduled: Annotated[bool, Query(description="Only items still waiting for their publication time")] = False,
) -> PageOut[DisclosureRead] | Response:
    flt = service.ItemFilter(
        q=q,
        category=category,
        channel=channel,
        legal_basis_item=legal_basis_item,
        published_from=published_from,
        published_to=published_to,
        scheduled_after=current if scheduled else None,
    )
    if export.wanted:
        stmt = service.items_query(flt, page.sort)
        return await export.respond(actor, "主动公开", DisclosureRead, stmt, each(lambda i: to_read(i, current)))
    result = await service.list_items(session, flt, page)
    return PageOut[DisclosureRead](
        items=[to_read(i, current) for i in result.items], total=result.total, limit=result.limit, offset=result.offset
    )


@router.post(
    "",
    response_model=DisclosureRead,
    status_code=status.HTTP_201_CREATED,
    summary="Publish or schedule an item",
    description=(
        "A past or present `published_at` publishes; a future one needs `scheduled=true` (a scheduled time in "
        "the past answers 422 `scheduled_in_past`, a future time without the flag `published_in_future`). "
        "Channels: website, wechat, weibo, gazette, press_conference, reading_room; one item may use several."
    ),
    responses=problem_responses(415),
)
async def create_item(
    data: DisclosureCreate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("disclosures:write")],
    current: NowDep,
) -> DisclosureRead:
    item = await service.create_item(session, actor, data, current)
    response.headers["Location"] = f"/api/v1/disclosures/{item.id}"
    set_etag(response, item.version)
    return to_read(item, current)


@router.get(
    "/statistics",
    response_model=DisclosureStatistics,
    summary="Items published in a year or month: by category, legal basis, channel, channel group and month",
    description=(
        "An item counts **once** in `total` and in its category, and **once in every channel** it went out on: "
        "the categories sum to `total`, the channels to `placements` (= total + the extra channels of items on "
        "several). `by_channel_group` counts each item once per group it reached (website; social_media = "
        "WeChat or Weibo, an item on both counting once; other), so the groups sum to `total` exactly when "
        "`several_groups` (items that reached more than one group) is 0. Scheduled items count from their "
        "publication time. Months are Asia/Shanghai."
    ),
)
async def statistics(
    session: SessionDep,
    _actor: Annotated[Principal, require("disclosures:read")],
    current: NowDep,
    year: Annotated[int, Query(ge=1990, le=2100)],
    month: Annotated[int | None, Query(ge=1, le=12)] = None,
) -> DisclosureStatistics:
    if month is None:
        first, last = date(year, 1, 1), date(year, 12, 31)
    else:
        first, last = date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
    return await service.statistics(session, first, last, current)


@router.get("/{item_id:int}", response_model=DisclosureRead, summary="Read an item", responses=problem_responses(404))
async def get_item(
    item_id: IdPath,
    response: Response,
    session: SessionDep,
    _actor: Annotated[Principal, require("disclosures:read")],
    current: NowDep,
) -> DisclosureRead:
    item = await service.get_item(session, item_id)
    set_etag(response, item.version)
    return to_read(item, current)


@router.patch(
    "/{item_id:int}",
    response_model=DisclosureRead,
    summary="Change an item (channels, when sent, replace the list)",
    responses=problem_responses(404, 412, 415, 428),
)
async def update_item(
    item_id: IdPath,
    data: DisclosureUpdate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("disclosures:write")],
    expected: IfMatchDep,
    current: NowDep,
) -> DisclosureRead:
    item = await service.update_item(session, actor, item_id, data, expected, current)
    set_etag(response, item.version)
    return to_read(item, current)


@router.delete(
    "/{item_id:int}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Withdraw a scheduled item (a published one stays on record: 409)",
    responses=problem_responses(404, 409, 412, 428),
)
async def delete_item(
    item_id: IdPath,
    session: SessionDep,
    actor: Annotated[Principal, require("disclosures:write")],
    expected: IfMatchDep,
    current: NowDep,
) -> None:
    await service.delete_item(session, actor, item_id, expected, current)
