from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import IdPath, IfMatchDep, SessionDep, TodayDep, require, set_etag, sort_dependency
from app.api.export import EXPORT_RESPONSES, ExportDep
from app.core.errors import problem_responses
from app.core.principal import Principal
from app.models import MilestoneTemplate, SupervisionRound
from app.schemas.common import MAX_ID, PageOut
from app.schemas.project import (
    SupervisionRoundCreate,
    SupervisionRoundRead,
    SupervisionRoundUpdate,
    TemplateCreate,
    TemplateRead,
    TemplateUpdate,
)
from app.services import supervision as service
from app.services.pagination import PageRequest
from app.services.projects import get_project

router = APIRouter(tags=["supervision 督查"], responses=problem_responses(401, 403, 422))


async def _round_read(session: SessionDep, row: SupervisionRound) -> SupervisionRoundRead:
    return SupervisionRoundRead(
        id=row.id,
        held_on=row.held_on,
        title=row.title,
        findings=row.findings,
        follow_up_actions=row.follow_up_actions,
        project_ids=await service.round_project_ids(session, row.id),
        version=row.version,
    )


async def _round_reads(session: AsyncSession, rounds: Sequence[SupervisionRound]) -> list[SupervisionRoundRead]:
    return [await _round_read(session, r) for r in rounds]


RoundPage = Annotated[PageRequest, sort_dependency(service.ROUND_SORTS, default="-held_on")]


@router.get(
    "/supervision-rounds",
    response_model=PageOut[SupervisionRoundRead],
    summary="Supervision rounds (督查), newest first",
    responses=EXPORT_RESPONSES | problem_responses(404),
)
async def list_rounds(
    session: SessionDep,
    actor: Annotated[Principal, require("projects:read")],
    page: RoundPage,
    export: ExportDep,
    project_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Rounds that covered this project")] = None,
) -> PageOut[SupervisionRoundRead] | Response:
    if project_id is not None:
        await get_project(session, project_id)
    if export.wanted:
        stmt = service.rounds_query(project_id, page.sort)
        return await export.respond(actor, "督查", SupervisionRoundRead, stmt, _round_reads)
    result = await service.list_rounds(session, project_id, page)
    return PageOut[SupervisionRoundRead](
        items=await _round_reads(session, result.items),
        total=result.total,
        limit=result.limit,
        offset=result.offset,
    )


@router.post(
    "/supervision-rounds",
    response_model=SupervisionRoundRead,
    status_code=status.HTTP_201_CREATED,
    summary="Record a supervision round: date, projects checked, findings, follow-up actions",
    responses=problem_responses(415),
)
async def create_round(
    data: SupervisionRoundCreate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("projects:write")],
    today: TodayDep,
) -> SupervisionRoundRead:
    row = await service.create_round(session, actor, data, today)
    set_etag(response, row.version)
    response.headers["Location"] = f"/api/v1/supervision-rounds/{row.id}"
    return await _round_read(session, row)


@router.get(
    "/supervision-rounds/{round_id:int}",
    response_model=SupervisionRoundRead,
    summary="Read a supervision round",
    responses=problem_responses(404),
)
async def get_round(
    round_id: IdPath, response: Response, session: SessionDep, _actor: Annotated[Principal, require("projects:read")]
) -> SupervisionRoundRead:
    row = await service.get_round(session, round_id)
    set_etag(response, row.version)
    return await _round_read(session, row)


@router.patch(
    "/supervision-rounds/{round_id:int}",
    response_model=SupervisionRoundRead,
    summary="Change a supervision round (project_ids replaces the list)",
    responses=problem_responses(404, 412, 415, 428),
)
async def update_round(
    round_id: IdPath,
    data: SupervisionRoundUpdate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("projects:write")],
    expected: IfMatchDep,
) -> SupervisionRoundRead:
    row = await service.update_round(session, actor, round_id, data, expected)
    set_etag(response, row.version)
    return await _round_read(session, row)


@router.get("/milestone-templates", response_model=list[TemplateRead], summary="Milestone templates per project type")
async def list_templates(
    session: SessionDep,
    _actor: Annotated[Principal, require("projects:read")],
    project_type: Annotated[str | None, Query(max_length=32, pattern=r"^[a-z][a-z0-9_]*$")] = None,
) -> list[TemplateRead]:
    return [TemplateRead.model_validate(t) for t in await service.list_templates(session, project_type)]


@router.post(
    "/milestone-templates",
    response_model=TemplateRead,
    status_code=status.HTTP_201_CREATED,
    summary="Create a milestone template",
    responses=problem_responses(409, 415),
)
async def create_template(
    data: TemplateCreate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("projects:write")],
) -> TemplateRead:
    row: MilestoneTemplate = await service.create_template(session, actor, data)
    set_etag(response, row.version)
    response.headers["Location"] = f"/api/v1/milestone-templates/{row.id}"
    return TemplateRead.model_validate(row)


@router.get(
    "/milestone-templates/{template_id:int}",
    response_model=TemplateRead,
    summary="Read a milestone template",
    responses=problem_responses(404),
)
async def get_template(
    template_id: IdPath,
    response: Response,
    session: SessionDep,
    _actor: Annotated[Principal, require("projects:read")],
) -> TemplateRead:
    row = await service.get_template(session, template_id)
    set_etag(response, row.version)
    return TemplateRead.model_validate(row)


@router.patch(
    "/milestone-templates/{template_id:int}",
    response_model=TemplateRead,
    summary="Change a template",
    responses=problem_responses(404, 412, 415, 428),
)
async def update_template(
    template_id: IdPath,
    data: TemplateUpdate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("projects:write")],
    expected: IfMatchDep,
) -> TemplateRead:
    row = await service.update_template(session, actor, template_id, data, expected)
    set_etag(response, row.version)
    return TemplateRead.model_validate(row)


@router.delete(
    "/milestone-templates/{template_id:int}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a template (milestones already made from it stay)",
    responses=problem_responses(404, 412, 428),
)
async def delete_template(
    template_id: IdPath,
    session: SessionDep,
    actor: Annotated[Principal, require("projects:write")],
    expected: IfMatchDep,
) -> None:
    await service.delete_template(session, actor, template_id, expected)
