"""The enterprise registry: enterprises, their groups (parent chains), investor classes and contacts."""

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Row, Select, bindparam, exists, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core.errors import ConflictError, NotFoundError, field_problem, unknown_reference
from app.core.principal import Principal
from app.models import (
    ApartmentAllocation,
    ConsultationAppointment,
    Enterprise,
    EnterpriseContact,
    EnterpriseInvestorClass,
    EnterpriseSource,
    EnterpriseStatus,
    HouseholdRegistration,
    Industry,
    InvestorClass,
    LandParcel,
    OfficerRole,
    Project,
    ServiceRequest,
    TalentGreenCard,
    TalentPerson,
    Visit,
    Zone,
)
from app.models.base import utcnow
from app.models.change import log_changes
from app.models.functions import child_rows, in_subquery
from app.models.service_officer import ServiceOfficerAssignment
from app.schemas.enterprise import EnterpriseCreate, EnterpriseUpdate
from app.services import audit, locks, service_officers
from app.services.entered_dates import not_in_future
from app.services.pagination import Page, PageRequest, ordered
from app.services.trees import check_new_parent, in_zone, subtree
from app.services.versioning import check_version

ENTERPRISE_SORTS = {
    "name": Enterprise.name,
    "uscc": Enterprise.uscc,
    "registered_capital": Enterprise.registered_capital,
    "settled_on": Enterprise.settled_on,
    "established_on": Enterprise.established_on,
    "created_at": Enterprise.created_at,
}

_WITH_CHILDREN = (selectinload(Enterprise.investor_classes), selectinload(Enterprise.contacts))
# The read model's own columns; its children come as JSON arrays beside them (`_children`).
_COLUMNS = tuple(Enterprise.__table__.c)


@dataclass(frozen=True)
class EnterpriseFilter:
    q: str | None = None
    uscc: str | None = None
    industry_section: str | None = None
    industry_code: str | None = None
    zone_id: int | None = None  # that zone and its sub-zones
    source: EnterpriseSource | None = None
    status: EnterpriseStatus | None = None
    investor_class: InvestorClass | None = None
    group_id: int | None = None  # the group's companies at any depth (not the group itself)
    settled_from: date | None = None
    settled_to: date | None = None  # inclusive
    has_service_officer: bool | None = None


def _like_contains(text: str) -> str:
    """A LIKE pattern for "contains `text`", its wildcards escaped with "/" (as SQLAlchemy's autoescape)."""
    return "%" + text.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"


def _values(flt: EnterpriseFilter) -> dict[str, Any]:
    """The filter's values as bound parameters by name. Which names are present (and has_service_officer,
    which changes the SQL) make the statement's shape: statements are built once per shape (`_shape`)."""
    values: dict[str, Any] = {
        "q": _like_contains(flt.q.lower()) if flt.q else None,
        "uscc": flt.uscc.strip().upper() if flt.uscc else None,
        "industry_code": flt.industry_code or None,
        "industry_section": flt.industry_section or None,
        "zone_id": flt.zone_id,
        "source": flt.source,
        "status": flt.status,
        "investor_class": flt.investor_class,
        "group_id": flt.group_id,
        "settled_from": flt.settled_from,
        "settled_to": flt.settled_to,
    }
    return {name: value for name, value in values.items() if value is not None}


def _shape(flt: EnterpriseFilter) -> tuple[tuple[str, ...], bool | None]:
    return tuple(_values(flt)), flt.has_service_officer


def _conditions(names: tuple[str, ...], has_service_officer: bool | None) -> list[Any]:
    """WHERE criteria for a shape, each value a bound parameter named as in `_values` (built once per
    statement: a subtree CTE may appear only once)."""
    where: list[Any] = []
    if "q" in names:
        where.append(func.lower(Enterprise.name).like(bindparam("q"), escape="/"))
    if "uscc" in names:
        where.append(Enterprise.uscc == bindparam("uscc"))
    if "industry_code" in names:
        where.append(Enterprise.industry_code == bindparam("industry_code"))
    if "industry_section" in names:
        divisions = select(Industry.code).where(Industry.section_code == bindparam("industry_section"))
        where.append(Enterprise.industry_code.in_(divisions))
    if "zone_id" in names:
        where.append(in_zone(Enterprise.zone_id, bindparam("zone_id")))
    if "source" in names:
        where.append(Enterprise.source == bindparam("source"))
    if "status" in names:
        where.append(Enterprise.status == bindparam("status"))
    if "investor_class" in names:
        where.append(
            exists().where(
                EnterpriseInvestorClass.enterprise_id == Enterprise.id,
                EnterpriseInvestorClass.investor_class == bindparam("investor_class"),
            )
        )
    if "group_id" in names:
        members = subtree(Enterprise, bindparam("group_id"), "group_subtree")
        where += [
            in_subquery(Enterprise.id, select(members.c.id).scalar_subquery()),
            Enterprise.id != bindparam("group_id"),
        ]
    if "settled_from" in names:
        where.append(Enterprise.settled_on >= bindparam("settled_from"))
    if "settled_to" in names:
        where.append(Enterprise.settled_on <= bindparam("settled_to"))
    if has_service_officer is not None:
        column = Enterprise.service_officer_id
        where.append(column.is_not(None) if has_service_officer else column.is_(None))
    return where


def _children(outer: Any, enterprise_id: Any) -> tuple[Any, Any]:
    """An enterprise's investor classes and contacts as JSON arrays of rows, read in the same statement."""
    classes = child_rows(
        outer,
        enterprise_id,
        EnterpriseInvestorClass.enterprise_id,
        EnterpriseInvestorClass.id,
        EnterpriseInvestorClass.investor_class,
        EnterpriseInvestorClass.list_year,
    )
    contacts = child_rows(
        outer,
        enterprise_id,
        EnterpriseContact.enterprise_id,
        EnterpriseContact.id,
        EnterpriseContact.name,
        EnterpriseContact.phone,
        EnterpriseContact.position,
    )
    return classes.label("investor_classes"), contacts.label("contacts")


# Building one of these statements costs several times more than running it (SQLAlchemy constructs and
# keys every clause), so each shape of filter and sort is built once per process and reused with new values.
@functools.lru_cache(maxsize=512)
def _reads_statement(names: tuple[str, ...], has_service_officer: bool | None, sort: tuple[str, ...]) -> Select[Any]:
    stmt = select(*_COLUMNS, *_children(Enterprise, Enterprise.id)).where(*_conditions(names, has_service_officer))
    return ordered(stmt, sort, ENTERPRISE_SORTS, Enterprise.id)


@functools.lru_cache(maxsize=512)
def _page_statement(names: tuple[str, ...], has_service_officer: bool | None, sort: tuple[str, ...]) -> Select[Any]:
    where = _conditions(names, has_service_officer)
    total = select(func.count()).select_from(Enterprise).where(*where).scalar_subquery()
    cut = (
        ordered(select(*_COLUMNS).where(*where), sort, ENTERPRISE_SORTS, Enterprise.id)
        .limit(bindparam("page_limit"))
        .offset(bindparam("page_offset"))
        .subquery("page")
    )
    sortable = {key: cut.c[column.key] for key, column in ENTERPRISE_SORTS.items()}
    return ordered(select(cut, *_children(cut, cut.c.id), total.label("total")), sort, sortable, cut.c.id)


@functools.lru_cache(maxsize=64)
def _count_statement(names: tuple[str, ...], has_service_officer: bool | None) -> Select[Any]:
    return select(func.count()).select_from(Enterprise).where(*_conditions(names, has_service_officer))


def enterprise_reads(flt: EnterpriseFilter, sort: tuple[str, ...]) -> Select[Any]:
    """Every enterprise of the list in its order, each row with its children (an export reads it all)."""
    return _reads_statement(*_shape(flt), sort).params(_values(flt))


def page_statement(flt: EnterpriseFilter, page: PageRequest) -> tuple[Select[Any], dict[str, Any]]:
    """One page and the total in one statement, and its parameters: the page sorted and cut in a subquery,
    the children of its rows only, and the count of every matching row (`total`) as a scalar subquery
    evaluated once."""
    values = _values(flt) | {"page_limit": page.limit, "page_offset": page.offset}
    return _page_statement(*_shape(flt), page.sort), values


async def list_enterprises(session: AsyncSession, flt: EnterpriseFilter, page: PageRequest) -> Page[Row[Any]]:
    stmt, values = page_statement(flt, page)
    rows = list((await session.execute(stmt, values)).all())
    if rows:
        matching = int(rows[0].total)
    elif page.offset == 0:
        matching = 0  # nothing matches at all
    else:  # a page past the end: the total was in no row
        matching = int(await session.scalar(_count_statement(*_shape(flt)), _values(flt)) or 0)
    return Page(items=rows, total=matching, limit=page.limit, offset=page.offset)


RECORD_STATEMENT: Select[Any] = select(*_COLUMNS, *_children(Enterprise, Enterprise.id)).where(
    Enterprise.id == bindparam("enterprise_id")
)


async def read_enterprise(session: AsyncSession, enterprise_id: int) -> Row[Any]:
    """An enterprise with its children, in one statement (the record as GET shows it)."""
    result = await session.execute(RECORD_STATEMENT, {"enterprise_id": enterprise_id})
    row: Row[Any] | None = result.one_or_none()
    if row is None:
        raise NotFoundError("enterprise", enterprise_id)
    return row


async def get_enterprise(session: AsyncSession, enterprise_id: int) -> Enterprise:
    """The enterprise as an ORM object with its children loaded, to change it."""
    enterprise = await session.scalar(select(Enterprise).where(Enterprise.id == enterprise_id).options(*_WITH_CHILDREN))
    if enterprise is None:
        raise NotFoundError("enterprise", enterprise_id)
    return enterprise


def _snapshot(enterprise: Enterprise) -> dict[str, Any]:
    return audit.snapshot(enterprise) | _children_snapshot(enterprise.investor_classes, enterprise.contacts)


def _children_snapshot(investor_classes: Sequence[Any], contacts: Sequence[Any]) -> dict[str, Any]:
    """The children as the audit trail shows them, from ORM rows or from the input items being registered."""
    return {
        "investor_classes": sorted(f"{c.investor_class.value}:{c.list_year or ''}" for c in investor_classes),
        "contacts": [f"{c.name} {c.phone} {c.position or ''}".strip() for c in contacts],
    }


async def _check_references(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """The industry, zone and chief service officer each row names exist (and may be named), in one query
    per kind for all the rows (an import's batch), failing on the first row that names one that does not."""
    codes = {row["industry_code"] for row in rows if row.get("industry_code") is not None}
    zone_ids = {row["zone_id"] for row in rows if row.get("zone_id") is not None}
    officer_ids = {row["service_officer_id"] for row in rows if row.get("service_officer_id") is not None}
    # A section (门类) has no section above it and is not a division.
    divisions = set(
        await session.scalars(select(Industry.code).where(Industry.code.in_(codes), Industry.section_code.is_not(None)))
        if codes
        else ()
    )
    zones = set(await session.scalars(select(Zone.id).where(Zone.id.in_(zone_ids))) if zone_ids else ())
    officers = await service_officers.eligible_officer_ids(session, officer_ids)
    for row in rows:
        code = row.get("industry_code")
        if code is not None and code not in divisions:
            raise field_problem(
                422,
                "unknown_industry",
                "industry_code",
                f"行业代码 {code} 不是 GB/T 4754-2017 的大类 / {code} is not a GB/T 4754-2017 division",
            )
        if row.get("zone_id") is not None and row["zone_id"] not in zones:
            raise unknown_reference("zone_id", "zone", row["zone_id"])
        if row.get("service_officer_id") is not None and row["service_officer_id"] not in officers:
            raise service_officers.not_eligible("service_officer_id", row["service_officer_id"])


async def _check_uscc_free(session: AsyncSession, uscc: str, enterprise_id: int | None = None) -> None:
    existing = await session.scalar(select(Enterprise.id).where(Enterprise.uscc == uscc))
    if existing is not None and existing != enterprise_id:
        raise ConflictError(
            "duplicate",
            f"统一社会信用代码 {uscc} 已登记（企业 {existing}）/ "
            f"USCC {uscc} is already registered as enterprise {existing}",
            existing_id=existing,
            existing_url=f"/api/v1/enterprises/{existing}",
        )


def _check_date_order(established: date | None, settled: date | None, operating: date | None) -> None:
    """An enterprise settles and starts operating after it is established."""
    for field, day, label in (
        ("settled_on", settled, "落户日期"),
        ("operations_started_on", operating, "实质性运营日期"),
    ):
        if established and day and day < established:
            raise field_problem(
                422, "date_order", field, f"{label}早于成立日期 / {field} is before established_on ({established})"
            )


def _apply_children(enterprise: Enterprise, changes: dict[str, Any]) -> None:
    if "investor_classes" in changes:
        # Keep the rows that stay, add and remove only the difference: replacing the whole list
        # would insert a (class, year) row before deleting its twin and trip the unique key.
        wanted = {(c["investor_class"], c["list_year"]) for c in changes["investor_classes"]}
        kept = [c for c in enterprise.investor_classes if (c.investor_class, c.list_year) in wanted]
        have = {(c.investor_class, c.list_year) for c in kept}
        enterprise.investor_classes = kept + [
            EnterpriseInvestorClass(investor_class=c["investor_class"], list_year=c["list_year"])
            for c in changes["investor_classes"]
            if (c["investor_class"], c["list_year"]) not in have
        ]
    if "contacts" in changes:
        enterprise.contacts = [
            EnterpriseContact(name=c["name"], phone=c["phone"], position=c["position"]) for c in changes["contacts"]
        ]


_SCALARS_SET_ELSEWHERE = ("investor_classes", "contacts", "service_officer_id", "service_officer_since")


async def create_enterprise(session: AsyncSession, actor: Principal, data: EnterpriseCreate, today: date) -> Enterprise:
    await _check_uscc_free(session, data.uscc)
    [enterprise_id] = await create_enterprises(session, actor, [data], today)
    return await get_enterprise(session, enterprise_id)


async def create_enterprises(
    session: AsyncSession, actor: Principal, rows: Sequence[EnterpriseCreate], today: date
) -> list[int]:
    """Registers enterprises (one, or an import's batch) and returns their ids in the rows' order.

    One INSERT per table for all the rows, without ORM objects: an import registers 100,000 enterprises,
    and building, flushing and snapshotting an object per row was most of its time. So the audit rows and
    the change log (which the flush hook writes for ORM writes) are written here. The USCCs are the
    caller's to have checked as free (create_enterprise does; the unique key stops a race either way).
    """
    now = utcnow()
    values = []
    dumps = [data.model_dump() for data in rows]
    await _check_references(session, dumps)
    for data, changes in zip(rows, dumps, strict=True):
        _check_date_order(data.established_on, data.settled_on, data.operations_started_on)
        if data.parent_id is not None:
            await check_new_parent(session, Enterprise, None, data.parent_id, "group")
        if data.service_officer_id is not None:
            not_in_future("service_officer_since", data.service_officer_since or today, today)
        scalars = {k: v for k, v in changes.items() if k not in _SCALARS_SET_ELSEWHERE}
        values.append(
            scalars
            | {"service_officer_id": data.service_officer_id, "version": 1, "created_at": now, "updated_at": now}
        )
    if not values:
        return []
    # render_nulls: the ORM's bulk insert would leave out a row's None keys and split the batch by key set,
    # down to one INSERT per row; one key set gives multi-row INSERTs (RETURNING in the rows' order).
    inserted = insert(Enterprise).returning(Enterprise.id, sort_by_parameter_order=True)
    ids = list(await session.scalars(inserted.execution_options(render_nulls=True), values))
    for child, name in ((EnterpriseInvestorClass, "investor_classes"), (EnterpriseContact, "contacts")):
        children = [c | {"enterprise_id": i} for i, d in zip(ids, dumps, strict=True) for c in d[name]]
        if children:
            await session.execute(insert(child), children)
    await session.run_sync(lambda sync: log_changes(sync.connection(), [("enterprises", i) for i in ids]))
    await audit.record_created(
        session,
        actor,
        "enterprise",
        [
            (i, audit.snapshot_of(Enterprise, v | {"id": i}) | _children_snapshot(d.investor_classes, d.contacts))
            for i, v, d in zip(ids, values, rows, strict=True)
        ],
    )
    assignments = [
        service_officers.first_primary(session, actor, i, d.service_officer_id, d.service_officer_since or today)
        for i, d in zip(ids, rows, strict=True)
        if d.service_officer_id is not None
    ]
    if assignments:
        await session.flush()
        for assignment in assignments:
            audit.record(
                session, actor, "create", "service_officer_assignment", assignment.id, None, audit.snapshot(assignment)
            )
    return ids


async def update_enterprise(
    session: AsyncSession,
    actor: Principal,
    enterprise_id: int,
    data: EnterpriseUpdate,
    expected: frozenset[int] | None,
    today: date,
) -> Enterprise:
    enterprise = await get_enterprise(session, enterprise_id)
    check_version(enterprise.version, expected)
    changes = data.model_dump(exclude_unset=True)
    for listed in ("investor_classes", "contacts"):
        # exclude_unset reaches into list items too: an item sent without list_year or position means "none".
        if listed in changes:
            changes[listed] = [item.model_dump() for item in getattr(data, listed)]
    if "uscc" in changes:
        await _check_uscc_free(session, changes["uscc"], enterprise.id)
    await _check_references(session, [changes])
    if changes.get("parent_id") is not None and changes["parent_id"] != enterprise.parent_id:
        await locks.hold(session, "enterprise-tree")  # two moves at once must not close a loop
        await check_new_parent(session, Enterprise, enterprise.id, changes["parent_id"], "group")
    _check_date_order(
        changes.get("established_on", enterprise.established_on),
        changes.get("settled_on", enterprise.settled_on),
        changes.get("operations_started_on", enterprise.operations_started_on),
    )
    before = _snapshot(enterprise)
    for field, value in changes.items():
        if field not in _SCALARS_SET_ELSEWHERE:
            setattr(enterprise, field, value)
    _apply_children(enterprise, changes)
    if "service_officer_id" in changes:
        if changes["service_officer_id"] != enterprise.service_officer_id:
            await _hand_over(session, actor, enterprise, changes["service_officer_id"], changes, today)
        elif "service_officer_since" in changes:
            raise field_problem(
                422,
                "no_change",
                "service_officer_since",
                "该服务官已是首席服务官，没有交接 / that officer is already the primary: there is no hand-over to date",
            )
    after = _snapshot(enterprise)
    if after != before:
        # Touching the row makes child-row changes (classes, contacts) move the version and ETag too.
        enterprise.updated_at = utcnow()
    await session.flush()
    audit.record(session, actor, "update", "enterprise", enterprise.id, before, _snapshot(enterprise))
    return enterprise


async def _hand_over(
    session: AsyncSession,
    actor: Principal,
    enterprise: Enterprise,
    officer_id: int | None,
    changes: dict[str, Any],
    today: date,
) -> None:
    """A new primary set on the enterprise record is a hand-over, kept in the team's history."""
    since = changes.get("service_officer_since") or today
    field = "service_officer_since"
    if officer_id is not None:
        await service_officers.assign(
            session, actor, enterprise, officer_id, OfficerRole.primary, since, None, today, date_field=field
        )
        return
    current = [a for a in await service_officers.assignments_of(session, enterprise.id) if a.ended_on is None]
    for assignment in current:
        if assignment.role is OfficerRole.primary:
            await service_officers.end(session, actor, enterprise, assignment.id, since, None, today, date_field=field)
    enterprise.service_officer_id = None


async def delete_enterprise(
    session: AsyncSession, actor: Principal, enterprise_id: int, expected: frozenset[int] | None
) -> None:
    enterprise = await get_enterprise(session, enterprise_id)
    check_version(enterprise.version, expected)
    in_use = {
        "subsidiaries": await session.scalar(select(func.count()).where(Enterprise.parent_id == enterprise_id)),
        "land_parcels": await session.scalar(
            select(func.count()).where(LandParcel.buyer_enterprise_id == enterprise_id)
        ),
        "projects": await session.scalar(select(func.count()).where(Project.enterprise_id == enterprise_id)),
        "service_requests": await session.scalar(
            select(func.count()).where(ServiceRequest.enterprise_id == enterprise_id)
        ),
        "visits": await session.scalar(select(func.count()).where(Visit.enterprise_id == enterprise_id)),
        "talents": await session.scalar(select(func.count()).where(TalentPerson.enterprise_id == enterprise_id)),
        # Apartments, registrations and cards keep the employer of their day, which the talent may have left.
        "talent_records": sum(
            [
                await session.scalar(select(func.count()).where(model.enterprise_id == enterprise_id)) or 0
                for model in (ApartmentAllocation, HouseholdRegistration, TalentGreenCard)
            ]
        ),
        "consultation_appointments": await session.scalar(
            select(func.count()).where(ConsultationAppointment.enterprise_id == enterprise_id)
        ),
    }
    if any(in_use.values()):
        listing = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in in_use.items() if n)
        raise ConflictError(
            "enterprise_in_use",
            f"企业仍有下属公司、地块或项目，不能删除 / enterprise {enterprise_id} still has {listing}",
            in_use=in_use,
        )
    before = _snapshot(enterprise)
    # Its officers' posts go with it (the foreign key cascades); deleted through the session first, so the
    # change log tells mirrors of the assignments.
    for assignment in await session.scalars(
        select(ServiceOfficerAssignment).where(ServiceOfficerAssignment.enterprise_id == enterprise_id)
    ):
        await session.delete(assignment)
    await session.flush()
    await session.delete(enterprise)
    await session.flush()
    audit.record(session, actor, "delete", "enterprise", enterprise_id, before, None)
