from datetime import datetime
from decimal import Decimal
from typing import Annotated, Self

from pydantic import Field, StringConstraints, model_validator

from app.models import MetricKind, ReportedAs
from app.schemas.common import VISIBLE_TEXT, Flag, Id, InputModel, PatchModel, ReadModel, exact

MetricCode = Annotated[str, StringConstraints(min_length=2, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")]
PeriodText = Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
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
    version: int


class FactIn(InputModel):
    """One reported figure. Name the enterprise by `enterprise_id` or by `uscc`."""

    enterprise_id: Id | None = None
    uscc: Annotated[str, StringConstraints(min_length=18, max_length=18, to_upper=True)] | None = None
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
