from datetime import date

from sqlalchemy import Column, Date, ForeignKey, Index, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import NEVER_REUSE_IDS, Base, TimestampMixin, VersionedMixin
from app.models.user import User

visit_officers = Table(
    "visit_officers",
    Base.metadata,
    Column("visit_id", ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id"), primary_key=True, index=True),
)


class Visit(VersionedMixin, TimestampMixin, Base):
    """走访: officers visit an enterprise; the issues found become linked service requests."""

    __tablename__ = "visits"
    __table_args__ = (Index("ix_visits_visited_on", "visited_on"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    visited_on: Mapped[date] = mapped_column(Date)
    purpose: Mapped[str | None] = mapped_column(String(200))
    findings: Mapped[str] = mapped_column(Text)

    officers: Mapped[list[User]] = relationship(secondary=visit_officers, lazy="raise", order_by=User.id)
