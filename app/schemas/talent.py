from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, model_validator

from app.core.clock import shanghai_date
from app.models import ApplicationStatus, TalentRole
from app.schemas.common import (
    VISIBLE_TEXT,
    EnteredDate,
    Flag,
    Id,
    InputModel,
    Name,
    NoteText,
    PatchModel,
    ReadModel,
    RefCode,
    ShortText,
    exact,
)
from app.schemas.enterprise import Phone
from app.services.calculators.national_id import national_id_problem


def _valid_national_id(value: str) -> str:
    problem = national_id_problem(value, shanghai_date(datetime.now(UTC)))
    if problem:
        # The message never repeats the number: it is personal data.
        raise ValueError(f"invalid 居民身份证号码: {problem}")
    return value


NationalId = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_upper=True, min_length=18, max_length=18),
    AfterValidator(_valid_national_id),
]
PersonName = Annotated[str, StringConstraints(min_length=1, max_length=50, pattern=VISIBLE_TEXT)]
# Stored upper case, so "pz-a-101" cannot sit beside "PZ-A-101".
UnitCode = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=VISIBLE_TEXT, to_upper=True)]
Rent = Annotated[Decimal, Field(ge=0, le=Decimal("1000000"), decimal_places=2, description="Yuan per month"), exact(2)]
AreaM2 = Annotated[Decimal, Field(gt=0, le=Decimal("10000"), decimal_places=2, description="m²"), exact(2)]
Bedrooms = Annotated[int, Field(strict=True, ge=0, le=20)]


class TalentCreate(InputModel):
    name: PersonName
    enterprise_id: Id = Field(description="The employer")
    role: TalentRole
    position: ShortText | None = Field(default=None, description="职务, e.g. 副总裁")
    national_id: NationalId | None = Field(
        default=None, description="居民身份证号码, GB 11643 check character; needs personal_data:read to send"
    )
    phone: Phone | None = Field(default=None, description="Needs personal_data:read to send")


class TalentUpdate(PatchModel):
    NULLABLE = frozenset({"position", "national_id", "phone"})

    name: PersonName | None = None
    enterprise_id: Id | None = Field(default=None, description="A new employer; earlier records keep theirs")
    role: TalentRole | None = None
    position: ShortText | None = None
    national_id: NationalId | None = Field(default=None, description="null erases it")
    phone: Phone | None = Field(default=None, description="null erases it")


class TalentRead(BaseModel):
    id: int
    name: str
    enterprise_id: int
    role: TalentRole
    position: str | None
    national_id: str | None = Field(description="Masked (44************1234) without personal_data:read")
    phone: str | None = Field(description="Masked (138****5678) without personal_data:read")
    personal_data_masked: bool
    created_at: datetime
    updated_at: datetime
    version: int


# --- talent apartments ---------------------------------------------------------------------------------


class BatchCreate(InputModel):
    code: RefCode = Field(description="e.g. batch_2018_1")
    name: Name = Field(description="e.g. 2018年第一批人才公寓")
    supplied_on: EnteredDate
    source: ShortText = Field(description="e.g. 国有物业存量房源")
    provider: ShortText | None = Field(default=None, description="Who hands the units over")


class BatchUpdate(PatchModel):
    NULLABLE = frozenset({"provider"})

    name: Name | None = None
    supplied_on: EnteredDate | None = None
    source: ShortText | None = None
    provider: ShortText | None = None


class BatchRead(ReadModel):
    id: int
    code: str
    name: str
    supplied_on: date
    source: str
    provider: str | None
    units: int = 0
    version: int


class UnitCreate(InputModel):
    batch_id: Id
    code: UnitCode = Field(description="e.g. PZ-A-1203")
    address: ShortText
    area_m2: AreaM2 | None = None
    bedrooms: Bedrooms | None = None


class UnitUpdate(PatchModel):
    NULLABLE = frozenset({"area_m2", "bedrooms"})

    code: UnitCode | None = None
    address: ShortText | None = None
    area_m2: AreaM2 | None = None
    bedrooms: Bedrooms | None = None


class UnitRead(ReadModel):
    id: int
    batch_id: int
    code: str
    address: str
    area_m2: Decimal | None
    bedrooms: int | None
    occupied: bool = Field(default=False, description="An allocation covers the day asked about (default today)")
    version: int


class AllocationCreate(InputModel):
    unit_id: Id
    person_id: Id
    start_on: EnteredDate
    end_on: EnteredDate | None = Field(default=None, description="Last day (inclusive); null: until further notice")
    rent_free: Flag = Field(description="免费人才公寓")
    monthly_rent: Rent | None = Field(default=None, description="Required unless rent_free")
    enterprise_id: Id | None = Field(default=None, description="Default: the person's employer now")
    note: NoteText | None = None

    @model_validator(mode="after")
    def _rent(self) -> Self:
        if self.rent_free and self.monthly_rent is not None:
            raise ValueError("a rent-free allocation has no monthly_rent")
        if not self.rent_free and self.monthly_rent is None:
            raise ValueError("monthly_rent is required unless rent_free")
        if self.end_on is not None and self.end_on < self.start_on:
            raise ValueError("end_on is before start_on")
        return self


class AllocationUpdate(PatchModel):
    NULLABLE = frozenset({"end_on", "note"})

    end_on: EnteredDate | None = Field(default=None, description="Moving out: the last day; null: open again")
    note: NoteText | None = None


class AllocationRead(ReadModel):
    id: int
    unit_id: int
    person_id: int
    enterprise_id: int
    start_on: date
    end_on: date | None
    rent_free: bool
    monthly_rent: Decimal | None
    note: str | None
    status: Literal["upcoming", "current", "ended"] = Field(description="On today's date (Asia/Shanghai)")
    version: int


# --- household registrations and green cards ------------------------------------------------------------


class ApplicationCreate(InputModel):
    person_id: Id
    applied_on: EnteredDate = Field(description="申报日期 (not in the future)")
    enterprise_id: Id | None = Field(default=None, description="Default: the person's employer now")
    note: NoteText | None = None


class Decision(InputModel):
    outcome: Literal[ApplicationStatus.approved, ApplicationStatus.rejected, ApplicationStatus.withdrawn]
    decided_on: EnteredDate = Field(description="On or after applied_on, not in the future")
    note: NoteText | None = None


class GreenCardDecision(Decision):
    card_number: Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9-]+$")] | None = (
        None
    )
    expires_on: EnteredDate | None = None

    @model_validator(mode="after")
    def _card_only_when_approved(self) -> Self:
        if self.outcome is not ApplicationStatus.approved and (self.card_number or self.expires_on):
            raise ValueError("card_number and expires_on go with an approved card")
        if self.expires_on is not None and self.expires_on <= self.decided_on:
            raise ValueError("expires_on must be after decided_on")
        return self


class ApplicationRead(ReadModel):
    id: int
    person_id: int
    enterprise_id: int
    applied_on: date
    status: ApplicationStatus
    decided_on: date | None
    note: str | None
    version: int


class GreenCardRead(ApplicationRead):
    card_number: str | None
    expires_on: date | None
