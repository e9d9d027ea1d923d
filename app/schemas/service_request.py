from datetime import date, datetime
from typing import Annotated, Literal, Self

from pydantic import BaseModel, Field, model_validator

from app.models import RejectionReason, RequestSource, RequestStatus
from app.schemas.common import EnteredDate, Id, InputModel, Instant, LongText, NoteText, PageOut, PatchModel, ReadModel
from app.schemas.common import ShortText as Title

Satisfaction = Annotated[int, Field(strict=True, ge=1, le=5, description="1 very dissatisfied … 5 very satisfied")]


class IssueCreate(InputModel):
    """A request raised during a visit or at a consultation fair: the enterprise comes from there."""

    service_type_id: Id = Field(description="From the catalogue (/service-types)")
    title: Title
    description: LongText
    received_at: Instant | None = Field(
        default=None, description="When it was raised (default: now); not in the future, with an offset"
    )
    assignee_id: Id | None = Field(default=None, description="Default: the enterprise's primary service officer")


class ServiceRequestCreate(IssueCreate):
    enterprise_id: Id
    department_id: Id | None = Field(default=None, description="Default: the type's responsible department")


class VisitIssueCreate(IssueCreate):
    department_id: Id | None = Field(default=None, description="Default: the type's responsible department")


class ServiceRequestUpdate(PatchModel):
    NULLABLE = frozenset({"assignee_id"})

    title: Title | None = None
    description: LongText | None = None
    service_type_id: Id | None = Field(
        default=None, description="Only while `registered`; the due date is computed again from the new type"
    )
    department_id: Id | None = Field(default=None, description="Route to another department")
    assignee_id: Id | None = Field(default=None, description="Hand to another officer; null leaves it unassigned")


class _Step(InputModel):
    occurred_at: Instant | None = Field(
        default=None, description="When it happened (default: now); not before the last change, not in the future"
    )
    note: NoteText | None = None


class Accept(_Step):
    to_status: Literal[RequestStatus.accepted]


class Start(_Step):
    to_status: Literal[RequestStatus.in_progress]


class Resolve(_Step):
    to_status: Literal[RequestStatus.resolved]
    resolution: LongText = Field(description="办结情况: what was done")


class Evaluate(_Step):
    to_status: Literal[RequestStatus.evaluated]
    callback_on: EnteredDate = Field(description="回访 date: on or after the day it was resolved")
    satisfaction: Satisfaction


class Reject(_Step):
    to_status: Literal[RequestStatus.rejected]
    reason_code: RejectionReason = Field(description="Why it is not accepted (不予受理)")

    @model_validator(mode="after")
    def _other_needs_note(self) -> Self:
        if self.reason_code is RejectionReason.other and not self.note:
            raise ValueError("reason_code 'other' needs a note saying why")
        return self


Transition = Annotated[Accept | Start | Resolve | Evaluate | Reject, Field(discriminator="to_status")]


class ServiceRequestRead(ReadModel):
    id: int
    enterprise_id: int
    service_type_id: int
    department_id: int
    assignee_id: int | None
    source: RequestSource
    visit_id: int | None
    appointment_id: int | None
    title: str
    description: str
    received_at: datetime
    received_on: date = Field(description="received_at's date in Asia/Shanghai")
    time_limit_working_days: int
    due_on: date = Field(description="The last day of the limit, in working days after received_on")
    status: RequestStatus
    status_changed_at: datetime
    resolved_on: date | None
    resolution: str | None
    rejected_on: date | None
    rejection_reason: RejectionReason | None
    callback_on: date | None
    satisfaction: int | None
    evaluated_on: date | None
    on_time: bool | None = Field(description="Resolved by due_on; null while not resolved (or rejected)")
    overdue: bool = Field(description="Still open and today is after due_on")
    days_overdue: int = Field(description="Days past due_on while open (0 otherwise)")
    created_at: datetime
    updated_at: datetime
    version: int


class ServiceRequestEventRead(ReadModel):
    id: int
    from_status: RequestStatus | None
    to_status: RequestStatus
    occurred_at: datetime
    note: str | None
    reason_code: RejectionReason | None
    recorded_by: str
    recorded_at: datetime


class Breach(BaseModel):
    request_id: int
    kind: Literal["open_overdue", "resolved_late"]
    enterprise_id: int
    service_type_id: int
    department_id: int
    assignee_id: int | None
    title: str
    status: RequestStatus = Field(description="The current status")
    received_on: date
    due_on: date
    resolved_on: date | None
    days_late: int = Field(description="Calendar days past due_on: until as_of if open, until resolved_on if late")


class BreachPage(PageOut[Breach]):
    as_of: date
