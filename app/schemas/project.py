from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from app.models import EscalationLevel, ProjectStage, Track
from app.schemas.common import (
    ISO_DATE,
    MULTILINE_TEXT,
    VISIBLE_TEXT,
    Flag,
    Id,
    InputModel,
    PatchModel,
    ReadModel,
    exact,
)
from app.services.calculators.milestones import MilestoneStatus

BusinessDate = Annotated[date, Field(ge=date(1990, 1, 1), le=date(2100, 12, 31)), ISO_DATE]
Title = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=VISIBLE_TEXT)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=VISIBLE_TEXT)]
TypeCode = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=1000, pattern=MULTILINE_TEXT)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=10_000, pattern=MULTILINE_TEXT)]
Yuan = Annotated[Decimal, Field(ge=0, le=Decimal("10000000000000"), decimal_places=2), exact(2)]
Reason = Annotated[str, StringConstraints(min_length=2, max_length=500, pattern=MULTILINE_TEXT)]


class ProjectCreate(InputModel):
    name: Title = Field(description="项目名称")
    code_name: ShortText | None = Field(default=None, description="代号, shown instead of the name without clearance")
    project_type: TypeCode | None = Field(default=None, description="Matches milestone templates, e.g. hq_campus")
    enterprise_id: Id | None = Field(default=None, description="The investor or its project company")
    zone_id: Id | None = None
    is_key: Flag = Field(default=False, description="重点项目")
    industry_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{2}$")] | None = None
    planned_investment: Yuan | None = Field(default=None, description="计划投资, yuan")
    planned_registered_capital: Yuan | None = Field(default=None, description="拟注册资本, yuan")
    responsible_officer_id: Id | None = Field(default=None, description="项目部长 (a user)")
    service_officer_id: Id | None = None
    introduced_on: BusinessDate = Field(description="When the office took the project up (not in the future)")
    stage: Literal["negotiating", "signed", "registered", "under_construction", "operating"] = Field(
        default="negotiating", description="Stage on introduced_on (on_hold and dropped come later, as events)"
    )
    note: Text | None = Field(default=None, description="Note on the first stage event")


class ProjectUpdate(PatchModel):
    NULLABLE = frozenset(
        {
            "code_name",
            "project_type",
            "enterprise_id",
            "zone_id",
            "industry_code",
            "planned_investment",
            "planned_registered_capital",
            "responsible_officer_id",
            "service_officer_id",
        }
    )

    name: Title | None = None
    code_name: ShortText | None = None
    project_type: TypeCode | None = None
    enterprise_id: Id | None = None
    zone_id: Id | None = None
    is_key: Flag | None = None
    industry_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{2}$")] | None = None
    planned_investment: Yuan | None = None
    planned_registered_capital: Yuan | None = None
    responsible_officer_id: Id | None = None
    service_officer_id: Id | None = None


class ProjectRead(ReadModel):
    id: int
    name: str = Field(description="The real name, or the code name for callers without confidential:read")
    name_masked: bool
    code_name: str | None
    project_type: str | None
    enterprise_id: int | None
    zone_id: int | None
    is_key: bool
    industry_code: str | None
    planned_investment: Decimal | None
    planned_registered_capital: Decimal | None
    responsible_officer_id: int | None
    service_officer_id: int | None
    introduced_on: date
    stage: ProjectStage
    stage_since: date
    created_at: datetime
    updated_at: datetime
    version: int


class StageEventCreate(InputModel):
    to_stage: ProjectStage
    occurred_on: BusinessDate = Field(description="The day it happened (may be in the past, never the future)")
    note: Text | None = None


class StageEventRead(ReadModel):
    id: int
    from_stage: ProjectStage | None
    to_stage: ProjectStage
    occurred_on: date
    note: str | None
    recorded_by: str
    recorded_at: datetime


class ReplanRead(ReadModel):
    id: int
    previous_due_on: date | None
    new_due_on: date
    decided_on: date
    reason: str
    recorded_by: str
    recorded_at: datetime


class MilestoneCreate(InputModel):
    track: Track
    name: Title
    planned_on: BusinessDate | None = Field(default=None, description="Original due date; null = unscheduled")
    sort_order: Annotated[int, Field(strict=True, ge=0, le=10_000)] = 0
    note: Text | None = None


class MilestoneUpdate(PatchModel):
    NULLABLE = frozenset({"completed_on", "note"})

    name: Title | None = None
    sort_order: Annotated[int, Field(strict=True, ge=0, le=10_000)] | None = None
    note: Text | None = None
    completed_on: BusinessDate | None = Field(
        default=None, description="The day it was done (entered, never the future); null reopens it"
    )
    planned_on: BusinessDate | None = Field(
        default=None, description="Schedules an unscheduled milestone; later changes are re-plans"
    )


class ReplanCreate(InputModel):
    new_due_on: BusinessDate
    reason: Reason = Field(description="Why the date moves (required, kept with every re-plan)")
    decided_on: BusinessDate | None = Field(
        default=None, description="The day the new date was agreed (default today, Asia/Shanghai; never the future)"
    )


class MilestoneRead(ReadModel):
    id: int
    project_id: int
    track: Track
    name: str
    sort_order: int
    planned_on: date | None = Field(description="The original plan")
    due_on: date | None = Field(description="The current due date after re-plans")
    slip_days: int | None = Field(description="due_on − planned_on in days")
    completed_on: date | None
    status: MilestoneStatus
    days_overdue: int
    note: str | None
    replans: list[ReplanRead]
    version: int


class TemplateItem(InputModel):
    track: Track
    name: Title
    offset_days: Annotated[int, Field(strict=True, ge=0, le=3650, description="Days after the start date")]


class TemplateCreate(InputModel):
    code: TypeCode
    name: ShortText
    project_type: TypeCode | None = None
    items: Annotated[list[TemplateItem], Field(min_length=1, max_length=60)]


class TemplateUpdate(PatchModel):
    NULLABLE = frozenset({"project_type"})

    name: ShortText | None = None
    project_type: TypeCode | None = None
    items: Annotated[list[TemplateItem], Field(min_length=1, max_length=60)] | None = None


class TemplateRead(ReadModel):
    id: int
    code: str
    name: str
    project_type: str | None
    items: list[TemplateItem]
    version: int


class ApplyTemplate(InputModel):
    template_id: Id
    start_on: BusinessDate = Field(description="Each item is planned start_on + offset_days")


class EscalationCreate(InputModel):
    level: EscalationLevel
    occurred_on: BusinessDate
    milestone_id: Id | None = Field(default=None, description="The milestone it is about, if any")
    note: Text
    outcome: Text | None = None


class EscalationUpdate(PatchModel):
    NULLABLE = frozenset({"outcome"})

    note: Text | None = None
    outcome: Text | None = None


class EscalationRead(ReadModel):
    id: int
    project_id: int
    milestone_id: int | None
    level: EscalationLevel
    occurred_on: date
    officer_id: int | None
    note: str
    outcome: str | None
    created_at: datetime
    version: int


def _unique_ids(ids: list[int]) -> list[int]:
    if len(set(ids)) != len(ids):
        raise ValueError("a project is listed twice")
    return ids


ProjectIds = Annotated[list[Id], Field(min_length=1, max_length=500), AfterValidator(_unique_ids)]


class SupervisionRoundCreate(InputModel):
    held_on: BusinessDate
    title: Title
    findings: LongText
    follow_up_actions: LongText | None = None
    project_ids: ProjectIds


class SupervisionRoundUpdate(PatchModel):
    NULLABLE = frozenset({"follow_up_actions"})

    title: Title | None = None
    findings: LongText | None = None
    follow_up_actions: LongText | None = None
    project_ids: ProjectIds | None = None


class SupervisionRoundRead(BaseModel):
    id: int
    held_on: date
    title: str
    findings: str
    follow_up_actions: str | None
    project_ids: list[int]
    version: int


class OverdueMilestone(BaseModel):
    milestone_id: int
    milestone_name: str
    track: Track
    planned_on: date | None
    due_on: date = Field(description="The due date in force on as_of")
    days_overdue: int
    replans: int = Field(description="Re-plans decided by as_of")
    project_id: int
    project_name: str
    project_stage: ProjectStage
    is_key: bool
    zone_id: int | None
    responsible_officer_id: int | None
    service_officer_id: int | None
    worst_escalation: EscalationLevel | None = Field(
        description="The most serious escalation recorded on the project up to as_of"
    )


class OverduePage(BaseModel):
    as_of: date
    items: list[OverdueMilestone]
    total: int
    limit: int
    offset: int


class TimelineEntry(BaseModel):
    on: date
    kind: str = Field(
        description="introduced, stage_change, milestone_replanned, milestone_completed, milestone_due, "
        "escalation, supervision_round"
    )
    summary: str
    milestone_id: int | None = None
    ref_id: int | None = None


class StageCount(BaseModel):
    stage: ProjectStage
    projects: int
    planned_investment: Decimal
    planned_investment_yi: Decimal


class StageTransition(BaseModel):
    from_stage: ProjectStage
    to_stage: ProjectStage
    count: int
    median_days: Decimal = Field(description="Median days between the two stage events, 1 place")


class PipelineSummary(BaseModel):
    stages: list[StageCount]
    transitions: list[StageTransition]
