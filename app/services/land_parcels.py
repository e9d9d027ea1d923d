"""Land parcels (地块) and their transfer (出让) to buyer enterprises."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import ConflictError, NotFoundError, field_problem, unknown_reference
from app.core.principal import Principal
from app.models import Enterprise, LandParcel, Zone
from app.schemas.land_parcel import LandParcelCreate, LandParcelUpdate
from app.services import audit
from app.services.pagination import Page, PageRequest, ordered, page_of
from app.services.trees import in_zone
from app.services.versioning import check_version

PARCEL_SORTS = {
    "code": LandParcel.code,
    "transferred_on": LandParcel.transferred_on,
    "area_m2": LandParcel.area_m2,
    "price": LandParcel.price,
}


@dataclass(frozen=True)
class LandParcelFilter:
    q: str | None = None
    zone_id: int | None = None  # with sub-zones
    buyer_enterprise_id: int | None = None
    transferred: bool | None = None
    transferred_from: date | None = None
    transferred_to: date | None = None  # inclusive


def parcels_query(flt: LandParcelFilter, sort: tuple[str, ...]) -> Select[LandParcel]:
    """The list's statement in its order: one page of it for the list, all of it for an export."""
    stmt = select(LandParcel)
    if flt.q:
        stmt = stmt.where(func.lower(LandParcel.code).contains(flt.q.lower(), autoescape=True))
    if flt.zone_id is not None:
        stmt = stmt.where(in_zone(LandParcel.zone_id, flt.zone_id))
    if flt.buyer_enterprise_id is not None:
        stmt = stmt.where(LandParcel.buyer_enterprise_id == flt.buyer_enterprise_id)
    if flt.transferred is not None:
        column = LandParcel.transferred_on
        stmt = stmt.where(column.is_not(None) if flt.transferred else column.is_(None))
    if flt.transferred_from is not None:
        stmt = stmt.where(LandParcel.transferred_on >= flt.transferred_from)
    if flt.transferred_to is not None:
        stmt = stmt.where(LandParcel.transferred_on <= flt.transferred_to)
    return ordered(stmt, sort, PARCEL_SORTS, LandParcel.id)


async def list_parcels(session: AsyncSession, flt: LandParcelFilter, page: PageRequest) -> Page[LandParcel]:
    return await page_of(session, parcels_query(flt, page.sort), page)


async def get_parcel(session: AsyncSession, parcel_id: int) -> LandParcel:
    parcel = await session.get(LandParcel, parcel_id)
    if parcel is None:
        raise NotFoundError("land parcel", parcel_id)
    return parcel


async def _check(session: AsyncSession, changes: dict[str, Any], parcel: LandParcel | None = None) -> None:
    code = changes.get("code")
    if code is not None:
        existing = await session.scalar(select(LandParcel.id).where(LandParcel.code == code))
        if existing is not None and (parcel is None or existing != parcel.id):
            raise ConflictError(
                "duplicate", f"地块编号 {code} 已存在 / parcel code {code} is taken", existing_id=existing
            )
    if changes.get("zone_id") is not None and await session.get(Zone, changes["zone_id"]) is None:
        raise unknown_reference("zone_id", "zone", changes["zone_id"])
    buyer = changes.get("buyer_enterprise_id")
    if buyer is not None and await session.get(Enterprise, buyer) is None:
        raise unknown_reference("buyer_enterprise_id", "enterprise", buyer)
    # A buyer without a transfer date (or the reverse) is a half-recorded transfer.
    merged = {
        "buyer_enterprise_id": parcel.buyer_enterprise_id if parcel else None,
        "transferred_on": parcel.transferred_on if parcel else None,
    } | {k: v for k, v in changes.items() if k in ("buyer_enterprise_id", "transferred_on")}
    if (merged["buyer_enterprise_id"] is None) != (merged["transferred_on"] is None):
        raise field_problem(
            422,
            "incomplete_transfer",
            "transferred_on",
            "出让日期与竞得企业须同时填写 / transferred_on and buyer_enterprise_id go together",
        )


async def create_parcel(session: AsyncSession, actor: Principal, data: LandParcelCreate) -> LandParcel:
    changes = data.model_dump()
    await _check(session, changes)
    parcel = LandParcel(**changes)
    session.add(parcel)
    await session.flush()
    audit.record(session, actor, "create", "land_parcel", parcel.id, None, audit.snapshot(parcel))
    return parcel


async def update_parcel(
    session: AsyncSession, actor: Principal, parcel_id: int, data: LandParcelUpdate, expected: frozenset[int] | None
) -> LandParcel:
    parcel = await get_parcel(session, parcel_id)
    check_version(parcel.version, expected)
    changes = data.model_dump(exclude_unset=True)
    await _check(session, changes, parcel)
    before = audit.snapshot(parcel)
    for field, value in changes.items():
        setattr(parcel, field, value)
    await session.flush()
    audit.record(session, actor, "update", "land_parcel", parcel.id, before, audit.snapshot(parcel))
    return parcel


async def delete_parcel(
    session: AsyncSession, actor: Principal, parcel_id: int, expected: frozenset[int] | None
) -> None:
    parcel = await get_parcel(session, parcel_id)
    check_version(parcel.version, expected)
    before = audit.snapshot(parcel)
    await session.delete(parcel)
    await session.flush()
    audit.record(session, actor, "delete", "land_parcel", parcel_id, before, None)
