from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field


class RequestOutcomes(BaseModel):
    key: int | None = Field(description="The group's id (type, department or officer); null: unassigned / total")
    code: str | None
    name: str
    received: int
    resolved: int
    resolved_on_time: int
    on_time_rate: Decimal | None = Field(description="resolved_on_time / resolved (按时办结率), 4 places")
    rejected: int
    open: int
    overdue_open: int = Field(description="Open at the period's end and past due")
    closure_rate: Decimal | None = Field(description="(resolved + rejected) / received, 4 places")
    evaluated: int
    satisfaction_average: Decimal | None = Field(description="Mean rating 1–5, 2 places")
    satisfied: int = Field(description="Rated 4 or 5")
    satisfied_share: Decimal | None = Field(description="satisfied / evaluated, 4 places")


class RequestStatistics(BaseModel):
    received_from: date
    received_to: date
    as_of: date = Field(description="Outcomes as they stood that day: the period's end, or today if earlier")
    by: Literal["service_type", "department", "officer"]
    groups: list[RequestOutcomes]
    total: RequestOutcomes


class OfficerVisits(BaseModel):
    officer_id: int
    display_name: str
    visits: int
    enterprises: int = Field(description="Distinct enterprises visited")


class VisitCoverage(BaseModel):
    visited_from: date
    visited_to: date
    visits: int
    enterprises_visited: int = Field(description="Distinct enterprises (走访企业数)")
    issues_raised: int = Field(description="Service requests registered from those visits")
    assigned_enterprises: int = Field(description="Enterprises with a primary service officer on visited_to")
    assigned_enterprises_visited: int
    assigned_coverage: Decimal | None = Field(description="assigned_enterprises_visited / assigned_enterprises")
    by_officer: list[OfficerVisits]


class ApartmentFigures(BaseModel):
    as_of: date
    units: int = Field(description="Units on record in batches supplied by as_of")
    units_occupied: int
    persons: int = Field(description="Distinct talents housed on as_of")
    enterprises: int = Field(description="Distinct enterprises of those talents")
    rent_free_persons: int = Field(description="Distinct talents in free apartments on as_of (免费人才公寓)")
    rent_free_enterprises: int
    allocations_started: int = Field(description="Allocations starting within the period")


class ApplicationFigures(BaseModel):
    submitted: int = Field(description="Applications submitted within the period")
    approved: int = Field(description="Applications approved within the period")
    approved_persons: int = Field(description="Distinct talents approved within the period")
    approved_enterprises: int = Field(description="Distinct enterprises of those talents")
    rejected: int
    withdrawn: int
    pending: int = Field(description="Submitted by as_of and not decided by then")


class GreenCardFigures(ApplicationFigures):
    approved_senior_executives: int = Field(description="Approved cards of senior executives (高级管理人员)")
    approved_fortune_global_500_enterprises: int = Field(
        description="Distinct employers with a Fortune Global 500 investor class whose senior executives got one"
    )
    approved_fortune_global_500_executives: int = Field(description="Those senior executives' approved cards")


class TalentServiceStatistics(BaseModel):
    period_from: date
    period_to: date
    apartments: ApartmentFigures
    household_registrations: ApplicationFigures
    green_cards: GreenCardFigures
