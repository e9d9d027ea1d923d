from typing import Annotated

from fastapi import APIRouter, Query, Response, status

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


def to_read(enterprise: Enterprise, viewer: Principal) -> EnterpriseRead:
    cleared = PERSONAL_DATA in viewer.scopes
    section = DIVISIONS[enterprise.industry_code][0]
    return EnterpriseRead(
        id=enterprise.id,
        uscc=enterprise.uscc,
        name=enterprise.name,
        registered_capital=enterprise.registered_capital,
        currency=enterprise.currency,
        established_on=enterprise.established_on,
        settled_on=enterprise.settled_on,
        industry=IndustryRef(
            code=enterprise.industry_code,
            name=DIVISIONS[enterprise.industry_code][1],
            section_code=section,
            section_name=SECTIONS[section],
        ),
        source=enterprise.source,
        status=enterprise.status,
        operations_started_on=enterprise.operations_started_on,
        investor_classes=[
            InvestorClassItem(investor_class=c.investor_class, list_year=c.list_year)
            for c in enterprise.investor_classes
        ],
        parent_id=enterprise.parent_id,
        zone_id=enterprise.zone_id,
        service_officer_id=enterprise.service_officer_id,
        contacts=[
            ContactRead(name=c.name, phone=c.phone, position=c.position)
            if cleared
            else ContactRead(name=mask_name(c.name), phone=mask_phone(c.phone), position=c.position)
            for c in enterprise.contacts
        ],
        contacts_masked=not cleared,
        created_at=enterprise.created_at,
        updated_at=enterprise.updated_at,
        version=enterprise.version,
    )


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
        stmt = service.enterprises_query(flt, page.sort)
        return await export.respond(actor, "企业库", EnterpriseRead, stmt, each(lambda e: to_read(e, actor)))
    result = await service.list_enterprises(session, flt, page)
    return PageOut[EnterpriseRead](
        items=[to_read(e, actor) for e in result.items], total=result.total, limit=result.limit, offset=result.offset
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
    enterprise = await service.get_enterprise(session, enterprise_id)
    set_etag(response, enterprise.version)
    return to_read(enterprise, actor)


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
