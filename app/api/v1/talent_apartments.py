from collections.abc import Sequence
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import IdPath, IdQuery, IfMatchDep, SessionDep, TodayDep, require, set_etag, sort_dependency
from app.api.export import EXPORT_RESPONSES, Convert, ExportDep, each
from app.core.errors import problem_responses
from app.core.principal import Principal
from app.models import ApartmentAllocation, ApartmentBatch, ApartmentUnit
from app.schemas.common import PageOut, QueryDate
from app.schemas.talent import (
    AllocationCreate,
    AllocationRead,
    AllocationUpdate,
    BatchCreate,
    BatchRead,
    BatchUpdate,
    UnitCreate,
    UnitRead,
    UnitUpdate,
)
from app.services import talent_apartments as service
from app.services.pagination import PageRequest

router = APIRouter(
    prefix="/talent-apartments", tags=["talent services 人才服务"], responses=problem_responses(401, 403, 422)
)

BatchPage = Annotated[PageRequest, sort_dependency(service.BATCH_SORTS, default="supplied_on")]
UnitPage = Annotated[PageRequest, sort_dependency(service.UNIT_SORTS, default="code")]
AllocationPage = Annotated[PageRequest, sort_dependency(service.ALLOCATION_SORTS, default="start_on")]


def batch_read(batch: ApartmentBatch, units: int) -> BatchRead:
    return BatchRead.model_validate(batch).model_copy(update={"units": units})


def unit_read(unit: ApartmentUnit, occupied: bool) -> UnitRead:
    return UnitRead.model_validate(unit).model_copy(update={"occupied": occupied})


async def _batch_reads(session: AsyncSession, batches: Sequence[ApartmentBatch]) -> list[BatchRead]:
    counts = await service.unit_counts(session, [b.id for b in batches])
    return [batch_read(b, counts[b.id]) for b in batches]


def _unit_reads(day: date) -> Convert[UnitRead]:
    async def convert(session: AsyncSession, units: Sequence[ApartmentUnit]) -> list[UnitRead]:
        occupied = await service.occupied_units(session, [u.id for u in units], day)
        return [unit_read(u, u.id in occupied) for u in units]

    return convert


def _status(allocation: ApartmentAllocation, today: date) -> Literal["upcoming", "current", "ended"]:
    if allocation.start_on > today:
        return "upcoming"
    if allocation.end_on is not None and allocation.end_on < today:
        return "ended"
    return "current"


def allocation_read(allocation: ApartmentAllocation, today: date) -> AllocationRead:
    return AllocationRead(
        id=allocation.id,
        unit_id=allocation.unit_id,
        person_id=allocation.person_id,
        enterprise_id=allocation.enterprise_id,
        start_on=allocation.start_on,
        end_on=allocation.end_on,
        rent_free=allocation.rent_free,
        monthly_rent=allocation.monthly_rent,
        note=allocation.note,
        status=_status(allocation, today),
        version=allocation.version,
    )


@router.get(
    "/batches",
    response_model=PageOut[BatchRead],
    summary="Batches of talent-apartment units (分批筹集)",
    responses=EXPORT_RESPONSES,
)
async def list_batches(
    session: SessionDep, actor: Annotated[Principal, require("talents:read")], page: BatchPage, export: ExportDep
) -> PageOut[BatchRead] | Response:
    if export.wanted:
        return await export.respond(actor, "人才公寓批次", BatchRead, service.batches_query(page.sort), _batch_reads)
    result = await service.list_batches(session, page)
    return PageOut[BatchRead](
        items=await _batch_reads(session, result.items),
        total=result.total,
        limit=result.limit,
        offset=result.offset,
    )


@router.post(
    "/batches",
    response_model=BatchRead,
    status_code=status.HTTP_201_CREATED,
    summary="Record a batch of units handed over",
    responses=problem_responses(409, 415),
)
async def create_batch(
    data: BatchCreate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("talents:write")],
    today: TodayDep,
) -> BatchRead:
    batch = await service.create_batch(session, actor, data, today)
    response.headers["Location"] = f"/api/v1/talent-apartments/batches/{batch.id}"
    set_etag(response, batch.version)
    return batch_read(batch, 0)


@router.get(
    "/batches/{batch_id:int}", response_model=BatchRead, summary="Read a batch", responses=problem_responses(404)
)
async def get_batch(
    batch_id: IdPath, response: Response, session: SessionDep, _actor: Annotated[Principal, require("talents:read")]
) -> BatchRead:
    batch = await service.get_batch(session, batch_id)
    set_etag(response, batch.version)
    return batch_read(batch, (await service.unit_counts(session, [batch_id]))[batch_id])


@router.patch(
    "/batches/{batch_id:int}",
    response_model=BatchRead,
    summary="Change a batch",
    responses=problem_responses(404, 412, 415, 428),
)
async def update_batch(
    batch_id: IdPath,
    data: BatchUpdate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("talents:write")],
    expected: IfMatchDep,
    today: TodayDep,
) -> BatchRead:
    batch = await service.update_batch(session, actor, batch_id, data, expected, today)
    set_etag(response, batch.version)
    return batch_read(batch, (await service.unit_counts(session, [batch_id]))[batch_id])


@router.get(
    "/units",
    response_model=PageOut[UnitRead],
    summary="Apartment units; `vacant_on` keeps those free on a day",
    description="`occupied` says whether an allocation covers `on` (default today).",
    responses=EXPORT_RESPONSES,
)
async def list_units(
    session: SessionDep,
    actor: Annotated[Principal, require("talents:read")],
    today: TodayDep,
    page: UnitPage,
    export: ExportDep,
    batch_id: IdQuery = None,
    vacant_on: QueryDate | None = None,
    on: QueryDate | None = None,
) -> PageOut[UnitRead] | Response:
    reads = _unit_reads(on or today)
    if export.wanted:
        stmt = service.units_query(batch_id, vacant_on, page.sort)
        return await export.respond(actor, "人才公寓房源", UnitRead, stmt, reads)
    result = await service.list_units(session, batch_id, vacant_on, page)
    return PageOut[UnitRead](
        items=await reads(session, result.items),
        total=result.total,
        limit=result.limit,
        offset=result.offset,
    )


@router.post(
    "/units",
    response_model=UnitRead,
    status_code=status.HTTP_201_CREATED,
    summary="Add a unit to a batch",
    responses=problem_responses(409, 415),
)
async def create_unit(
    data: UnitCreate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("talents:write")],
) -> UnitRead:
    unit = await service.create_unit(session, actor, data)
    response.headers["Location"] = f"/api/v1/talent-apartments/units/{unit.id}"
    set_etag(response, unit.version)
    return unit_read(unit, False)


@router.get("/units/{unit_id:int}", response_model=UnitRead, summary="Read a unit", responses=problem_responses(404))
async def get_unit(
    unit_id: IdPath,
    response: Response,
    session: SessionDep,
    _actor: Annotated[Principal, require("talents:read")],
    today: TodayDep,
) -> UnitRead:
    unit = await service.get_unit(session, unit_id)
    set_etag(response, unit.version)
    return unit_read(unit, unit_id in await service.occupied_units(session, [unit_id], today))


@router.patch(
    "/units/{unit_id:int}",
    response_model=UnitRead,
    summary="Change a unit",
    responses=problem_responses(404, 409, 412, 415, 428),
)
async def update_unit(
    unit_id: IdPath,
    data: UnitUpdate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("talents:write")],
    expected: IfMatchDep,
    today: TodayDep,
) -> UnitRead:
    unit = await service.update_unit(session, actor, unit_id, data, expected)
    set_etag(response, unit.version)
    return unit_read(unit, unit_id in await service.occupied_units(session, [unit_id], today))


@router.get(
    "/allocations",
    response_model=PageOut[AllocationRead],
    summary="Allocations of units to talents; `on` keeps those covering a day",
    responses=EXPORT_RESPONSES,
)
async def list_allocations(
    session: SessionDep,
    actor: Annotated[Principal, require("talents:read")],
    today: TodayDep,
    page: AllocationPage,
    export: ExportDep,
    unit_id: IdQuery = None,
    person_id: IdQuery = None,
    enterprise_id: IdQuery = None,
    on: QueryDate | None = None,
    rent_free: Annotated[bool | None, Query(description="true: free talent apartments only")] = None,
) -> PageOut[AllocationRead] | Response:
    if export.wanted:
        stmt = service.allocations_query(unit_id, person_id, enterprise_id, on, rent_free, page.sort)
        read = each(lambda a: allocation_read(a, today))
        return await export.respond(actor, "人才公寓分配", AllocationRead, stmt, read)
    result = await service.list_allocations(session, unit_id, person_id, enterprise_id, on, rent_free, page)
    return PageOut[AllocationRead](
        items=[allocation_read(a, today) for a in result.items],
        total=result.total,
        limit=result.limit,
        offset=result.offset,
    )


@router.post(
    "/allocations",
    response_model=AllocationRead,
    status_code=status.HTTP_201_CREATED,
    summary="Allocate a unit to a talent",
    description="`start_on` and `end_on` are both inclusive. An allocation that shares a day with another of the "
    "same unit, or of the same person, answers 409 `allocation_overlap` naming it.",
    responses=problem_responses(409, 415),
)
async def allocate(
    data: AllocationCreate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("talents:write")],
    today: TodayDep,
) -> AllocationRead:
    allocation = await service.allocate(session, actor, data)
    response.headers["Location"] = f"/api/v1/talent-apartments/allocations/{allocation.id}"
    set_etag(response, allocation.version)
    return allocation_read(allocation, today)


@router.get(
    "/allocations/{allocation_id:int}",
    response_model=AllocationRead,
    summary="Read an allocation",
    responses=problem_responses(404),
)
async def get_allocation(
    allocation_id: IdPath,
    response: Response,
    session: SessionDep,
    _actor: Annotated[Principal, require("talents:read")],
    today: TodayDep,
) -> AllocationRead:
    allocation = await service.get_allocation(session, allocation_id)
    set_etag(response, allocation.version)
    return allocation_read(allocation, today)


@router.patch(
    "/allocations/{allocation_id:int}",
    response_model=AllocationRead,
    summary="Record a move-out (end_on) or change the note",
    responses=problem_responses(404, 409, 412, 415, 428),
)
async def update_allocation(
    allocation_id: IdPath,
    data: AllocationUpdate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("talents:write")],
    expected: IfMatchDep,
    today: TodayDep,
) -> AllocationRead:
    allocation = await service.update_allocation(session, actor, allocation_id, data, expected)
    set_etag(response, allocation.version)
    return allocation_read(allocation, today)
