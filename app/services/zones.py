"""Zones (a hierarchy), their area versions, and the area basis on a date."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.core.errors import ConflictError, NotFoundError, field_problem
from app.core.principal import Principal
from app.models import Enterprise, LandParcel, Project, Zone, ZoneAreaVersion, ZoneKind
from app.schemas.common import SearchText
from app.schemas.zone import AreaBasis, AreaBasisMember, AreaVersionCreate, ZoneCreate, ZoneUpdate
from app.services import audit, locks
from app.services.calculators.units import km2_to_mu
from app.services.pagination import Page, PageRequest, ordered, page_of
from app.services.trees import check_new_parent, subtree
from app.services.versioning import check_version

ZONE_SORTS = {"code": Zone.code, "name": Zone.name, "kind": Zone.kind, "created_at": Zone.created_at}


@dataclass(frozen=True)
class ZoneFilter:
    q: SearchText | None = None
    kind: ZoneKind | None = None
    parent_id: int | None = None
    within: int | None = None  # a zone and everything below it


def zones_query(flt: ZoneFilter, sort: tuple[str, ...]) -> Select[Zone]:
    """The list's statement in its order: one page of it for the list, all of it for an export."""
    stmt = select(Zone)
    if flt.q:
        needle = flt.q.lower()
        stmt = stmt.where(
            or_(
                func.lower(Zone.name).contains(needle, autoescape=True),
                func.lower(Zone.code).contains(needle, autoescape=True),
            )
        )
    if flt.kind is not None:
        stmt = stmt.where(Zone.kind == flt.kind)
    if flt.parent_id is not None:
        stmt = stmt.where(Zone.parent_id == flt.parent_id)
    if flt.within is not None:
        below = subtree(Zone, flt.within)
        stmt = stmt.where(Zone.id.in_(select(below.c.id)))
    return ordered(stmt, sort, ZONE_SORTS, Zone.id)


async def list_zones(session: AsyncSession, flt: ZoneFilter, page: PageRequest) -> Page[Zone]:
    return await page_of(session, zones_query(flt, page.sort), page)


async def get_zone(session: AsyncSession, zone_id: int) -> Zone:
    zone = await session.get(Zone, zone_id)
    if zone is None:
        raise NotFoundError("zone", zone_id)
    return zone


async def _check_code_free(session: AsyncSession, code: str, zone_id: int | None = None) -> None:
    existing = await session.scalar(select(Zone.id).where(Zone.code == code))
    if existing is not None and existing != zone_id:
        raise ConflictError("duplicate", f"集聚区编码 {code} 已存在 / zone code {code} is taken", existing_id=existing)


async def _check_parent_can_have_members(session: AsyncSession, parent_id: int) -> None:
    # Areas live on leaf zones only, so a basis is the sum of its leaves and never counted twice.
    if await session.scalar(select(exists().where(ZoneAreaVersion.zone_id == parent_id))):
        raise field_problem(
            409,
            "parent_has_area",
            "parent_id",
            f"上级区域 {parent_id} 已登记面积，不能再设下级 / zone {parent_id} has its own area versions; "
            "areas are kept on leaf zones only",
        )


async def create_zone(session: AsyncSession, actor: Principal, data: ZoneCreate) -> Zone:
    await _check_code_free(session, data.code)
    if data.parent_id is not None:
        await locks.hold(session, "zone-tree")
        await check_new_parent(session, Zone, None, data.parent_id, "zone")
        await _check_parent_can_have_members(session, data.parent_id)
    zone = Zone(code=data.code, name=data.name, kind=data.kind, parent_id=data.parent_id)
    session.add(zone)
    await session.flush()
    audit.record(session, actor, "create", "zone", zone.id, None, audit.snapshot(zone))
    return zone


async def update_zone(
    session: AsyncSession, actor: Principal, zone_id: int, data: ZoneUpdate, expected: frozenset[int] | None
) -> Zone:
    zone = await get_zone(session, zone_id)
    check_version(zone.version, expected)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("parent_id") is not None:
        await locks.hold(session, "zone-tree")  # two moves at once must not close a loop
    if "code" in changes:
        await _check_code_free(session, changes["code"], zone.id)
    if changes.get("parent_id") is not None and changes["parent_id"] != zone.parent_id:
        await check_new_parent(session, Zone, zone.id, changes["parent_id"], "zone")
        await _check_parent_can_have_members(session, changes["parent_id"])
    before = audit.snapshot(zone)
    for field, value in changes.items():
        setattr(zone, field, value)
    await session.flush()
    audit.record(session, actor, "update", "zone", zone.id, before, audit.snapshot(zone))
    return zone


async def delete_zone(session: AsyncSession, actor: Principal, zone_id: int, expected: frozenset[int] | None) -> None:
    zone = await get_zone(session, zone_id)
    check_version(zone.version, expected)
    in_use = {
        "sub_zones": await session.scalar(select(func.count()).where(Zone.parent_id == zone_id)),
        "enterprises": await session.scalar(select(func.count()).where(Enterprise.zone_id == zone_id)),
        "land_parcels": await session.scalar(select(func.count()).where(LandParcel.zone_id == zone_id)),
        "projects": await session.scalar(select(func.count()).where(Project.zone_id == zone_id)),
    }
    if any(in_use.values()):
        listing = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in in_use.items() if n)
        raise ConflictError(
            "zone_in_use",
            f"区域仍有下级、企业、地块或项目，不能删除 / zone {zone_id} still has {listing}",
            in_use=in_use,
        )
    before = audit.snapshot(zone)
    # Its area history goes with it; each removed version is audited like a direct delete.
    # Deleted through the session, not in bulk, so the change log records each one for mirrors.
    for version in await session.scalars(select(ZoneAreaVersion).where(ZoneAreaVersion.zone_id == zone_id)):
        audit.record(session, actor, "delete", "zone_area_version", version.id, audit.snapshot(version), None)
        await session.delete(version)
    await session.flush()
    await session.delete(zone)
    await session.flush()
    audit.record(session, actor, "delete", "zone", zone_id, before, None)


# --- area versions --------------------------------------------------------------------------------------


async def list_area_versions(session: AsyncSession, zone_id: int) -> list[ZoneAreaVersion]:
    await get_zone(session, zone_id)
    rows = await session.scalars(
        select(ZoneAreaVersion).where(ZoneAreaVersion.zone_id == zone_id).order_by(ZoneAreaVersion.effective_from)
    )
    return list(rows)


async def add_area_version(
    session: AsyncSession, actor: Principal, zone_id: int, data: AreaVersionCreate
) -> ZoneAreaVersion:
    await get_zone(session, zone_id)
    await locks.hold(session, "zone-tree")  # the leaf check and the overlap check must see every commit
    if await session.scalar(select(exists().where(Zone.parent_id == zone_id))):
        raise field_problem(
            409,
            "zone_has_members",
            "area_km2",
            f"区域 {zone_id} 有下级区域，面积按下级合计 / zone {zone_id} has sub-zones; its area is their sum",
        )
    # [from, to) ranges overlap when each starts before the other ends (null end = open).
    conditions = [
        ZoneAreaVersion.zone_id == zone_id,
        or_(ZoneAreaVersion.effective_to.is_(None), ZoneAreaVersion.effective_to > data.effective_from),
    ]
    if data.effective_to is not None:
        conditions.append(ZoneAreaVersion.effective_from < data.effective_to)
    overlap = await session.scalar(select(ZoneAreaVersion.id).where(*conditions).limit(1))
    if overlap is not None:
        raise field_problem(
            409,
            "area_version_overlap",
            "effective_from",
            f"与已有面积版本 {overlap} 的生效期重叠 / overlaps area version {overlap} of this zone",
            conflicting_id=overlap,
        )
    row = ZoneAreaVersion(
        zone_id=zone_id,
        area_km2=data.area_km2,
        effective_from=data.effective_from,
        effective_to=data.effective_to,
        note=data.note,
    )
    session.add(row)
    await session.flush()
    audit.record(session, actor, "create", "zone_area_version", row.id, None, audit.snapshot(row))
    return row


async def delete_area_version(
    session: AsyncSession, actor: Principal, zone_id: int, version_id: int, expected: frozenset[int] | None
) -> None:
    row = await session.get(ZoneAreaVersion, version_id)
    if row is None or row.zone_id != zone_id:
        raise NotFoundError("area version", version_id)
    check_version(row.version, expected)
    before = audit.snapshot(row)
    await session.delete(row)
    await session.flush()
    audit.record(session, actor, "delete", "zone_area_version", version_id, before, None)


async def area_basis(session: AsyncSession, zone_id: int, on: date) -> AreaBasis:
    """The zone's area on a date: the sum of its leaf zones' areas in force then (one SQL query)."""
    await get_zone(session, zone_id)
    below = subtree(Zone, zone_id)
    child = aliased(Zone)
    in_force = and_(
        ZoneAreaVersion.zone_id == Zone.id,
        ZoneAreaVersion.effective_from <= on,
        or_(ZoneAreaVersion.effective_to.is_(None), ZoneAreaVersion.effective_to > on),
    )
    rows = (
        await session.execute(
            select(Zone.id, Zone.code, Zone.name, Zone.kind, ZoneAreaVersion.area_km2)
            .join(below, below.c.id == Zone.id)
            .outerjoin(ZoneAreaVersion, in_force)
            .where(~exists().where(child.parent_id == Zone.id))
            .order_by(Zone.code)
        )
    ).all()
    members = [AreaBasisMember(zone_id=r[0], code=r[1], name=r[2], kind=r[3], area_km2=r[4]) for r in rows]
    total = sum((m.area_km2 for m in members if m.area_km2 is not None), Decimal(0))
    return AreaBasis(
        zone_id=zone_id,
        on=on,
        area_km2=total,
        area_mu=km2_to_mu(total),
        members=members,
        missing=[m.zone_id for m in members if m.area_km2 is None],
    )
