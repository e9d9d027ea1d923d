"""Household registrations (白卡落户) and talent green cards (人才绿卡): one shape, two resources."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from app.api.deps import IdPath, IdQuery, IfMatchDep, SessionDep, TodayDep, require, set_etag, sort_dependency
from app.api.export import EXPORT_RESPONSES, ExportDep, each
from app.core.errors import problem_responses
from app.core.principal import Principal
from app.models import ApplicationStatus, HouseholdRegistration, TalentGreenCard
from app.schemas.common import PageOut, QueryDate
from app.schemas.talent import ApplicationCreate, ApplicationRead, Decision, GreenCardDecision, GreenCardRead
from app.services import talent_applications as service
from app.services.pagination import PageRequest
from app.services.talent_applications import Application

TAGS: list[str | Any] = ["talent services 人才服务"]


def _router(
    path: str,
    model: type[Application],
    read: type[ApplicationRead],
    page_model: type[PageOut[Any]],
    decision: type[Decision],
    label: str,
    title: str,
) -> APIRouter:
    router = APIRouter(prefix=path, tags=TAGS, responses=problem_responses(401, 403, 422))
    sorting = sort_dependency(service.sorts(model), default="applied_on")

    @router.get("", response_model=page_model, summary=f"List {label} applications", responses=EXPORT_RESPONSES)
    async def list_applications(
        session: SessionDep,
        actor: Annotated[Principal, require("talents:read")],
        page: Annotated[PageRequest, sorting],
        export: ExportDep,
        person_id: IdQuery = None,
        enterprise_id: IdQuery = None,
        status: ApplicationStatus | None = None,
        decided_from: QueryDate | None = None,
        decided_to: Annotated[QueryDate | None, Query(description="Inclusive")] = None,
    ) -> Any:
        flt = service.ApplicationFilter(
            person_id=person_id,
            enterprise_id=enterprise_id,
            status=status,
            decided_from=decided_from,
            decided_to=decided_to,
        )
        if export.wanted:
            stmt = service.applications_query(model, flt, page.sort)
            return await export.respond(actor, title, read, stmt, each(read.model_validate))
        result = await service.list_applications(session, model, flt, page)
        return page_model(
            items=[read.model_validate(a) for a in result.items],
            total=result.total,
            limit=result.limit,
            offset=result.offset,
        )

    @router.post(
        "",
        response_model=read,
        status_code=status.HTTP_201_CREATED,
        summary=f"Submit a {label} application",
        description="The employer defaults to the person's. A person with a pending or approved application of "
        "this kind answers 409 `duplicate`.",
        responses=problem_responses(409, 415),
    )
    async def submit(
        data: ApplicationCreate,
        response: Response,
        session: SessionDep,
        actor: Annotated[Principal, require("talents:write")],
        today: TodayDep,
    ) -> Any:
        application = await service.submit(session, actor, model, data, today)
        response.headers["Location"] = f"/api/v1{path}/{application.id}"
        set_etag(response, application.version)
        return read.model_validate(application)

    @router.get(
        "/{application_id:int}",
        response_model=read,
        summary=f"Read a {label} application",
        responses=problem_responses(404),
    )
    async def get_application(
        application_id: IdPath,
        response: Response,
        session: SessionDep,
        _actor: Annotated[Principal, require("talents:read")],
    ) -> Any:
        application = await service.get_application(session, model, application_id)
        set_etag(response, application.version)
        return read.model_validate(application)

    @router.post(
        "/{application_id:int}/decision",
        response_model=read,
        summary=f"Record the outcome of a {label} application (once)",
        description="approved, rejected or withdrawn, on the day it was decided. A second decision answers 409 "
        "`already_decided`. Needs the application's If-Match.",
        responses=problem_responses(404, 409, 412, 415, 428),
    )
    async def decide(
        application_id: IdPath,
        data: decision,  # type: ignore[valid-type]
        response: Response,
        session: SessionDep,
        actor: Annotated[Principal, require("talents:write")],
        expected: IfMatchDep,
        today: TodayDep,
    ) -> Any:
        application = await service.decide(session, actor, model, application_id, data, expected, today)
        set_etag(response, application.version)
        return read.model_validate(application)

    return router


household_registrations = _router(
    "/household-registrations",
    HouseholdRegistration,
    ApplicationRead,
    PageOut[ApplicationRead],
    Decision,
    "household registration (白卡落户)",
    "白卡落户",
)
green_cards = _router(
    "/talent-green-cards",
    TalentGreenCard,
    GreenCardRead,
    PageOut[GreenCardRead],
    GreenCardDecision,
    "talent green card",
    "人才绿卡",
)
