"""Investment projects and their stage pipeline (dated events entered by officers)."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import ConflictError, NotFoundError, field_problem, unknown_reference
from app.core.principal import Principal
from app.core.scopes import Role
from app.models import (
    PIPELINE,
    Enterprise,
    Escalation,
    Industry,
    Milestone,
    Project,
    ProjectStage,
    ProjectStageEvent,
    User,
    Zone,
    supervision_round_projects,
)
from app.schemas.project import ProjectCreate, ProjectUpdate, StageEventCreate
from app.services import audit
from app.services.entered_dates import not_before_project, not_in_future
from app.services.pagination import Page, PageRequest, ordered, page_of
from app.services.trees import in_zone
from app.services.versioning import check_version
from app.services.webhooks import events as webhook_events

PROJECT_SORTS: dict[str, Any] = {
    "introduced_on": Project.introduced_on,
    "stage_since": Project.stage_since,
    "planned_investment": Project.planned_investment,
    "created_at": Project.created_at,
    "name": Project.name,
}
# For callers without clearance the name they see is the code name, so that is what sorts.
_UNCLEARED_SORTS = PROJECT_SORTS | {"name": func.coalesce(Project.code_name, Project.name)}


def officer_of(user_id: int) -> ColumnElement[bool]:
    """The project's responsible officer (项目部长) or its service officer is this user."""
    return or_(Project.responsible_officer_id == user_id, Project.service_officer_id == user_id)


def display_name(project: Project, cleared: bool) -> str:
    return project.name if cleared or not project.code_name else project.code_name


@dataclass(frozen=True)
class ProjectFilter:
    q: str | None = None
    cleared: bool = False  # may the search look at real names?
    stage: ProjectStage | None = None
    is_key: bool | None = None
    zone_id: int | None = None
    enterprise_id: int | None = None
    officer_id: int | None = None  # responsible or service officer
    project_type: str | None = None


def _filtered(flt: ProjectFilter) -> Select[Project]:
    stmt = select(Project)
    if flt.q:
        needle = flt.q.lower()
        names: ColumnElement[Any] = func.lower(func.coalesce(Project.code_name, Project.name))
        condition = names.contains(needle, autoescape=True)
        if flt.cleared:
            condition = or_(condition, func.lower(Project.name).contains(needle, autoescape=True))
        stmt = stmt.where(condition)
    if flt.stage is not None:
        stmt = stmt.where(Project.stage == flt.stage)
    if flt.is_key is not None:
        stmt = stmt.where(Project.is_key == flt.is_key)
    if flt.zone_id is not None:
        stmt = stmt.where(in_zone(Project.zone_id, flt.zone_id))
    if flt.enterprise_id is not None:
        stmt = stmt.where(Project.enterprise_id == flt.enterprise_id)
        if not flt.cleared:  # do not confirm which enterprise stands behind a code name
            stmt = stmt.where(Project.code_name.is_(None))
    if flt.officer_id is not None:
        stmt = stmt.where(officer_of(flt.officer_id))
    if flt.project_type is not None:
        stmt = stmt.where(Project.project_type == flt.project_type)
    return stmt


def projects_query(flt: ProjectFilter, sort: tuple[str, ...]) -> Select[Project]:
    """The list's statement in its order: one page of it for the list, all of it for an export."""
    return ordered(_filtered(flt), sort, PROJECT_SORTS if flt.cleared else _UNCLEARED_SORTS, Project.id)


async def list_projects(session: AsyncSession, flt: ProjectFilter, page: PageRequest) -> Page[Project]:
    return await page_of(session, projects_query(flt, page.sort), page)


async def get_project(session: AsyncSession, project_id: int) -> Project:
    project = await session.get(Project, project_id)
    if project is None:
        raise NotFoundError("project", project_id)
    return project


async def _check_references(session: AsyncSession, changes: dict[str, Any]) -> None:
    for field, model, label in (
        ("enterprise_id", Enterprise, "enterprise"),
        ("zone_id", Zone, "zone"),
        ("industry_code", Industry, "industry division"),
    ):
        key = changes.get(field)
        if key is not None and await session.get(model, key) is None:
            raise unknown_reference(field, label, key)
    for field in ("responsible_officer_id", "service_officer_id"):
        officer_id = changes.get(field)
        if officer_id is not None:
            officer = await session.get(User, officer_id)
            if officer is None or not officer.is_active or officer.role == Role.viewer:
                raise unknown_reference(field, "active officer (not a viewer)", officer_id)


async def create_project(session: AsyncSession, actor: Principal, data: ProjectCreate, today: date) -> Project:
    not_in_future("introduced_on", data.introduced_on, today)
    fields = data.model_dump(exclude={"note", "stage"})
    await _check_references(session, fields)
    stage = ProjectStage(data.stage)
    project = Project(**fields, stage=stage, stage_since=data.introduced_on)
    session.add(project)
    await session.flush()
    session.add(
        ProjectStageEvent(
            project_id=project.id,
            from_stage=None,
            to_stage=stage,
            occurred_on=data.introduced_on,
            note=data.note,
            recorded_by=actor.name,
        )
    )
    audit.record(session, actor, "create", "project", project.id, None, audit.snapshot(project))
    return project


async def update_project(
    session: AsyncSession, actor: Principal, project_id: int, data: ProjectUpdate, expected: frozenset[int] | None
) -> Project:
    project = await get_project(session, project_id)
    check_version(project.version, expected)
    changes = data.model_dump(exclude_unset=True)
    await _check_references(session, changes)
    before = audit.snapshot(project)
    for field, value in changes.items():
        setattr(project, field, value)
    await session.flush()
    audit.record(session, actor, "update", "project", project.id, before, audit.snapshot(project))
    return project


async def delete_project(
    session: AsyncSession, actor: Principal, project_id: int, expected: frozenset[int] | None
) -> None:
    project = await get_project(session, project_id)
    check_version(project.version, expected)
    in_use = {
        "milestones": await session.scalar(select(func.count()).where(Milestone.project_id == project_id)),
        "stage_changes": (
            await session.scalar(select(func.count()).where(ProjectStageEvent.project_id == project_id)) or 1
        )
        - 1,
        "escalations": await session.scalar(select(func.count()).where(Escalation.project_id == project_id)),
        "supervision_rounds": await session.scalar(
            select(func.count()).where(supervision_round_projects.c.project_id == project_id)
        ),
    }
    if any(in_use.values()):
        listing = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in in_use.items() if n)
        raise ConflictError(
            "project_in_use",
            f"项目已有节点、阶段变更或督办记录，请改为终止 / project {project_id} has a history ({listing}); "
            "record a `dropped` stage event instead of deleting it",
            in_use=in_use,
        )
    before = audit.snapshot(project)
    await session.delete(project)
    await session.flush()
    audit.record(session, actor, "delete", "project", project_id, before, None)


# --- the stage pipeline ----------------------------------------------------------------------------------


def transition_problem(current: ProjectStage, target: ProjectStage, resume_from: ProjectStage | None) -> str | None:
    """Why current → target is not allowed, or None. Forward along the pipeline (stages may be skipped),
    on_hold from any pipeline stage and back to where it was or further, dropped from anywhere."""
    if current is ProjectStage.dropped:
        return "the project was dropped; it cannot change stage"
    if target is current:
        return f"the project is already {current.value}"
    if target is ProjectStage.dropped:
        return None
    if target is ProjectStage.on_hold:
        return None
    floor = resume_from if current is ProjectStage.on_hold else current
    if floor is not None and PIPELINE.index(target) < PIPELINE.index(floor):
        return f"{target.value} is before {floor.value}: stages only move forward"
    return None


async def stage_events(session: AsyncSession, project_id: int) -> list[ProjectStageEvent]:
    await get_project(session, project_id)
    rows = await session.scalars(
        select(ProjectStageEvent)
        .where(ProjectStageEvent.project_id == project_id)
        .order_by(ProjectStageEvent.occurred_on, ProjectStageEvent.id)
    )
    return list(rows)


async def change_stage(
    session: AsyncSession,
    actor: Principal,
    project_id: int,
    data: StageEventCreate,
    expected: frozenset[int] | None,
    today: date,
) -> ProjectStageEvent:
    project = await get_project(session, project_id)
    check_version(project.version, expected)
    not_in_future("occurred_on", data.occurred_on, today)
    not_before_project("occurred_on", data.occurred_on, project.introduced_on)
    if data.occurred_on < project.stage_since:
        raise field_problem(
            422,
            "out_of_order",
            "occurred_on",
            f"早于当前阶段的开始日期 {project.stage_since} / before the current stage began ({project.stage_since})",
        )
    history = await stage_events(session, project_id)
    resume_from = next((e.to_stage for e in reversed(history) if e.to_stage in PIPELINE), None)
    problem = transition_problem(project.stage, data.to_stage, resume_from)
    if problem:
        raise ConflictError(
            "invalid_transition",
            f"不允许的阶段变更 / {project.stage.value} → {data.to_stage.value}: {problem}",
            current_stage=project.stage.value,
        )
    before = audit.snapshot(project)
    event = ProjectStageEvent(
        project_id=project.id,
        from_stage=project.stage,
        to_stage=data.to_stage,
        occurred_on=data.occurred_on,
        note=data.note,
        recorded_by=actor.name,
    )
    session.add(event)
    project.stage = data.to_stage
    project.stage_since = data.occurred_on
    await session.flush()
    audit.record(session, actor, "stage_change", "project", project.id, before, audit.snapshot(project))
    # Subscribers hear of it in this transaction's outbox: a rolled-back change is never announced.
    await webhook_events.stage_changed(
        session, project, event.id, event.from_stage, event.to_stage, event.occurred_on, event.recorded_at
    )
    return event
