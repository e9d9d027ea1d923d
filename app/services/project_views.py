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
    Zone,
    supervision_round_projects,
)
from app.models.functions import days_between
from app.schemas.project import PipelineSummary, StageCount, StageTransition, TimelineEntry
from app.services.calculators.units import round_half_up, yuan_to_yi
from app.services.projects import get_project
from app.services.trees import subtree

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
    days_overdue: int
    replans: int
    last_escalation: EscalationLevel | None


async def overdue_milestones(
    session: AsyncSession, flt: OverdueFilter, limit: int, offset: int
) -> tuple[list[OverdueRow], int]:
    """Open milestones whose current due date is at least `min_days_overdue` days before `as_of`,
    worst first. Due on `as_of` itself is not overdue; completed or unscheduled never are; a
    dropped project's milestones are not supervised any more."""
    latest_due = flt.as_of - timedelta(days=max(flt.min_days_overdue, 1))
    conditions = [
        Milestone.completed_on.is_(None),
        Milestone.due_on.is_not(None),
        Milestone.due_on <= latest_due,
        Project.stage != ProjectStage.dropped,
    ]
    if flt.zone_id is not None:
        zones = subtree(Zone, flt.zone_id, "zone_subtree")
        conditions.append(Project.zone_id.in_(select(zones.c.id)))
    if flt.officer_id is not None:
        conditions.append(
            or_(Project.responsible_officer_id == flt.officer_id, Project.service_officer_id == flt.officer_id)
        )
    if flt.track is not None:
        conditions.append(Milestone.track == flt.track)
    if flt.key_only:
        conditions.append(Project.is_key.is_(True))
    base = select(Milestone, Project).join(Project, Project.id == Milestone.project_id).where(*conditions)
    total = await session.scalar(select(func.count()).select_from(base.subquery())) or 0

    replans = (
        select(func.count()).where(MilestoneReplan.milestone_id == Milestone.id).correlate(Milestone).scalar_subquery()
    )
    worst = (
        select(
            func.max(
                case({level: rank for level, rank in _LEVEL_RANK.items()}, value=Escalation.level, else_=0).cast(
                    Integer
                )
            )
        )
        .where(Escalation.project_id == Project.id, Escalation.occurred_on <= flt.as_of)
        .correlate(Project)
        .scalar_subquery()
    )
    rows = (
        await session.execute(
            base.add_columns(replans, worst)
            .order_by(Milestone.due_on, Project.id, Milestone.id)
            .limit(limit)
            .offset(offset)
        )
    ).all()
    by_rank = {rank: level for level, rank in _LEVEL_RANK.items()}
    return (
        [
            OverdueRow(
                milestone=m,
                project=p,
                days_overdue=(flt.as_of - m.due_on).days if m.due_on else 0,
                replans=n or 0,
                last_escalation=by_rank.get(rank or 0),
            )
            for m, p, n, rank in rows
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
        zones = subtree(Zone, zone_id, "zone_subtree")
        scope.append(Project.zone_id.in_(select(zones.c.id)))

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
