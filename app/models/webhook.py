"""Webhooks: subscriptions of district systems, the outbox of events, and each subscription's deliveries.

An event is written once, in the transaction of the change it reports (a stage change, a disclosure made
public) or by the scanner for time-based facts (a milestone or a service request past its date). Its
`dedup_key` is unique, so a scanner running twice, or on two workers at once, records a fact once. Each
event is fanned out to the subscriptions that wanted its type when it was recorded: one delivery row per
subscription, with its retry state, and one attempt row per HTTP POST (the delivery log).
"""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Enum, ForeignKey, Index, Integer, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.audit_event import JSONDocument
from app.models.base import NEVER_REUSE_IDS, Base, TimestampMixin, VersionedMixin, utcnow


class WebhookEventType(StrEnum):
    project_stage_changed = "project.stage_changed"
    milestone_overdue = "milestone.overdue"
    service_request_breached = "service_request.breached"
    disclosure_published = "disclosure.published"


# Not subscribable: sent to one subscription on request, to test the receiver.
PING = "ping"


class DeliveryStatus(StrEnum):
    pending = "pending"  # waiting for its (next) attempt
    succeeded = "succeeded"  # the receiver answered 2xx
    failed = "failed"  # given up after the last attempt


def _enum(kind: type[StrEnum]) -> Enum:
    return Enum(kind, native_enum=False, length=32)


class WebhookSubscription(VersionedMixin, TimestampMixin, Base):
    """A receiver URL and the event types it wants. `secret` signs every delivery (HMAC-SHA256); the server
    must keep it readable to sign, so it is stored as issued (never returned after creation or rotation)."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(default=True)
    secret: Mapped[str] = mapped_column(String(128))
    secret_rotated_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))
    event_type_rows: Mapped[list["WebhookSubscriptionEvent"]] = relationship(
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="WebhookSubscriptionEvent.event_type",
        lazy="selectin",
    )

    @property
    def event_types(self) -> list[str]:
        return sorted(row.event_type for row in self.event_type_rows)


class WebhookSubscriptionEvent(Base):
    """One event type a subscription wants (a row each, so fan-out is a join)."""

    __tablename__ = "webhook_subscription_events"
    __table_args__ = (Index("ix_webhook_subscription_events_event_type", "event_type"),)

    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), primary_key=True
    )
    event_type: Mapped[str] = mapped_column(String(64), primary_key=True)


class WebhookEvent(Base):
    """One fact to tell subscribers about. `data` holds ids and key fields only, never personal data."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        UniqueConstraint("dedup_key"),
        Index("ix_webhook_events_fanned_out", "fanned_out", "id"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    dedup_key: Mapped[str] = mapped_column(String(200), doc="one event per fact, e.g. milestone.overdue:7:2018-10-15")
    data: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    occurred_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    fanned_out: Mapped[bool] = mapped_column(default=False, doc="deliveries created for the subscribers")


class WebhookDelivery(TimestampMixin, Base):
    """One event to one subscription, with its retry state and the outcome of its latest attempt."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "subscription_id"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_subscription", "subscription_id", "id"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("webhook_events.id", ondelete="CASCADE"))
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"))
    status: Mapped[DeliveryStatus] = mapped_column(_enum(DeliveryStatus))
    attempts: Mapped[int] = mapped_column(Integer, default=0, doc="attempts since it was queued or redelivered")
    next_attempt_at: Mapped[datetime | None] = mapped_column(doc="when pending: not before this instant")
    last_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None] = mapped_column(SmallInteger)
    last_error: Mapped[str | None] = mapped_column(String(200))
    last_duration_ms: Mapped[int | None] = mapped_column(Integer)
    delivered_at: Mapped[datetime | None]
    event: Mapped[WebhookEvent] = relationship(lazy="raise")
    attempt_rows: Mapped[list["WebhookAttempt"]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="WebhookAttempt.number", lazy="raise"
    )


class WebhookAttempt(Base):
    """One POST of a delivery: when, the answer's status code or the transport error, and how long it took."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (UniqueConstraint("delivery_id", "number"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer, doc="1, 2, … over the delivery's life, redeliveries included")
    attempted_at: Mapped[datetime]
    status_code: Mapped[int | None] = mapped_column(SmallInteger)
    error: Mapped[str | None] = mapped_column(String(200))
    duration_ms: Mapped[int] = mapped_column(Integer)
    succeeded: Mapped[bool]
