from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from app.models import ReportKind
from app.schemas.common import VISIBLE_TEXT, EnteredDate, InputModel, ShortText

# --- the statutory annual disclosure report (2021 format) --------------------------------------------------


class DocumentRow(BaseModel):
    kind: str = Field(description="规章 or 行政规范性文件")
    issued: int = Field(description="本年制发件数")
    abolished: int = Field(description="本年废止件数")
    in_force: int = Field(description="现行有效件数 at the year's end")


class ActiveDisclosure(BaseModel):
    """二、主动公开政府信息情况 (第二十条第(一)、(五)、(六)、(八)项)."""

    documents: list[DocumentRow]
    licensing_decisions: int = Field(description="(五) 行政许可 本年处理决定数量")
    penalty_decisions: int = Field(description="(六) 行政处罚 本年处理决定数量")
    coercion_decisions: int = Field(description="(六) 行政强制 本年处理决定数量")
    fee_income_wan: Decimal = Field(description="(八) 行政事业性收费 本年收费金额（万元）, 4 places")
    enforcement_figures_entered: bool = Field(description="false: (五)–(八) were not entered for the year: zeros")


class ApplicationRow(BaseModel):
    code: str = Field(
        description="The format's row: new, carried_over, 1, 2, 3.1 … 6.3, results_total, carried_forward"
    )
    label: str
    counts: dict[str, int] = Field(description="natural_person, the five kinds of legal person, and total")


class RemedyRow(BaseModel):
    kind: str
    upheld: int
    corrected: int
    other: int
    pending: int
    total: int


class BalanceGap(BaseModel):
    check: str = Field(description="rule: 一 + 二 = 三 + 四; previous_year: 二 = last year's frozen 四")
    column: str
    left: int
    right: int
    detail: str


class DisclosureOverview(BaseModel):
    """For 一、总体情况: proactive items by channel group and category (the statutory tables ask no split)."""

    items: int
    by_channel_group: dict[str, int]
    by_category: dict[str, int]


class DisclosureAnnualReport(BaseModel):
    year: int
    overview: DisclosureOverview
    active: ActiveDisclosure
    applications: list[ApplicationRow] = Field(description="三、收到和处理政府信息公开申请情况")
    remedies: list[RemedyRow] = Field(
        description="四、行政复议、行政诉讼情况: cases decided in the year by result, and those pending at its end "
        "(a lawsuit with the office as co-defendant review organ excluded)"
    )
    fees_yuan: Decimal = Field(
        description="六、信息处理费 collected on requests concluded in the year (6.2, fee not paid, left out)"
    )
    previous_year_checked: bool = Field(description="true when last year's frozen report was compared")


class SnapshotCreate(InputModel):
    kind: ReportKind
    year: int = Field(strict=True, ge=1990, le=2100, description="disclosure_annual: a year that is over")
    through_month: int | None = Field(
        default=None, strict=True, ge=1, le=12, description="annual_work only: the KPI period 1–N月"
    )
    as_of: EnteredDate | None = Field(default=None, description="annual_work only: the day figures are counted to")
    key_cohort: str | None = Field(
        default=None,
        max_length=32,
        pattern=VISIBLE_TEXT,
        description="annual_work only: the key-projects cohort (default key-<year>)",
    )
    title: ShortText | None = None


class SnapshotRead(BaseModel):
    id: int
    kind: ReportKind
    year: int
    title: str | None
    parameters: dict[str, Any]
    content_sha256: str
    created_by: str
    created_at: datetime
    content: dict[str, Any] | None = Field(default=None, description="The frozen report (null in lists)")


class Difference(BaseModel):
    path: str = Field(description="Where in the report, e.g. disclosure.total")
    frozen: Any
    now: Any


class SnapshotDiff(BaseModel):
    snapshot_id: int
    unchanged: bool
    differences: list[Difference]
