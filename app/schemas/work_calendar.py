from datetime import date
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from app.models import DayKind
from app.schemas.common import ISO_DATE, VISIBLE_TEXT, InputModel

CalendarDate = Annotated[date, Field(ge=date(1990, 1, 1), le=date(2100, 12, 31)), ISO_DATE]
DayName = Annotated[str, StringConstraints(min_length=1, max_length=50, pattern=VISIBLE_TEXT)]


class HolidayRange(InputModel):
    first_day: CalendarDate
    last_day: CalendarDate = Field(description="Inclusive; a one-day holiday has first_day = last_day")
    name: DayName = Field(description="e.g. 春节, 国庆节")


class MakeUpWorkday(InputModel):
    day: CalendarDate = Field(description="A Saturday or Sunday worked instead (调休上班)")
    name: DayName = Field(description="e.g. 春节调休上班")


class CalendarYearPut(InputModel):
    source: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=VISIBLE_TEXT)] = Field(
        description="The notice, e.g. 国办发明电〔2017〕12号"
    )
    published_on: CalendarDate | None = Field(default=None, description="When the notice was signed")
    holidays: Annotated[list[HolidayRange], Field(max_length=40)] = Field(
        description="Holiday breaks of this calendar year, weekend days of a break included"
    )
    workdays: Annotated[list[MakeUpWorkday], Field(max_length=40)] = Field(
        default_factory=list, description="Make-up working days of this calendar year"
    )


class CalendarDayRead(BaseModel):
    day: date
    kind: DayKind
    name: str


class CalendarYearSummary(BaseModel):
    year: int
    source: str
    published_on: date | None
    holidays: int = Field(description="Days off in holiday breaks (weekend days of a break included)")
    workdays: int = Field(description="Make-up working days")
    working_days: int = Field(description="Working days in the whole year")
    version: int


class CalendarYearRead(CalendarYearSummary):
    days: list[CalendarDayRead]


class DueDateAnswer(BaseModel):
    start: date = Field(description="The day of receipt; it never counts")
    working_days: int
    due_on: date = Field(description="The last day of the time limit")
    calendar_days: int = Field(description="Days from start to due_on")
    holidays_passed: list[CalendarDayRead] = Field(description="Holidays between start and due_on")
    workdays_passed: list[CalendarDayRead] = Field(description="Make-up working days between start and due_on")


class WorkingDaysAnswer(BaseModel):
    start: date
    end: date
    working_days: int = Field(description="Working days after start, up to and including end")
