from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import NEVER_REUSE_IDS, Base, utcnow

JSONDocument = JSON().with_variant(JSONB(), "postgresql")


class AuditEvent(Base):
    """Append-only record of one write: who, when, what, before → after, in the write's transaction."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_entity", "entity_type", "entity_id"),
        Index("ix_audit_events_occurred_at", "occurred_at"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None]
    actor_name: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(32))
    entity_type: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    request_id: Mapped[str | None] = mapped_column(String(128))
