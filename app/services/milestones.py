"""Milestones on a project's two tracks: planning, re-planning with reasons, completion, templates."""

from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import ConflictError, NotFoundError, field_problem
from app.core.principal import Principal
from app.models import Escalation, Milestone, MilestoneReplan, MilestoneTemplate, Project, ProjectStage, Track
from app.schemas.project import ApplyTemplate, MilestoneCreate, MilestoneUpdate, ReplanCreate
from app.services import audit
from app.services.entered_dates import not_before_project, not_in_future
from app.services.projects import get_project
from app.services.versioning import check_version

LAST_PLANNABLE_DAY = date(2100, 12, 31)  # the schemas' upper bound for business dates


def _open_for_work(project: Project) -> None:
    if project.stage is ProjectStage.dropped:
        raise ConflictError(
            "project_dropped",
            f"项目 {project.id} 已终止，不能再加节点 / project {project.id} was dropped",
        )


async def list_milestones(
    session: AsyncSession, project_id: int, track: Track | None = None
) -> tuple[list[Milestone], dict[int, list[MilestoneReplan]]]:
    await get_project(session, project_id)
    stmt = select(Milestone).where(Milestone.project_id == project_id)
    if track is not None:
        stmt = stmt.where(Milestone.track == track)
    milestones = list(await session.scalars(stmt.order_by(Milestone.track, Milestone.sort_order, Milestone.id)))
    return milestones, await replans_of(session, [m.id for m in milestones])


async def replans_of(session: AsyncSession, milestone_ids: list[int]) -> dict[int, list[MilestoneReplan]]:
    by_milestone: dict[int, list[MilestoneReplan]] = {i: [] for i in milestone_ids}
    if milestone_ids:
        rows = await session.scalars(
            select(MilestoneReplan)
            .where(MilestoneReplan.milestone_id.in_(milestone_ids))
            .order_by(MilestoneReplan.decided_on, MilestoneReplan.id)
        )
        for row in rows:
            by_milestone[row.milestone_id].append(row)
    return by_milestone


async def get_milestone(session: AsyncSession, project_id: int, milestone_id: int) -> Milestone:
    milestone = await session.get(Milestone, milestone_id)
    if milestone is None or milestone.project_id != project_id:
        raise NotFoundError("milestone", milestone_id)
    return milestone


async def create_milestone(
    session: AsyncSession, actor: Principal, project_id: int, data: MilestoneCreate
) -> Milestone:
    project = await get_project(session, project_id)
    _open_for_work(project)
    if data.planned_on is not None:
        not_before_project("planned_on", data.planned_on, project.introduced_on)
    milestone = Milestone(
        project_id=project.id,
        track=data.track,
        name=data.name,
        sort_order=data.sort_order,
        planned_on=data.planned_on,
        due_on=data.planned_on,
        note=data.note,
    )
    session.add(milestone)
    await session.flush()
    audit.record(session, actor, "create", "milestone", milestone.id, None, audit.snapshot(milestone))
    return milestone


async def update_milestone(
    session: AsyncSession,
    actor: Principal,
    project_id: int,
    milestone_id: int,
    data: MilestoneUpdate,
    expected: frozenset[int] | None,
    today: date,
) -> Milestone:
    milestone = await get_milestone(session, project_id, milestone_id)
    check_version(milestone.version, expected)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("completed_on") is not None:
        not_in_future("completed_on", changes["completed_on"], today)
        project = await get_project(session, project_id)
        not_before_project("completed_on", changes["completed_on"], project.introduced_on)
    if changes.get("planned_on") is not None:
        not_before_project("planned_on", changes["planned_on"], (await get_project(session, project_id)).introduced_on)
    if "planned_on" in changes and milestone.planned_on is not None and changes["planned_on"] != milestone.planned_on:
        raise field_problem(
            409,
            "use_replan",
            "planned_on",
            "已排期的节点改期请走“调整计划”并说明原因 / a scheduled milestone moves by a re-plan with a reason: "
            f"POST /api/v1/projects/{project_id}/milestones/{milestone_id}/replans",
        )
    before = audit.snapshot(milestone)
    for field, value in changes.items():
        setattr(milestone, field, value)
    if "planned_on" in changes and milestone.due_on is None:
        milestone.due_on = milestone.planned_on
    await session.flush()
    audit.record(session, actor, "update", "milestone", milestone.id, before, audit.snapshot(milestone))
    return milestone


async def replan(
    session: AsyncSession,
    actor: Principal,
    project_id: int,
    milestone_id: int,
    data: ReplanCreate,
    expected: frozenset[int] | None,
    today: date,
) -> Milestone:
    milestone = await get_milestone(session, project_id, milestone_id)
    check_version(milestone.version, expected)
    decided_on = data.decided_on or today
    not_in_future("decided_on", decided_on, today)
    project = await get_project(session, project_id)
    _open_for_work(project)
    not_before_project("new_due_on", data.new_due_on, project.introduced_on)
    not_before_project("decided_on", decided_on, project.introduced_on)
    last = await session.scalar(
        select(func.max(MilestoneReplan.decided_on)).where(MilestoneReplan.milestone_id == milestone.id)
    )
    if last is not None and decided_on < last:
        raise field_problem(
            422,
            "out_of_order",
            "decided_on",
            f"早于上一次调整计划的日期 {last} / before the previous re-plan ({last})",
        )
    if milestone.completed_on is not None:
        raise ConflictError("milestone_completed", "节点已完成，无需改期 / the milestone is already completed")
    if data.new_due_on == milestone.due_on:
        raise field_problem(422, "no_change", "new_due_on", "新日期与当前计划相同 / the new date is the current one")
    before = audit.snapshot(milestone)
    session.add(
        MilestoneReplan(
            milestone_id=milestone.id,
            previous_due_on=milestone.due_on,
            new_due_on=data.new_due_on,
            decided_on=decided_on,
            reason=data.reason,
            recorded_by=actor.name,
        )
    )
    if milestone.planned_on is None:  # first scheduling of an unscheduled milestone
        milestone.planned_on = data.new_due_on
    milestone.due_on = data.new_due_on
    await session.flush()
    after = audit.snapshot(milestone) | {"reason": data.reason}
    audit.record(session, actor, "replan", "milestone", milestone.id, before, after)
    return milestone


async def delete_milestone(
    session: AsyncSession, actor: Principal, project_id: int, milestone_id: int, expected: frozenset[int] | None
) -> None:
    milestone = await get_milestone(session, project_id, milestone_id)
    check_version(milestone.version, expected)
    in_use = {
        "replans": await session.scalar(select(func.count()).where(MilestoneReplan.milestone_id == milestone_id)),
        "escalations": await session.scalar(select(func.count()).where(Escalation.milestone_id == milestone_id)),
    }
    if any(in_use.values()):
        # Re-plans and escalations are the supervision record: kept, so the milestone stays too.
        raise ConflictError(
            "milestone_in_use",
            f"节点已有调整计划或督办记录，不能删除 / milestone {milestone_id} has {in_use}",
            in_use=in_use,
        )
    before = audit.snapshot(milestone)
    await session.delete(milestone)
    await session.flush()
    audit.record(session, actor, "delete", "milestone", milestone_id, before, None)


async def apply_template(
    session: AsyncSession, actor: Principal, project_id: int, data: ApplyTemplate
) -> list[Milestone]:
    project = await get_project(session, project_id)
    _open_for_work(project)
    template = await session.get(MilestoneTemplate, data.template_id)
    if template is None:
        raise field_problem(
            422, "unknown_reference", "template_id", f"模板 {data.template_id} 不存在 / no such template"
        )
    not_before_project("start_on", data.start_on, project.introduced_on)
    if data.start_on + timedelta(days=max(int(i["offset_days"]) for i in template.items)) > LAST_PLANNABLE_DAY:
        raise field_problem(
            422,
            "date_out_of_range",
            "start_on",
            f"模板节点将晚于 {LAST_PLANNABLE_DAY} / items would fall after {LAST_PLANNABLE_DAY}",
        )
    existing = await session.scalar(select(func.count()).where(Milestone.project_id == project.id)) or 0
    created = []
    for n, item in enumerate(template.items):
        planned = data.start_on + timedelta(days=int(item["offset_days"]))
        milestone = Milestone(
            project_id=project.id,
            track=Track(item["track"]),
            name=item["name"],
            sort_order=existing + n,
            planned_on=planned,
            due_on=planned,
        )
        session.add(milestone)
        created.append(milestone)
    await session.flush()
    for milestone in created:
        audit.record(
            session,
            actor,
            "create",
            "milestone",
            milestone.id,
            None,
            audit.snapshot(milestone) | {"template": template.code},
        )
    return created
