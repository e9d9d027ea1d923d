from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.api.deps import IdPath, IfMatchDep, SessionDep, TodayDep, require, set_etag, sort_dependency
from app.api.export import EXPORT_RESPONSES, ExportDep, each
from app.core.errors import problem_responses
from app.core.principal import Principal
from app.models import ZoneKind
from app.schemas.common import MAX_ID, PageOut, QueryDate, SearchText
from app.schemas.zone import AreaBasis, AreaVersionCreate, AreaVersionRead, ZoneCreate, ZoneRead, ZoneUpdate
from app.services import zones as service
from app.services.pagination import PageRequest

router = APIRouter(prefix="/zones", tags=["zones 集聚区"], responses=problem_responses(401, 403, 422))

ZonePage = Annotated[PageRequest, sort_dependency(service.ZONE_SORTS, default="code")]


@router.get("", response_model=PageOut[ZoneRead], summary="List zones", responses=EXPORT_RESPONSES)
async def list_zones(
    session: SessionDep,
    actor: Annotated[Principal, require("zones:read")],
    page: ZonePage,
    export: ExportDep,
    q: Annotated[SearchText | None, Query(description="Code or name contains")] = None,
    kind: ZoneKind | None = None,
    parent_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Direct sub-zones of this zone")] = None,
    within: Annotated[int | None, Query(ge=1, le=MAX_ID, description="This zone and all below it")] = None,
) -> PageOut[ZoneRead] | Response:
    flt = service.ZoneFilter(q=q, kind=kind, parent_id=parent_id, within=within)
    if export.wanted:
        stmt = service.zones_query(flt, page.sort)
        return await export.respond(actor, "集聚区", ZoneRead, stmt, each(ZoneRead.model_validate))
    result = await service.list_zones(session, flt, page)
    return PageOut[ZoneRead](
        items=[ZoneRead.model_validate(z) for z in result.items],
        total=result.total,
        limit=result.limit,
        offset=result.offset,
    )


@router.post(
    "",
    response_model=ZoneRead,
    status_code=status.HTTP_201_CREATED,
    summary="Create a zone",
    responses=problem_responses(409, 415),
)
async def create_zone(
    data: ZoneCreate, response: Response, session: SessionDep, actor: Annotated[Principal, require("zones:write")]
) -> ZoneRead:
    zone = await service.create_zone(session, actor, data)
    response.headers["Location"] = f"/api/v1/zones/{zone.id}"
    set_etag(response, zone.version)
    return ZoneRead.model_validate(zone)


@router.get("/{zone_id:int}", response_model=ZoneRead, summary="Read a zone", responses=problem_responses(404))
async def get_zone(
    zone_id: IdPath, response: Response, session: SessionDep, _actor: Annotated[Principal, require("zones:read")]
) -> ZoneRead:
    zone = await service.get_zone(session, zone_id)
    set_etag(response, zone.version)
    return ZoneRead.model_validate(zone)


@router.patch(
    "/{zone_id:int}",
    response_model=ZoneRead,
    summary="Rename or move a zone (null parent_id: top level)",
    responses=problem_responses(404, 409, 412, 415, 428),
)
async def update_zone(
    zone_id: IdPath,
    data: ZoneUpdate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("zones:write")],
    expected: IfMatchDep,
) -> ZoneRead:
    zone = await service.update_zone(session, actor, zone_id, data, expected)
    set_etag(response, zone.version)
    return ZoneRead.model_validate(zone)


@router.delete(
    "/{zone_id:int}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a zone (409 while it has sub-zones, enterprises or parcels)",
    responses=problem_responses(404, 409, 412, 428),
)
async def delete_zone(
    zone_id: IdPath, session: SessionDep, actor: Annotated[Principal, require("zones:write")], expected: IfMatchDep
) -> None:
    await service.delete_zone(session, actor, zone_id, expected)


@router.get(
    "/{zone_id:int}/area-versions",
    response_model=list[AreaVersionRead],
    summary="A leaf zone's area history",
    responses=problem_responses(404),
)
async def list_area_versions(
    zone_id: IdPath, session: SessionDep, _actor: Annotated[Principal, require("zones:read")]
) -> list[AreaVersionRead]:
    return [AreaVersionRead.model_validate(v) for v in await service.list_area_versions(session, zone_id)]


@router.post(
    "/{zone_id:int}/area-versions",
    response_model=AreaVersionRead,
    status_code=status.HTTP_201_CREATED,
    summary="Record the area in force from a date (leaf zones only; ranges may not overlap)",
    responses=problem_responses(404, 409, 415),
)
async def add_area_version(
    zone_id: IdPath,
    data: AreaVersionCreate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("zones:write")],
) -> AreaVersionRead:
    row = await service.add_area_version(session, actor, zone_id, data)
    set_etag(response, row.version)
    return AreaVersionRead.model_validate(row)


@router.delete(
    "/{zone_id:int}/area-versions/{version_id:int}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove an area version (to correct it, remove and record again)",
    responses=problem_responses(404, 412, 428),
)
async def delete_area_version(
    zone_id: IdPath,
    version_id: IdPath,
    session: SessionDep,
    actor: Annotated[Principal, require("zones:write")],
    expected: IfMatchDep,
) -> None:
    await service.delete_area_version(session, actor, zone_id, version_id, expected)


@router.get(
    "/{zone_id:int}/area-basis",
    response_model=AreaBasis,
    summary="The zone's area basis on a date (sum of its leaf zones' areas in force), in km² and 亩",
    responses=problem_responses(404),
)
async def get_area_basis(
    zone_id: IdPath,
    session: SessionDep,
    _actor: Annotated[Principal, require("zones:read")],
    today: TodayDep,
    on: Annotated[QueryDate | None, Query(description="Default: today in Asia/Shanghai")] = None,
) -> AreaBasis:
    return await service.area_basis(session, zone_id, on or today)
