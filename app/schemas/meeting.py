from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Self

from pydantic import BaseModel, Field, model_validator

from app.models import DecisionKind, MeetingKind
from app.schemas.common import EnteredDate, Id, InputModel, LongText, PatchModel, ShortText, exact

Amount = Annotated[Decimal, Field(gt=0, le=Decimal("1000000000000"), decimal_places=2, description="Yuan"), exact(2)]
Attendees = Annotated[int, Field(strict=True, ge=1, le=10_000)]


class MeetingCreate(InputModel):
    kind: MeetingKind
    held_on: EnteredDate = Field(description="Not in the future")
    title: ShortText
    topics: LongText | None = None
    attendees: Attendees | None = None


class MeetingUpdate(PatchModel):
    NULLABLE = frozenset({"topics", "attendees"})

    held_on: EnteredDate | None = None
    title: ShortText | None = None
    topics: LongText | None = None
    attendees: Attendees | None = None


class MeetingRead(BaseModel):
    id: int
    kind: MeetingKind
    held_on: date
    title: str
    topics: str | None
    attendees: int | None
    decisions: int = Field(description="三重一大 decisions taken at it")
    created_at: datetime
    updated_at: datetime
    version: int


class DecisionCreate(InputModel):
    kind: DecisionKind
    title: ShortText
    meeting_id: Id = Field(description="A party-group meeting, office meeting or director's meeting")
    amount: Amount | None = Field(default=None, description="Required for large_sum")
    note: LongText | None = None

    @model_validator(mode="after")
    def _amount_for_large_sums(self) -> Self:
        if (self.kind is DecisionKind.large_sum) != (self.amount is not None):
            raise ValueError("amount goes with kind=large_sum, and only with it")
        return self


class DecisionRead(BaseModel):
    id: int
    kind: DecisionKind
    title: str
    meeting_id: int
    decided_on: date = Field(description="The meeting's date")
    amount: Decimal | None
    note: str | None
    version: int


class MeetingFigures(BaseModel):
    year: int
    meetings: dict[str, int] = Field(description="Meetings held in the year, by kind (every kind listed)")
    decisions: dict[str, int] = Field(description="三重一大 decisions taken in the year, by kind")
    large_sums: Decimal = Field(description="Total of the large-sum decisions, yuan")
