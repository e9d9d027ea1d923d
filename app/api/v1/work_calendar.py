from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from app.api.deps import IfMatchDep, OptionalIfMatchDep, SessionDep, TodayDep, require, set_etag
from app.core.errors import ProblemError, problem_responses
from app.core.principal import Principal
from app.models import DayKind, WorkCalendarYear
from app.schemas.common import QueryDate
from app.schemas.work_calendar import (
    CalendarDayRead,
    CalendarYearPut,
    CalendarYearRead,
    CalendarYearSummary,
    DueDateAnswer,
    WorkingDaysAnswer,
)
from app.services import work_calendar as service
from app.services.calculators.working_days import MAX_WORKING_DAYS

router = APIRouter(prefix="/work-calendar", tags=["work calendar 工作日历"], responses=problem_responses(401, 403, 422))

YearPath = Annotated[int, Path(ge=1990, le=2100, description="Calendar year")]


def _summary(entry: WorkCalendarYear) -> CalendarYearSummary:
    return CalendarYearSummary(
        year=entry.year,
        source=entry.source,
        published_on=entry.published_on,
        holidays=sum(d.kind is DayKind.holiday for d in entry.days),
        workdays=sum(d.kind is DayKind.workday for d in entry.days),
        working_days=service.working_days_in_year(entry),
        version=entry.version,
    )


def _read(entry: WorkCalendarYear) -> CalendarYearRead:
    return CalendarYearRead(
        **_summary(entry).model_dump(),
        days=[CalendarDayRead(day=d.day, kind=d.kind, name=d.name) for d in entry.days],
    )


@router.get(
    "",
    response_model=list[CalendarYearSummary],
    summary="The years whose holiday arrangement is on record",
    description="Working-day questions about any other year are refused with `calendar_year_missing`.",
)
async def list_years(
    session: SessionDep, _actor: Annotated[Principal, require("services:read")]
) -> list[CalendarYearSummary]:
    return [_summary(entry) for entry in await service.list_years(session)]


@router.get(
    "/due-date",
    response_model=DueDateAnswer,
    summary="The due date of a limit in working days",
    description=(
        "The `working_days`-th working day after `start`; `start` itself never counts (行政许可法 art. 82). "
        "Working days are Monday to Friday, minus holiday breaks, plus make-up working days (调休上班). "
        "A limit that reaches a year not on record answers 422 `calendar_year_missing`."
    ),
)
async def due_date(
    session: SessionDep,
    _actor: Annotated[Principal, require("services:read")],
    start: QueryDate,
    working_days: Annotated[int, Query(ge=1, le=MAX_WORKING_DAYS)],
) -> DueDateAnswer:
    due_on = await service.due_date(session, start, working_days)
    passed = await service.days_between(session, start, due_on)
    return DueDateAnswer(
        start=start,
        working_days=working_days,
        due_on=due_on,
        calendar_days=(due_on - start).days,
        holidays_passed=[
            CalendarDayRead(day=d.day, kind=d.kind, name=d.name) for d in passed if d.kind is DayKind.holiday
        ],
        workdays_passed=[
            CalendarDayRead(day=d.day, kind=d.kind, name=d.name) for d in passed if d.kind is DayKind.workday
        ],
    )


@router.get(
    "/working-days",
    response_model=WorkingDaysAnswer,
    summary="How many working days lie after `start`, up to and including `end`",
)
async def count_working_days(
    session: SessionDep,
    _actor: Annotated[Principal, require("services:read")],
    start: QueryDate,
    end: QueryDate,
) -> WorkingDaysAnswer:
    if end < start:
        raise ProblemError(
            422,
            "validation_failed",
            "end 早于 start / end is before start",
            errors=[{"loc": ["query", "end"], "message": "before start", "type": "date_order"}],
        )
    if end - start > timedelta(days=3 * 366):
        raise ProblemError(
            422,
            "validation_failed",
            "区间不超过 3 年 / the range may span at most 3 years",
            errors=[{"loc": ["query", "end"], "message": "more than 3 years after start", "type": "date_out_of_range"}],
        )
    return WorkingDaysAnswer(start=start, end=end, working_days=await service.working_days(session, start, end))


@router.get(
    "/{year:int}",
    response_model=CalendarYearRead,
    summary="One year's holidays and make-up working days",
    responses=problem_responses(404),
)
async def get_year(
    year: YearPath, response: Response, session: SessionDep, _actor: Annotated[Principal, require("services:read")]
) -> CalendarYearRead:
    entry = await service.get_year(session, year)
    set_etag(response, entry.version)
    return _read(entry)


@router.put(
    "/{year:int}",
    response_model=CalendarYearRead,
    summary="Enter or replace a year's holiday arrangement",
    description=(
        "The whole year at once, as the State Council's notice gives it: the holiday breaks (weekend days of a "
        "break included) and the make-up working days, which must fall on a Saturday or Sunday. Every day must "
        "lie in `year` (split a New Year break at 31 December), and a year has at least the 11 statutory "
        "holiday days. Creating answers 201 and takes no `If-Match` (sending one for a year not on record "
        "answers 412); replacing answers 200 and needs it. Due dates already computed for service requests are "
        "kept as they were."
    ),
    responses=problem_responses(404, 409, 412, 415, 428)
    | {201: {"description": "The year was entered", "model": CalendarYearRead}},
)
async def put_year(
    year: YearPath,
    data: CalendarYearPut,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("calendar:write")],
    if_match: OptionalIfMatchDep,
    today: TodayDep,
) -> CalendarYearRead:
    sent, expected = if_match
    entry, created = await service.put_year(session, actor, year, data, sent, expected, today)
    if created:
        response.status_code = status.HTTP_201_CREATED
        response.headers["Location"] = f"/api/v1/work-calendar/{year}"
    set_etag(response, entry.version)
    return _read(entry)


@router.delete(
    "/{year:int}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a year's arrangement (working-day questions about it are then refused)",
    responses=problem_responses(404, 412, 428),
)
async def delete_year(
    year: YearPath,
    session: SessionDep,
    actor: Annotated[Principal, require("calendar:write")],
    expected: IfMatchDep,
) -> None:
    await service.delete_year(session, actor, year, expected)
