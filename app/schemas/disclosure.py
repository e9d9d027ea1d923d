import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, model_validator

from app.models import (
    ApplicantType,
    DisclosureCategory,
    DisclosureChannel,
    DisclosureOutcome,
    FeeBasis,
    RemedyKind,
    RemedyResult,
)
from app.schemas.common import (
    VISIBLE_TEXT,
    EnteredDate,
    Flag,
    InputModel,
    Instant,
    LongText,
    PageOut,
    PatchModel,
    exact,
)

Title = Annotated[str, StringConstraints(min_length=1, max_length=300, pattern=VISIBLE_TEXT)]


def _visible_link(value: str) -> str:
    # Every character names and titles refuse (the BOM, soft hyphen, tag characters…), not only those in the pattern.
    if not re.match(VISIBLE_TEXT, value):
        raise ValueError("the link holds invisible or direction-changing characters")
    return value


Link = Annotated[
    str,
    StringConstraints(
        min_length=8,
        max_length=500,
        pattern=r"^https?://[^\s<>\"\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069]+$",
    ),
    AfterValidator(_visible_link),
]


def _plausible(value: datetime) -> datetime:
    if not datetime(1990, 1, 1, tzinfo=UTC) <= value <= datetime(2100, 12, 31, tzinfo=UTC):
        raise ValueError("a publication time between 1990 and 2100")
    return value


PublishedAt = Annotated[Instant, AfterValidator(_plausible)]
LegalBasisItem = Annotated[
    int, Field(strict=True, ge=1, le=15, description="《政府信息公开条例》第二十条第(n)项, 1–15")
]


def _distinct_channels(values: list[DisclosureChannel]) -> list[DisclosureChannel]:
    if len(set(values)) != len(values):
        raise ValueError("the same channel appears twice")
    return sorted(values)


Channels = Annotated[list[DisclosureChannel], Field(min_length=1, max_length=6), AfterValidator(_distinct_channels)]


class DisclosureCreate(InputModel):
    title: Title
    category: DisclosureCategory
    legal_basis_item: LegalBasisItem | None = None
    channels: Channels = Field(description="Where it goes out; one item may go out on several")
    published_at: PublishedAt = Field(description="When it is (or was) published; a future time needs scheduled=true")
    scheduled: Flag = Field(default=False, description="true: published_at is a future time the item waits for")
    link: Link | None = None
    abolished_on: EnteredDate | None = Field(default=None, description="Normative documents only: 废止日期")

    @model_validator(mode="after")
    def _abolition_for_documents(self) -> Self:
        if self.abolished_on is not None and self.category is not DisclosureCategory.normative_documents:
            raise ValueError("abolished_on applies to normative_documents only")
        return self


class DisclosureUpdate(PatchModel):
    NULLABLE = frozenset({"legal_basis_item", "link", "abolished_on"})

    title: Title | None = None
    category: DisclosureCategory | None = None
    legal_basis_item: LegalBasisItem | None = None
    channels: Channels | None = None
    published_at: PublishedAt | None = Field(
        default=None, description="A published item may be corrected to another past time, not a future one"
    )
    scheduled: Flag | None = Field(default=None, description="Send with a future published_at")
    link: Link | None = None
    abolished_on: EnteredDate | None = None


class DisclosureRead(BaseModel):
    id: int
    title: str
    category: DisclosureCategory
    legal_basis_item: int | None
    channels: list[DisclosureChannel]
    published_at: datetime
    status: Literal["scheduled", "published"] = Field(description="scheduled while published_at is in the future")
    link: str | None
    abolished_on: date | None
    created_at: datetime
    updated_at: datetime
    version: int


class Count(BaseModel):
    key: str
    items: int


class DisclosureStatistics(BaseModel):
    """How an item counts: once in `total`, once in its category, once in every channel it went out on.

    So the categories sum to `total`; the channels sum to `placements`, which exceeds `total` by the
    extra channels of items on several. `by_channel_group` counts each item once per group it reached
    (website; social media = WeChat or Weibo; other), and `several_groups` the items in more than one.
    """

    period_from: date
    period_to: date
    total: int = Field(description="Distinct items published in the period (scheduled ones not yet)")
    by_category: list[Count]
    by_legal_basis_item: list[Count] = Field(description="Article 20 item; 'none' for items outside it")
    by_channel: list[Count]
    placements: int = Field(description="Sum over channels: an item on two channels counts twice here")
    items_on_several_channels: int
    by_channel_group: list[Count]
    several_groups: int
    by_month: list[Count] = Field(description="YYYY-MM, by publication time in Asia/Shanghai")


# --- requests for disclosure (依申请公开) ---------------------------------------------------------------

ApplicantName = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=VISIBLE_TEXT)]


class DisclosureRequestCreate(InputModel):
    applicant_type: ApplicantType
    applicant_name: ApplicantName = Field(description="A natural person's name is personal data")
    subject: Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=VISIBLE_TEXT)]
    received_on: EnteredDate = Field(description="收到申请的日期 (not in the future)")
    note: LongText | None = None


class DisclosureRequestUpdate(PatchModel):
    """Corrections; `outcome` and `concluded_on` only on a concluded request. Every change is audited."""

    NULLABLE = frozenset({"note"})

    applicant_name: ApplicantName | None = None
    subject: Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=VISIBLE_TEXT)] | None = None
    note: LongText | None = None
    outcome: DisclosureOutcome | None = Field(default=None, description="Correct a mistyped outcome code")
    concluded_on: EnteredDate | None = None


class Conclusion(InputModel):
    outcome: DisclosureOutcome = Field(description="The 2021 format's row: 1, 2, 3.1–3.8, 4.1–4.3, 5.1–5.5, 6.1–6.3")
    concluded_on: EnteredDate
    fee_basis: FeeBasis = FeeBasis.none
    monthly_ordinal: Annotated[int, Field(strict=True, ge=1, le=1000)] | None = Field(
        default=None, description="per_item: this applicant's n-th application in the natural month"
    )
    pages: Annotated[int, Field(strict=True, ge=0, le=1_000_000)] | None = Field(
        default=None, description="per_volume: pages provided"
    )

    @model_validator(mode="after")
    def _fee_inputs(self) -> Self:
        needs = {FeeBasis.per_item: "monthly_ordinal", FeeBasis.per_volume: "pages"}
        for basis, field in needs.items():
            if (self.fee_basis is basis) != (getattr(self, field) is not None):
                raise ValueError(f"{field} goes with fee_basis={basis.value}, and only with it")
        return self


class DisclosureRequestRead(BaseModel):
    id: int
    applicant_type: ApplicantType
    applicant_name: str = Field(description="Masked for natural persons without personal_data:read")
    subject: str
    received_on: date
    concluded_on: date | None
    outcome: DisclosureOutcome | None
    fee_basis: FeeBasis
    monthly_ordinal: int | None
    pages: int | None
    fee: Decimal = Field(description="信息处理费 in yuan, by the 2020 rules")
    note: str | None
    version: int


class RemedyCreate(InputModel):
    kind: RemedyKind
    filed_on: EnteredDate
    request_id: Annotated[int, Field(strict=True, ge=1, le=2**31 - 1)] | None = None
    as_review_organ_co_defendant: Flag = Field(
        default=False, description="The office is co-defendant as the review organ: not counted here"
    )
    note: LongText | None = None


class RemedyConclusion(InputModel):
    result: RemedyResult
    concluded_on: EnteredDate


class RemedyRead(BaseModel):
    id: int
    request_id: int | None
    kind: RemedyKind
    filed_on: date
    result: RemedyResult | None = Field(description="null while pending (尚未审结)")
    concluded_on: date | None
    as_review_organ_co_defendant: bool
    note: str | None
    version: int


Count0 = Annotated[int, Field(strict=True, ge=0, le=10_000_000)]


class EnforcementFiguresPut(InputModel):
    licensing_decisions: Count0 = 0
    penalty_decisions: Count0 = 0
    coercion_decisions: Count0 = 0
    fee_income: Annotated[Decimal, Field(ge=0, le=Decimal("1000000000000"), decimal_places=2), exact(2)] = Decimal(0)


class DisclosureRequestPage(PageOut[DisclosureRequestRead]):
    pass
