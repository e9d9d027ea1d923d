"""The views the office works from: overdue milestones, a project's timeline, the pipeline summary."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import (
    Escalation,
    EscalationLevel,
    Milestone,
    MilestoneReplan,
    Project,
    ProjectStage,
    ProjectStageEvent,
    SupervisionRound,
    Track,
    supervision_round_projects,
)
from app.models.functions import days_between
from app.schemas.project import PipelineSummary, StageCount, StageTransition, TimelineEntry
from app.services.calculators.units import round_half_up, yuan_to_yi
from app.services.projects import get_project, officer_of
from app.services.trees import in_zone

_LEVEL_RANK = {EscalationLevel.reminder: 1, EscalationLevel.supervision: 2, EscalationLevel.interview: 3}


@dataclass(frozen=True)
class OverdueFilter:
    as_of: date
    zone_id: int | None = None
    officer_id: int | None = None
    track: Track | None = None
    key_only: bool = False
    min_days_overdue: int = 1


@dataclass(frozen=True)
class OverdueRow:
    milestone: Milestone
    project: Project
    due_on: date  # the due date in force on as_of
    days_overdue: int
    replans: int  # re-plans decided by as_of
    worst_escalation: EscalationLevel | None


def _replans_ranked(as_of: date | None, newest_first: bool, name: str) -> Any:
    """Each milestone's re-plans (decided by `as_of`, if given) numbered from the newest or the oldest."""
    order = (
        (MilestoneReplan.decided_on.desc(), MilestoneReplan.id.desc())
        if newest_first
        else (MilestoneReplan.decided_on, MilestoneReplan.id)
    )
    rank = func.row_number().over(partition_by=MilestoneReplan.milestone_id, order_by=order).label("rank")
    stmt = select(MilestoneReplan.milestone_id, MilestoneReplan.new_due_on, MilestoneReplan.previous_due_on, rank)
    if as_of is not None:
        stmt = stmt.where(MilestoneReplan.decided_on <= as_of)
    return stmt.subquery(name)


def _with_due_as_of(stmt: Any, as_of: date) -> tuple[Any, Any]:
    """`stmt` joined to what a milestone's due date was on `as_of`, and that date: the latest re-plan decided
    by then, else its original plan (the first re-plan's previous date, null for one scheduled by re-plan),
    else its plan. Two outer joins to the ranked re-plans, not three subqueries for every milestone."""
    latest = _replans_ranked(as_of, newest_first=True, name="latest_replan")
    first = _replans_ranked(None, newest_first=False, name="first_replan")
    joined = stmt.outerjoin(latest, (latest.c.milestone_id == Milestone.id) & (latest.c.rank == 1)).outerjoin(
        first, (first.c.milestone_id == Milestone.id) & (first.c.rank == 1)
    )
    due = case(
        (latest.c.milestone_id.is_not(None), latest.c.new_due_on),
        (first.c.milestone_id.is_not(None), first.c.previous_due_on),
        else_=Milestone.planned_on,
    )
    return joined, due


async def overdue_milestones(
    session: AsyncSession, flt: OverdueFilter, limit: int, offset: int
) -> tuple[list[OverdueRow], int]:
    """Milestones overdue on `as_of`, worst first, as the office saw them that day: open then (not yet
    completed, or completed later), with the due date then in force at least `min_days_overdue` days
    before `as_of`. Due on `as_of` itself is not overdue; unscheduled never is; a dropped project's
    milestones are not supervised any more."""
    base, due_expression = _with_due_as_of(
        select(Milestone, Project).join(Project, Project.id == Milestone.project_id), flt.as_of
    )
    due = due_expression.label("due_as_of")
    conditions = [
        or_(Milestone.completed_on.is_(None), Milestone.completed_on > flt.as_of),
        due.is_not(None),
        due <= flt.as_of - timedelta(days=flt.min_days_overdue),
        Project.stage != ProjectStage.dropped,
    ]
    if flt.zone_id is not None:
        conditions.append(in_zone(Project.zone_id, flt.zone_id))
    if flt.officer_id is not None:
        conditions.append(officer_of(flt.officer_id))
    if flt.track is not None:
        conditions.append(Milestone.track == flt.track)
    if flt.key_only:
        conditions.append(Project.is_key.is_(True))
    base = base.add_columns(due).where(*conditions)
    total = await session.scalar(select(func.count()).select_from(base.subquery())) or 0

    replans = (
        select(func.count())
        .where(MilestoneReplan.milestone_id == Milestone.id, MilestoneReplan.decided_on <= flt.as_of)
        .correlate(Milestone)
        .scalar_subquery()
    )
    rank = case({level: rank for level, rank in _LEVEL_RANK.items()}, value=Escalation.level, else_=0)
    worst = (
        select(func.max(rank.cast(Integer)))
        .where(Escalation.project_id == Project.id, Escalation.occurred_on <= flt.as_of)
        .correlate(Project)
        .scalar_subquery()
    )
    rows = (
        await session.execute(
            base.add_columns(replans, worst).order_by(due, Project.id, Milestone.id).limit(limit).offset(offset)
        )
    ).all()
    by_rank = {rank: level for level, rank in _LEVEL_RANK.items()}
    return (
        [
            OverdueRow(
                milestone=m,
                project=p,
                due_on=due_on,
                days_overdue=(flt.as_of - due_on).days,
                replans=n or 0,
                worst_escalation=by_rank.get(r or 0),
            )
            for m, p, due_on, n, r in rows
        ],
        total,
    )


async def timeline(session: AsyncSession, project_id: int, as_of: date) -> list[TimelineEntry]:
    """Stage events, milestone plans / re-plans / completions / due dates, escalations and supervision
    rounds of one project, in date order."""
    project = await get_project(session, project_id)
    entries = [TimelineEntry(on=project.introduced_on, kind="introduced", summary="项目引进 / project taken up")]
    for event in await session.scalars(
        select(ProjectStageEvent).where(ProjectStageEvent.project_id == project_id).order_by(ProjectStageEvent.id)
    ):
        change = f"{event.from_stage.value if event.from_stage else '—'} → {event.to_stage.value}"
        entries.append(
            TimelineEntry(
                on=event.occurred_on,
                kind="stage_change",
                summary=change + (f": {event.note}" if event.note else ""),
                ref_id=event.id,
            )
        )
    milestones = list(await session.scalars(select(Milestone).where(Milestone.project_id == project_id)))
    for m in milestones:
        if m.completed_on is not None:
            entries.append(
                TimelineEntry(
                    on=m.completed_on, kind="milestone_completed", summary=f"{m.name} 完成", milestone_id=m.id
                )
            )
        elif m.due_on is not None:
            late = " (逾期 / overdue)" if m.due_on < as_of else ""
            entries.append(
                TimelineEntry(on=m.due_on, kind="milestone_due", summary=f"{m.name} 计划完成{late}", milestone_id=m.id)
            )
    if milestones:
        for r in await session.scalars(
            select(MilestoneReplan).where(MilestoneReplan.milestone_id.in_([m.id for m in milestones]))
        ):
            name = next(m.name for m in milestones if m.id == r.milestone_id)
            entries.append(
                TimelineEntry(
                    on=r.decided_on,
                    kind="milestone_replanned",
                    summary=f"{name}: {r.previous_due_on or '未排期 / unscheduled'} → {r.new_due_on}（{r.reason}）",
                    milestone_id=r.milestone_id,
                    ref_id=r.id,
                )
            )
    for e in await session.scalars(select(Escalation).where(Escalation.project_id == project_id)):
        entries.append(
            TimelineEntry(
                on=e.occurred_on,
                kind="escalation",
                summary=f"{e.level.value}: {e.note}" + (f" → {e.outcome}" if e.outcome else ""),
                milestone_id=e.milestone_id,
                ref_id=e.id,
            )
        )
    for sr in await session.scalars(
        select(SupervisionRound)
        .join(supervision_round_projects, supervision_round_projects.c.round_id == SupervisionRound.id)
        .where(supervision_round_projects.c.project_id == project_id)
    ):
        entries.append(TimelineEntry(on=sr.held_on, kind="supervision_round", summary=sr.title, ref_id=sr.id))
    order = [
        "introduced",
        "stage_change",
        "supervision_round",
        "escalation",
        "milestone_replanned",
        "milestone_completed",
        "milestone_due",
    ]
    return sorted(entries, key=lambda e: (e.on, order.index(e.kind), e.ref_id or 0, e.milestone_id or 0))


async def pipeline_summary(session: AsyncSession, key_only: bool, zone_id: int | None) -> PipelineSummary:
    """Per stage: projects and planned investment; per stage-to-stage step: the median days it took.
    Both aggregate in SQL (the median with window functions, portable to SQLite and PostgreSQL)."""
    scope = []
    if key_only:
        scope.append(Project.is_key.is_(True))
    if zone_id is not None:
        scope.append(in_zone(Project.zone_id, zone_id))

    per_stage = {
        stage: (count, amount)
        for stage, count, amount in await session.execute(
            select(Project.stage, func.count(), func.sum(Project.planned_investment))
            .where(*scope)
            .group_by(Project.stage)
        )
    }
    stages = [
        StageCount(
            stage=stage,
            projects=per_stage.get(stage, (0, None))[0],
            planned_investment=per_stage.get(stage, (0, None))[1] or Decimal(0),
            planned_investment_yi=yuan_to_yi(per_stage.get(stage, (0, None))[1] or Decimal(0)),
        )
        for stage in ProjectStage
    ]

    def previous(column: Any) -> Any:
        """The same project's previous stage event, in the order the changes happened."""
        return func.lag(column).over(
            partition_by=ProjectStageEvent.project_id, order_by=(ProjectStageEvent.occurred_on, ProjectStageEvent.id)
        )

    steps = (
        select(
            previous(ProjectStageEvent.to_stage).label("from_stage"),
            ProjectStageEvent.to_stage.label("to_stage"),
            days_between(ProjectStageEvent.occurred_on, previous(ProjectStageEvent.occurred_on)).label("days"),
        )
        .join(Project, Project.id == ProjectStageEvent.project_id)
        .where(*scope)
        .subquery("steps")
    )
    pair = (steps.c.from_stage, steps.c.to_stage)
    ranked = (
        select(
            steps.c.from_stage,
            steps.c.to_stage,
            steps.c.days,
            func.row_number().over(partition_by=pair, order_by=steps.c.days).label("rn"),
            func.count().over(partition_by=pair).label("n"),
        )
        .where(steps.c.from_stage.is_not(None))
        .subquery("ranked")
    )
    # The middle row (odd n) or the two middle rows (even n); `//` is integer division in both dialects.
    middle = or_(ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.rn == (ranked.c.n + 2) // 2)
    rows = await session.execute(
        select(ranked.c.from_stage, ranked.c.to_stage, func.max(ranked.c.n), func.avg(ranked.c.days))
        .where(middle)
        .group_by(ranked.c.from_stage, ranked.c.to_stage)
    )
    order = list(ProjectStage)
    transitions = sorted(
        (
            StageTransition(
                from_stage=ProjectStage(a),
                to_stage=ProjectStage(b),
                count=n,
                median_days=round_half_up(Decimal(str(median)), 1),
            )
            for a, b, n, median in rows
        ),
        key=lambda t: (order.index(t.from_stage), order.index(t.to_stage)),
    )
    return PipelineSummary(stages=stages, transitions=transitions)
