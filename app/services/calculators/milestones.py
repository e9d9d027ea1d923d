"""Milestone status as of a business date: the overdue rule, exactly.

Overdue = not completed and the current due date is before today (Asia/Shanghai). Due today is not
overdue; completed is never overdue; no due date is "unscheduled", not overdue.
"""

from collections.abc import Sequence
from datetime import date
from enum import StrEnum


class MilestoneStatus(StrEnum):
    completed = "completed"
    overdue = "overdue"
    due_today = "due_today"
    pending = "pending"
    unscheduled = "unscheduled"


def milestone_status(due_on: date | None, completed_on: date | None, today: date) -> tuple[MilestoneStatus, int]:
    """(status, days_overdue) on `today`; days_overdue is 0 unless overdue. A completion dated after
    `today` had not happened yet on that day (looking back with an earlier as_of)."""
    if completed_on is not None and completed_on <= today:
        return MilestoneStatus.completed, 0
    if due_on is None:
        return MilestoneStatus.unscheduled, 0
    if due_on < today:
        return MilestoneStatus.overdue, (today - due_on).days
    if due_on == today:
        return MilestoneStatus.due_today, 0
    return MilestoneStatus.pending, 0


def due_in_force(
    planned_on: date | None, replans: Sequence[tuple[date, date | None, date]], as_of: date
) -> date | None:
    """The due date a milestone had on `as_of`. `replans` are (decided_on, previous_due_on, new_due_on)
    in decision order: the latest decided by `as_of` wins; before any, the original plan stood (the
    first re-plan's previous date, which is None for a milestone first scheduled by a re-plan)."""
    due = replans[0][1] if replans else planned_on
    for decided_on, _previous, new_due_on in replans:
        if decided_on <= as_of:
            due = new_due_on
    return due


def slip_days(planned_on: date | None, due_on: date | None) -> int | None:
    """Days the current due date lies after the original plan (negative when pulled forward)."""
    if planned_on is None or due_on is None:
        return None
    return (due_on - planned_on).days
