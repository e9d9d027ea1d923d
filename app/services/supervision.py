"""Supervision (督办/督查): escalations on projects or milestones, supervision rounds, milestone templates."""

from datetime import date

from sqlalchemy import Select, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import ConflictError, NotFoundError, unknown_reference
from app.core.principal import Principal
from app.models import Escalation, Milestone, MilestoneTemplate, Project, SupervisionRound, supervision_round_projects
from app.models.base import utcnow
from app.schemas.project import (
    EscalationCreate,
    EscalationUpdate,
    SupervisionRoundCreate,
    SupervisionRoundUpdate,
    TemplateCreate,
    TemplateUpdate,
)
from app.services import audit
from app.services.entered_dates import not_before_project, not_in_future
from app.services.pagination import Page, PageRequest, ordered, page_of
from app.services.projects import get_project
from app.services.versioning import check_version

# --- escalations -----------------------------------------------------------------------------------------


async def list_escalations(session: AsyncSession, project_id: int) -> list[Escalation]:
    await get_project(session, project_id)
    rows = await session.scalars(
        select(Escalation).where(Escalation.project_id == project_id).order_by(Escalation.occurred_on, Escalation.id)
    )
    return list(rows)


async def create_escalation(
    session: AsyncSession, actor: Principal, project_id: int, data: EscalationCreate, today: date
) -> Escalation:
    project = await get_project(session, project_id)
    not_in_future("occurred_on", data.occurred_on, today)
    not_before_project("occurred_on", data.occurred_on, project.introduced_on)
    if data.milestone_id is not None:
        milestone = await session.get(Milestone, data.milestone_id)
        if milestone is None or milestone.project_id != project.id:
            raise unknown_reference("milestone_id", "milestone of this project", data.milestone_id)
    escalation = Escalation(
        project_id=project.id,
        milestone_id=data.milestone_id,
        level=data.level,
        occurred_on=data.occurred_on,
        officer_id=actor.id if actor.kind == "user" else None,
        note=data.note,
        outcome=data.outcome,
    )
    session.add(escalation)
    await session.flush()
    audit.record(session, actor, "create", "escalation", escalation.id, None, audit.snapshot(escalation))
    return escalation


async def update_escalation(
    session: AsyncSession,
    actor: Principal,
    project_id: int,
    escalation_id: int,
    data: EscalationUpdate,
    expected: frozenset[int] | None,
) -> Escalation:
    escalation = await session.get(Escalation, escalation_id)
    if escalation is None or escalation.project_id != project_id:
        raise NotFoundError("escalation", escalation_id)
    check_version(escalation.version, expected)
    before = audit.snapshot(escalation)
    for field, value in data.model_dump(exclude_unset=True).items():
        setattr(escalation, field, value)
    await session.flush()
    audit.record(session, actor, "update", "escalation", escalation.id, before, audit.snapshot(escalation))
    return escalation


# --- supervision rounds ----------------------------------------------------------------------------------


async def round_project_ids(session: AsyncSession, round_id: int) -> list[int]:
    rows = await session.scalars(
        select(supervision_round_projects.c.project_id)
        .where(supervision_round_projects.c.round_id == round_id)
        .order_by(supervision_round_projects.c.project_id)
    )
    return list(rows)


async def _check_projects(session: AsyncSession, project_ids: list[int], held_on: date) -> None:
    found = dict(
        (await session.execute(select(Project.id, Project.introduced_on).where(Project.id.in_(project_ids)))).all()
    )
    missing = sorted(set(project_ids) - found.keys())
    if missing:
        raise unknown_reference("project_ids", "project", ", ".join(map(str, missing)))
    not_before_project("held_on", held_on, max(found.values()))


async def _set_projects(session: AsyncSession, round_id: int, project_ids: list[int]) -> None:
    await session.execute(delete(supervision_round_projects).where(supervision_round_projects.c.round_id == round_id))
    await session.execute(
        insert(supervision_round_projects), [{"round_id": round_id, "project_id": p} for p in project_ids]
    )


ROUND_SORTS = {"held_on": SupervisionRound.held_on}


def rounds_query(project_id: int | None, sort: tuple[str, ...]) -> Select[SupervisionRound]:
    """The list's statement in its order: one page of it for the list, all of it for an export."""
    stmt = select(SupervisionRound)
    if project_id is not None:
        covered = select(supervision_round_projects.c.round_id).where(
            supervision_round_projects.c.project_id == project_id
        )
        stmt = stmt.where(SupervisionRound.id.in_(covered))
    return ordered(stmt, sort, ROUND_SORTS, SupervisionRound.id)


async def list_rounds(session: AsyncSession, project_id: int | None, page: PageRequest) -> Page[SupervisionRound]:
    return await page_of(session, rounds_query(project_id, page.sort), page)


async def get_round(session: AsyncSession, round_id: int) -> SupervisionRound:
    row = await session.get(SupervisionRound, round_id)
    if row is None:
        raise NotFoundError("supervision round", round_id)
    return row


async def create_round(
    session: AsyncSession, actor: Principal, data: SupervisionRoundCreate, today: date
) -> SupervisionRound:
    not_in_future("held_on", data.held_on, today)
    await _check_projects(session, data.project_ids, data.held_on)
    row = SupervisionRound(
        held_on=data.held_on, title=data.title, findings=data.findings, follow_up_actions=data.follow_up_actions
    )
    session.add(row)
    await session.flush()
    await _set_projects(session, row.id, data.project_ids)
    audit.record(
        session,
        actor,
        "create",
        "supervision_round",
        row.id,
        None,
        audit.snapshot(row) | {"project_ids": data.project_ids},
    )
    return row


async def update_round(
    session: AsyncSession,
    actor: Principal,
    round_id: int,
    data: SupervisionRoundUpdate,
    expected: frozenset[int] | None,
) -> SupervisionRound:
    row = await get_round(session, round_id)
    check_version(row.version, expected)
    changes = data.model_dump(exclude_unset=True)
    project_ids = changes.pop("project_ids", None)
    before = audit.snapshot(row) | {"project_ids": await round_project_ids(session, round_id)}
    if project_ids is not None:
        await _check_projects(session, project_ids, row.held_on)
        if sorted(project_ids) != before["project_ids"]:
            await _set_projects(session, round_id, project_ids)
            row.updated_at = utcnow()  # a membership change alone still moves the version (ETag)
    for field, value in changes.items():
        setattr(row, field, value)
    await session.flush()
    after = audit.snapshot(row) | {"project_ids": await round_project_ids(session, round_id)}
    audit.record(session, actor, "update", "supervision_round", row.id, before, after)
    return row


# --- milestone templates ---------------------------------------------------------------------------------


async def list_templates(session: AsyncSession, project_type: str | None) -> list[MilestoneTemplate]:
    stmt = select(MilestoneTemplate)
    if project_type is not None:
        stmt = stmt.where(MilestoneTemplate.project_type == project_type)
    return list(await session.scalars(stmt.order_by(MilestoneTemplate.code)))


async def get_template(session: AsyncSession, template_id: int) -> MilestoneTemplate:
    row = await session.get(MilestoneTemplate, template_id)
    if row is None:
        raise NotFoundError("milestone template", template_id)
    return row


async def create_template(session: AsyncSession, actor: Principal, data: TemplateCreate) -> MilestoneTemplate:
    existing = await session.scalar(select(MilestoneTemplate.id).where(MilestoneTemplate.code == data.code))
    if existing is not None:
        raise ConflictError(
            "duplicate", f"模板编码 {data.code} 已存在 / template code {data.code} is taken", existing_id=existing
        )
    row = MilestoneTemplate(
        code=data.code,
        name=data.name,
        project_type=data.project_type,
        items=[item.model_dump(mode="json") for item in data.items],
    )
    session.add(row)
    await session.flush()
    audit.record(session, actor, "create", "milestone_template", row.id, None, audit.snapshot(row))
    return row


async def update_template(
    session: AsyncSession, actor: Principal, template_id: int, data: TemplateUpdate, expected: frozenset[int] | None
) -> MilestoneTemplate:
    row = await get_template(session, template_id)
    check_version(row.version, expected)
    before = audit.snapshot(row)
    changes = data.model_dump(exclude_unset=True, mode="json")
    for field, value in changes.items():
        setattr(row, field, value)
    await session.flush()
    audit.record(session, actor, "update", "milestone_template", row.id, before, audit.snapshot(row))
    return row


async def delete_template(
    session: AsyncSession, actor: Principal, template_id: int, expected: frozenset[int] | None
) -> None:
    row = await get_template(session, template_id)
    check_version(row.version, expected)
    before = audit.snapshot(row)
    await session.delete(row)
    await session.flush()
    audit.record(session, actor, "delete", "milestone_template", template_id, before, None)
