from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.api.deps import IdPath, IfMatchDep, SessionDep, TodayDep, require, set_etag, sort_dependency
from app.api.export import EXPORT_RESPONSES, ExportDep, each
from app.core.errors import ProblemError, problem_responses
from app.core.principal import Principal
from app.core.scopes import CONFIDENTIAL
from app.models import Escalation, Project, ProjectStage
from app.schemas.common import MAX_ID, PageOut, QueryDate, SearchText
from app.schemas.project import (
    EscalationCreate,
    EscalationRead,
    EscalationUpdate,
    ProjectCreate,
    ProjectRead,
    ProjectUpdate,
    StageEventCreate,
    StageEventRead,
    TimelineEntry,
)
from app.services import project_views, supervision
from app.services import projects as service
from app.services.pagination import PageRequest

router = APIRouter(prefix="/projects", tags=["projects 招商项目"], responses=problem_responses(401, 403, 422))

# What a caller without confidential:read may not change on a code-named project (it could not read them back).
_CONFIDENTIAL_FIELDS = frozenset({"name", "code_name", "enterprise_id"})

ProjectPage = Annotated[PageRequest, sort_dependency(service.PROJECT_SORTS, default="-introduced_on")]


def to_read(project: Project, viewer: Principal) -> ProjectRead:
    cleared = CONFIDENTIAL in viewer.scopes
    masked = not cleared and bool(project.code_name)
    fields = {name: getattr(project, name) for name in ProjectRead.model_fields if name != "name_masked"}
    # The investor would give a code-named project away as surely as its name.
    hidden = {"name": project.code_name, "enterprise_id": None} if masked else {}
    return ProjectRead(**fields | hidden, name_masked=masked)


@router.get(
    "",
    response_model=PageOut[ProjectRead],
    summary="List projects",
    description="Callers without `confidential:read` see a project's code name instead of its name, and `q` "
    "searches only what they can see.",
    responses=EXPORT_RESPONSES,
)
async def list_projects(
    session: SessionDep,
    actor: Annotated[Principal, require("projects:read")],
    page: ProjectPage,
    export: ExportDep,
    q: Annotated[SearchText | None, Query(description="Name (or code name) contains")] = None,
    stage: ProjectStage | None = None,
    is_key: bool | None = None,
    zone_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="In this zone or its sub-zones")] = None,
    enterprise_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    officer_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Responsible or service officer")] = None,
    project_type: Annotated[str | None, Query(max_length=32, pattern=r"^[a-z][a-z0-9_]*$")] = None,
) -> PageOut[ProjectRead] | Response:
    flt = service.ProjectFilter(
        q=q,
        cleared=CONFIDENTIAL in actor.scopes,
        stage=stage,
        is_key=is_key,
        zone_id=zone_id,
        enterprise_id=enterprise_id,
        officer_id=officer_id,
        project_type=project_type,
    )
    if export.wanted:
        stmt = service.projects_query(flt, page.sort)
        return await export.respond(actor, "招商项目", ProjectRead, stmt, each(lambda p: to_read(p, actor)))
    result = await service.list_projects(session, flt, page)
    return PageOut[ProjectRead](
        items=[to_read(p, actor) for p in result.items], total=result.total, limit=result.limit, offset=result.offset
    )


@router.post(
    "",
    response_model=ProjectRead,
    status_code=status.HTTP_201_CREATED,
    summary="Register a project",
    description="Records the first stage event (`stage`, default negotiating) on `introduced_on`.",
    responses=problem_responses(415),
)
async def create_project(
    data: ProjectCreate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("projects:write")],
    today: TodayDep,
) -> ProjectRead:
    project = await service.create_project(session, actor, data, today)
    response.headers["Location"] = f"/api/v1/projects/{project.id}"
    set_etag(response, project.version)
    return to_read(project, actor)


@router.get("/{project_id:int}", response_model=ProjectRead, summary="Read a project", responses=problem_responses(404))
async def get_project(
    project_id: IdPath, response: Response, session: SessionDep, actor: Annotated[Principal, require("projects:read")]
) -> ProjectRead:
    project = await service.get_project(session, project_id)
    set_etag(response, project.version)
    return to_read(project, actor)


@router.patch(
    "/{project_id:int}",
    response_model=ProjectRead,
    summary="Change a project (stages change through stage events)",
    responses=problem_responses(404, 412, 415, 428),
)
async def update_project(
    project_id: IdPath,
    data: ProjectUpdate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("projects:write")],
    expected: IfMatchDep,
) -> ProjectRead:
    # What a caller may not read of a code-named project it may not write either: clearing the code name
    # would show it the real name and the investor.
    secret = data.model_fields_set & _CONFIDENTIAL_FIELDS
    if secret and CONFIDENTIAL not in actor.scopes and (await service.get_project(session, project_id)).code_name:
        raise ProblemError(
            403,
            "insufficient_scope",
            f"代号项目的名称、代号与投资方需要 {CONFIDENTIAL} / a code-named project's {', '.join(sorted(secret))} "
            f"need {CONFIDENTIAL}",
        )
    project = await service.update_project(session, actor, project_id, data, expected)
    set_etag(response, project.version)
    return to_read(project, actor)


@router.delete(
    "/{project_id:int}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a project with its milestones and history (prefer a `dropped` stage event)",
    responses=problem_responses(404, 412, 428),
)
async def delete_project(
    project_id: IdPath,
    session: SessionDep,
    actor: Annotated[Principal, require("projects:write")],
    expected: IfMatchDep,
) -> None:
    await service.delete_project(session, actor, project_id, expected)


@router.get(
    "/{project_id:int}/stage-events",
    response_model=list[StageEventRead],
    summary="The project's stage history",
    responses=problem_responses(404),
)
async def list_stage_events(
    project_id: IdPath, session: SessionDep, _actor: Annotated[Principal, require("projects:read")]
) -> list[StageEventRead]:
    return [StageEventRead.model_validate(e) for e in await service.stage_events(session, project_id)]


@router.post(
    "/{project_id:int}/stage-events",
    response_model=StageEventRead,
    status_code=status.HTTP_201_CREATED,
    summary="Record a stage change on the day it happened",
    description=(
        "Stages move forward along negotiating → signed → registered → under_construction → operating (a stage "
        "may be skipped); `on_hold` from any of them and back to where it was or further; `dropped` from "
        "anywhere, and nothing after it. The date may be in the past but not the future, not before the "
        "project was introduced, and not before the current stage began. Send the project's `If-Match`."
    ),
    responses=problem_responses(404, 409, 412, 415, 428),
)
async def change_stage(
    project_id: IdPath,
    data: StageEventCreate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("projects:write")],
    expected: IfMatchDep,
    today: TodayDep,
) -> StageEventRead:
    event = await service.change_stage(session, actor, project_id, data, expected, today)
    project = await service.get_project(session, project_id)
    set_etag(response, project.version)
    return StageEventRead.model_validate(event)


@router.get(
    "/{project_id:int}/timeline",
    response_model=list[TimelineEntry],
    summary="Everything that happened to a project, in date order",
    responses=problem_responses(404),
)
async def get_timeline(
    project_id: IdPath,
    session: SessionDep,
    _actor: Annotated[Principal, require("projects:read")],
    today: TodayDep,
    as_of: Annotated[QueryDate | None, Query(description="Marks open milestones due before it as overdue")] = None,
) -> list[TimelineEntry]:
    return await project_views.timeline(session, project_id, as_of or today)


@router.get(
    "/{project_id:int}/escalations",
    response_model=list[EscalationRead],
    summary="Escalations (督办) on the project",
    responses=problem_responses(404),
)
async def list_escalations(
    project_id: IdPath, session: SessionDep, _actor: Annotated[Principal, require("projects:read")]
) -> list[EscalationRead]:
    return [EscalationRead.model_validate(e) for e in await supervision.list_escalations(session, project_id)]


@router.post(
    "/{project_id:int}/escalations",
    response_model=EscalationRead,
    status_code=status.HTTP_201_CREATED,
    summary="Record a reminder, supervision notice or interview (约谈) on the project or one milestone",
    responses=problem_responses(404, 415),
)
async def create_escalation(
    project_id: IdPath,
    data: EscalationCreate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("projects:write")],
    today: TodayDep,
) -> EscalationRead:
    escalation = await supervision.create_escalation(session, actor, project_id, data, today)
    set_etag(response, escalation.version)
    return EscalationRead.model_validate(escalation)


@router.patch(
    "/{project_id:int}/escalations/{escalation_id:int}",
    response_model=EscalationRead,
    summary="Record an escalation's outcome",
    responses=problem_responses(404, 412, 415, 428),
)
async def update_escalation(
    project_id: IdPath,
    escalation_id: IdPath,
    data: EscalationUpdate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("projects:write")],
    expected: IfMatchDep,
) -> EscalationRead:
    escalation: Escalation = await supervision.update_escalation(
        session, actor, project_id, escalation_id, data, expected
    )
    set_etag(response, escalation.version)
    return EscalationRead.model_validate(escalation)
