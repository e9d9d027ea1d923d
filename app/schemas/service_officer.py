from datetime import date, datetime

from pydantic import BaseModel, Field

from app.models import OfficerRole
from app.schemas.common import EnteredDate, Id, InputModel, NoteText, PageOut, ReadModel


class AssignmentCreate(InputModel):
    officer_id: Id = Field(description="An active staff user who is not a viewer")
    role: OfficerRole = Field(description="primary: hands the enterprise over from the current primary; deputy: adds")
    started_on: EnteredDate = Field(description="The day the officer took over (past allowed, future not)")
    note: NoteText | None = Field(default=None, description="Hand-over note: why, what was handed over")


class AssignmentEnd(InputModel):
    ended_on: EnteredDate = Field(description="The first day the officer no longer serves the enterprise")
    note: NoteText | None = None


class AssignmentRead(ReadModel):
    id: int
    enterprise_id: int
    officer_id: int
    officer_name: str
    role: OfficerRole
    started_on: date
    ended_on: date | None = Field(description="Exclusive; null while it lasts")
    note: str | None
    ended_note: str | None
    recorded_by: str
    recorded_at: datetime


class ServiceTeam(BaseModel):
    enterprise_id: int
    as_of: date
    primary: AssignmentRead | None = Field(description="首席服务官 on as_of")
    deputies: list[AssignmentRead]


class OfficerWorkload(BaseModel):
    officer_id: int
    username: str
    display_name: str
    is_active: bool
    primary_enterprises: int = Field(description="Enterprises the officer is primary for on as_of")
    deputy_enterprises: int
    enterprises_served: int = Field(description="Distinct enterprises, primary or deputy, on as_of")
    open_requests: int = Field(description="Assigned requests received by as_of and neither resolved nor rejected")
    overdue_requests: int = Field(description="Open requests whose due date is before as_of")


class WorkloadPage(PageOut[OfficerWorkload]):
    as_of: date
