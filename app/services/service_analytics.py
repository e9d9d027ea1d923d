"""Service-desk figures, counted as the report counts them, as SQL aggregates.

Request outcomes are those of requests received in a period, as they stood at the period's end: a
request resolved after `as_of` is still open in the figures for `as_of`, so the figures of a past
period do not drift. On-time means resolved on or before the due date.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, distinct, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.scopes import Role
from app.models import (
    ApartmentAllocation,
    ApartmentBatch,
    ApartmentUnit,
    ApplicationStatus,
    Department,
    Enterprise,
    EnterpriseInvestorClass,
    HouseholdRegistration,
    InvestorClass,
    OfficerRole,
    ServiceOfficerAssignment,
    ServiceRequest,
    ServiceType,
    TalentGreenCard,
    TalentPerson,
    TalentRole,
    User,
    Visit,
)
from app.schemas.service_analytics import RequestOutcomes
from app.services.calculators.units import round_half_up, share
from app.services.service_officers import active_on
from app.services.service_requests import open_on
from app.services.talent_apartments import covers
from app.services.trees import in_zone


@dataclass(frozen=True)
class Outcomes:
    raised: int = 0
    resolved: int = 0
    resolved_on_time: int = 0
    rejected: int = 0
    open: int = 0
    overdue_open: int = 0
    evaluated: int = 0
    satisfaction_sum: int = 0
    satisfied: int = 0  # rated 4 or 5

    @property
    def on_time_rate(self) -> Decimal | None:
        return share(self.resolved_on_time, self.resolved)

    @property
    def closure_rate(self) -> Decimal | None:
        return share(self.resolved + self.rejected, self.raised)

    @property
    def satisfaction_average(self) -> Decimal | None:
        if not self.evaluated:
            return None
        return round_half_up(Decimal(self.satisfaction_sum) / self.evaluated, 2)

    @property
    def satisfied_share(self) -> Decimal | None:
        return share(self.satisfied, self.evaluated)


def outcome_read(key: int | None, code: str | None, name: str, o: Outcomes) -> RequestOutcomes:
    return RequestOutcomes(
        key=key,
        code=code,
        name=name,
        received=o.raised,
        resolved=o.resolved,
        resolved_on_time=o.resolved_on_time,
        on_time_rate=o.on_time_rate,
        rejected=o.rejected,
        open=o.open,
        overdue_open=o.overdue_open,
        closure_rate=o.closure_rate,
        evaluated=o.evaluated,
        satisfaction_average=o.satisfaction_average,
        satisfied=o.satisfied,
        satisfied_share=o.satisfied_share,
    )


def _count(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _columns(as_of: date) -> list[Any]:
    r = ServiceRequest
    evaluated = r.evaluated_on <= as_of
    return [
        func.count().label("raised"),
        _count(r.resolved_on <= as_of).label("resolved"),
        _count(and_(r.resolved_on <= as_of, r.resolved_on <= r.due_on)).label("resolved_on_time"),
        _count(r.rejected_on <= as_of).label("rejected"),
        _count(open_on(as_of)).label("open"),
        _count(and_(open_on(as_of), r.due_on < as_of)).label("overdue_open"),
        _count(evaluated).label("evaluated"),
        func.coalesce(func.sum(case((evaluated, r.satisfaction), else_=0)), 0).label("satisfaction_sum"),
        _count(and_(evaluated, r.satisfaction >= 4)).label("satisfied"),
    ]


def _outcomes(row: Any) -> Outcomes:
    return Outcomes(**{name: int(row._mapping[name]) for name in Outcomes.__dataclass_fields__})


async def outcomes(
    session: AsyncSession, where: Sequence[ColumnElement[bool]], as_of: date, group_by: Any | None = None
) -> tuple[Outcomes, dict[Any, Outcomes]]:
    """(all together, per group key) for the requests matching `where` and received by `as_of`."""
    conditions = [*where, ServiceRequest.received_on <= as_of]
    total_row = (await session.execute(select(*_columns(as_of)).where(*conditions))).one()
    groups: dict[Any, Outcomes] = {}
    if group_by is not None:
        rows = await session.execute(
            select(group_by.label("key"), *_columns(as_of)).where(*conditions).group_by(group_by)
        )
        groups = {row._mapping["key"]: _outcomes(row) for row in rows}
    return _outcomes(total_row), groups


# --- requests by type, department or officer ---------------------------------------------------------------

GROUPINGS: dict[str, Any] = {
    "service_type": ServiceRequest.service_type_id,
    "department": ServiceRequest.department_id,
    "officer": ServiceRequest.assignee_id,
}


async def group_labels(session: AsyncSession, by: str, keys: set[Any]) -> dict[Any, tuple[str | None, str]]:
    """(code, name) of each group key; officers have no code."""
    ids = {k for k in keys if k is not None}
    if not ids:
        return {}
    if by == "service_type":
        rows = await session.execute(
            select(ServiceType.id, ServiceType.code, ServiceType.name).where(ServiceType.id.in_(ids))
        )
    elif by == "department":
        rows = await session.execute(
            select(Department.id, Department.code, Department.name).where(Department.id.in_(ids))
        )
    else:
        rows = await session.execute(select(User.id, User.username, User.display_name).where(User.id.in_(ids)))
    return {key: (code, name) for key, code, name in rows}


async def request_statistics(
    session: AsyncSession, first: date, last: date, as_of: date, by: str
) -> tuple[Outcomes, dict[Any, Outcomes]]:
    received = [ServiceRequest.received_on >= first, ServiceRequest.received_on <= last]
    return await outcomes(session, received, as_of, group_by=GROUPINGS[by])


# --- visits -------------------------------------------------------------------------------------------------


async def assigned_coverage(session: AsyncSession, first: date, last: date, zone_id: int | None) -> tuple[int, int]:
    """(enterprises with a primary service officer on `last`, how many of them were visited in [first, last])."""
    conditions = [ServiceOfficerAssignment.role == OfficerRole.primary, active_on(last)]
    if zone_id is not None:
        in_the_zone = select(Enterprise.id).where(in_zone(Enterprise.zone_id, zone_id))
        conditions.append(ServiceOfficerAssignment.enterprise_id.in_(in_the_zone))
    total = await session.scalar(
        select(func.count(distinct(ServiceOfficerAssignment.enterprise_id))).where(*conditions)
    )
    assigned = select(ServiceOfficerAssignment.enterprise_id).where(*conditions)
    visited = await session.scalar(
        select(func.count(distinct(Visit.enterprise_id))).where(
            Visit.visited_on >= first, Visit.visited_on <= last, Visit.enterprise_id.in_(assigned)
        )
    )
    return int(total or 0), int(visited or 0)


# --- talent services ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApartmentCounts:
    units: int
    units_occupied: int
    persons: int
    enterprises: int
    rent_free_persons: int
    rent_free_enterprises: int
    allocations_started: int


async def apartment_counts(session: AsyncSession, first: date, last: date, as_of: date) -> ApartmentCounts:
    a = ApartmentAllocation
    housed = covers(as_of)
    units = await session.scalar(
        select(func.count())
        .select_from(ApartmentUnit)
        .join(ApartmentBatch, ApartmentBatch.id == ApartmentUnit.batch_id)
        .where(ApartmentBatch.supplied_on <= as_of)
    )
    occupied, persons, enterprises = (
        await session.execute(
            select(
                func.count(distinct(a.unit_id)),
                func.count(distinct(a.person_id)),
                func.count(distinct(a.enterprise_id)),
            ).where(housed)
        )
    ).one()
    free_persons, free_enterprises = (
        await session.execute(
            select(func.count(distinct(a.person_id)), func.count(distinct(a.enterprise_id))).where(
                housed, a.rent_free.is_(True)
            )
        )
    ).one()
    started = await session.scalar(select(func.count()).where(a.start_on >= first, a.start_on <= last))
    return ApartmentCounts(
        int(units or 0),
        int(occupied),
        int(persons),
        int(enterprises),
        int(free_persons),
        int(free_enterprises),
        int(started or 0),
    )


@dataclass(frozen=True)
class ApplicationCounts:
    submitted: int
    approved: int
    approved_persons: int
    approved_enterprises: int
    rejected: int
    withdrawn: int
    pending: int
    approved_senior_executives: int = 0
    approved_fortune_global_500_enterprises: int = 0
    approved_fortune_global_500_executives: int = 0


async def application_counts(
    session: AsyncSession,
    model: type[HouseholdRegistration] | type[TalentGreenCard],
    first: date,
    last: date,
    as_of: date,
    list_year: int | None = None,
) -> ApplicationCounts:
    decided_in = [model.decided_on >= first, model.decided_on <= last]

    def outcome(status: ApplicationStatus) -> Any:
        return _count(and_(model.status == status, *decided_in))

    row = (
        await session.execute(
            select(
                _count(and_(model.applied_on >= first, model.applied_on <= last)),
                outcome(ApplicationStatus.approved),
                outcome(ApplicationStatus.rejected),
                outcome(ApplicationStatus.withdrawn),
                _count(and_(model.applied_on <= as_of, or_(model.decided_on.is_(None), model.decided_on > as_of))),
            )
        )
    ).one()
    approved = [model.status == ApplicationStatus.approved, *decided_in]
    persons, enterprises = (
        await session.execute(
            select(func.count(distinct(model.person_id)), func.count(distinct(model.enterprise_id))).where(*approved)
        )
    ).one()
    extra: dict[str, int] = {}
    if model is TalentGreenCard:
        seniors = await session.scalar(
            select(func.count())
            .select_from(model)
            .join(TalentPerson, TalentPerson.id == model.person_id)
            .where(*approved, TalentPerson.role == TalentRole.senior_executive)
        )
        fortune = select(EnterpriseInvestorClass.enterprise_id).where(
            EnterpriseInvestorClass.investor_class == InvestorClass.fortune_global_500
        )
        if list_year is not None:
            fortune = fortune.where(EnterpriseInvestorClass.list_year == list_year)
        seniors_only = model.person_id.in_(
            select(TalentPerson.id).where(TalentPerson.role == TalentRole.senior_executive)
        )
        fg_enterprises, fg_cards = (
            await session.execute(
                select(func.count(distinct(model.enterprise_id)), func.count()).where(
                    *approved, model.enterprise_id.in_(fortune), seniors_only
                )
            )
        ).one()
        extra = {
            "approved_senior_executives": int(seniors or 0),
            "approved_fortune_global_500_enterprises": int(fg_enterprises),
            "approved_fortune_global_500_executives": int(fg_cards),
        }
    submitted, approved_n, rejected, withdrawn, pending = (int(v) for v in row)
    return ApplicationCounts(
        submitted=submitted,
        approved=approved_n,
        approved_persons=int(persons),
        approved_enterprises=int(enterprises),
        rejected=rejected,
        withdrawn=withdrawn,
        pending=pending,
        **extra,
    )


# --- officers' workload ---------------------------------------------------------------------------------------------


WORKLOAD_SORTS = ("display_name", "open_requests", "overdue_requests", "enterprises_served")


def _workload_query(as_of: date) -> Select[int, str, str, bool, Any, Any, Any, Any, Any]:
    posts = (
        select(
            ServiceOfficerAssignment.officer_id.label("officer_id"),
            func.count(
                distinct(
                    case((ServiceOfficerAssignment.role == OfficerRole.primary, ServiceOfficerAssignment.enterprise_id))
                )
            ).label("primary_enterprises"),
            func.count(
                distinct(
                    case((ServiceOfficerAssignment.role == OfficerRole.deputy, ServiceOfficerAssignment.enterprise_id))
                )
            ).label("deputy_enterprises"),
            func.count(distinct(ServiceOfficerAssignment.enterprise_id)).label("enterprises_served"),
        )
        .where(active_on(as_of))
        .group_by(ServiceOfficerAssignment.officer_id)
        .subquery()
    )
    requests = (
        select(
            ServiceRequest.assignee_id.label("officer_id"),
            func.count().label("open_requests"),
            func.sum(case((ServiceRequest.due_on < as_of, 1), else_=0)).label("overdue_requests"),
        )
        .where(ServiceRequest.assignee_id.is_not(None), open_on(as_of))
        .group_by(ServiceRequest.assignee_id)
        .subquery()
    )
    return (
        select(
            User.id,
            User.username,
            User.display_name,
            User.is_active,
            func.coalesce(posts.c.primary_enterprises, 0).label("primary_enterprises"),
            func.coalesce(posts.c.deputy_enterprises, 0).label("deputy_enterprises"),
            func.coalesce(posts.c.enterprises_served, 0).label("enterprises_served"),
            func.coalesce(requests.c.open_requests, 0).label("open_requests"),
            func.coalesce(requests.c.overdue_requests, 0).label("overdue_requests"),
        )
        .outerjoin(posts, posts.c.officer_id == User.id)
        .outerjoin(requests, requests.c.officer_id == User.id)
        # Officers who can serve, and anyone who still has enterprises or requests (e.g. disabled since).
        .where(
            or_(
                and_(User.is_active.is_(True), User.role != Role.viewer.value),
                posts.c.officer_id.is_not(None),
                requests.c.officer_id.is_not(None),
            )
        )
    )


async def workloads(
    session: AsyncSession, as_of: date, sort: tuple[str, ...], limit: int, offset: int, officer_id: int | None = None
) -> tuple[list[dict[str, Any]], int]:
    stmt = _workload_query(as_of)
    if officer_id is not None:
        stmt = stmt.where(User.id == officer_id)
    total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
    columns = {c.name: c for c in stmt.selected_columns}
    order = [
        (columns[key.lstrip("-")].desc() if key.startswith("-") else columns[key.lstrip("-")].asc()) for key in sort
    ]
    rows = await session.execute(stmt.order_by(*order, User.id).limit(limit).offset(offset))
    return [dict(row._mapping) for row in rows], int(total or 0)
