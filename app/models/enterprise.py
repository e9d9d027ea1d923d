from datetime import date
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Date, Enum, ForeignKey, Index, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import NEVER_REUSE_IDS, Base, TimestampMixin, VersionedMixin
from app.models.industry import Industry


class EnterpriseSource(StrEnum):
    new = "new"  # 新设
    relocated = "relocated"  # 外市迁入
    existing = "existing"  # 存量


class EnterpriseStatus(StrEnum):
    active = "active"  # 存续
    relocated_out = "relocated_out"  # 迁出
    deregistered = "deregistered"  # 注销


class InvestorClass(StrEnum):
    fortune_global_500 = "fortune_global_500"  # 世界500强投资
    china_500 = "china_500"  # 中国500强投资
    leading_enterprise = "leading_enterprise"  # 龙头企业


class Enterprise(VersionedMixin, TimestampMixin, Base):
    """An enterprise the office brought in or serves; `parent_id` links project companies to their group."""

    __tablename__ = "enterprises"
    __table_args__ = (Index("ix_enterprises_settled_on", "settled_on"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    registered_capital: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    established_on: Mapped[date | None] = mapped_column(Date)
    settled_on: Mapped[date | None] = mapped_column(Date, doc="落户日期")
    industry_code: Mapped[str] = mapped_column(ForeignKey("industries.code"), index=True)
    source: Mapped[EnterpriseSource] = mapped_column(Enum(EnterpriseSource, native_enum=False, length=16))
    status: Mapped[EnterpriseStatus] = mapped_column(
        Enum(EnterpriseStatus, native_enum=False, length=16), default=EnterpriseStatus.active
    )
    operations_started_on: Mapped[date | None] = mapped_column(Date, doc="实质性运营起始日")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id"), index=True)
    service_officer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)

    industry: Mapped[Industry] = relationship(lazy="raise")
    investor_classes: Mapped[list["EnterpriseInvestorClass"]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="EnterpriseInvestorClass.id"
    )
    contacts: Mapped[list["EnterpriseContact"]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="EnterpriseContact.id"
    )


class EnterpriseInvestorClass(Base):
    __tablename__ = "enterprise_investor_classes"
    __table_args__ = (UniqueConstraint("enterprise_id", "investor_class", "list_year"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"), index=True)
    investor_class: Mapped[InvestorClass] = mapped_column(Enum(InvestorClass, native_enum=False, length=32))
    list_year: Mapped[int | None] = mapped_column(SmallInteger, doc="the list's year, e.g. Fortune Global 500 2018")


class EnterpriseContact(Base):
    """Personal data: served unmasked only to callers holding `personal_data:read`."""

    __tablename__ = "enterprise_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str] = mapped_column(String(32))
    position: Mapped[str | None] = mapped_column(String(50))
