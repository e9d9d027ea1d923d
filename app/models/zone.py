from datetime import date
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Date, Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import NEVER_REUSE_IDS, Base, TimestampMixin, VersionedMixin
from app.models.types import ScaledDecimal


class ZoneKind(StrEnum):
    district = "district"  # 行政区
    cluster = "cluster"  # 集聚区
    core = "core"  # 核心区
    expansion = "expansion"  # 拓展区
    support = "support"  # 配套区
    other = "other"


class Zone(VersionedMixin, TimestampMixin, Base):
    """A place enterprises settle in; zones nest (cluster → core / expansion / support, any depth)."""

    __tablename__ = "zones"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[ZoneKind] = mapped_column(Enum(ZoneKind, native_enum=False, length=16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id"), index=True)


class ZoneAreaVersion(VersionedMixin, TimestampMixin, Base):
    """A leaf zone's area in km², in force on [effective_from, effective_to); open-ended when `to` is null."""

    __tablename__ = "zone_area_versions"
    __table_args__ = (Index("ix_zone_area_versions_zone_from", "zone_id", "effective_from"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("zones.id", ondelete="CASCADE"))
    area_km2: Mapped[Decimal] = mapped_column(ScaledDecimal(precision=12, scale=6))
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(200))
