"""Talents (人才): the people the office serves. Their national ID number and phone are personal data."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import ConflictError, NotFoundError, unknown_reference
from app.core.masking import mask_national_id, mask_phone
from app.core.principal import Principal
from app.models import (
    ApartmentAllocation,
    Enterprise,
    HouseholdRegistration,
    TalentGreenCard,
    TalentPerson,
    TalentRole,
)
from app.schemas.talent import TalentCreate, TalentUpdate
from app.services import audit
from app.services.pagination import Page, PageRequest, ordered, page_of
from app.services.versioning import check_version

TALENT_SORTS = {"name": TalentPerson.name, "created_at": TalentPerson.created_at}
PERSONAL_FIELDS = ("national_id", "phone")


@dataclass(frozen=True)
class TalentFilter:
    q: str | None = None
    enterprise_id: int | None = None
    role: TalentRole | None = None
    national_id: str | None = None


def _filtered(flt: TalentFilter) -> Select[TalentPerson]:
    stmt = select(TalentPerson)
    if flt.q:
        stmt = stmt.where(func.lower(TalentPerson.name).contains(flt.q.lower(), autoescape=True))
    if flt.enterprise_id is not None:
        stmt = stmt.where(TalentPerson.enterprise_id == flt.enterprise_id)
    if flt.role is not None:
        stmt = stmt.where(TalentPerson.role == flt.role)
    if flt.national_id is not None:
        stmt = stmt.where(TalentPerson.national_id == flt.national_id.strip().upper())
    return stmt


def talents_query(flt: TalentFilter, sort: tuple[str, ...]) -> Select[TalentPerson]:
    """The list's statement in its order: one page of it for the list, all of it for an export."""
    return ordered(_filtered(flt), sort, TALENT_SORTS, TalentPerson.id)


async def list_talents(session: AsyncSession, flt: TalentFilter, page: PageRequest) -> Page[TalentPerson]:
    return await page_of(session, talents_query(flt, page.sort), page)


async def get_talent(session: AsyncSession, person_id: int) -> TalentPerson:
    person = await session.get(TalentPerson, person_id)
    if person is None:
        raise NotFoundError("talent", person_id)
    return person


async def existing_talent(session: AsyncSession, person_id: int) -> TalentPerson:
    person = await session.get(TalentPerson, person_id)
    if person is None:
        raise unknown_reference("person_id", "talent", person_id)
    return person


def _snapshot(person: TalentPerson) -> dict[str, Any]:
    # The audit trail records that personal data changed, never the data itself.
    data = audit.snapshot(person)
    if person.national_id:
        data["national_id"] = mask_national_id(person.national_id)
    if person.phone:
        data["phone"] = mask_phone(person.phone)
    return data


async def _check(session: AsyncSession, changes: dict[str, Any], person_id: int | None = None) -> None:
    enterprise_id = changes.get("enterprise_id")
    if enterprise_id is not None and await session.get(Enterprise, enterprise_id) is None:
        raise unknown_reference("enterprise_id", "enterprise", enterprise_id)
    number = changes.get("national_id")
    if number is not None:
        existing = await session.scalar(select(TalentPerson.id).where(TalentPerson.national_id == number))
        if existing is not None and existing != person_id:
            # Which person holds the number is not said: the caller may not be cleared to know.
            raise ConflictError(
                "duplicate", "该身份证号码已登记 / a talent with this national ID number is already registered"
            )


async def create_talent(session: AsyncSession, actor: Principal, data: TalentCreate) -> TalentPerson:
    changes = data.model_dump()
    await _check(session, changes)
    person = TalentPerson(**changes)
    session.add(person)
    await session.flush()
    audit.record(session, actor, "create", "talent", person.id, None, _snapshot(person))
    return person


async def update_talent(
    session: AsyncSession, actor: Principal, person_id: int, data: TalentUpdate, expected: frozenset[int] | None
) -> TalentPerson:
    person = await get_talent(session, person_id)
    check_version(person.version, expected)
    changes = data.model_dump(exclude_unset=True)
    await _check(session, changes, person_id)
    before = _snapshot(person)
    changed_personal = [f for f in PERSONAL_FIELDS if f in changes and changes[f] != getattr(person, f)]
    for field, value in changes.items():
        setattr(person, field, value)
    await session.flush()
    after = _snapshot(person)
    if changed_personal:
        # The masked forms may look alike (138****1234 both times): say which field changed, not to what.
        after["personal_data_changed"] = changed_personal
    audit.record(session, actor, "update", "talent", person.id, before, after)
    return person


async def delete_talent(
    session: AsyncSession, actor: Principal, person_id: int, expected: frozenset[int] | None
) -> None:
    person = await get_talent(session, person_id)
    check_version(person.version, expected)
    in_use = {
        "apartment_allocations": await session.scalar(
            select(func.count()).where(ApartmentAllocation.person_id == person_id)
        ),
        "household_registrations": await session.scalar(
            select(func.count()).where(HouseholdRegistration.person_id == person_id)
        ),
        "green_cards": await session.scalar(select(func.count()).where(TalentGreenCard.person_id == person_id)),
    }
    if any(in_use.values()):
        raise ConflictError(
            "talent_in_use",
            f"人才已有服务记录，不能删除；如需删除个人信息请将身份证号和电话置空 / talent {person_id} has service "
            "records; to erase the personal data, PATCH national_id and phone to null",
            in_use=in_use,
        )
    before = _snapshot(person)
    await session.delete(person)
    await session.flush()
    audit.record(session, actor, "delete", "talent", person_id, before, None)
