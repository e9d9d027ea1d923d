from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.api.deps import IdPath, IfMatchDep, SessionDep, require, set_etag, sort_dependency
from app.api.export import EXPORT_RESPONSES, ExportDep, each
from app.core.errors import problem_responses
from app.core.principal import Principal
from app.schemas.common import MAX_ID, PageOut, QueryDate, SearchText
from app.schemas.land_parcel import LandParcelCreate, LandParcelRead, LandParcelUpdate
from app.services import land_parcels as service
from app.services.pagination import PageRequest

router = APIRouter(prefix="/land-parcels", tags=["land parcels 地块"], responses=problem_responses(401, 403, 422))

ParcelPage = Annotated[PageRequest, sort_dependency(service.PARCEL_SORTS, default="code")]


@router.get("", response_model=PageOut[LandParcelRead], summary="List land parcels", responses=EXPORT_RESPONSES)
async def list_parcels(
    session: SessionDep,
    actor: Annotated[Principal, require("land_parcels:read")],
    page: ParcelPage,
    export: ExportDep,
    q: Annotated[SearchText | None, Query(description="Code contains")] = None,
    zone_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="In this zone or its sub-zones")] = None,
    buyer_enterprise_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    transferred: Annotated[bool | None, Query(description="true: transferred (出让) parcels only")] = None,
    transferred_from: QueryDate | None = None,
    transferred_to: Annotated[QueryDate | None, Query(description="Inclusive")] = None,
) -> PageOut[LandParcelRead] | Response:
    flt = service.LandParcelFilter(
        q=q,
        zone_id=zone_id,
        buyer_enterprise_id=buyer_enterprise_id,
        transferred=transferred,
        transferred_from=transferred_from,
        transferred_to=transferred_to,
    )
    if export.wanted:
        stmt = service.parcels_query(flt, page.sort)
        return await export.respond(actor, "地块", LandParcelRead, stmt, each(LandParcelRead.model_validate))
    result = await service.list_parcels(session, flt, page)
    return PageOut[LandParcelRead](
        items=[LandParcelRead.model_validate(p) for p in result.items],
        total=result.total,
        limit=result.limit,
        offset=result.offset,
    )


@router.post(
    "",
    response_model=LandParcelRead,
    status_code=status.HTTP_201_CREATED,
    summary="Register a land parcel",
    responses=problem_responses(409, 415),
)
async def create_parcel(
    data: LandParcelCreate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("land_parcels:write")],
) -> LandParcelRead:
    parcel = await service.create_parcel(session, actor, data)
    response.headers["Location"] = f"/api/v1/land-parcels/{parcel.id}"
    set_etag(response, parcel.version)
    return LandParcelRead.model_validate(parcel)


@router.get(
    "/{parcel_id:int}", response_model=LandParcelRead, summary="Read a land parcel", responses=problem_responses(404)
)
async def get_parcel(
    parcel_id: IdPath,
    response: Response,
    session: SessionDep,
    _actor: Annotated[Principal, require("land_parcels:read")],
) -> LandParcelRead:
    parcel = await service.get_parcel(session, parcel_id)
    set_etag(response, parcel.version)
    return LandParcelRead.model_validate(parcel)


@router.patch(
    "/{parcel_id:int}",
    response_model=LandParcelRead,
    summary="Change a land parcel or record its transfer (transferred_on and buyer go together)",
    responses=problem_responses(404, 409, 412, 415, 428),
)
async def update_parcel(
    parcel_id: IdPath,
    data: LandParcelUpdate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("land_parcels:write")],
    expected: IfMatchDep,
) -> LandParcelRead:
    parcel = await service.update_parcel(session, actor, parcel_id, data, expected)
    set_etag(response, parcel.version)
    return LandParcelRead.model_validate(parcel)


@router.delete(
    "/{parcel_id:int}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a land parcel",
    responses=problem_responses(404, 412, 428),
)
async def delete_parcel(
    parcel_id: IdPath,
    session: SessionDep,
    actor: Annotated[Principal, require("land_parcels:write")],
    expected: IfMatchDep,
) -> None:
    await service.delete_parcel(session, actor, parcel_id, expected)
