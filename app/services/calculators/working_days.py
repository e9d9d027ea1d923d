"""Working days on the Chinese calendar: Monday to Friday, minus holiday breaks, plus make-up working days.

Time limits such as "3个工作日内办结" count from the day after receipt: the day a request arrives never
counts (as in 行政许可法 art. 82, "期间开始的日不计算在内"). A limit of 1 working day for a request received
on a Friday therefore ends on the next Monday, unless that Monday is a holiday.

Which days are holidays or make-up days is data (the State Council's yearly notice). A question that
reaches a year with no arrangement on record raises `MissingCalendarYear` instead of guessing.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

# Enough for any time limit the catalogue allows (250 working days is about a year), plus holidays.
MAX_WORKING_DAYS = 250


class MissingCalendarYear(Exception):
    def __init__(self, year: int) -> None:
        super().__init__(f"no holiday arrangement on record for {year}")
        self.year = year


@dataclass(frozen=True)
class WorkCalendar:
    years: frozenset[int]  # years whose arrangement is known
    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)  # make-up working days (调休上班)

    def is_working_day(self, day: date) -> bool:
        if day.year not in self.years:
            raise MissingCalendarYear(day.year)
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays


def add_working_days(calendar: WorkCalendar, start: date, days: int) -> date:
    """The `days`-th working day after `start` (1 ≤ days ≤ MAX_WORKING_DAYS); `start` itself never counts."""
    if not 1 <= days <= MAX_WORKING_DAYS:
        raise ValueError(f"days must be between 1 and {MAX_WORKING_DAYS}")
    day = start
    remaining = days
    while remaining:
        day += timedelta(days=1)
        if calendar.is_working_day(day):
            remaining -= 1
    return day


def working_days_between(calendar: WorkCalendar, start: date, end: date) -> int:
    """Working days in (start, end]: 0 when end ≤ start."""
    count = 0
    day = start
    while day < end:
        day += timedelta(days=1)
        count += calendar.is_working_day(day)
    return count
