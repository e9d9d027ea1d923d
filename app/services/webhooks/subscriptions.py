"""Webhook subscriptions, their secrets, pings and the delivery log (the use cases behind the API)."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core.errors import ConflictError, NotFoundError
from app.core.principal import Principal
from app.models import (
    PING,
    DeliveryStatus,
    WebhookDelivery,
    WebhookEvent,
    WebhookEventType,
    WebhookSubscription,
    WebhookSubscriptionEvent,
)
from app.schemas.webhook import WebhookCreate, WebhookUpdate
from app.services import audit
from app.services.pagination import Page, PageRequest, ordered, page_of
from app.services.versioning import check_version
from app.services.webhooks import events
from app.services.webhooks.signing import new_secret

SUBSCRIPTION_SORTS = {"created_at": WebhookSubscription.created_at, "url": WebhookSubscription.url}
DELIVERY_SORTS = {
    "created_at": WebhookDelivery.created_at,
    "next_attempt_at": WebhookDelivery.next_attempt_at,
    "last_attempt_at": WebhookDelivery.last_attempt_at,
}


def _snapshot(subscription: WebhookSubscription) -> dict[str, Any]:
    # The secret never goes into the audit trail.
    data = audit.snapshot(subscription, exclude=("secret",))
    data["event_types"] = subscription.event_types
    return data


def _type_rows(types: list[WebhookEventType]) -> list[WebhookSubscriptionEvent]:
    return [WebhookSubscriptionEvent(event_type=t.value) for t in sorted(set(types))]


@dataclass(frozen=True)
class SubscriptionFilter:
    is_active: bool | None = None
    event_type: WebhookEventType | None = None


def subscriptions_query(flt: SubscriptionFilter, sort: tuple[str, ...]) -> Select[WebhookSubscription]:
    stmt = select(WebhookSubscription)
    if flt.is_active is not None:
        stmt = stmt.where(WebhookSubscription.is_active == flt.is_active)
    if flt.event_type is not None:
        stmt = stmt.where(
            exists().where(
                WebhookSubscriptionEvent.subscription_id == WebhookSubscription.id,
                WebhookSubscriptionEvent.event_type == flt.event_type.value,
            )
        )
    return ordered(stmt, sort, SUBSCRIPTION_SORTS, WebhookSubscription.id)


async def list_subscriptions(
    session: AsyncSession, flt: SubscriptionFilter, page: PageRequest
) -> Page[WebhookSubscription]:
    return await page_of(session, subscriptions_query(flt, page.sort), page)


async def get_subscription(session: AsyncSession, subscription_id: int) -> WebhookSubscription:
    subscription = await session.get(WebhookSubscription, subscription_id)
    if subscription is None:
        raise NotFoundError("webhook subscription", subscription_id)
    return subscription


async def create_subscription(
    session: AsyncSession, actor: Principal, data: WebhookCreate, now: datetime
) -> tuple[WebhookSubscription, str]:
    """Returns the subscription and its secret, which no later read shows."""
    secret = new_secret()
    subscription = WebhookSubscription(
        url=data.url,
        description=data.description,
        is_active=data.is_active,
        secret=secret,
        secret_rotated_at=now,
        created_by=actor.name[:100],
        event_type_rows=_type_rows(data.event_types),
    )
    session.add(subscription)
    await session.flush()
    audit.record(session, actor, "create", "webhook_subscription", subscription.id, None, _snapshot(subscription))
    return subscription, secret


async def update_subscription(
    session: AsyncSession,
    actor: Principal,
    subscription_id: int,
    data: WebhookUpdate,
    expected: frozenset[int] | None,
    now: datetime,
) -> WebhookSubscription:
    subscription = await get_subscription(session, subscription_id)
    check_version(subscription.version, expected)
    before = _snapshot(subscription)
    changes = data.model_dump(exclude_unset=True)
    if "event_types" in changes:
        wanted = {t.value for t in data.event_types or ()}
        kept = [row for row in subscription.event_type_rows if row.event_type in wanted]
        have = {row.event_type for row in kept}
        subscription.event_type_rows = kept + [WebhookSubscriptionEvent(event_type=t) for t in sorted(wanted - have)]
    for name in ("url", "description", "is_active"):
        if name in changes:
            setattr(subscription, name, changes[name])
    after = _snapshot(subscription)
    if after != before:
        subscription.updated_at = now  # an event-type change alone moves the version too
    await session.flush()
    audit.record(session, actor, "update", "webhook_subscription", subscription.id, before, _snapshot(subscription))
    return subscription


async def delete_subscription(
    session: AsyncSession, actor: Principal, subscription_id: int, expected: frozenset[int] | None
) -> None:
    """Deletes the subscription with its deliveries and their log (pending ones are never sent)."""
    subscription = await get_subscription(session, subscription_id)
    check_version(subscription.version, expected)
    before = _snapshot(subscription)
    await session.delete(subscription)
    await session.flush()
    audit.record(session, actor, "delete", "webhook_subscription", subscription_id, before, None)


async def rotate_secret(
    session: AsyncSession, actor: Principal, subscription_id: int, expected: frozenset[int] | None, now: datetime
) -> tuple[WebhookSubscription, str]:
    """A new secret at once: every delivery sent from now on (retries too) is signed with it."""
    subscription = await get_subscription(session, subscription_id)
    check_version(subscription.version, expected)
    before = _snapshot(subscription)
    secret = new_secret()
    subscription.secret = secret
    subscription.secret_rotated_at = now
    await session.flush()
    audit.record(
        session, actor, "rotate_secret", "webhook_subscription", subscription.id, before, _snapshot(subscription)
    )
    return subscription, secret


# --- deliveries --------------------------------------------------------------------------------------------


def _with_details(stmt: Select[WebhookDelivery]) -> Select[WebhookDelivery]:
    return stmt.options(selectinload(WebhookDelivery.event), selectinload(WebhookDelivery.attempt_rows))


async def get_delivery(session: AsyncSession, delivery_id: int) -> WebhookDelivery:
    delivery = await session.scalar(
        _with_details(select(WebhookDelivery).where(WebhookDelivery.id == delivery_id)).execution_options(
            populate_existing=True
        )
    )
    if delivery is None:
        raise NotFoundError("webhook delivery", delivery_id)
    return delivery


@dataclass(frozen=True)
class DeliveryFilter:
    subscription_id: int
    status: DeliveryStatus | None = None
    event_type: str | None = None


async def list_deliveries(session: AsyncSession, flt: DeliveryFilter, page: PageRequest) -> Page[WebhookDelivery]:
    await get_subscription(session, flt.subscription_id)
    stmt = select(WebhookDelivery).where(WebhookDelivery.subscription_id == flt.subscription_id)
    if flt.status is not None:
        stmt = stmt.where(WebhookDelivery.status == flt.status)
    if flt.event_type is not None:
        stmt = stmt.where(
            exists().where(WebhookEvent.id == WebhookDelivery.event_id, WebhookEvent.type == flt.event_type)
        )
    return await page_of(session, _with_details(ordered(stmt, page.sort, DELIVERY_SORTS, WebhookDelivery.id)), page)


async def ping(session: AsyncSession, actor: Principal, subscription_id: int, now: datetime) -> WebhookDelivery:
    """Queues a `ping` event to this subscription only (whatever types it wants); sent within seconds."""
    subscription = await get_subscription(session, subscription_id)
    if not subscription.is_active:
        raise ConflictError(
            "subscription_inactive",
            "推送已暂停，请先启用 / the subscription is paused (is_active=false); activate it to ping it",
        )
    # Fanned out at once to nobody (no subscription can want `ping`); its one delivery is added here.
    event_id = await events.record(
        session,
        PING,
        f"{PING}:{uuid.uuid4().hex}",
        {"subscription_id": subscription.id, "message": "zhaoshang webhook test"},
        now,
        now,
    )
    if event_id is None:  # pragma: no cover - a fresh random key is never taken
        raise ConflictError("conflict", "请重试 / retry")
    delivery = WebhookDelivery(
        event_id=event_id,
        subscription_id=subscription.id,
        status=DeliveryStatus.pending,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(delivery)
    await session.flush()
    audit.record(session, actor, "ping", "webhook_subscription", subscription.id, None, {"delivery_id": delivery.id})
    return await get_delivery(session, delivery.id)


async def redeliver(session: AsyncSession, actor: Principal, delivery_id: int, now: datetime) -> WebhookDelivery:
    """Queues the delivery again, due now, with a fresh budget of attempts; its log keeps the earlier ones."""
    delivery = await get_delivery(session, delivery_id)
    before = audit.snapshot(delivery)
    delivery.status = DeliveryStatus.pending
    delivery.attempts = 0
    delivery.next_attempt_at = now
    delivery.delivered_at = None
    delivery.updated_at = now
    await session.flush()
    audit.record(session, actor, "redeliver", "webhook_delivery", delivery.id, before, audit.snapshot(delivery))
    return await get_delivery(session, delivery.id)
