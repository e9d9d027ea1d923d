from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Self

from pydantic import BaseModel, Field, StringConstraints, model_validator

from app.models import CohortKind, MetricKind, ReportedAs
from app.schemas.common import VISIBLE_TEXT, EnteredDate, Flag, Id, InputModel, PatchModel, ReadModel, exact
from app.services.calculators.kpi import Light

MetricCode = Annotated[str, StringConstraints(min_length=2, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")]
PeriodText = Annotated[str, StringConstraints(pattern=r"^(199\d|20\d\d|2100)-(0[1-9]|1[0-2])$")]
# Finite, fen precision, within ±10^15 (a district's yearly total is far below).
FactAmount = Annotated[
    Decimal, Field(ge=Decimal("-1000000000000000"), le=Decimal("1000000000000000"), decimal_places=2), exact(2)
]
MAX_BULK_ROWS = 5000


class MetricCreate(InputModel):
    code: MetricCode
    name: Annotated[str, StringConstraints(min_length=1, max_length=50, pattern=VISIBLE_TEXT)]
    unit: Annotated[str, StringConstraints(min_length=1, max_length=16, pattern=VISIBLE_TEXT)] = "元"
    kind: MetricKind = MetricKind.money
    higher_is_better: Flag = True
    non_negative: Flag = Field(default=True, description="A month's own value is never below zero")
    sensitive: Flag = Field(default=False, description="Figures only for callers holding sensitive_kpis:read (tax)")


class MetricUpdate(PatchModel):
    name: Annotated[str, StringConstraints(min_length=1, max_length=50, pattern=VISIBLE_TEXT)] | None = None
    unit: Annotated[str, StringConstraints(min_length=1, max_length=16, pattern=VISIBLE_TEXT)] | None = None
    higher_is_better: Flag | None = None


class MetricRead(ReadModel):
    id: int
    code: str
    name: str
    unit: str
    kind: MetricKind
    higher_is_better: bool
    non_negative: bool
    sensitive: bool
    version: int


class FactIn(InputModel):
    """One reported figure. Name the enterprise by `enterprise_id` or by `uscc`."""

    enterprise_id: Id | None = None
    uscc: (
        Annotated[str, StringConstraints(min_length=18, max_length=18, to_upper=True, pattern=VISIBLE_TEXT)] | None
    ) = None
    metric: MetricCode = Field(description="e.g. revenue, tax, fixed_asset_investment")
    period: PeriodText = Field(description="The month, YYYY-MM")
    reported_as: ReportedAs = Field(description="monthly: the month's own value; ytd: the 1–N月 cumulative")
    value: FactAmount

    @model_validator(mode="after")
    def _one_enterprise_key(self) -> Self:
        if (self.enterprise_id is None) == (self.uscc is None):
            raise ValueError("give exactly one of enterprise_id and uscc")
        return self


class FactBatch(InputModel):
    rows: Annotated[list[FactIn], Field(min_length=1, max_length=MAX_BULK_ROWS)]


class BulkResult(ReadModel):
    received: int
    created: int
    updated: int
    unchanged: int = Field(description="Rows equal to what was stored: sending a batch again changes nothing")


class FactRead(ReadModel):
    id: int
    enterprise_id: int
    metric: str
    period: str
    reported_as: ReportedAs
    reported_value: Decimal
    monthly_value: Decimal | None = Field(description="当月; null while an earlier month is missing")
    ytd_value: Decimal | None = Field(description="1–N月累计; null while an earlier month is missing")
    updated_at: datetime
    version: int


class CohortCreate(InputModel):
    code: Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
    name: Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=VISIBLE_TEXT)]
    kind: CohortKind
    rule_value: Id | None = Field(
        default=None,
        description="zone: the zone id; group: the group's enterprise id; settled_year: the year; else omit",
    )

    @model_validator(mode="after")
    def _rule_value_fits(self) -> Self:
        needs_value = self.kind in (CohortKind.zone, CohortKind.group, CohortKind.settled_year)
        if needs_value != (self.rule_value is not None):
            raise ValueError(f"{self.kind.value} cohorts {'need' if needs_value else 'take no'} rule_value")
        return self


class CohortRead(ReadModel):
    id: int
    code: str
    name: str
    kind: CohortKind
    rule_value: int | None
    version: int


class MemberIn(InputModel):
    enterprise_id: Id
    joined_on: EnteredDate
    left_on: EnteredDate | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.left_on is not None and self.left_on <= self.joined_on:
            raise ValueError("left_on must be after joined_on")
        return self


class MemberRead(ReadModel):
    enterprise_id: int
    joined_on: date
    left_on: date | None


class TargetIn(InputModel):
    metric: MetricCode
    year: Annotated[int, Field(strict=True, ge=1990, le=2100)]
    month: Annotated[int, Field(strict=True, ge=1, le=12)] | None = Field(
        default=None, description="null: the annual target; N: the staged (任务目标) target for 1–N月"
    )
    value: Annotated[Decimal, Field(gt=0, le=Decimal("1000000000000000"), decimal_places=2), exact(2)]


class TargetRead(ReadModel):
    id: int
    metric: str
    year: int
    month: int | None
    value: Decimal
    version: int


class Excluded(BaseModel):
    enterprise_id: int
    reason: str = Field(description="no_base (joined or founded since), no_current (nothing reported now)")


class KpiSummary(BaseModel):
    cohort_id: int
    metric: str
    period: str
    label: str = Field(examples=["2018年1–10月"])
    actual: Decimal = Field(description="1–N月 total over every member reporting it (exact)")
    actual_yi: Decimal
    comparable_current: Decimal = Field(description="The same, over members with a value a year earlier too")
    comparable_base: Decimal
    yoy_growth: Decimal | None = Field(description="Ratio on the comparable basis; null with `no_rate_reason`")
    no_rate_reason: str | None
    yoy_text: str = Field(examples=["增长26.1%", "增长1.6倍", "--"])
    excluded: list[Excluded] = Field(description="Members left out of both sides of the growth (first 100)")
    excluded_count: int
    annual_target: Decimal | None
    annual_completion: Decimal | None
    staged_target: Decimal | None = Field(description="任务目标 for 1–N月, if set")
    staged_completion: Decimal | None
    time_progress: Decimal = Field(description="N / 12, or days elapsed / days in the year (progress=days)")
    gap_points: Decimal | None = Field(description="annual completion − time progress, percentage points")
    light: Light | None
    display: dict[str, str] = Field(description="Rounded once, half-up: 亿元 to 1 place, percentages to 1 place")


class Intensity(BaseModel):
    zone_id: int
    metric: str
    period: str
    value: Decimal
    area_km2: Decimal = Field(description="The zone's area basis on the period's last day")
    area_missing: list[int] = Field(description="Sub-zones without an area in force; if any, no intensity is given")
    yi_per_km2: Decimal | None = Field(description="亿元/平方公里, unrounded")
    wan_per_mu: Decimal | None = Field(description="万元/亩, unrounded")
    display: dict[str, str]


class ThresholdMember(BaseModel):
    enterprise_id: int
    name: str
    value: Decimal


class ThresholdGroup(BaseModel):
    cohort_id: int
    metric: str
    period: str
    threshold: Decimal
    members: list[ThresholdMember] = Field(description="Largest first")


class BreakdownRow(BaseModel):
    key: str
    label: str
    value: Decimal
    share: Decimal | None = Field(description="value / cohort total, 4 places")


class Breakdown(BaseModel):
    cohort_id: int
    metric: str
    period: str
    by: str
    total: Decimal
    rows: list[BreakdownRow]


class SeriesPoint(BaseModel):
    month: int
    monthly: Decimal | None = Field(description="当月 total (members whose month is known)")
    ytd: Decimal | None = Field(description="1–N月 total")
    previous_monthly: Decimal | None
    previous_ytd: Decimal | None


class Series(BaseModel):
    """Members are taken as of each month's end, the same set for both years of that month."""

    cohort_id: int
    metric: str
    year: int
    points: list[SeriesPoint]
