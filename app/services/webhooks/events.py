"""The event outbox: recording events (once each), fanning them out to subscribers, and the scanner.

Events that follow a write (a stage change, a disclosure made public) are recorded in that write's
transaction: if it rolls back, nothing is sent. Time-based events (a milestone past its due date, a service
request past its limit, a scheduled disclosure whose time has come) are found by `scan`, one
`INSERT … SELECT` per kind that skips facts already recorded: each event's `dedup_key` is unique, and the
insert is `ON CONFLICT DO NOTHING`, so a second scan, or two workers scanning at once, add nothing.

Payloads carry ids and the key fields only. A project is named as callers without `confidential:read` see
it (its code name when it has one); no contacts, ID numbers or money.
"""

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Insert,
    String,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import JSON

from app.core.clock import shanghai_date
from app.core.db import rows_affected
from app.models import (
    OPEN_STATUSES,
    DeliveryStatus,
    DisclosureItem,
    Milestone,
    Project,
    ProjectStage,
    ServiceRequest,
    WebhookDelivery,
    WebhookEvent,
    WebhookEventType,
    WebhookSubscription,
    WebhookSubscriptionEvent,
)
from app.models.types import UTCDateTime

EVENT_DESCRIPTIONS: dict[WebhookEventType, str] = {
    WebhookEventType.project_stage_changed: "项目阶段变更 / a project moved to another stage (a dated stage event)",
    WebhookEventType.milestone_overdue: "节点逾期 / a milestone's due date passed (Asia/Shanghai) while it was open; "
    "once per milestone and due date, so a re-planned milestone that slips again is reported again",
    WebhookEventType.service_request_breached: "诉求超时 / a service request went past its due date, still open or "
    "resolved late; once per request",
    WebhookEventType.disclosure_published: "信息公开 / a disclosure item became public (at once, or when a scheduled "
    "item's time came); once per item",
}
# Scheduled disclosures are picked up when their time has passed, if it passed within this window: a server
# that was down longer does not announce old items as news (items made public by a write are always sent).
DISCLOSURE_LOOKBACK = timedelta(days=7)
FAN_OUT_BATCH = 500


class json_object(FunctionElement[Any]):
    """A JSON object built in SQL from alternating keys and values, the same document on both databases."""

    type = JSON()
    inherit_cache = True


@compiles(json_object)
def _json_object_postgresql(element: json_object, compiler: SQLCompiler, **kw: Any) -> str:
    return f"jsonb_build_object({compiler.process(element.clauses, **kw)})"


@compiles(json_object, "sqlite")
def _json_object_sqlite(element: json_object, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_object({compiler.process(element.clauses, **kw)})"


class iso_date(FunctionElement[str]):
    """A date as 'YYYY-MM-DD' text, whatever PostgreSQL's DateStyle."""

    type = String()
    inherit_cache = True


@compiles(iso_date)
def _iso_date_postgresql(element: iso_date, compiler: SQLCompiler, **kw: Any) -> str:
    return f"to_char({compiler.process(element.clauses, **kw)}, 'YYYY-MM-DD')"


@compiles(iso_date, "sqlite")
def _iso_date_sqlite(element: iso_date, compiler: SQLCompiler, **kw: Any) -> str:
    return f"({compiler.process(element.clauses, **kw)})"  # SQLite keeps dates as ISO text


def _document(**fields: Any) -> json_object:
    """`fields` are column expressions (mapped attributes included)."""
    args: list[Any] = []
    for key, value in fields.items():
        args += [literal_column(f"'{key}'"), value]
    return json_object(*args)


def _text(value: str) -> ColumnElement[str]:
    return literal(value, String())


def _instant(value: datetime) -> ColumnElement[datetime]:
    return literal(value, UTCDateTime())


def _insert(session: AsyncSession, table: Any) -> Any:
    """The dialect's INSERT, which has `on_conflict_do_nothing` (PostgreSQL and SQLite ≥ 3.24)."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def project_name(project: Project) -> str:
    """As a caller without `confidential:read` sees it (projects.display_name(project, cleared=False))."""
    return project.code_name or project.name


# --- recording and fan-out ------------------------------------------------------------------------------


async def fan_out(session: AsyncSession, event_ids: Sequence[int], now: datetime) -> int:
    """One pending delivery per event and active subscription wanting its type; marks the events done."""
    if not event_ids:
        return 0
    rows = (
        select(
            WebhookEvent.id,
            WebhookSubscription.id,
            literal(DeliveryStatus.pending.value, String()),
            literal(0),
            _instant(now),
            _instant(now),
            _instant(now),
        )
        .join(WebhookSubscriptionEvent, WebhookSubscriptionEvent.event_type == WebhookEvent.type)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookSubscriptionEvent.subscription_id)
        .where(WebhookEvent.id.in_(event_ids), WebhookSubscription.is_active.is_(True))
    )
    columns = ["event_id", "subscription_id", "status", "attempts", "next_attempt_at", "created_at", "updated_at"]
    stmt = (
        _insert(session, WebhookDelivery)
        .from_select(columns, rows)
        .on_conflict_do_nothing(index_elements=["event_id", "subscription_id"])
    )
    result = await session.execute(stmt)
    await session.execute(update(WebhookEvent).where(WebhookEvent.id.in_(event_ids)).values(fanned_out=True))
    return rows_affected(result)


async def record(
    session: AsyncSession,
    event_type: str,
    dedup_key: str,
    data: dict[str, Any],
    occurred_at: datetime,
    now: datetime,
) -> int | None:
    """Records an event unless one with this key exists; returns its id (None when it existed), fanned out."""
    stmt = (
        _insert(session, WebhookEvent)
        .values(
            type=event_type, dedup_key=dedup_key, data=data, occurred_at=occurred_at, created_at=now, fanned_out=False
        )
        .on_conflict_do_nothing(index_elements=["dedup_key"])
        .returning(WebhookEvent.id)
    )
    event_id: int | None = await session.scalar(stmt)
    if event_id is not None:
        await fan_out(session, [event_id], now)
    return event_id


async def stage_changed(
    session: AsyncSession,
    project: Project,
    stage_event_id: int,
    from_stage: ProjectStage | None,
    to_stage: ProjectStage,
    occurred_on: date,
    now: datetime,
) -> None:
    await record(
        session,
        WebhookEventType.project_stage_changed,
        f"{WebhookEventType.project_stage_changed.value}:{stage_event_id}",
        {
            "project_id": project.id,
            "project_name": project_name(project),
            "stage_event_id": stage_event_id,
            "from_stage": from_stage.value if from_stage is not None else None,
            "to_stage": to_stage.value,
            "occurred_on": occurred_on.isoformat(),
        },
        now,
        now,
    )


# --- the scanner -----------------------------------------------------------------------------------------


def _insert_new(session: AsyncSession, rows: Any, key: ColumnElement[str]) -> Insert:
    """INSERT … SELECT of the facts whose key is not recorded yet; a concurrent scan's rows are skipped."""
    filtered = rows.where(~exists().where(WebhookEvent.dedup_key == key))
    columns = ["type", "dedup_key", "data", "occurred_at", "created_at", "fanned_out"]
    stmt: Insert = (
        _insert(session, WebhookEvent)
        .from_select(columns, filtered)
        .on_conflict_do_nothing(index_elements=["dedup_key"])
    )
    return stmt


def _key(event_type: WebhookEventType, *parts: ColumnElement[Any]) -> ColumnElement[str]:
    key: ColumnElement[str] = _text(f"{event_type.value}:")
    for i, part in enumerate(parts):
        key = key + (part if i == 0 else _text(":") + part)
    return key


def overdue_milestones(session: AsyncSession, now: datetime) -> Insert:
    """Open milestones whose due date is before today in Asia/Shanghai (due today is not overdue), of projects
    still supervised (not dropped): one event per milestone and due date."""
    today = shanghai_date(now)
    event_type = WebhookEventType.milestone_overdue
    key = _key(event_type, cast(Milestone.id, String()), iso_date(Milestone.due_on))
    rows = (
        select(
            _text(event_type.value),
            key,
            _document(
                milestone_id=Milestone.id,
                milestone_name=Milestone.name,
                track=Milestone.track,
                due_on=Milestone.due_on,
                project_id=Project.id,
                project_name=func.coalesce(Project.code_name, Project.name),
            ),
            _instant(now),
            _instant(now),
            false(),
        )
        .select_from(Milestone)
        .join(Project, Project.id == Milestone.project_id)
        .where(
            Milestone.completed_on.is_(None),
            Milestone.due_on.is_not(None),
            Milestone.due_on < today,
            Project.stage != ProjectStage.dropped,
        )
    )
    return _insert_new(session, rows, key)


def breached_requests(session: AsyncSession, now: datetime) -> Insert:
    """Service requests past their due date: still open after it, or resolved after it. Once per request."""
    today = shanghai_date(now)
    event_type = WebhookEventType.service_request_breached
    key = _key(event_type, cast(ServiceRequest.id, String()))
    is_open = ServiceRequest.status.in_(OPEN_STATUSES)
    rows = select(
        _text(event_type.value),
        key,
        _document(
            service_request_id=ServiceRequest.id,
            enterprise_id=ServiceRequest.enterprise_id,
            service_type_id=ServiceRequest.service_type_id,
            department_id=ServiceRequest.department_id,
            status=ServiceRequest.status,
            received_on=ServiceRequest.received_on,
            due_on=ServiceRequest.due_on,
            kind=case((is_open, _text("open_overdue")), else_=_text("resolved_late")),
        ),
        _instant(now),
        _instant(now),
        false(),
    ).where(
        (is_open & (ServiceRequest.due_on < today))
        | (ServiceRequest.resolved_on.is_not(None) & (ServiceRequest.resolved_on > ServiceRequest.due_on))
    )
    return _insert_new(session, rows, key)


def published_disclosures(session: AsyncSession, now: datetime, item_id: int | None = None) -> Insert:
    """Items public by `now`: one that was just written (`item_id`), or scheduled ones whose time has come."""
    event_type = WebhookEventType.disclosure_published
    key = _key(event_type, cast(DisclosureItem.id, String()))
    rows = select(
        _text(event_type.value),
        key,
        _document(
            disclosure_item_id=DisclosureItem.id,
            title=DisclosureItem.title,
            category=DisclosureItem.category,
            link=DisclosureItem.link,
        ),
        DisclosureItem.published_at,
        _instant(now),
        false(),
    ).where(DisclosureItem.published_at <= now)
    if item_id is not None:
        rows = rows.where(DisclosureItem.id == item_id)
    else:
        rows = rows.where(DisclosureItem.published_at > now - DISCLOSURE_LOOKBACK)
    return _insert_new(session, rows, key)


async def disclosure_published(session: AsyncSession, item_id: int, now: datetime) -> None:
    """In the write's transaction: the item is public now; record its event (once) and fan it out."""
    ids = list(await session.scalars(published_disclosures(session, now, item_id).returning(WebhookEvent.id)))
    await fan_out(session, ids, now)


async def fan_out_pending(session: AsyncSession, now: datetime) -> int:
    """Fans out every recorded event not yet fanned out; returns the deliveries created."""
    created = 0
    while True:
        claim = (
            select(WebhookEvent.id)
            .where(WebhookEvent.fanned_out.is_(False))
            .order_by(WebhookEvent.id)
            .limit(FAN_OUT_BATCH)
            .with_for_update(skip_locked=True)
        )
        ids = list(await session.scalars(claim))
        if not ids:
            return created
        created += await fan_out(session, ids, now)


async def scan(session: AsyncSession, now: datetime) -> dict[str, int]:
    """Records the time-based events due by `now` and fans out all new events; returns counts by type."""
    found: dict[str, int] = {}
    for event_type, statement in (
        (WebhookEventType.milestone_overdue, overdue_milestones(session, now)),
        (WebhookEventType.service_request_breached, breached_requests(session, now)),
        (WebhookEventType.disclosure_published, published_disclosures(session, now)),
    ):
        result = await session.execute(statement)
        found[event_type.value] = rows_affected(result)
    found["deliveries"] = await fan_out_pending(session, now)
    return found
