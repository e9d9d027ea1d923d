"""Proactive disclosure (主动公开): items published on one or several channels, and their statistics.

An item counts once in the total and in its category, and once in every channel it went out on; the
statistics say so and give the overlap, so the published figures reconcile (DESIGN §7).
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, case, distinct, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core.clock import SHANGHAI
from app.core.errors import ConflictError, NotFoundError, field_problem
from app.core.principal import Principal
from app.models import (
    CHANNEL_GROUPS,
    DisclosureCategory,
    DisclosureChannel,
    DisclosureItem,
    DisclosureItemChannel,
)
from app.models.functions import shanghai_month
from app.schemas.disclosure import (
    Count,
    DisclosureCreate,
    DisclosureStatistics,
    DisclosureUpdate,
)
from app.services import audit
from app.services.pagination import Page, PageRequest, ordered, page_of
from app.services.versioning import check_version
from app.services.webhooks import events as webhook_events

# 《政府信息公开条例》第二十条: the item that obliges each kind of document to be published, when unsaid.
DEFAULT_LEGAL_BASIS = {
    DisclosureCategory.normative_documents: 1,  # (一) 行政法规、规章和规范性文件
    DisclosureCategory.plans: 3,  # (三) 规划及相关政策
    DisclosureCategory.budget_final_accounts: 7,  # (七) 财政预算、决算信息
    DisclosureCategory.procurement: 9,  # (九) 政府集中采购
}
ITEM_SORTS = {"published_at": DisclosureItem.published_at, "title": DisclosureItem.title}


def day_start(day: date) -> datetime:
    """Midnight in Asia/Shanghai, as a UTC instant: periods are business dates."""
    return datetime.combine(day, time(0), SHANGHAI).astimezone(UTC)


# --- items ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemFilter:
    q: str | None = None
    category: DisclosureCategory | None = None
    channel: DisclosureChannel | None = None
    legal_basis_item: int | None = None
    published_from: date | None = None
    published_to: date | None = None  # inclusive, Asia/Shanghai
    scheduled_after: datetime | None = None  # only items still waiting at this instant


def _items(flt: ItemFilter) -> Select[DisclosureItem]:
    stmt = select(DisclosureItem)
    if flt.q:
        stmt = stmt.where(func.lower(DisclosureItem.title).contains(flt.q.lower(), autoescape=True))
    if flt.category is not None:
        stmt = stmt.where(DisclosureItem.category == flt.category)
    if flt.channel is not None:
        stmt = stmt.where(
            exists().where(
                DisclosureItemChannel.item_id == DisclosureItem.id, DisclosureItemChannel.channel == flt.channel
            )
        )
    if flt.legal_basis_item is not None:
        stmt = stmt.where(DisclosureItem.legal_basis_item == flt.legal_basis_item)
    if flt.published_from is not None:
        stmt = stmt.where(DisclosureItem.published_at >= day_start(flt.published_from))
    if flt.published_to is not None:
        stmt = stmt.where(DisclosureItem.published_at < day_start(flt.published_to + timedelta(days=1)))
    if flt.scheduled_after is not None:
        stmt = stmt.where(DisclosureItem.published_at > flt.scheduled_after)
    return stmt


def items_query(flt: ItemFilter, sort: tuple[str, ...]) -> Select[DisclosureItem]:
    """The list's statement in its order: one page of it for the list, all of it for an export."""
    return ordered(_items(flt).options(selectinload(DisclosureItem.channels)), sort, ITEM_SORTS, DisclosureItem.id)


async def list_items(session: AsyncSession, flt: ItemFilter, page: PageRequest) -> Page[DisclosureItem]:
    return await page_of(session, items_query(flt, page.sort), page)


async def get_item(session: AsyncSession, item_id: int) -> DisclosureItem:
    item = await session.scalar(
        select(DisclosureItem).where(DisclosureItem.id == item_id).options(selectinload(DisclosureItem.channels))
    )
    if item is None:
        raise NotFoundError("disclosure item", item_id)
    return item


def _check_abolition(published_at: datetime, abolished_on: date | None) -> None:
    issued = published_at.astimezone(SHANGHAI).date()
    if abolished_on is not None and abolished_on < issued:
        raise field_problem(
            422,
            "date_order",
            "abolished_on",
            f"废止日期早于发布日期 {issued} / a document is abolished after it was issued ({issued})",
        )


def _check_schedule(published_at: datetime, scheduled: bool, now: datetime) -> None:
    if scheduled and published_at <= now:
        raise field_problem(
            422,
            "scheduled_in_past",
            "published_at",
            "定时发布的时间已过：请去掉 scheduled 或改为将来的时间 / a scheduled item needs a future published_at",
        )
    if not scheduled and published_at > now:
        raise field_problem(
            422,
            "published_in_future",
            "published_at",
            "发布时间在将来：定时发布请加 scheduled=true / published_at is in the future: send scheduled=true "
            "to schedule the item",
        )


def _snapshot(item: DisclosureItem) -> dict[str, Any]:
    data = audit.snapshot(item)
    data["channels"] = [c.channel.value for c in item.channels]
    return data


async def create_item(session: AsyncSession, actor: Principal, data: DisclosureCreate, now: datetime) -> DisclosureItem:
    _check_schedule(data.published_at, data.scheduled, now)
    _check_abolition(data.published_at, data.abolished_on)
    item = DisclosureItem(
        title=data.title,
        category=data.category,
        legal_basis_item=data.legal_basis_item or DEFAULT_LEGAL_BASIS.get(data.category),
        published_at=data.published_at,
        link=data.link,
        abolished_on=data.abolished_on,
        channels=[DisclosureItemChannel(channel=c) for c in data.channels],
    )
    session.add(item)
    await session.flush()
    audit.record(session, actor, "create", "disclosure_item", item.id, None, _snapshot(item))
    if item.published_at <= now:  # public at once; a scheduled item is announced by the scanner when its time comes
        await webhook_events.disclosure_published(session, item.id, now)
    return item


async def update_item(
    session: AsyncSession,
    actor: Principal,
    item_id: int,
    data: DisclosureUpdate,
    expected: frozenset[int] | None,
    now: datetime,
) -> DisclosureItem:
    item = await get_item(session, item_id)
    check_version(item.version, expected)
    was_public = item.published_at <= now
    changes = data.model_dump(exclude_unset=True)
    scheduled = changes.pop("scheduled", None)
    if item.published_at <= now and changes.get("published_at", item.published_at) > now:
        raise ConflictError(
            "already_published",
            "已发布的信息不能改为定时发布 / a published item cannot go back to waiting for a later time",
        )
    if "published_at" in changes or scheduled is not None:
        # Unsaid, an item keeps what it is: a scheduled one stays scheduled, a published one published.
        _check_schedule(
            changes.get("published_at", item.published_at),
            scheduled if scheduled is not None else item.published_at > now,
            now,
        )
    _check_abolition(changes.get("published_at", item.published_at), changes.get("abolished_on", item.abolished_on))
    category = changes.get("category", item.category)
    if (
        changes.get("abolished_on", item.abolished_on) is not None
        and category is not DisclosureCategory.normative_documents
    ):
        raise field_problem(
            422, "validation_failed", "abolished_on", "abolished_on applies to normative_documents only"
        )
    before = _snapshot(item)
    if "channels" in changes:
        wanted = changes.pop("channels")
        kept = [c for c in item.channels if c.channel in wanted]
        item.channels = kept + [DisclosureItemChannel(channel=c) for c in wanted if c not in {k.channel for k in kept}]
    for field, value in changes.items():
        setattr(item, field, value)
    after = _snapshot(item)
    if after != before:
        item.updated_at = now  # a channel change moves the version too
    await session.flush()
    audit.record(session, actor, "update", "disclosure_item", item.id, before, after)
    if not was_public and item.published_at <= now:  # a scheduled item published now
        await webhook_events.disclosure_published(session, item.id, now)
    return item


async def delete_item(
    session: AsyncSession, actor: Principal, item_id: int, expected: frozenset[int] | None, now: datetime
) -> None:
    item = await get_item(session, item_id)
    check_version(item.version, expected)
    if item.published_at <= now:
        raise ConflictError(
            "already_published",
            "已发布的信息不能删除（公开记录须保留）/ a published item stays on record; only a scheduled one can be "
            "withdrawn",
        )
    before = _snapshot(item)
    await session.delete(item)
    await session.flush()
    audit.record(session, actor, "delete", "disclosure_item", item_id, before, None)


# --- statistics -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemCounts:
    total: int
    by_category: dict[str, int]
    by_legal_basis_item: dict[str, int]
    by_channel: dict[str, int]
    items_on_several_channels: int
    by_channel_group: dict[str, int]
    several_groups: int
    by_month: dict[str, int]


def _channel_group(channel: Any) -> Any:
    return case(*[(channel.in_(channels), group) for group, channels in CHANNEL_GROUPS.items()], else_="other")


def _key(value: Any) -> str:
    return "none" if value is None else str(getattr(value, "value", value))


async def item_counts(session: AsyncSession, first: date, last: date, now: datetime) -> ItemCounts:
    """Items published in [first, last] (Asia/Shanghai dates) and by `now`; every count a SQL aggregate."""
    end = min(day_start(last + timedelta(days=1)), now + timedelta(microseconds=1))
    in_period = [DisclosureItem.published_at >= day_start(first), DisclosureItem.published_at < end]
    items = select(DisclosureItem.id).where(*in_period)

    async def grouped(column: Any) -> dict[str, int]:
        rows = await session.execute(select(column, func.count()).where(*in_period).group_by(column).order_by(column))
        return {_key(key): int(n) for key, n in rows}

    channel = DisclosureItemChannel.channel
    placed = DisclosureItemChannel.item_id.in_(items)
    channel_rows = await session.execute(
        select(channel, func.count()).where(placed).group_by(channel).order_by(channel)
    )
    group = _channel_group(channel)
    group_rows = await session.execute(
        select(group, func.count(distinct(DisclosureItemChannel.item_id))).where(placed).group_by(group)
    )
    per_item = (
        select(
            func.count().label("channels"),
            func.count(distinct(group)).label("groups"),
        )
        .where(placed)
        .group_by(DisclosureItemChannel.item_id)
        .subquery()
    )
    several, several_groups = (
        await session.execute(
            select(
                func.coalesce(func.sum(case((per_item.c.channels > 1, 1), else_=0)), 0),
                func.coalesce(func.sum(case((per_item.c.groups > 1, 1), else_=0)), 0),
            )
        )
    ).one()
    by_group = {g: 0 for g in CHANNEL_GROUPS} | {str(g): int(n) for g, n in group_rows}
    return ItemCounts(
        total=int(await session.scalar(select(func.count()).where(*in_period)) or 0),
        by_category=await grouped(DisclosureItem.category),
        by_legal_basis_item=await grouped(DisclosureItem.legal_basis_item),
        by_channel={_key(c): int(n) for c, n in channel_rows},
        items_on_several_channels=int(several),
        by_channel_group=by_group,
        several_groups=int(several_groups),
        by_month=await grouped(shanghai_month(DisclosureItem.published_at)),
    )


async def statistics(session: AsyncSession, first: date, last: date, now: datetime) -> DisclosureStatistics:
    c = await item_counts(session, first, last, now)

    def counts(values: dict[str, int]) -> list[Count]:
        return [Count(key=k, items=v) for k, v in values.items()]

    return DisclosureStatistics(
        period_from=first,
        period_to=last,
        total=c.total,
        by_category=counts(c.by_category),
        by_legal_basis_item=counts(c.by_legal_basis_item),
        by_channel=counts(c.by_channel),
        placements=sum(c.by_channel.values()),
        items_on_several_channels=c.items_on_several_channels,
        by_channel_group=counts(c.by_channel_group),
        several_groups=c.several_groups,
        by_month=counts(c.by_month),
    )
