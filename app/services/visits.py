"""Visits (走访): officers call on an enterprise; what they find becomes linked service requests."""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, distinct, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core.errors import ConflictError, NotFoundError, field_problem, unknown_reference
from app.core.principal import Principal
from app.models import Enterprise, RequestSource, ServiceRequest, User, Visit, visit_officers
from app.models.base import utcnow
from app.schemas.service_request import VisitIssueCreate
from app.schemas.visit import VisitCreate, VisitUpdate
from app.services import audit, service_requests
from app.services.entered_dates import not_in_future
from app.services.pagination import Page, PageRequest, ordered, page_of
from app.services.service_officers import eligible_officer
from app.services.trees import in_zone
from app.services.versioning import check_version

VISIT_SORTS = {"visited_on": Visit.visited_on, "created_at": Visit.created_at}


@dataclass(frozen=True)
class VisitFilter:
    enterprise_id: int | None = None
    officer_id: int | None = None
    zone_id: int | None = None  # the enterprise's zone or below
    visited_from: date | None = None
    visited_to: date | None = None  # inclusive


def _filtered(flt: VisitFilter) -> Select[Visit]:
    stmt = select(Visit)
    if flt.enterprise_id is not None:
        stmt = stmt.where(Visit.enterprise_id == flt.enterprise_id)
    if flt.officer_id is not None:
        stmt = stmt.where(
            exists().where(visit_officers.c.visit_id == Visit.id, visit_officers.c.user_id == flt.officer_id)
        )
    if flt.zone_id is not None:
        stmt = stmt.where(
            Visit.enterprise_id.in_(select(Enterprise.id).where(in_zone(Enterprise.zone_id, flt.zone_id)))
        )
    if flt.visited_from is not None:
        stmt = stmt.where(Visit.visited_on >= flt.visited_from)
    if flt.visited_to is not None:
        stmt = stmt.where(Visit.visited_on <= flt.visited_to)
    return stmt


def visits_query(flt: VisitFilter, sort: tuple[str, ...]) -> Select[Visit]:
    """The list's statement in its order: one page of it for the list, all of it for an export."""
    return ordered(_filtered(flt).options(selectinload(Visit.officers)), sort, VISIT_SORTS, Visit.id)


async def list_visits(session: AsyncSession, flt: VisitFilter, page: PageRequest) -> Page[Visit]:
    return await page_of(session, visits_query(flt, page.sort), page)


async def get_visit(session: AsyncSession, visit_id: int) -> Visit:
    visit = await session.scalar(select(Visit).where(Visit.id == visit_id).options(selectinload(Visit.officers)))
    if visit is None:
        raise NotFoundError("visit", visit_id)
    return visit


async def request_ids(session: AsyncSession, visit_ids: list[int]) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {v: [] for v in visit_ids}
    if visit_ids:
        rows = await session.execute(
            select(ServiceRequest.visit_id, ServiceRequest.id)
            .where(ServiceRequest.visit_id.in_(visit_ids))
            .order_by(ServiceRequest.id)
        )
        for visit_id, request_id in rows:
            if visit_id is not None:
                found[visit_id].append(request_id)
    return found


async def _officers(session: AsyncSession, ids: list[int]) -> list[User]:
    return [await eligible_officer(session, f"officer_ids.{i}", officer_id) for i, officer_id in enumerate(ids)]


def _snapshot(visit: Visit) -> dict[str, Any]:
    data = audit.snapshot(visit)
    data["officer_ids"] = [o.id for o in visit.officers]
    return data


async def create_visit(session: AsyncSession, actor: Principal, data: VisitCreate, today: date) -> Visit:
    not_in_future("visited_on", data.visited_on, today)
    if await session.get(Enterprise, data.enterprise_id) is None:
        raise unknown_reference("enterprise_id", "enterprise", data.enterprise_id)
    officers = await _officers(session, data.officer_ids)
    visit = Visit(
        enterprise_id=data.enterprise_id,
        visited_on=data.visited_on,
        purpose=data.purpose,
        findings=data.findings,
        officers=officers,
    )
    session.add(visit)
    await session.flush()
    audit.record(session, actor, "create", "visit", visit.id, None, _snapshot(visit))
    return visit


async def update_visit(
    session: AsyncSession,
    actor: Principal,
    visit_id: int,
    data: VisitUpdate,
    expected: frozenset[int] | None,
    today: date,
) -> Visit:
    visit = await get_visit(session, visit_id)
    check_version(visit.version, expected)
    changes = data.model_dump(exclude_unset=True)
    if "visited_on" in changes:
        not_in_future("visited_on", changes["visited_on"], today)
        first_issue = await session.scalar(
            select(func.min(ServiceRequest.received_on)).where(ServiceRequest.visit_id == visit_id)
        )
        if first_issue is not None and changes["visited_on"] > first_issue:
            raise field_problem(
                422,
                "date_order",
                "visited_on",
                f"走访日期晚于由此登记的诉求 {first_issue} / a request from this visit was received on {first_issue}",
            )
    before = _snapshot(visit)
    if "officer_ids" in changes:
        visit.officers = await _officers(session, changes.pop("officer_ids"))
    for field, value in changes.items():
        setattr(visit, field, value)
    after = _snapshot(visit)
    if after != before:
        visit.updated_at = utcnow()  # an officer list change moves the version too
    await session.flush()
    audit.record(session, actor, "update", "visit", visit.id, before, after)
    return visit


async def delete_visit(session: AsyncSession, actor: Principal, visit_id: int, expected: frozenset[int] | None) -> None:
    visit = await get_visit(session, visit_id)
    check_version(visit.version, expected)
    issues = await session.scalar(select(func.count()).where(ServiceRequest.visit_id == visit_id))
    if issues:
        raise ConflictError(
            "visit_in_use",
            f"走访已登记 {issues} 件诉求，不能删除 / visit {visit_id} raised {issues} service request(s)",
            in_use={"service_requests": issues},
        )
    before = _snapshot(visit)
    await session.delete(visit)
    await session.flush()
    audit.record(session, actor, "delete", "visit", visit_id, before, None)


async def raise_issue(
    session: AsyncSession, actor: Principal, visit_id: int, data: VisitIssueCreate, now: datetime
) -> ServiceRequest:
    """A service request found on the visit: received at 09:00 on the visit day unless said otherwise."""
    visit = await get_visit(session, visit_id)
    received_at = service_requests.received_on_the_day(data.received_at, visit.visited_on, now, "走访 / visit")
    new = service_requests.NewRequest(
        enterprise_id=visit.enterprise_id,
        service_type_id=data.service_type_id,
        title=data.title,
        description=data.description,
        received_at=received_at,
        assignee_id=data.assignee_id,
        department_id=data.department_id,
        source=RequestSource.visit,
        visit_id=visit.id,
    )
    return await service_requests.register(session, actor, new, now)


@dataclass(frozen=True)
class OfficerCoverage:
    officer_id: int
    display_name: str
    visits: int
    enterprises: int


async def coverage(
    session: AsyncSession, first: date, last: date, zone_id: int | None
) -> tuple[int, int, int, list[OfficerCoverage]]:
    """(visits, distinct enterprises visited, issues raised, per officer) for visits in [first, last]."""
    in_period = [Visit.visited_on >= first, Visit.visited_on <= last]
    if zone_id is not None:
        in_period.append(Visit.enterprise_id.in_(select(Enterprise.id).where(in_zone(Enterprise.zone_id, zone_id))))
    visits, enterprises = (
        await session.execute(select(func.count(), func.count(distinct(Visit.enterprise_id))).where(*in_period))
    ).one()
    issues = await session.scalar(
        select(func.count())
        .select_from(ServiceRequest)
        .join(Visit, ServiceRequest.visit_id == Visit.id)
        .where(*in_period)
    )
    rows = await session.execute(
        select(User.id, User.display_name, func.count(distinct(Visit.id)), func.count(distinct(Visit.enterprise_id)))
        .select_from(Visit)
        .join(visit_officers, visit_officers.c.visit_id == Visit.id)
        .join(User, User.id == visit_officers.c.user_id)
        .where(*in_period)
        .group_by(User.id, User.display_name)
        .order_by(func.count(distinct(Visit.enterprise_id)).desc(), User.id)
    )
    per_officer = [OfficerCoverage(i, name, int(v), int(e)) for i, name, v, e in rows]
    return int(visits), int(enterprises), int(issues or 0), per_officer
