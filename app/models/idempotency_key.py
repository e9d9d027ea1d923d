from datetime import datetime
from typing import Any

from sqlalchemy import Index, LargeBinary, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.audit_event import JSONDocument
from app.models.base import NEVER_REUSE_IDS, Base, utcnow


class IdempotencyKey(Base):
    """A POST sent with `Idempotency-Key`: claimed before it runs, then holding the response to replay."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("principal", "key"),
        Index("ix_idempotency_keys_created_at", "created_at"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    principal: Mapped[str] = mapped_column(String(64), doc="the token's subject: keys are per caller")
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64), doc="sha256 of method, path, query and body")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Null while the first request is still running.
    status: Mapped[int | None] = mapped_column(SmallInteger)
    headers: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
