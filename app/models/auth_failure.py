from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import NEVER_REUSE_IDS, Base, utcnow


class AuthFailure(Base):
    """One failed token request, kept in the database so throttling holds across workers."""

    __tablename__ = "auth_failures"
    __table_args__ = (Index("ix_auth_failures_subject_occurred_at", "subject", "occurred_at"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(200))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
