"""The overdue rule, table-tested on the pure calculator."""

from datetime import date

import pytest

from app.services.calculators.milestones import MilestoneStatus, milestone_status, slip_days

TODAY = date(2018, 10, 31)


@pytest.mark.parametrize(
    ("due_on", "completed_on", "status", "days"),
    [
        (date(2018, 10, 30), None, MilestoneStatus.overdue, 1),
        (date(2018, 9, 30), None, MilestoneStatus.overdue, 31),
        (date(2018, 10, 31), None, MilestoneStatus.due_today, 0),  # due today is not overdue
        (date(2018, 11, 1), None, MilestoneStatus.pending, 0),
        (None, None, MilestoneStatus.unscheduled, 0),  # no due date is not overdue
        (date(2018, 1, 1), date(2018, 6, 1), MilestoneStatus.completed, 0),  # completed late: never overdue
        (None, date(2018, 6, 1), MilestoneStatus.completed, 0),
    ],
)
def test_status_and_days_overdue(
    due_on: date | None, completed_on: date | None, status: MilestoneStatus, days: int
) -> None:
    assert milestone_status(due_on, completed_on, TODAY) == (status, days)


def test_slip_is_current_minus_original() -> None:
    assert slip_days(date(2018, 6, 30), date(2018, 9, 30)) == 92
    assert slip_days(date(2018, 6, 30), date(2018, 6, 1)) == -29
    assert slip_days(None, date(2018, 6, 1)) is None
