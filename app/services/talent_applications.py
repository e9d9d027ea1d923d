"""Household registrations (白卡落户) and talent green cards (人才绿卡): applications and their outcomes.

Both are submitted once and decided once: approved, rejected or withdrawn, on a date entered by the
officer. A person has at most one live application of a kind: a pending one, or an approved household
registration, or an approved green card that has not expired.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import ConflictError, NotFoundError, field_problem, unknown_reference
from app.core.principal import Principal
from app.models import ApplicationStatus, Enterprise, HouseholdRegistration, TalentGreenCard
from app.schemas.talent import ApplicationCreate, Decision, GreenCardDecision
from app.services import audit, locks
from app.services.entered_dates import not_in_future
from app.services.pagination import Page, PageRequest, ordered, page_of
from app.services.talents import existing_talent
from app.services.versioning import check_version

Application = TypeVar("Application", HouseholdRegistration, TalentGreenCard)

KINDS: dict[type[Any], tuple[str, str]] = {
    HouseholdRegistration: ("household_registration", "household registration"),
    TalentGreenCard: ("talent_green_card", "talent green card"),
}


def sorts(model: type[Application]) -> dict[str, Any]:
    return {"applied_on": model.applied_on, "decided_on": model.decided_on}


@dataclass(frozen=True)
class ApplicationFilter:
    person_id: int | None = None
    enterprise_id: int | None = None
    status: ApplicationStatus | None = None
    decided_from: date | None = None
    decided_to: date | None = None  # inclusive


def applications_query(model: type[Application], flt: ApplicationFilter, sort: tuple[str, ...]) -> Select[Any]:
    """The list's statement in its order: one page of it for the list, all of it for an export."""
    stmt = select(model)
    for column, value in ((model.person_id, flt.person_id), (model.enterprise_id, flt.enterprise_id)):
        if value is not None:
            stmt = stmt.where(column == value)
    if flt.status is not None:
        stmt = stmt.where(model.status == flt.status)
    if flt.decided_from is not None:
        stmt = stmt.where(model.decided_on >= flt.decided_from)
    if flt.decided_to is not None:
        stmt = stmt.where(model.decided_on <= flt.decided_to)
    return ordered(stmt, sort, sorts(model), model.id)


async def list_applications(
    session: AsyncSession, model: type[Application], flt: ApplicationFilter, page: PageRequest
) -> Page[Application]:
    return await page_of(session, applications_query(model, flt, page.sort), page)


async def get_application(session: AsyncSession, model: type[Application], application_id: int) -> Application:
    found = await session.get(model, application_id)
    if found is None:
        raise NotFoundError(KINDS[model][1], application_id)
    return found


async def submit(
    session: AsyncSession, actor: Principal, model: type[Application], data: ApplicationCreate, today: date
) -> Application:
    not_in_future("applied_on", data.applied_on, today)
    person = await existing_talent(session, data.person_id)
    if data.enterprise_id is not None and await session.get(Enterprise, data.enterprise_id) is None:
        raise unknown_reference("enterprise_id", "enterprise", data.enterprise_id)
    await locks.hold(session, f"talent-applications-{KINDS[model][0]}")
    live = or_(model.status == ApplicationStatus.submitted, model.status == ApplicationStatus.approved)
    if model is TalentGreenCard:
        # An approved card that expired before this application no longer stands in the way.
        live = or_(
            TalentGreenCard.status == ApplicationStatus.submitted,
            (TalentGreenCard.status == ApplicationStatus.approved)
            & or_(TalentGreenCard.expires_on.is_(None), TalentGreenCard.expires_on >= data.applied_on),
        )
    existing = await session.scalar(select(model.id).where(model.person_id == person.id, live).limit(1))
    if existing is not None:
        raise ConflictError(
            "duplicate",
            f"该人才已有在办或已获批的{KINDS[model][1]} / talent {person.id} already has a pending or approved "
            f"{KINDS[model][1]} ({existing})",
            existing_id=existing,
        )
    application = model(
        person_id=person.id,
        enterprise_id=data.enterprise_id or person.enterprise_id,
        applied_on=data.applied_on,
        status=ApplicationStatus.submitted,
        note=data.note,
    )
    session.add(application)
    await session.flush()
    audit.record(session, actor, "create", KINDS[model][0], application.id, None, audit.snapshot(application))
    return application


async def decide(
    session: AsyncSession,
    actor: Principal,
    model: type[Application],
    application_id: int,
    data: Decision,
    expected: frozenset[int] | None,
    today: date,
) -> Application:
    application = await get_application(session, model, application_id)
    check_version(application.version, expected)
    if application.status is not ApplicationStatus.submitted:
        raise ConflictError(
            "already_decided",
            f"申请已于 {application.decided_on} 办结（{application.status.value}）/ application {application_id} was "
            f"already decided ({application.status.value})",
            current_status=application.status.value,
        )
    not_in_future("decided_on", data.decided_on, today)
    if data.decided_on < application.applied_on:
        raise field_problem(
            422,
            "date_order",
            "decided_on",
            f"办结日期早于申报日期 {application.applied_on} / decided_on is before the application "
            f"({application.applied_on})",
        )
    if isinstance(data, GreenCardDecision) and data.card_number is not None:
        holder = await session.scalar(
            select(TalentGreenCard.id).where(TalentGreenCard.card_number == data.card_number).limit(1)
        )
        if holder is not None:
            raise ConflictError(
                "duplicate",
                f"绿卡编号 {data.card_number} 已发放 / card number {data.card_number} is already issued",
                existing_id=holder,
            )
    before = audit.snapshot(application)
    application.status = ApplicationStatus(data.outcome)
    application.decided_on = data.decided_on
    if data.note:
        application.note = data.note
    if isinstance(application, TalentGreenCard) and isinstance(data, GreenCardDecision):
        application.card_number = data.card_number
        application.expires_on = data.expires_on
    await session.flush()
    audit.record(session, actor, "decide", KINDS[model][0], application.id, before, audit.snapshot(application))
    return application
