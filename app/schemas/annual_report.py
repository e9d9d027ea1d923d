from datetime import date, datetime

from pydantic import BaseModel, Field

from app.schemas.analytics import SettlementCohort, ZoneSummary
from app.schemas.disclosure import DisclosureStatistics
from app.schemas.kpi import Intensity, KpiSummary, ThresholdGroup
from app.schemas.meeting import MeetingFigures
from app.schemas.service_analytics import RequestOutcomes, TalentServiceStatistics, VisitCoverage


class KeyProjects(BaseModel):
    cohort_id: int
    cohort_code: str
    cohort_name: str
    metrics: list[KpiSummary]


class Cluster(BaseModel):
    zone_id: int
    code: str
    name: str
    summary: ZoneSummary
    area_parts: list[str] = Field(description="The kinds of sub-zone the area basis is made of (核心区, 拓展区 …)")
    cohort_id: int | None = Field(description="The zone's KPI cohort (kind zone), if there is one")
    metrics: list[KpiSummary]
    intensity: list[Intensity]
    big_taxpayers: ThresholdGroup | None = Field(description="亿元税收企业: tax ≥ 1亿元 in 1–N月")


class Investment(BaseModel):
    settlement: SettlementCohort
    key_projects: KeyProjects | None
    clusters: list[Cluster]


class ConsultationFair(BaseModel):
    id: int
    held_on: date
    title: str
    departments: list[str]
    appointments: int
    issues_raised: int


class Services(BaseModel):
    visits: VisitCoverage
    named_enterprises_visited: list[str] = Field(description="Groups and enterprises visited, most visited first")
    fairs: list[ConsultationFair]
    requests: RequestOutcomes
    talents: TalentServiceStatistics
    green_card_employers: list[str] = Field(description="Fortune Global 500 employers of approved green cards")


class Section(BaseModel):
    heading: str
    sentences: list[str] = Field(description="The draft's sentences, carrying the figures above")


class AnnualReport(BaseModel):
    """The year's work report assembled from the data: every figure, and the sentences of the draft."""

    year: int
    through_month: int = Field(description="KPIs are 1–N月 cumulatives through this month")
    period_label: str = Field(examples=["2018年1–10月"])
    as_of: date = Field(description="Counts and states are as of this day (settlements, visits, disclosure …)")
    office_name: str
    withheld_metrics: list[str] = Field(description="Sensitive metrics left out: the caller lacks sensitive_kpis:read")
    investment: Investment
    services: Services
    decision_making: MeetingFigures
    disclosure: DisclosureStatistics
    sections: list[Section]
    notes: list[str] = Field(description="How the figures are counted and rounded")
    generated_at: datetime
