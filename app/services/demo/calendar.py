"""Working days for the demo's own dates: no visit on a Sunday or during the Spring Festival."""

from datetime import date, timedelta

from app.reference.work_calendar import ARRANGEMENTS, shipped_days
from app.services.calculators.working_days import WorkCalendar

SHIPPED = WorkCalendar(
    years=frozenset(a.year for a in ARRANGEMENTS),
    holidays=frozenset(row["day"] for row in shipped_days() if row["kind"] == "holiday"),
    workdays=frozenset(row["day"] for row in shipped_days() if row["kind"] == "workday"),
)


def _works(day: date) -> bool:
    # Before 2018 nothing is shipped: Monday to Friday will do for the demo's few earlier dates.
    return SHIPPED.is_working_day(day) if day.year in SHIPPED.years else day.weekday() < 5


def working_day(day: date) -> date:
    """`day`, or the first working day after it."""
    while not _works(day):
        day += timedelta(days=1)
    return day
