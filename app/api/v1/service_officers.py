from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import IdPath, IfMatchDep, SessionDep, TodayDep, page_params, require, set_etag
from app.core.errors import ProblemError, problem_responses
from app.core.principal import Principal
from app.models import OfficerRole, ServiceOfficerAssignment
from app.schemas.common import QueryDate
from app.schemas.service_officer import (
    AssignmentCreate,
    AssignmentEnd,
    AssignmentRead,
    OfficerWorkload,
    ServiceTeam,
    WorkloadPage,
)
from app.services import service_analytics
from app.services import service_officers as service
from app.services.enterprises import get_enterprise
from app.services.versioning import check_version

router = APIRouter(tags=["service desk 企业服务"], responses=problem_responses(401, 403, 422))
TEAM = "/enterprises/{enterprise_id:int}/service-officers"


async def reads(session: AsyncSession, assignments: list[ServiceOfficerAssignment]) -> list[AssignmentRead]:
    names = await service.officer_names(session, {a.officer_id for a in assignments})
    return [
        AssignmentRead(
            id=a.id,
            enterprise_id=a.enterprise_id,
            officer_id=a.officer_id,
            officer_name=names.get(a.officer_id, ""),
            role=a.role,
            started_on=a.started_on,
            ended_on=a.ended_on,
            note=a.note,
            ended_note=a.ended_note,
            recorded_by=a.recorded_by,
            recorded_at=a.recorded_at,
        )
        for a in assignments
    ]


@router.get(
    TEAM,
    response_model=ServiceTeam,
    summary="An enterprise's service team on a date: its primary (首席服务官) and deputies",
    description="`as_of` defaults to today (Asia/Shanghai). The response's ETag is the enterprise's: team changes "
    "need it as If-Match.",
    responses=problem_responses(404),
)
async def get_team(
    enterprise_id: IdPath,
    response: Response,
    session: SessionDep,
    _actor: Annotated[Principal, require("enterprises:read", "services:read")],
    today: TodayDep,
    as_of: QueryDate | None = None,
) -> ServiceTeam:
    enterprise = await get_enterprise(session, enterprise_id)
    day = as_of or today
    members = await reads(session, await service.team(session, enterprise_id, day))
    set_etag(response, enterprise.version)
    return ServiceTeam(
        enterprise_id=enterprise_id,
        as_of=day,
        primary=next((m for m in members if m.role is OfficerRole.primary), None),
        deputies=[m for m in members if m.role is OfficerRole.deputy],
    )


@router.get(
    f"{TEAM}/history",
    response_model=list[AssignmentRead],
    summary="Every assignment and hand-over of an enterprise's service officers, oldest first",
    responses=problem_responses(404),
)
async def get_history(
    enterprise_id: IdPath,
    session: SessionDep,
    _actor: Annotated[Principal, require("enterprises:read", "services:read")],
) -> list[AssignmentRead]:
    await get_enterprise(session, enterprise_id)
    return await reads(session, await service.assignments_of(session, enterprise_id))


@router.post(
    TEAM,
    response_model=AssignmentRead,
    status_code=status.HTTP_201_CREATED,
    summary="Add a deputy, or hand the enterprise over to a new primary",
    description=(
        "`role=primary` closes the current primary's assignment on `started_on` (a hand-over) and, if the new "
        "primary was a deputy, that deputy post too. Needs the enterprise's ETag as If-Match; the answer's ETag "
        "is the enterprise's new version. Overlapping posts answer 409 `assignment_overlap`; an officer already "
        "in that role, 409 `already_assigned`."
    ),
    responses=problem_responses(404, 409, 412, 415, 428),
)
async def add_assignment(
    enterprise_id: IdPath,
    data: AssignmentCreate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("enterprises:read", "services:write")],
    expected: IfMatchDep,
    today: TodayDep,
) -> AssignmentRead:
    enterprise = await get_enterprise(session, enterprise_id)
    check_version(enterprise.version, expected)
    assignment = await service.assign(
        session, actor, enterprise, data.officer_id, data.role, data.started_on, data.note, today
    )
    response.headers["Location"] = f"/api/v1/enterprises/{enterprise_id}/service-officers/history"
    set_etag(response, enterprise.version)
    [read] = await reads(session, [assignment])
    return read


@router.post(
    f"{TEAM}/{{assignment_id:int}}/end",
    response_model=AssignmentRead,
    summary="End an officer's assignment (a deputy leaving, or a primary without a successor)",
    responses=problem_responses(404, 409, 412, 415, 428),
)
async def end_assignment(
    enterprise_id: IdPath,
    assignment_id: IdPath,
    data: AssignmentEnd,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("enterprises:read", "services:write")],
    expected: IfMatchDep,
    today: TodayDep,
) -> AssignmentRead:
    enterprise = await get_enterprise(session, enterprise_id)
    check_version(enterprise.version, expected)
    assignment = await service.end(session, actor, enterprise, assignment_id, data.ended_on, data.note, today)
    set_etag(response, enterprise.version)
    [read] = await reads(session, [assignment])
    return read


async def _workload_sort(
    sort: Annotated[
        str,
        Query(
            max_length=100,
            description=f"Comma-separated, '-' for descending. Allowed: {', '.join(service_analytics.WORKLOAD_SORTS)}",
        ),
    ] = "-open_requests",
) -> tuple[str, ...]:
    parts = tuple(p.strip() for p in sort.split(",") if p.strip()) or ("-open_requests",)
    bad = [p for p in parts if p.lstrip("-") not in service_analytics.WORKLOAD_SORTS]
    if bad:
        raise ProblemError(
            422,
            "validation_failed",
            f"不支持的排序字段 / unsupported sort key(s): {', '.join(bad)}; "
            f"allowed: {', '.join(service_analytics.WORKLOAD_SORTS)}",
            errors=[
                {"loc": ["query", "sort"], "message": f"unsupported sort key {b}", "type": "sort_key"} for b in bad
            ],
        )
    return parts


def _workload(row: dict[str, Any]) -> OfficerWorkload:
    return OfficerWorkload.model_validate(row | {"officer_id": row["id"]})


@router.get(
    "/service-officers",
    response_model=WorkloadPage,
    summary="Service officers' workload: enterprises served, open and overdue requests",
    description=(
        "Every active staff member who can serve (not viewers), and anyone who still has enterprises or "
        "requests. Counts are as of `as_of` (default today, Asia/Shanghai): posts in force that day; requests "
        "assigned to the officer, received by then and neither resolved nor rejected by then; overdue when the "
        "due date is before `as_of`. Worst-loaded first by default."
    ),
)
async def list_workloads(
    session: SessionDep,
    _actor: Annotated[Principal, require("services:read")],
    today: TodayDep,
    paging: Annotated[tuple[int, int], Depends(page_params)],
    sort: Annotated[tuple[str, ...], Depends(_workload_sort)],
    as_of: QueryDate | None = None,
) -> WorkloadPage:
    limit, offset = paging
    day = as_of or today
    rows, total = await service_analytics.workloads(session, day, sort, limit, offset)
    return WorkloadPage(as_of=day, items=[_workload(r) for r in rows], total=total, limit=limit, offset=offset)


@router.get(
    "/service-officers/{officer_id:int}",
    response_model=OfficerWorkload,
    summary="One officer's workload on a date",
    responses=problem_responses(404),
)
async def get_workload(
    officer_id: IdPath,
    session: SessionDep,
    _actor: Annotated[Principal, require("services:read")],
    today: TodayDep,
    as_of: QueryDate | None = None,
) -> OfficerWorkload:
    day: date = as_of or today
    rows, _ = await service_analytics.workloads(session, day, ("display_name",), 1, 0, officer_id=officer_id)
    if not rows:
        raise ProblemError(404, "not_found", f"服务官 {officer_id} 不存在 / service officer {officer_id} not found")
    return _workload(rows[0])
