"""The working-day calendar: the State Council's holiday arrangements, one year at a time.

Shipped for 2018 through 2026 by a migration (app/reference/work_calendar.py); later years are entered
through the API once the notice is out. Every due date is computed here, so a year that is not on
record is refused in one place with one message.
"""

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core.errors import NotFoundError, ProblemError, field_problem
from app.core.principal import Principal
from app.models import DayKind, WorkCalendarDay, WorkCalendarYear
from app.models.base import utcnow
from app.schemas.work_calendar import CalendarYearPut
from app.services import audit
from app.services.calculators.working_days import (
    MissingCalendarYear,
    WorkCalendar,
    add_working_days,
    working_days_between,
)
from app.services.entered_dates import not_in_future
from app.services.versioning import check_version

# A time limit of MAX_WORKING_DAYS working days never reaches more than two calendar years ahead.
_YEARS_AHEAD = 2
# 11 statutory holiday days a year until 2024, 13 from 2025: fewer means the arrangement is incomplete.
MIN_HOLIDAY_DAYS = 11


def calendar_missing(year: int) -> ProblemError:
    return ProblemError(
        422,
        "calendar_year_missing",
        f"{year} 年的节假日安排尚未录入，无法按工作日计算 / the holiday arrangement for {year} is not on record, "
        f"so working days cannot be counted; enter it with PUT /api/v1/work-calendar/{year}",
        extra={"year": year},
    )


async def load(session: AsyncSession, first_year: int, last_year: int) -> WorkCalendar:
    years = await session.scalars(
        select(WorkCalendarYear.year).where(WorkCalendarYear.year.between(first_year, last_year))
    )
    rows = await session.execute(
        select(WorkCalendarDay.day, WorkCalendarDay.kind).where(WorkCalendarDay.year.between(first_year, last_year))
    )
    holidays: set[date] = set()
    workdays: set[date] = set()
    for day, kind in rows:
        (holidays if kind is DayKind.holiday else workdays).add(day)
    return WorkCalendar(years=frozenset(years), holidays=frozenset(holidays), workdays=frozenset(workdays))


async def due_date(session: AsyncSession, start: date, working_days: int) -> date:
    """The last day of a limit of `working_days` counted from the day after `start`."""
    calendar = await load(session, start.year, start.year + _YEARS_AHEAD)
    try:
        return add_working_days(calendar, start, working_days)
    except MissingCalendarYear as exc:
        raise calendar_missing(exc.year) from None


async def working_days(session: AsyncSession, start: date, end: date) -> int:
    calendar = await load(session, start.year, end.year)
    try:
        return working_days_between(calendar, start, end)
    except MissingCalendarYear as exc:
        raise calendar_missing(exc.year) from None


async def days_between(session: AsyncSession, start: date, end: date) -> list[WorkCalendarDay]:
    """The holidays and make-up days in (start, end]."""
    rows = await session.scalars(
        select(WorkCalendarDay)
        .where(WorkCalendarDay.day > start, WorkCalendarDay.day <= end)
        .order_by(WorkCalendarDay.day)
    )
    return list(rows)


async def list_years(session: AsyncSession) -> list[WorkCalendarYear]:
    rows = await session.scalars(
        select(WorkCalendarYear).options(selectinload(WorkCalendarYear.days)).order_by(WorkCalendarYear.year)
    )
    return list(rows)


async def get_year(session: AsyncSession, year: int) -> WorkCalendarYear:
    found = await session.scalar(
        select(WorkCalendarYear).where(WorkCalendarYear.year == year).options(selectinload(WorkCalendarYear.days))
    )
    if found is None:
        raise NotFoundError("work calendar year", year)
    return found


def working_days_in_year(entry: WorkCalendarYear) -> int:
    calendar = WorkCalendar(
        years=frozenset({entry.year}),
        holidays=frozenset(d.day for d in entry.days if d.kind is DayKind.holiday),
        workdays=frozenset(d.day for d in entry.days if d.kind is DayKind.workday),
    )
    return working_days_between(calendar, date(entry.year, 1, 1) - timedelta(days=1), date(entry.year, 12, 31))


def _days_of(year: int, data: CalendarYearPut) -> list[WorkCalendarDay]:
    """The year's special days, checked: inside the year, no day twice, make-up days on weekends only."""
    days: dict[date, WorkCalendarDay] = {}

    def add(day: date, kind: DayKind, name: str, field: str) -> None:
        if day.year != year:
            raise field_problem(
                422, "date_out_of_range", field, f"{day} 不在 {year} 年内 / {day} is not in {year}", day=str(day)
            )
        if day in days:
            raise field_problem(422, "duplicate_day", field, f"{day} 出现两次 / {day} is listed twice", day=str(day))
        days[day] = WorkCalendarDay(day=day, year=year, kind=kind, name=name)

    for i, holiday in enumerate(data.holidays):
        if holiday.last_day < holiday.first_day:
            raise field_problem(
                422, "date_order", f"holidays.{i}.last_day", "last_day 早于 first_day / last_day is before first_day"
            )
        if (holiday.last_day - holiday.first_day).days > 30:
            raise field_problem(
                422, "date_out_of_range", f"holidays.{i}.last_day", "假期超过 31 天 / a break longer than 31 days"
            )
        day = holiday.first_day
        while day <= holiday.last_day:
            add(day, DayKind.holiday, holiday.name, f"holidays.{i}")
            day += timedelta(days=1)
    for i, workday in enumerate(data.workdays):
        if workday.day.weekday() < 5:
            raise field_problem(
                422,
                "not_a_weekend",
                f"workdays.{i}.day",
                f"{workday.day} 本来就是工作日，调休上班只能在周末 / {workday.day} is a weekday already; "
                "make-up working days fall on a Saturday or Sunday",
            )
        add(workday.day, DayKind.workday, workday.name, f"workdays.{i}.day")
    return sorted(days.values(), key=lambda d: d.day)


def _snapshot(entry: WorkCalendarYear) -> dict[str, object]:
    data = audit.snapshot(entry)
    data["days"] = [f"{d.day.isoformat()} {d.kind.value} {d.name}" for d in entry.days]
    return data


async def put_year(
    session: AsyncSession,
    actor: Principal,
    year: int,
    data: CalendarYearPut,
    if_match_sent: bool,
    expected: frozenset[int] | None,
    today: date,
) -> tuple[WorkCalendarYear, bool]:
    """Creates or replaces a year's arrangement; replacing needs the version read (If-Match)."""
    days = _days_of(year, data)
    if data.published_on is not None:
        not_in_future("published_on", data.published_on, today)
    holidays = sum(d.kind is DayKind.holiday for d in days)
    if holidays < MIN_HOLIDAY_DAYS:
        raise field_problem(
            422,
            "too_few_holidays",
            "holidays",
            f"只有 {holidays} 天假期：法定节假日至少 {MIN_HOLIDAY_DAYS} 天 / {holidays} holiday days listed; the "
            f"statutory holidays alone are at least {MIN_HOLIDAY_DAYS}",
        )
    existing = await session.scalar(
        select(WorkCalendarYear).where(WorkCalendarYear.year == year).options(selectinload(WorkCalendarYear.days))
    )
    if existing is None:
        if if_match_sent:
            # RFC 9110: If-Match (even *) fails when there is no current representation.
            raise ProblemError(
                412,
                "version_mismatch",
                f"{year} 年尚无安排，If-Match 不能匹配 / {year} is not on record, so If-Match cannot match",
            )
        entry = WorkCalendarYear(year=year, source=data.source, published_on=data.published_on, days=days)
        session.add(entry)
        await session.flush()
        audit.record(session, actor, "create", "work_calendar_year", year, None, _snapshot(entry))
        return entry, True
    if not if_match_sent:
        raise ProblemError(
            428,
            "if_match_required",
            f"{year} 年已有安排，替换需带 If-Match / {year} is on record; send If-Match with the ETag you read",
        )
    check_version(existing.version, expected)
    before = _snapshot(existing)
    existing.source = data.source
    existing.published_on = data.published_on
    existing.days = []
    await session.flush()  # the old days go before the new ones (same keys)
    existing.days = days
    existing.updated_at = utcnow()  # the day list changed: move the version and ETag
    await session.flush()
    audit.record(session, actor, "update", "work_calendar_year", year, before, _snapshot(existing))
    return existing, False


async def delete_year(session: AsyncSession, actor: Principal, year: int, expected: frozenset[int] | None) -> None:
    entry = await get_year(session, year)
    check_version(entry.version, expected)
    before = _snapshot(entry)
    await session.delete(entry)
    await session.flush()
    audit.record(session, actor, "delete", "work_calendar_year", year, before, None)
