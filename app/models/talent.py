from datetime import date
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Date, Enum, ForeignKey, Index, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import NEVER_REUSE_IDS, Base, TimestampMixin, VersionedMixin


class TalentRole(StrEnum):
    senior_executive = "senior_executive"  # 高级管理人员
    core_technical = "core_technical"  # 核心技术人才
    high_end = "high_end"  # 高端人才
    urgently_needed = "urgently_needed"  # 急需紧缺人才
    other = "other"


class ApplicationStatus(StrEnum):
    submitted = "submitted"  # 已申报
    approved = "approved"  # 获批 / 成功落户
    rejected = "rejected"  # 未获批
    withdrawn = "withdrawn"  # 撤回


def _enum(kind: type[StrEnum]) -> Enum:
    return Enum(kind, native_enum=False, length=32)


class TalentPerson(VersionedMixin, TimestampMixin, Base):
    """A person the office serves. `national_id` and `phone` are personal data: stored, served masked to
    callers without personal_data:read, kept out of logs and out of the audit trail's values."""

    __tablename__ = "talent_persons"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    role: Mapped[TalentRole] = mapped_column(_enum(TalentRole))
    position: Mapped[str | None] = mapped_column(String(100), doc="职务")
    national_id: Mapped[str | None] = mapped_column(String(18), unique=True, doc="居民身份证号码 (GB 11643)")
    phone: Mapped[str | None] = mapped_column(String(32))


class ApartmentBatch(VersionedMixin, TimestampMixin, Base):
    """A batch of talent-apartment units raised from (mostly state-owned) stock: 分批分期筹集."""

    __tablename__ = "apartment_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    supplied_on: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(200), doc="e.g. 国有物业存量房源")
    provider: Mapped[str | None] = mapped_column(String(200), doc="the owner handing the units over")


class ApartmentUnit(VersionedMixin, TimestampMixin, Base):
    __tablename__ = "apartment_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("apartment_batches.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    address: Mapped[str] = mapped_column(String(200))
    area_m2: Mapped[Decimal | None]
    bedrooms: Mapped[int | None] = mapped_column(SmallInteger)


class ApartmentAllocation(VersionedMixin, TimestampMixin, Base):
    """A person living in a unit from `start_on` to `end_on` (both inclusive; null end: still there).
    Allocations of one unit never overlap, nor do one person's."""

    __tablename__ = "apartment_allocations"
    __table_args__ = (
        Index("ix_apartment_allocations_unit", "unit_id", "start_on"),
        Index("ix_apartment_allocations_person", "person_id", "start_on"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("apartment_units.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("talent_persons.id"))
    # The enterprise the allocation was for, kept even if the person changes employer later.
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    start_on: Mapped[date] = mapped_column(Date)
    end_on: Mapped[date | None] = mapped_column(Date)
    rent_free: Mapped[bool]
    monthly_rent: Mapped[Decimal | None]
    note: Mapped[str | None] = mapped_column(String(500))


class HouseholdRegistration(VersionedMixin, TimestampMixin, Base):
    """白卡落户: a talent household-registration application and its outcome."""

    __tablename__ = "household_registrations"
    __table_args__ = (Index("ix_household_registrations_decided", "status", "decided_on"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("talent_persons.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    applied_on: Mapped[date] = mapped_column(Date)
    status: Mapped[ApplicationStatus] = mapped_column(_enum(ApplicationStatus))
    decided_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(500))


class TalentGreenCard(VersionedMixin, TimestampMixin, Base):
    """人才绿卡: an application and, when approved, the card."""

    __tablename__ = "talent_green_cards"
    __table_args__ = (Index("ix_talent_green_cards_decided", "status", "decided_on"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("talent_persons.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    applied_on: Mapped[date] = mapped_column(Date)
    status: Mapped[ApplicationStatus] = mapped_column(_enum(ApplicationStatus))
    decided_on: Mapped[date | None] = mapped_column(Date)
    card_number: Mapped[str | None] = mapped_column(String(32))
    expires_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(500))
