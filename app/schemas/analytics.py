from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field

from app.models import EnterpriseSource, InvestorClass


class MoneyTotal(BaseModel):
    currency: str
    amount: Decimal = Field(description="Exact sum, in the currency's unit (元 for CNY)")
    amount_yi: Decimal = Field(description="The same in 亿 (10^8), rounded to 2 places ROUND_HALF_UP, for display")


class SourceShare(BaseModel):
    source: EnterpriseSource
    count: int
    share: Decimal | None = Field(description="count / cohort size, 4 places")


class InvestorClassCount(BaseModel):
    investor_class: InvestorClass
    enterprises: int = Field(description="Distinct enterprises holding the class (any list year unless filtered)")


class SettlementCohort(BaseModel):
    """Enterprises settled (落户) in a date range: the 'whom did we bring in' figures."""

    settled_from: date
    settled_to: date
    zone_id: int | None
    enterprises: int
    registered_capital: list[MoneyTotal] = Field(description="One total per currency; never mixed")
    by_source: list[SourceShare]
    new_or_relocated: int
    new_or_relocated_share: Decimal | None
    investor_classes: list[InvestorClassCount]
    in_any_investor_class: int = Field(description="Distinct enterprises holding at least one class (no double count)")
    in_any_investor_class_share: Decimal | None


class GroupRollup(BaseModel):
    group_id: int
    group_name: str
    companies: int = Field(description="Project and business companies below the group, any depth")
    registered_capital: list[MoneyTotal]


class GroupRollupPage(BaseModel):
    items: list[GroupRollup]
    total: int
    limit: int
    offset: int


class ZoneSummary(BaseModel):
    zone_id: int
    as_of: date
    enterprises: int = Field(description="Active enterprises in the zone and its sub-zones settled by as_of")
    groups: int = Field(description="Distinct top-level groups those enterprises belong to")
    companies: int = Field(description="Of those enterprises, the ones belonging to a group (项目及业务公司)")
    companies_registered_capital: list[MoneyTotal]
    parcels_transferred: int = Field(description="Parcels in the zone transferred (出让) by as_of")
    parcels_transferred_area_m2: Decimal
    land_buyers: int = Field(description="Distinct buyers of those parcels")
    land_buyers_operating: int = Field(description="Buyers whose substantive operations started by as_of")
    area_km2: Decimal = Field(description="The zone's area basis on as_of (sum of leaf zones in force)")
