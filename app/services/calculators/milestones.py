"""Milestone status as of a business date: the overdue rule, exactly.

Overdue = not completed and the current due date is before today (Asia/Shanghai). Due today is not
overdue; completed is never overdue; no due date is "unscheduled", not overdue.
"""

from datetime import date
from enum import StrEnum


class MilestoneStatus(StrEnum):
    completed = "completed"
    overdue = "overdue"
    due_today = "due_today"
    pending = "pending"
    unscheduled = "unscheduled"


def milestone_status(due_on: date | None, completed_on: date | None, today: date) -> tuple[MilestoneStatus, int]:
    """(status, days_overdue); days_overdue is 0 unless overdue."""
    if completed_on is not None:
        return MilestoneStatus.completed, 0
    if due_on is None:
        return MilestoneStatus.unscheduled, 0
    if due_on < today:
        return MilestoneStatus.overdue, (today - due_on).days
    if due_on == today:
        return MilestoneStatus.due_today, 0
    return MilestoneStatus.pending, 0


def slip_days(planned_on: date | None, due_on: date | None) -> int | None:
    """Days the current due date lies after the original plan (negative when pulled forward)."""
    if planned_on is None or due_on is None:
        return None
    return (due_on - planned_on).days
