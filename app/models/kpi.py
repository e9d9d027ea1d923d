from datetime import date
from decimal import Decimal
from enum import Enum as PyEnum
from enum import StrEnum

from sqlalchemy import Date, Enum, ForeignKey, Index, SmallInteger, String, UniqueConstraint
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
    sensitive: Mapped[bool] = mapped_column(default=False, doc="figures only for callers holding sensitive_kpis:read")


FactValue = ScaledDecimal(precision=20, scale=2)


class KpiFact(VersionedMixin, TimestampMixin, Base):
    """One enterprise's value of one metric for one month: what was reported, and both derived figures."""

    __tablename__ = "kpi_facts"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "metric_id", "year", "month"),
        # Aggregates read one metric and period across many enterprises: on PostgreSQL from this index alone
        # (an index-only scan reads ~7,000 pages for 170,000 enterprises instead of 1.7 million; bench/README.md).
        Index(
            "ix_kpi_facts_metric_period_enterprise",
            "metric_id",
            "year",
            "month",
            "enterprise_id",
            postgresql_include=["ytd_value", "monthly_value"],
        ),
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


class CohortKind(StrEnum):
    static = "static"  # a list of enterprises with join / leave dates
    zone = "zone"  # the enterprises of a zone and its sub-zones
    group = "group"  # a group's companies at any depth (and the group itself)
    settled_year = "settled_year"  # enterprises settled (落户) in a year
    key_projects = "key_projects"  # the enterprises behind key projects (not dropped)


class Cohort(VersionedMixin, TimestampMixin, Base):
    """A named set of enterprises: the unit every KPI figure is computed over."""

    __tablename__ = "cohorts"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[CohortKind] = mapped_column(Enum(CohortKind, native_enum=False, length=16))
    # The rule's one parameter: a zone id, a group's enterprise id, or a year. Null for static and key_projects.
    rule_value: Mapped[int | None]


class CohortMember(Base):
    """Membership of a static cohort: counted for a period ending on or after `joined_on` and before `left_on`."""

    __tablename__ = "cohort_members"
    __table_args__ = (UniqueConstraint("cohort_id", "enterprise_id", "joined_on"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    joined_on: Mapped[date] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date)


class Target(VersionedMixin, TimestampMixin, Base):
    """A cohort's target for a metric and year: annual (`month` null) or staged for 1–N月 (`month` N)."""

    __tablename__ = "targets"
    __table_args__ = (UniqueConstraint("cohort_id", "metric_id", "year", "month"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    metric_id: Mapped[int] = mapped_column(ForeignKey("metrics.id"))
    year: Mapped[int] = mapped_column(SmallInteger)
    month: Mapped[int | None] = mapped_column(SmallInteger, doc="null: the annual target")
    value: Mapped[Decimal] = mapped_column(FactValue)
