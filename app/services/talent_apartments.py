"""Talent apartments (人才公寓): batches of units from state-owned stock and their allocations to talents.

An allocation covers [start_on, end_on], both inclusive (end_on null: until further notice). Allocations of
one unit never overlap, nor do one person's. The check-then-write runs under a named lock, so two officers
allocating the same unit at once cannot both succeed.
"""

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import ConflictError, NotFoundError, field_problem, unknown_reference
from app.core.principal import Principal
from app.models import ApartmentAllocation, ApartmentBatch, ApartmentUnit, Enterprise
from app.schemas.talent import AllocationCreate, AllocationUpdate, BatchCreate, BatchUpdate, UnitCreate, UnitUpdate
from app.services import audit, locks
from app.services.entered_dates import not_in_future
from app.services.pagination import Page, PageRequest, ordered, page_of
from app.services.talents import existing_talent
from app.services.versioning import check_version

Allocation = ApartmentAllocation
BATCH_SORTS = {"code": ApartmentBatch.code, "supplied_on": ApartmentBatch.supplied_on}
UNIT_SORTS = {"code": ApartmentUnit.code}
ALLOCATION_SORTS = {"start_on": Allocation.start_on, "end_on": Allocation.end_on}


def covers(day: date) -> ColumnElement[bool]:
    """The allocation includes `day`."""
    return and_(Allocation.start_on <= day, or_(Allocation.end_on.is_(None), Allocation.end_on >= day))


# --- batches ------------------------------------------------------------------------------------------------


def batches_query(sort: tuple[str, ...]) -> Select[ApartmentBatch]:
    """The list's statement in its order: one page of it for the list, all of it for an export."""
    return ordered(select(ApartmentBatch), sort, BATCH_SORTS, ApartmentBatch.id)


async def list_batches(session: AsyncSession, page: PageRequest) -> Page[ApartmentBatch]:
    return await page_of(session, batches_query(page.sort), page)


async def unit_counts(session: AsyncSession, batch_ids: list[int]) -> dict[int, int]:
    rows = await session.execute(
        select(ApartmentUnit.batch_id, func.count())
        .where(ApartmentUnit.batch_id.in_(batch_ids))
        .group_by(ApartmentUnit.batch_id)
    )
    counts = {key: value for key, value in rows}
    return {b: int(counts.get(b, 0)) for b in batch_ids}


async def get_batch(session: AsyncSession, batch_id: int) -> ApartmentBatch:
    batch = await session.get(ApartmentBatch, batch_id)
    if batch is None:
        raise NotFoundError("apartment batch", batch_id)
    return batch


async def create_batch(session: AsyncSession, actor: Principal, data: BatchCreate, today: date) -> ApartmentBatch:
    not_in_future("supplied_on", data.supplied_on, today)
    existing = await session.scalar(select(ApartmentBatch.id).where(ApartmentBatch.code == data.code))
    if existing is not None:
        raise ConflictError(
            "duplicate", f"批次代码 {data.code} 已存在 / batch code {data.code} is taken", existing_id=existing
        )
    batch = ApartmentBatch(**data.model_dump())
    session.add(batch)
    await session.flush()
    audit.record(session, actor, "create", "apartment_batch", batch.id, None, audit.snapshot(batch))
    return batch


async def update_batch(
    session: AsyncSession,
    actor: Principal,
    batch_id: int,
    data: BatchUpdate,
    expected: frozenset[int] | None,
    today: date,
) -> ApartmentBatch:
    batch = await get_batch(session, batch_id)
    check_version(batch.version, expected)
    supplied = data.supplied_on
    if supplied is not None:
        not_in_future("supplied_on", supplied, today)
        first = await session.scalar(
            select(func.min(Allocation.start_on))
            .join(ApartmentUnit, ApartmentUnit.id == Allocation.unit_id)
            .where(ApartmentUnit.batch_id == batch_id)
        )
        if first is not None and supplied > first:
            raise field_problem(
                422,
                "date_order",
                "supplied_on",
                f"该批房源自 {first} 起已有人入住 / units of this batch were in use from {first}",
            )
    before = audit.snapshot(batch)
    for field, value in data.model_dump(exclude_unset=True).items():
        setattr(batch, field, value)
    await session.flush()
    audit.record(session, actor, "update", "apartment_batch", batch.id, before, audit.snapshot(batch))
    return batch


# --- units --------------------------------------------------------------------------------------------------


def _units(batch_id: int | None, vacant_on: date | None) -> Select[ApartmentUnit]:
    stmt = select(ApartmentUnit)
    if batch_id is not None:
        stmt = stmt.where(ApartmentUnit.batch_id == batch_id)
    if vacant_on is not None:
        stmt = stmt.where(~exists().where(Allocation.unit_id == ApartmentUnit.id, covers(vacant_on)))
    return stmt


def units_query(batch_id: int | None, vacant_on: date | None, sort: tuple[str, ...]) -> Select[ApartmentUnit]:
    """The list's statement in its order: one page of it for the list, all of it for an export."""
    return ordered(_units(batch_id, vacant_on), sort, UNIT_SORTS, ApartmentUnit.id)


async def list_units(
    session: AsyncSession, batch_id: int | None, vacant_on: date | None, page: PageRequest
) -> Page[ApartmentUnit]:
    return await page_of(session, units_query(batch_id, vacant_on, page.sort), page)


async def occupied_units(session: AsyncSession, unit_ids: list[int], day: date) -> set[int]:
    rows = await session.scalars(select(Allocation.unit_id).where(Allocation.unit_id.in_(unit_ids), covers(day)))
    return set(rows)


async def get_unit(session: AsyncSession, unit_id: int) -> ApartmentUnit:
    unit = await session.get(ApartmentUnit, unit_id)
    if unit is None:
        raise NotFoundError("apartment unit", unit_id)
    return unit


async def _check_unit_code(session: AsyncSession, code: str | None, unit_id: int | None = None) -> None:
    if code is None:
        return
    existing = await session.scalar(select(ApartmentUnit.id).where(ApartmentUnit.code == code))
    if existing is not None and existing != unit_id:
        raise ConflictError("duplicate", f"房号 {code} 已存在 / unit code {code} is taken", existing_id=existing)


async def create_unit(session: AsyncSession, actor: Principal, data: UnitCreate) -> ApartmentUnit:
    if await session.get(ApartmentBatch, data.batch_id) is None:
        raise unknown_reference("batch_id", "apartment batch", data.batch_id)
    await _check_unit_code(session, data.code)
    unit = ApartmentUnit(**data.model_dump())
    session.add(unit)
    await session.flush()
    audit.record(session, actor, "create", "apartment_unit", unit.id, None, audit.snapshot(unit))
    return unit


async def update_unit(
    session: AsyncSession, actor: Principal, unit_id: int, data: UnitUpdate, expected: frozenset[int] | None
) -> ApartmentUnit:
    unit = await get_unit(session, unit_id)
    check_version(unit.version, expected)
    changes = data.model_dump(exclude_unset=True)
    await _check_unit_code(session, changes.get("code"), unit_id)
    before = audit.snapshot(unit)
    for field, value in changes.items():
        setattr(unit, field, value)
    await session.flush()
    audit.record(session, actor, "update", "apartment_unit", unit.id, before, audit.snapshot(unit))
    return unit


# --- allocations --------------------------------------------------------------------------------------------


def allocations_query(
    unit_id: int | None,
    person_id: int | None,
    enterprise_id: int | None,
    on: date | None,
    rent_free: bool | None,
    sort: tuple[str, ...],
) -> Select[Allocation]:
    """The list's statement in its order: one page of it for the list, all of it for an export."""
    stmt = select(Allocation)
    for column, value in (
        (Allocation.unit_id, unit_id),
        (Allocation.person_id, person_id),
        (Allocation.enterprise_id, enterprise_id),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if on is not None:
        stmt = stmt.where(covers(on))
    if rent_free is not None:
        stmt = stmt.where(Allocation.rent_free.is_(rent_free))
    return ordered(stmt, sort, ALLOCATION_SORTS, Allocation.id)


async def list_allocations(
    session: AsyncSession,
    unit_id: int | None,
    person_id: int | None,
    enterprise_id: int | None,
    on: date | None,
    rent_free: bool | None,
    page: PageRequest,
) -> Page[Allocation]:
    stmt = allocations_query(unit_id, person_id, enterprise_id, on, rent_free, page.sort)
    return await page_of(session, stmt, page)


async def get_allocation(session: AsyncSession, allocation_id: int) -> Allocation:
    allocation = await session.get(Allocation, allocation_id)
    if allocation is None:
        raise NotFoundError("apartment allocation", allocation_id)
    return allocation


def _overlapping(start: date, end: date | None) -> ColumnElement[bool]:
    """Allocations sharing at least one day with [start, end] (None = open-ended)."""
    condition = or_(Allocation.end_on.is_(None), Allocation.end_on >= start)
    if end is not None:
        condition = and_(condition, Allocation.start_on <= end)
    return condition


async def _check_overlap(
    session: AsyncSession, unit_id: int, person_id: int, start: date, end: date | None, allocation_id: int | None
) -> None:
    await locks.hold(session, "apartment-allocations")
    for column, value, what in ((Allocation.unit_id, unit_id, "unit"), (Allocation.person_id, person_id, "person")):
        stmt = select(Allocation).where(column == value, _overlapping(start, end))
        if allocation_id is not None:
            stmt = stmt.where(Allocation.id != allocation_id)
        clash = await session.scalar(stmt.order_by(Allocation.start_on).limit(1))
        if clash is not None:
            raise ConflictError(
                "allocation_overlap",
                f"与第 {clash.id} 号分配（{clash.start_on} 至 {clash.end_on or '今'}）时间重叠 / overlaps allocation "
                f"{clash.id} of the same {what} ({clash.start_on} – {clash.end_on or 'open'})",
                conflicting_id=clash.id,
            )


async def allocate(session: AsyncSession, actor: Principal, data: AllocationCreate) -> Allocation:
    unit = await session.get(ApartmentUnit, data.unit_id)
    if unit is None:
        raise unknown_reference("unit_id", "apartment unit", data.unit_id)
    person = await existing_talent(session, data.person_id)
    if data.enterprise_id is not None and await session.get(Enterprise, data.enterprise_id) is None:
        raise unknown_reference("enterprise_id", "enterprise", data.enterprise_id)
    batch = await session.get(ApartmentBatch, unit.batch_id)
    if batch is not None and data.start_on < batch.supplied_on:
        raise field_problem(
            422,
            "date_order",
            "start_on",
            f"入住早于该批房源筹集日期 {batch.supplied_on} / the unit's batch was supplied on {batch.supplied_on}",
        )
    await _check_overlap(session, data.unit_id, data.person_id, data.start_on, data.end_on, None)
    fields: dict[str, Any] = data.model_dump()
    fields["enterprise_id"] = data.enterprise_id or person.enterprise_id
    allocation = Allocation(**fields)
    session.add(allocation)
    await session.flush()
    audit.record(session, actor, "create", "apartment_allocation", allocation.id, None, audit.snapshot(allocation))
    return allocation


async def update_allocation(
    session: AsyncSession, actor: Principal, allocation_id: int, data: AllocationUpdate, expected: frozenset[int] | None
) -> Allocation:
    allocation = await get_allocation(session, allocation_id)
    check_version(allocation.version, expected)
    changes = data.model_dump(exclude_unset=True)
    if "end_on" in changes:
        end = changes["end_on"]
        if end is not None and end < allocation.start_on:
            raise field_problem(
                422, "date_order", "end_on", f"退租日期早于入住日期 {allocation.start_on} / end_on is before start_on"
            )
        await _check_overlap(session, allocation.unit_id, allocation.person_id, allocation.start_on, end, allocation.id)
    before = audit.snapshot(allocation)
    for field, value in changes.items():
        setattr(allocation, field, value)
    await session.flush()
    audit.record(session, actor, "update", "apartment_allocation", allocation.id, before, audit.snapshot(allocation))
    return allocation
