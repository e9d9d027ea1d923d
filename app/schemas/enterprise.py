from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Self

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, model_validator

from app.models import EnterpriseSource, EnterpriseStatus, InvestorClass
from app.schemas.common import ISO_DATE, VISIBLE_TEXT, Id, InputModel, PatchModel, ReadModel, exact
from app.services.calculators.uscc import uscc_problem

# Registered capital: positive, at most 10 万亿 yuan (larger is a typo, not a company), fen precision.
RegisteredCapital = Annotated[
    Decimal,
    Field(gt=0, le=Decimal("10000000000000"), decimal_places=2, description="Yuan (or `currency`), exact"),
    exact(2),
]
CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
EnterpriseName = Annotated[str, StringConstraints(min_length=2, max_length=200, pattern=VISIBLE_TEXT)]
DivisionCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{2}$")]
BusinessDate = Annotated[date, Field(ge=date(1900, 1, 1), le=date(2100, 12, 31)), ISO_DATE]


def _valid_uscc(value: str) -> str:
    problem = uscc_problem(value)
    if problem:
        raise ValueError(f"invalid 统一社会信用代码: {problem}")
    return value


Uscc = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_upper=True, min_length=18, max_length=18),
    AfterValidator(_valid_uscc),
]


class InvestorClassItem(InputModel):
    investor_class: InvestorClass
    list_year: Annotated[int, Field(ge=1955, le=2100)] | None = Field(
        default=None, description="Year of the list (required for the 500 lists)"
    )

    @model_validator(mode="after")
    def _year_for_lists(self) -> Self:
        if self.investor_class is not InvestorClass.leading_enterprise and self.list_year is None:
            raise ValueError(f"{self.investor_class.value} needs the list_year of the list")
        return self


def _one_number(phone: str) -> str:
    # E.164 allows at most 15 digits; two numbers in one field would be shown half-unmasked.
    if not 5 <= sum(ch.isdigit() for ch in phone) <= 15:
        raise ValueError("one phone number, 5 to 15 digits")
    return phone


Phone = Annotated[str, StringConstraints(pattern=r"^\+?[0-9][0-9 ()-]{4,30}$"), AfterValidator(_one_number)]


class ContactItem(InputModel):
    name: Annotated[str, StringConstraints(min_length=1, max_length=50, pattern=VISIBLE_TEXT)]
    phone: Phone
    position: Annotated[str, StringConstraints(max_length=50, pattern=VISIBLE_TEXT)] | None = None


def _unique_classes(items: list[InvestorClassItem]) -> list[InvestorClassItem]:
    keys = [(i.investor_class, i.list_year) for i in items]
    if len(set(keys)) != len(keys):
        raise ValueError("the same investor class and list year appears twice")
    return items


InvestorClasses = Annotated[list[InvestorClassItem], Field(max_length=20), AfterValidator(_unique_classes)]
Contacts = Annotated[list[ContactItem], Field(max_length=20)]


class EnterpriseCreate(InputModel):
    uscc: Uscc = Field(description="统一社会信用代码, 18 characters, GB 32100-2015 check digit; stored upper case")
    name: EnterpriseName
    registered_capital: RegisteredCapital
    currency: CurrencyCode = "CNY"
    established_on: BusinessDate | None = None
    settled_on: BusinessDate | None = Field(default=None, description="落户日期")
    industry_code: DivisionCode = Field(description="GB/T 4754-2017 division (大类), e.g. 64 互联网和相关服务")
    source: EnterpriseSource
    status: EnterpriseStatus = EnterpriseStatus.active
    operations_started_on: BusinessDate | None = Field(default=None, description="实质性运营起始日")
    investor_classes: InvestorClasses = Field(default_factory=list)
    parent_id: Id | None = Field(default=None, description="The group this company belongs to")
    zone_id: Id | None = None
    service_officer_id: Id | None = Field(default=None, description="Primary chief service officer (a user)")
    service_officer_since: BusinessDate | None = Field(
        default=None, description="When that officer took the enterprise on (default: today; not in the future)"
    )
    contacts: Contacts = Field(default_factory=list, description="Needs personal_data:read to send")

    @model_validator(mode="after")
    def _since_needs_officer(self) -> Self:
        if self.service_officer_since is not None and self.service_officer_id is None:
            raise ValueError("service_officer_since needs service_officer_id")
        return self


class EnterpriseUpdate(PatchModel):
    NULLABLE = frozenset(
        {"established_on", "settled_on", "operations_started_on", "parent_id", "zone_id", "service_officer_id"}
    )

    uscc: Uscc | None = None
    name: EnterpriseName | None = None
    registered_capital: RegisteredCapital | None = None
    currency: CurrencyCode | None = None
    established_on: BusinessDate | None = None
    settled_on: BusinessDate | None = None
    industry_code: DivisionCode | None = None
    source: EnterpriseSource | None = None
    status: EnterpriseStatus | None = None
    operations_started_on: BusinessDate | None = None
    investor_classes: InvestorClasses | None = None
    parent_id: Id | None = None
    zone_id: Id | None = None
    service_officer_id: Id | None = Field(
        default=None,
        description="A new primary: recorded as a hand-over on service_officer_since (default today); "
        "null ends the current primary's assignment that day",
    )
    service_officer_since: BusinessDate | None = Field(default=None, description="The day of that hand-over")
    contacts: Contacts | None = None

    @model_validator(mode="after")
    def _since_needs_officer(self) -> Self:
        if self.service_officer_since is not None and "service_officer_id" not in self.model_fields_set:
            raise ValueError("service_officer_since goes with service_officer_id")
        return self


class IndustryRef(BaseModel):
    code: str
    name: str
    section_code: str
    section_name: str


class ContactRead(BaseModel):
    name: str
    phone: str
    position: str | None


class EnterpriseRead(ReadModel):
    id: int
    uscc: str
    name: str
    registered_capital: Decimal
    currency: str
    established_on: date | None
    settled_on: date | None
    industry: IndustryRef
    source: EnterpriseSource
    status: EnterpriseStatus
    operations_started_on: date | None
    investor_classes: list[InvestorClassItem]
    parent_id: int | None
    zone_id: int | None
    service_officer_id: int | None
    contacts: list[ContactRead]
    contacts_masked: bool = Field(description="true when the caller lacks personal_data:read")
    created_at: datetime
    updated_at: datetime
    version: int
