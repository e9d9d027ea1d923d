"""Sending deliveries: claim the due ones, POST them signed, record every attempt, retry with back-off.

Claiming is a short transaction that moves the claimed deliveries' `next_attempt_at` a lease ahead (on
PostgreSQL with `FOR UPDATE SKIP LOCKED`, so workers never claim the same row); the POSTs run outside any
transaction, and each outcome is written in its own. A worker that dies mid-send leaves its claims to
expire, and another worker sends them again: delivery is at least once, and receivers deduplicate on the
`Zhaoshang-Delivery` header.
"""

import asyncio
import json
import logging
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import __version__
from app.core.config import Settings
from app.core.db import Database, rows_affected
from app.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEvent, WebhookSubscription
from app.services.webhooks.signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signature_header

logger = logging.getLogger("app.webhooks")

BACKOFF_FACTOR = 4
MAX_RETRY_DELAY = timedelta(hours=6)
JITTER = 0.25  # up to 25% added to each delay, so receivers that were down are not hit all at once
CLAIM_BATCH = 50
CONCURRENT_SENDS = 10
USER_AGENT = f"zhaoshang-webhooks/{__version__}"
_SYSTEM_RANDOM = random.SystemRandom()


def retry_delay(attempts: int, base_seconds: int, rng: random.Random | None = None) -> timedelta:
    """After `attempts` failed attempts: base × 4^(attempts−1), at most 6 hours, plus up to 25% jitter."""
    plain = min(timedelta(seconds=base_seconds * BACKOFF_FACTOR ** min(attempts - 1, 12)), MAX_RETRY_DELAY)
    return plain * (1 + JITTER * (rng or _SYSTEM_RANDOM).random())


def event_body(event: WebhookEvent) -> bytes:
    """The JSON body: the same bytes on every attempt of every delivery of the event."""
    document = {
        "id": event.id,
        "type": event.type,
        "occurred_at": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "data": event.data,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True)
class Job:
    delivery_id: int
    event_type: str
    url: str
    secret: str
    body: bytes


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass
class DispatchResult:
    sent: int = 0
    succeeded: int = 0
    retrying: int = 0
    failed: int = 0
    delivery_ids: list[int] = field(default_factory=list)


async def _claim(session: AsyncSession, settings: Settings, now: datetime, limit: int) -> list[Job]:
    """One statement that moves the due deliveries' next attempt a lease ahead and returns them: atomic on
    SQLite (one writer), and on PostgreSQL rows another worker holds are skipped, not waited for."""
    due = (
        select(WebhookDelivery.id)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .where(
            WebhookDelivery.status == DeliveryStatus.pending,
            WebhookDelivery.next_attempt_at <= now,
            WebhookSubscription.is_active.is_(True),
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=WebhookDelivery)
    )
    lease = now + timedelta(seconds=settings.webhooks_timeout_seconds + 60)
    claim = (
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id.in_(due),
            WebhookDelivery.status == DeliveryStatus.pending,
            WebhookDelivery.next_attempt_at <= now,
        )
        .values(next_attempt_at=lease)
        .returning(WebhookDelivery.id)
        .execution_options(synchronize_session=False)
    )
    claimed = list(await session.scalars(claim))
    if not claimed:
        return []
    rows = await session.execute(
        select(WebhookDelivery.id, WebhookEvent, WebhookSubscription.url, WebhookSubscription.secret)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .where(WebhookDelivery.id.in_(claimed))
        .order_by(WebhookDelivery.id)
    )
    return [
        Job(delivery_id=delivery_id, event_type=event.type, url=url, secret=secret, body=event_body(event))
        for delivery_id, event, url, secret in rows
    ]


def _error_text(exc: Exception, timeout: int) -> str:
    # Short and free of secrets: never the URL (its query may hold a receiver's token) or the headers.
    if isinstance(exc, httpx.TimeoutException):
        return f"timeout after {timeout} s"
    if isinstance(exc, httpx.ConnectError):
        return "connection failed"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "invalid HTTP response"
    return f"request failed: {type(exc).__name__}"[:200]


async def send(http: httpx.AsyncClient, job: Job, timestamp: int, timeout_seconds: int) -> Outcome:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: job.event_type,
        DELIVERY_HEADER: str(job.delivery_id),
        SIGNATURE_HEADER: signature_header(job.secret, timestamp, job.body),
    }
    started = time.perf_counter()
    try:
        # The body of the answer is not read: a 2xx status is all a receiver has to say.
        async with http.stream(
            "POST", job.url, content=job.body, headers=headers, timeout=timeout_seconds, follow_redirects=False
        ) as response:
            status = response.status_code
    except Exception as exc:  # any failure to send is recorded and retried
        return Outcome(None, _error_text(exc, timeout_seconds), int((time.perf_counter() - started) * 1000))
    duration = int((time.perf_counter() - started) * 1000)
    if 200 <= status < 300:
        return Outcome(status, None, duration)
    if 300 <= status < 400:
        return Outcome(status, f"HTTP {status} (redirects are not followed)", duration)
    return Outcome(status, f"HTTP {status}", duration)


async def _record(
    session: AsyncSession, settings: Settings, job: Job, outcome: Outcome, now: datetime, rng: random.Random | None
) -> DeliveryStatus | None:
    delivery = await session.get(WebhookDelivery, job.delivery_id, with_for_update=True)
    if delivery is None:  # its subscription was deleted meanwhile
        return None
    number = (
        await session.scalar(
            select(func.coalesce(func.max(WebhookAttempt.number), 0)).where(WebhookAttempt.delivery_id == delivery.id)
        )
        or 0
    ) + 1
    session.add(
        WebhookAttempt(
            delivery_id=delivery.id,
            number=number,
            attempted_at=now,
            status_code=outcome.status_code,
            error=outcome.error,
            duration_ms=outcome.duration_ms,
            succeeded=outcome.succeeded,
        )
    )
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error
    delivery.last_duration_ms = outcome.duration_ms
    delivery.updated_at = now
    if outcome.succeeded:
        delivery.status = DeliveryStatus.succeeded
        delivery.delivered_at = now
        delivery.next_attempt_at = None
    elif delivery.attempts >= settings.webhooks_max_attempts:
        delivery.status = DeliveryStatus.failed
        delivery.next_attempt_at = None
    else:
        delivery.status = DeliveryStatus.pending
        delivery.next_attempt_at = now + retry_delay(delivery.attempts, settings.webhooks_retry_base_seconds, rng)
    await session.flush()
    return delivery.status


async def dispatch_due(
    database: Database,
    settings: Settings,
    http: httpx.AsyncClient,
    now: datetime,
    *,
    rng: random.Random | None = None,
    limit: int = CLAIM_BATCH,
) -> DispatchResult:
    """Sends the deliveries due at `now` (one batch) and records their outcomes."""
    async with database.session() as session:
        jobs = await _claim(session, settings, now, limit)
    result = DispatchResult()
    if not jobs:
        return result
    gate = asyncio.Semaphore(CONCURRENT_SENDS)
    timestamp = int(now.timestamp())

    async def one(job: Job) -> tuple[Job, Outcome]:
        async with gate:
            return job, await send(http, job, timestamp, settings.webhooks_timeout_seconds)

    for job, outcome in await asyncio.gather(*(one(j) for j in jobs)):
        async with database.session() as session:
            status = await _record(session, settings, job, outcome, now, rng)
        result.sent += 1
        result.delivery_ids.append(job.delivery_id)
        if status is DeliveryStatus.succeeded:
            result.succeeded += 1
        elif status is DeliveryStatus.failed:
            result.failed += 1
            logger.warning("webhook delivery %s given up: %s", job.delivery_id, outcome.error)
        elif status is DeliveryStatus.pending:
            result.retrying += 1
            logger.info("webhook delivery %s failed (%s); will retry", job.delivery_id, outcome.error)
    return result


async def prune(session: AsyncSession, settings: Settings, now: datetime) -> int:
    """Deletes finished deliveries (and their attempts) older than the retention; events stay (dedup keys)."""
    cutoff = now - timedelta(days=settings.webhooks_retention_days)
    result = await session.execute(
        delete(WebhookDelivery).where(
            WebhookDelivery.status.in_([DeliveryStatus.succeeded, DeliveryStatus.failed]),
            WebhookDelivery.updated_at < cutoff,
        )
    )
    return rows_affected(result)
