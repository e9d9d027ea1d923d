"""The working-day clock on the shipped State Council arrangements: National Day, Spring Festival, make-up days."""

from datetime import date

import pytest

from app.reference.work_calendar import ARRANGEMENTS, shipped_days
from app.services.calculators.working_days import (
    MissingCalendarYear,
    WorkCalendar,
    add_working_days,
    working_days_between,
)

SHIPPED = WorkCalendar(
    years=frozenset(a.year for a in ARRANGEMENTS),
    holidays=frozenset(r["day"] for r in shipped_days() if r["kind"] == "holiday"),
    workdays=frozenset(r["day"] for r in shipped_days() if r["kind"] == "workday"),
)


@pytest.mark.parametrize(
    ("received", "limit", "due"),
    [
        # National Day 2018: Sat 29 and Sun 30 September are worked, 1–7 October are off.
        (date(2018, 9, 28), 1, date(2018, 9, 29)),
        (date(2018, 9, 28), 2, date(2018, 9, 30)),
        (date(2018, 9, 28), 3, date(2018, 10, 8)),
        (date(2018, 10, 3), 1, date(2018, 10, 8)),  # received during the break: day 1 is the first day back
        # Spring Festival 2018: Sun 11 February worked, 15–21 off, Sat 24 worked.
        (date(2018, 2, 9), 1, date(2018, 2, 11)),
        (date(2018, 2, 9), 5, date(2018, 2, 22)),
        (date(2018, 2, 14), 3, date(2018, 2, 24)),
        # Spring Festival 2026: the longest break yet, 15–23 February, with Sat 14 and Sat 28 worked.
        (date(2026, 2, 13), 1, date(2026, 2, 14)),
        (date(2026, 2, 13), 2, date(2026, 2, 24)),
        (date(2026, 2, 13), 5, date(2026, 2, 27)),
        (date(2026, 2, 13), 6, date(2026, 2, 28)),
        # National Day 2026: Sun 20 September worked; 1–7 October off; Sat 10 worked.
        (date(2026, 9, 18), 1, date(2026, 9, 20)),
        (date(2026, 9, 30), 1, date(2026, 10, 8)),
        (date(2026, 9, 30), 3, date(2026, 10, 10)),
        # 2020's Spring Festival was extended to 2 February; Sat 1 February was no longer worked.
        (date(2020, 1, 23), 1, date(2020, 2, 3)),
        # Across the year: 2018-12-29 (Sat) worked, New Year's break 30 December – 1 January.
        (date(2018, 12, 28), 1, date(2018, 12, 29)),
        (date(2018, 12, 28), 2, date(2019, 1, 2)),
        # A plain week: Friday + 1 is Monday.
        (date(2018, 11, 16), 1, date(2018, 11, 19)),
    ],
)
def test_due_dates_across_holidays_and_make_up_days(received: date, limit: int, due: date) -> None:
    assert add_working_days(SHIPPED, received, limit) == due


@pytest.mark.parametrize(
    ("year", "working_days"),
    [
        # 365 or 366 days, minus weekend days, minus the statutory holidays (11; 13 from 2025): 2020 lost one
        # more weekday and a make-up Saturday to the Spring Festival extension.
        (2018, 250),
        (2019, 250),
        (2020, 249),
        (2021, 250),
        (2022, 249),
        (2023, 249),
        (2024, 251),
        (2025, 248),
        (2026, 248),
    ],
)
def test_working_days_per_year_match_the_statutory_count(year: int, working_days: int) -> None:
    assert working_days_between(SHIPPED, date(year - 1, 12, 31), date(year, 12, 31)) == working_days


def test_a_year_without_an_arrangement_is_refused_not_guessed() -> None:
    with pytest.raises(MissingCalendarYear) as caught:
        add_working_days(SHIPPED, date(2026, 12, 25), 10)
    assert caught.value.year == 2027
    # Within a known year the same question is answered.
    assert add_working_days(SHIPPED, date(2026, 12, 24), 5) == date(2026, 12, 31)


def test_counts_are_half_open_and_limits_are_bounded() -> None:
    assert working_days_between(SHIPPED, date(2018, 10, 8), date(2018, 10, 8)) == 0
    assert working_days_between(SHIPPED, date(2018, 9, 28), date(2018, 10, 8)) == 3
    with pytest.raises(ValueError, match="between 1 and 250"):
        add_working_days(SHIPPED, date(2018, 1, 1), 0)
