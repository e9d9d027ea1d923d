from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from app.api.deps import IdPath, IfMatchDep, SessionDep, TodayDep, page_params, require, set_etag
from app.core.errors import problem_responses
from app.core.principal import Principal
from app.core.scopes import CONFIDENTIAL
from app.models import Milestone, MilestoneReplan, Track
from app.schemas.common import MAX_ID, QueryDate
from app.schemas.project import (
    ApplyTemplate,
    MilestoneCreate,
    MilestoneRead,
    MilestoneUpdate,
    OverdueMilestone,
    OverduePage,
    ReplanCreate,
    ReplanRead,
)
from app.services import milestones as service
from app.services import project_views
from app.services.calculators.milestones import due_in_force, milestone_status, slip_days
from app.services.projects import display_name

router = APIRouter(tags=["projects 招商项目"], responses=problem_responses(401, 403, 422))
BASE = "/projects/{project_id:int}/milestones"


def to_read(milestone: Milestone, replans: list[MilestoneReplan], today: date) -> MilestoneRead:
    """`status` and `days_overdue` as they stood on `today` (an as_of may look back)."""
    history = [(r.decided_on, r.previous_due_on, r.new_due_on) for r in replans]
    state, days = milestone_status(due_in_force(milestone.planned_on, history, today), milestone.completed_on, today)
    return MilestoneRead(
        id=milestone.id,
        project_id=milestone.project_id,
        track=milestone.track,
        name=milestone.name,
        sort_order=milestone.sort_order,
        planned_on=milestone.planned_on,
        due_on=milestone.due_on,
        slip_days=slip_days(milestone.planned_on, milestone.due_on),
        completed_on=milestone.completed_on,
        status=state,
        days_overdue=days,
        note=milestone.note,
        replans=[ReplanRead.model_validate(r) for r in replans],
        version=milestone.version,
    )


async def _answer(session: SessionDep, response: Response, milestone: Milestone, today: date) -> MilestoneRead:
    """One milestone with its re-plans, and its ETag."""
    replans = await service.replans_of(session, [milestone.id])
    set_etag(response, milestone.version)
    return to_read(milestone, replans[milestone.id], today)


@router.get(
    "/milestones/overdue",
    response_model=OverduePage,
    summary="Overdue milestones across projects, worst first (the 'behind schedule' list)",
    description=(
        "A milestone is overdue on `as_of` (default: today in Asia/Shanghai) when it is not completed and its "
        "current due date is before `as_of`. Due on `as_of` is not overdue; completed and unscheduled never "
        "are; dropped projects are left out. `min_days_overdue` keeps only those at least that late."
    ),
)
async def overdue(
    session: SessionDep,
    actor: Annotated[Principal, require("projects:read")],
    today: TodayDep,
    paging: Annotated[tuple[int, int], Depends(page_params)],
    as_of: QueryDate | None = None,
    zone_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Projects in this zone or below")] = None,
    officer_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Responsible or service officer")] = None,
    track: Track | None = None,
    key_only: bool = False,
    min_days_overdue: Annotated[int, Query(ge=1, le=36_500)] = 1,
) -> OverduePage:
    limit, offset = paging
    flt = project_views.OverdueFilter(
        as_of=as_of or today,
        zone_id=zone_id,
        officer_id=officer_id,
        track=track,
        key_only=key_only,
        min_days_overdue=min_days_overdue,
    )
    rows, total = await project_views.overdue_milestones(session, flt, limit, offset)
    cleared = CONFIDENTIAL in actor.scopes
    return OverduePage(
        as_of=flt.as_of,
        items=[
            OverdueMilestone(
                milestone_id=r.milestone.id,
                milestone_name=r.milestone.name,
                track=r.milestone.track,
                planned_on=r.milestone.planned_on,
                due_on=r.due_on,
                days_overdue=r.days_overdue,
                replans=r.replans,
                project_id=r.project.id,
                project_name=display_name(r.project, cleared),
                project_stage=r.project.stage,
                is_key=r.project.is_key,
                zone_id=r.project.zone_id,
                responsible_officer_id=r.project.responsible_officer_id,
                service_officer_id=r.project.service_officer_id,
                worst_escalation=r.worst_escalation,
            )
            for r in rows
        ],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get(
    BASE,
    response_model=list[MilestoneRead],
    summary="The project's milestone tables (both tracks)",
    responses=problem_responses(404),
)
async def list_milestones(
    project_id: IdPath,
    session: SessionDep,
    _actor: Annotated[Principal, require("projects:read")],
    today: TodayDep,
    track: Track | None = None,
    as_of: Annotated[QueryDate | None, Query(description="Status as of this date (default: today)")] = None,
) -> list[MilestoneRead]:
    milestones, replans = await service.list_milestones(session, project_id, track)
    return [to_read(m, replans[m.id], as_of or today) for m in milestones]


@router.post(
    BASE,
    response_model=MilestoneRead,
    status_code=status.HTTP_201_CREATED,
    summary="Add a milestone",
    responses=problem_responses(404, 409, 415),
)
async def create_milestone(
    project_id: IdPath,
    data: MilestoneCreate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("projects:write")],
    today: TodayDep,
) -> MilestoneRead:
    milestone = await service.create_milestone(session, actor, project_id, data)
    response.headers["Location"] = f"/api/v1/projects/{project_id}/milestones/{milestone.id}"
    set_etag(response, milestone.version)
    return to_read(milestone, [], today)


@router.post(
    BASE + "/from-template",
    response_model=list[MilestoneRead],
    status_code=status.HTTP_201_CREATED,
    summary="Add a template's milestones, each planned start_on + offset_days",
    responses=problem_responses(404, 409, 415),
)
async def apply_template(
    project_id: IdPath,
    data: ApplyTemplate,
    session: SessionDep,
    actor: Annotated[Principal, require("projects:write")],
    today: TodayDep,
) -> list[MilestoneRead]:
    return [to_read(m, [], today) for m in await service.apply_template(session, actor, project_id, data)]


@router.get(
    BASE + "/{milestone_id:int}",
    response_model=MilestoneRead,
    summary="Read a milestone",
    responses=problem_responses(404),
)
async def get_milestone(
    project_id: IdPath,
    milestone_id: IdPath,
    response: Response,
    session: SessionDep,
    _actor: Annotated[Principal, require("projects:read")],
    today: TodayDep,
) -> MilestoneRead:
    milestone = await service.get_milestone(session, project_id, milestone_id)
    return await _answer(session, response, milestone, today)


@router.patch(
    BASE + "/{milestone_id:int}",
    response_model=MilestoneRead,
    summary="Rename, complete (with the day it happened), reopen, or first schedule a milestone",
    description="Moving a scheduled milestone's date is a re-plan (`POST …/replans`) with a reason.",
    responses=problem_responses(404, 409, 412, 415, 428),
)
async def update_milestone(
    project_id: IdPath,
    milestone_id: IdPath,
    data: MilestoneUpdate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("projects:write")],
    expected: IfMatchDep,
    today: TodayDep,
) -> MilestoneRead:
    milestone = await service.update_milestone(session, actor, project_id, milestone_id, data, expected, today)
    return await _answer(session, response, milestone, today)


@router.post(
    BASE + "/{milestone_id:int}/replans",
    response_model=MilestoneRead,
    summary="Re-plan: a new due date with its reason (the original plan and every re-plan are kept)",
    responses=problem_responses(404, 409, 412, 415, 428),
)
async def replan(
    project_id: IdPath,
    milestone_id: IdPath,
    data: ReplanCreate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("projects:write")],
    expected: IfMatchDep,
    today: TodayDep,
) -> MilestoneRead:
    milestone = await service.replan(session, actor, project_id, milestone_id, data, expected, today)
    return await _answer(session, response, milestone, today)


@router.delete(
    BASE + "/{milestone_id:int}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a milestone",
    responses=problem_responses(404, 412, 428),
)
async def delete_milestone(
    project_id: IdPath,
    milestone_id: IdPath,
    session: SessionDep,
    actor: Annotated[Principal, require("projects:write")],
    expected: IfMatchDep,
) -> None:
    await service.delete_milestone(session, actor, project_id, milestone_id, expected)
