from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from app.schemas.common import EnteredDate, Id, InputModel, LongText, NoteText, PatchModel, ShortText, unique_ids
from app.schemas.service_request import IssueCreate

DepartmentIds = Annotated[list[Id], Field(min_length=1, max_length=50), AfterValidator(unique_ids)]


class ConsultationEventCreate(InputModel):
    held_on: EnteredDate
    title: ShortText = Field(description="e.g. 长条桌送服务现场问诊会—琶洲专场")
    place: ShortText
    department_ids: DepartmentIds = Field(description="Departments with a table (摆摊)")
    note: LongText | None = None


class ConsultationEventUpdate(PatchModel):
    NULLABLE = frozenset({"note"})

    held_on: EnteredDate | None = None
    title: ShortText | None = None
    place: ShortText | None = None
    department_ids: DepartmentIds | None = Field(
        default=None, description="Replaces the list; a department with appointments cannot leave"
    )
    note: LongText | None = None


class DepartmentRef(BaseModel):
    id: int
    code: str
    name: str


class ConsultationEventRead(BaseModel):
    id: int
    held_on: date
    title: str
    place: str
    note: str | None
    departments: list[DepartmentRef]
    appointments: int
    created_at: datetime
    updated_at: datetime
    version: int


class AppointmentCreate(InputModel):
    enterprise_id: Id
    department_id: Id = Field(description="One of the event's departments")
    topic: NoteText | None = Field(default=None, description="What the enterprise came to ask")


class AppointmentRead(BaseModel):
    id: int
    event_id: int
    enterprise_id: int
    department_id: int
    topic: str | None
    request_ids: list[int]


class AppointmentIssueCreate(IssueCreate):
    """Routed to the appointment's department; the enterprise is the appointment's."""


class DepartmentClosure(BaseModel):
    department_id: int
    code: str
    name: str
    appointments: int
    raised: int = Field(description="Requests raised at the event and routed to the department")
    resolved: int
    resolved_on_time: int
    rejected: int
    open: int
    closure_rate: Decimal | None = Field(description="(resolved + rejected) / raised, 4 places; null with none raised")
    on_time_rate: Decimal | None = Field(description="resolved_on_time / resolved, 4 places")


class EventStatistics(BaseModel):
    event_id: int
    as_of: date
    enterprises: int = Field(description="Distinct enterprises with an appointment")
    departments: list[DepartmentClosure]
    total: DepartmentClosure = Field(description="All departments together (department_id 0)")
