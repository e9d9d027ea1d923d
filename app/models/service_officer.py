from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import NEVER_REUSE_IDS, Base, utcnow


class OfficerRole(StrEnum):
    primary = "primary"  # 首席服务官
    deputy = "deputy"  # 副/协办服务官


class ServiceOfficerAssignment(Base):
    """An officer serving an enterprise over [started_on, ended_on): every hand-over is kept.

    The enterprise's `service_officer_id` mirrors the primary assignment that is open today.
    """

    __tablename__ = "service_officer_assignments"
    __table_args__ = (
        Index("ix_service_officer_assignments_enterprise", "enterprise_id", "started_on"),
        Index("ix_service_officer_assignments_officer", "officer_id"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    officer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    role: Mapped[OfficerRole] = mapped_column(Enum(OfficerRole, native_enum=False, length=16))
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date, doc="exclusive; null while it lasts")
    note: Mapped[str | None] = mapped_column(String(500), doc="hand-over note")
    ended_note: Mapped[str | None] = mapped_column(String(500))
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
