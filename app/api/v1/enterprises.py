from collections.abc import Iterable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from sqlalchemy import Row

from app.api.deps import IdPath, IfMatchDep, SessionDep, TodayDep, require, set_etag, sort_dependency
from app.api.export import EXPORT_RESPONSES, ExportDep, each
from app.core.errors import ProblemError, problem_responses
from app.core.masking import mask_name, mask_phone
from app.core.principal import Principal
from app.core.scopes import PERSONAL_DATA
from app.models import Enterprise, EnterpriseSource, EnterpriseStatus, InvestorClass
from app.reference.industries import DIVISIONS, SECTIONS
from app.schemas.common import MAX_ID, VISIBLE_TEXT, PageOut, QueryDate, SearchText
from app.schemas.enterprise import (
    ContactRead,
    EnterpriseCreate,
    EnterpriseRead,
    EnterpriseUpdate,
    IndustryRef,
    InvestorClassItem,
)
from app.services import enterprises as service
from app.services.pagination import PageRequest

router = APIRouter(prefix="/enterprises", tags=["enterprises 企业库"], responses=problem_responses(401, 403, 422))

EnterprisePage = Annotated[PageRequest, sort_dependency(service.ENTERPRISE_SORTS, default="name")]


def read_of(
    fields: Any, classes: Iterable[Sequence[Any]], contacts: Iterable[Sequence[Any]], viewer: Principal
) -> EnterpriseRead:
    """The read model from an enterprise's columns (a row or an ORM object, read by attribute), its
    investor classes as (class, list year) and its contacts as (name, phone, position)."""
    cleared = PERSONAL_DATA in viewer.scopes
    section = DIVISIONS[fields.industry_code][0]
    return EnterpriseRead(
        id=fields.id,
        uscc=fields.uscc,
        name=fields.name,
        registered_capital=fields.registered_capital,
        currency=fields.currency,
        established_on=fields.established_on,
        settled_on=fields.settled_on,
        industry=IndustryRef(
            code=fields.industry_code,
            name=DIVISIONS[fields.industry_code][1],
            section_code=section,
            section_name=SECTIONS[section],
        ),
        source=fields.source,
        status=fields.status,
        operations_started_on=fields.operations_started_on,
        investor_classes=[InvestorClassItem(investor_class=c, list_year=y) for c, y in classes],
        parent_id=fields.parent_id,
        zone_id=fields.zone_id,
        service_officer_id=fields.service_officer_id,
        contacts=[
            ContactRead(name=n, phone=p, position=position)
            if cleared
            else ContactRead(name=mask_name(n), phone=mask_phone(p), position=position)
            for n, p, position in contacts
        ],
        contacts_masked=not cleared,
        created_at=fields.created_at,
        updated_at=fields.updated_at,
        version=fields.version,
    )


def to_read(enterprise: Enterprise, viewer: Principal) -> EnterpriseRead:
    """From the ORM object a write returns (children loaded)."""
    classes = [(c.investor_class, c.list_year) for c in enterprise.investor_classes]
    contacts = [(c.name, c.phone, c.position) for c in enterprise.contacts]
    return read_of(enterprise, classes, contacts, viewer)


def row_read(row: Row[Any], viewer: Principal) -> EnterpriseRead:
    """From a row of the read statements: the columns, then `investor_classes` as [[class, list year], …]
    and `contacts` as [[name, phone, position], …] (JSON arrays, in id order)."""
    return read_of(row, row.investor_classes, row.contacts, viewer)


def _require_clearance_for_contacts(actor: Principal, sends_contacts: bool) -> None:
    # Writing contacts you may not read would let a caller overwrite data they cannot see.
    if sends_contacts and PERSONAL_DATA not in actor.scopes:
        raise ProblemError(403, "insufficient_scope", f"写入联系人需要 {PERSONAL_DATA} / contacts need {PERSONAL_DATA}")


@router.get(
    "",
    response_model=PageOut[EnterpriseRead],
    summary="List enterprises with filters",
    description="Contacts are masked (张**, 138****5678) unless the caller holds `personal_data:read`.",
    responses=EXPORT_RESPONSES,
)
async def list_enterprises(
    session: SessionDep,
    actor: Annotated[Principal, require("enterprises:read")],
    page: EnterprisePage,
    export: ExportDep,
    q: Annotated[SearchText | None, Query(description="Name contains")] = None,
    uscc: Annotated[
        str | None, Query(min_length=18, max_length=18, pattern=VISIBLE_TEXT, description="Exact USCC")
    ] = None,
    industry_section: Annotated[str | None, Query(pattern=r"^[A-T]$", description="GB/T 4754 section")] = None,
    industry_code: Annotated[str | None, Query(pattern=r"^[0-9]{2}$", description="GB/T 4754 division")] = None,
    zone_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="In this zone or its sub-zones")] = None,
    source: EnterpriseSource | None = None,
    status: EnterpriseStatus | None = None,
    investor_class: InvestorClass | None = None,
    group_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Companies of this group, any depth")] = None,
    settled_from: QueryDate | None = None,
    settled_to: Annotated[QueryDate | None, Query(description="Inclusive")] = None,
    has_service_officer: bool | None = None,
) -> PageOut[EnterpriseRead] | Response:
    flt = service.EnterpriseFilter(
        q=q,
        uscc=uscc,
        industry_section=industry_section,
        industry_code=industry_code,
        zone_id=zone_id,
        source=source,
        status=status,
        investor_class=investor_class,
        group_id=group_id,
        settled_from=settled_from,
        settled_to=settled_to,
        has_service_officer=has_service_officer,
    )
    if export.wanted:
        stmt = service.enterprise_reads(flt, page.sort)
        return await export.respond(
            actor, "企业库", EnterpriseRead, stmt, each(lambda r: row_read(r, actor)), rows=True
        )
    result = await service.list_enterprises(session, flt, page)
    return PageOut[EnterpriseRead](
        items=[row_read(r, actor) for r in result.items], total=result.total, limit=result.limit, offset=result.offset
    )


@router.post(
    "",
    response_model=EnterpriseRead,
    status_code=status.HTTP_201_CREATED,
    summary="Register an enterprise",
    description="A USCC already registered answers 409 with `existing_id` and `existing_url`.",
    responses=problem_responses(409, 415),
)
async def create_enterprise(
    data: EnterpriseCreate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("enterprises:write")],
    today: TodayDep,
) -> EnterpriseRead:
    _require_clearance_for_contacts(actor, bool(data.contacts))
    enterprise = await service.create_enterprise(session, actor, data, today)
    response.headers["Location"] = f"/api/v1/enterprises/{enterprise.id}"
    set_etag(response, enterprise.version)
    return to_read(enterprise, actor)


@router.get(
    "/{enterprise_id:int}",
    response_model=EnterpriseRead,
    summary="Read an enterprise",
    responses=problem_responses(404),
)
async def get_enterprise(
    enterprise_id: IdPath,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("enterprises:read")],
) -> EnterpriseRead:
    row = await service.read_enterprise(session, enterprise_id)
    set_etag(response, row.version)
    return row_read(row, actor)


@router.patch(
    "/{enterprise_id:int}",
    response_model=EnterpriseRead,
    summary="Change an enterprise",
    description=(
        "`investor_classes` and `contacts`, when sent, replace the whole list. Null clears optional fields. "
        "A new `service_officer_id` is a hand-over recorded in the team's history "
        "(`/enterprises/{id}/service-officers`), dated `service_officer_since` or today."
    ),
    responses=problem_responses(404, 409, 412, 415, 428),
)
async def update_enterprise(
    enterprise_id: IdPath,
    data: EnterpriseUpdate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("enterprises:write")],
    expected: IfMatchDep,
    today: TodayDep,
) -> EnterpriseRead:
    _require_clearance_for_contacts(actor, "contacts" in data.model_fields_set)
    enterprise = await service.update_enterprise(session, actor, enterprise_id, data, expected, today)
    set_etag(response, enterprise.version)
    return to_read(enterprise, actor)


@router.delete(
    "/{enterprise_id:int}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an enterprise (409 while it has subsidiaries or land parcels)",
    responses=problem_responses(404, 409, 412, 428),
)
async def delete_enterprise(
    enterprise_id: IdPath,
    session: SessionDep,
    actor: Annotated[Principal, require("enterprises:write")],
    expected: IfMatchDep,
) -> None:
    await service.delete_enterprise(session, actor, enterprise_id, expected)
