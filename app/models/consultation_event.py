from datetime import date

from sqlalchemy import Column, Date, ForeignKey, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import NEVER_REUSE_IDS, Base, TimestampMixin, VersionedMixin
from app.models.department import Department

consultation_event_departments = Table(
    "consultation_event_departments",
    Base.metadata,
    Column("event_id", ForeignKey("consultation_events.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", ForeignKey("departments.id"), primary_key=True, index=True),
)


class ConsultationEvent(VersionedMixin, TimestampMixin, Base):
    """长条桌送服务现场问诊会: departments set up tables on site and enterprises book appointments with them."""

    __tablename__ = "consultation_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    held_on: Mapped[date] = mapped_column(Date, index=True)
    title: Mapped[str] = mapped_column(String(200))
    place: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)

    departments: Mapped[list[Department]] = relationship(
        secondary=consultation_event_departments, lazy="raise", order_by=Department.id
    )


class ConsultationAppointment(Base):
    """挂号问诊: one enterprise at one department's table."""

    __tablename__ = "consultation_appointments"
    __table_args__ = (UniqueConstraint("event_id", "enterprise_id", "department_id"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("consultation_events.id", ondelete="CASCADE"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    topic: Mapped[str | None] = mapped_column(String(500))
