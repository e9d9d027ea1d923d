from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from app.schemas.common import EnteredDate, Id, InputModel, LongText, PatchModel, ReadModel, ShortText, unique_ids

OfficerIds = Annotated[list[Id], Field(min_length=1, max_length=20), AfterValidator(unique_ids)]


class VisitCreate(InputModel):
    enterprise_id: Id
    visited_on: EnteredDate = Field(description="The day of the visit (not in the future)")
    officer_ids: OfficerIds = Field(description="Staff who went (officers, leaders)")
    purpose: ShortText | None = None
    findings: LongText = Field(description="What was found; issues to act on become service requests")


class VisitUpdate(PatchModel):
    NULLABLE = frozenset({"purpose"})

    visited_on: EnteredDate | None = None
    officer_ids: OfficerIds | None = None
    purpose: ShortText | None = None
    findings: LongText | None = None


class StaffRef(BaseModel):
    id: int
    display_name: str


class VisitRead(ReadModel):
    id: int
    enterprise_id: int
    visited_on: date
    officers: list[StaffRef]
    purpose: str | None
    findings: str
    request_ids: list[int] = Field(description="Service requests raised from this visit")
    created_at: datetime
    updated_at: datetime
    version: int
