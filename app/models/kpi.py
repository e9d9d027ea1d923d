from decimal import Decimal
from enum import Enum as PyEnum
from enum import StrEnum

from sqlalchemy import Enum, ForeignKey, Index, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import NEVER_REUSE_IDS, Base, TimestampMixin, VersionedMixin
from app.models.types import ScaledDecimal


class ReportedAs(StrEnum):
    monthly = "monthly"  # 当月
    ytd = "ytd"  # 1–N月累计


class MetricKind(PyEnum):  # not a str subclass: str.count would shadow the member
    money = "money"  # 元
    count = "count"  # 人、个、件…


class Metric(VersionedMixin, TimestampMixin, Base):
    """营收 / 税收 / 固定资产投资 and whatever else the office tracks per enterprise and month."""

    __tablename__ = "metrics"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    unit: Mapped[str] = mapped_column(String(16), doc="元 for money; 人, 个… for counts")
    kind: Mapped[MetricKind] = mapped_column(Enum(MetricKind, native_enum=False, length=16))
    higher_is_better: Mapped[bool] = mapped_column(default=True)
    non_negative: Mapped[bool] = mapped_column(default=True, doc="a month's own value is never below zero")


FactValue = ScaledDecimal(precision=20, scale=2)


class KpiFact(VersionedMixin, TimestampMixin, Base):
    """One enterprise's value of one metric for one month: what was reported, and both derived figures."""

    __tablename__ = "kpi_facts"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "metric_id", "year", "month"),
        # Aggregates read one metric and period across many enterprises.
        Index("ix_kpi_facts_metric_period", "metric_id", "year", "month"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    metric_id: Mapped[int] = mapped_column(ForeignKey("metrics.id"))
    year: Mapped[int] = mapped_column(SmallInteger)
    month: Mapped[int] = mapped_column(SmallInteger)
    reported_as: Mapped[ReportedAs] = mapped_column(Enum(ReportedAs, native_enum=False, length=16))
    reported_value: Mapped[Decimal] = mapped_column(FactValue)
    monthly_value: Mapped[Decimal | None] = mapped_column(FactValue, doc="当月; null while an earlier month is missing")
    ytd_value: Mapped[Decimal | None] = mapped_column(
        FactValue, doc="1–N月累计; null while an earlier month is missing"
    )
