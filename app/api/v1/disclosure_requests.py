from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.api.deps import IdPath, IfMatchDep, SessionDep, TodayDep, require, set_etag, sort_dependency
from app.api.export import EXPORT_RESPONSES, ExportDep, each
from app.core.errors import ProblemError, problem_responses
from app.core.masking import mask_name
from app.core.principal import Principal
from app.core.scopes import PERSONAL_DATA
from app.models import ApplicantType, DisclosureOutcome, DisclosureRemedy, DisclosureRequest, RemedyKind
from app.schemas.common import PageOut, QueryDate
from app.schemas.disclosure import (
    Conclusion,
    DisclosureRequestCreate,
    DisclosureRequestRead,
    DisclosureRequestUpdate,
    RemedyConclusion,
    RemedyCreate,
    RemedyRead,
)
from app.services import disclosure_requests as service
from app.services.pagination import PageRequest

router = APIRouter(tags=["disclosure 政务公开"], responses=problem_responses(401, 403, 422))

RequestPage = Annotated[PageRequest, sort_dependency(service.REQUEST_SORTS, default="-received_on")]
RemedyPage = Annotated[PageRequest, sort_dependency(service.REMEDY_SORTS, default="-filed_on")]


def to_read(request: DisclosureRequest, viewer: Principal) -> DisclosureRequestRead:
    hidden = request.applicant_type is ApplicantType.natural_person and PERSONAL_DATA not in viewer.scopes
    return DisclosureRequestRead(
        id=request.id,
        applicant_type=request.applicant_type,
        applicant_name=mask_name(request.applicant_name) if hidden else request.applicant_name,
        subject=request.subject,
        received_on=request.received_on,
        concluded_on=request.concluded_on,
        outcome=request.outcome,
        fee_basis=request.fee_basis,
        monthly_ordinal=request.monthly_ordinal,
        pages=request.pages,
        fee=request.fee,
        note=request.note,
        version=request.version,
    )


def _cleared_for_names(actor: Principal, applicant_type: ApplicantType) -> None:
    # As with enterprise contacts: a person's name is written only by those who may read it.
    if applicant_type is ApplicantType.natural_person and PERSONAL_DATA not in actor.scopes:
        raise ProblemError(
            403, "insufficient_scope", f"自然人申请人的姓名需要 {PERSONAL_DATA} / a person's name needs {PERSONAL_DATA}"
        )


def remedy_read(remedy: DisclosureRemedy) -> RemedyRead:
    return RemedyRead.model_validate(remedy, from_attributes=True)


@router.get(
    "/disclosure-requests",
    response_model=PageOut[DisclosureRequestRead],
    summary="Requests for disclosure (依申请公开)",
    description="A natural person's name is masked (张**) without `personal_data:read`.",
    responses=EXPORT_RESPONSES,
)
async def list_requests(
    session: SessionDep,
    actor: Annotated[Principal, require("disclosures:read")],
    page: RequestPage,
    export: ExportDep,
    applicant_type: ApplicantType | None = None,
    outcome: DisclosureOutcome | None = None,
    pending: bool | None = None,
    received_from: QueryDate | None = None,
    received_to: Annotated[QueryDate | None, Query(description="Inclusive")] = None,
) -> PageOut[DisclosureRequestRead] | Response:
    flt = service.RequestFilter(
        applicant_type=applicant_type,
        outcome=outcome,
        pending=pending,
        received_from=received_from,
        received_to=received_to,
    )
    if export.wanted:
        stmt = service.requests_query(flt, page.sort)
        return await export.respond(actor, "依申请公开", DisclosureRequestRead, stmt, each(lambda r: to_read(r, actor)))
    result = await service.list_requests(session, flt, page)
    return PageOut[DisclosureRequestRead](
        items=[to_read(r, actor) for r in result.items], total=result.total, limit=result.limit, offset=result.offset
    )


@router.post(
    "/disclosure-requests",
    response_model=DisclosureRequestRead,
    status_code=status.HTTP_201_CREATED,
    summary="Register a request for disclosure",
    responses=problem_responses(415),
)
async def register(
    data: DisclosureRequestCreate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("disclosures:write")],
    today: TodayDep,
) -> DisclosureRequestRead:
    _cleared_for_names(actor, data.applicant_type)
    request = await service.register(session, actor, data, today)
    response.headers["Location"] = f"/api/v1/disclosure-requests/{request.id}"
    set_etag(response, request.version)
    return to_read(request, actor)


@router.get(
    "/disclosure-requests/{request_id:int}",
    response_model=DisclosureRequestRead,
    summary="Read a request for disclosure",
    responses=problem_responses(404),
)
async def get_request(
    request_id: IdPath,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("disclosures:read")],
) -> DisclosureRequestRead:
    request = await service.get_request(session, request_id)
    set_etag(response, request.version)
    return to_read(request, actor)


@router.patch(
    "/disclosure-requests/{request_id:int}",
    response_model=DisclosureRequestRead,
    summary="Correct a request's record (a mistyped outcome code, a wrong date): audited",
    description="`outcome` and `concluded_on` are corrected only on a concluded request (409 `not_concluded`).",
    responses=problem_responses(404, 409, 412, 415, 428),
)
async def correct(
    request_id: IdPath,
    data: DisclosureRequestUpdate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("disclosures:write")],
    expected: IfMatchDep,
    today: TodayDep,
) -> DisclosureRequestRead:
    if "applicant_name" in data.model_fields_set:
        _cleared_for_names(actor, (await service.get_request(session, request_id)).applicant_type)
    request = await service.correct(session, actor, request_id, data, expected, today)
    set_etag(response, request.version)
    return to_read(request, actor)


@router.post(
    "/disclosure-requests/{request_id:int}/conclusion",
    response_model=DisclosureRequestRead,
    summary="Record the outcome (the 2021 format's code) and the processing fee, once",
    description=(
        "Outcome codes: 1 予以公开, 2 部分公开, 3.1–3.8 不予公开, 4.1–4.3 无法提供, 5.1–5.5 不予处理, "
        "6.1–6.3 其他处理. "
        "The fee follows 国办函〔2020〕109号 (in force from 2021-01-01): `per_item` with this applicant's "
        "`monthly_ordinal` (1–10 free, 11–30 100元, then +100元 per band of 10), or `per_volume` with `pages` "
        "(30 free, 10/20/40元 a page above 30/100/200). Needs the request's If-Match."
    ),
    responses=problem_responses(404, 409, 412, 415, 428),
)
async def conclude(
    request_id: IdPath,
    data: Conclusion,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("disclosures:write")],
    expected: IfMatchDep,
    today: TodayDep,
) -> DisclosureRequestRead:
    request = await service.conclude(session, actor, request_id, data, expected, today)
    set_etag(response, request.version)
    return to_read(request, actor)


@router.get(
    "/disclosure-remedies",
    response_model=PageOut[RemedyRead],
    summary="Administrative reviews and lawsuits about disclosure decisions",
    responses=EXPORT_RESPONSES,
)
async def list_remedies(
    session: SessionDep,
    actor: Annotated[Principal, require("disclosures:read")],
    page: RemedyPage,
    export: ExportDep,
    kind: RemedyKind | None = None,
    filed_from: QueryDate | None = None,
    filed_to: Annotated[QueryDate | None, Query(description="Inclusive")] = None,
) -> PageOut[RemedyRead] | Response:
    if export.wanted:
        stmt = service.remedies_query(kind, filed_from, filed_to, page.sort)
        return await export.respond(actor, "行政复议与诉讼", RemedyRead, stmt, each(remedy_read))
    result = await service.list_remedies(session, kind, filed_from, filed_to, page)
    return PageOut[RemedyRead](
        items=[remedy_read(r) for r in result.items], total=result.total, limit=result.limit, offset=result.offset
    )


@router.post(
    "/disclosure-remedies",
    response_model=RemedyRead,
    status_code=status.HTTP_201_CREATED,
    summary="Record an administrative review or lawsuit",
    description="`as_review_organ_co_defendant=true` (the office is co-defendant as the review organ) keeps it out "
    "of this office's table, by 国办公开办函〔2016〕201号.",
    responses=problem_responses(415),
)
async def file_remedy(
    data: RemedyCreate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("disclosures:write")],
    today: TodayDep,
) -> RemedyRead:
    remedy = await service.file_remedy(session, actor, data, today)
    response.headers["Location"] = f"/api/v1/disclosure-remedies/{remedy.id}"
    set_etag(response, remedy.version)
    return remedy_read(remedy)


@router.get(
    "/disclosure-remedies/{remedy_id:int}",
    response_model=RemedyRead,
    summary="Read a review or lawsuit",
    responses=problem_responses(404),
)
async def get_remedy(
    remedy_id: IdPath,
    response: Response,
    session: SessionDep,
    _actor: Annotated[Principal, require("disclosures:read")],
) -> RemedyRead:
    remedy = await service.get_remedy(session, remedy_id)
    set_etag(response, remedy.version)
    return remedy_read(remedy)


@router.post(
    "/disclosure-remedies/{remedy_id:int}/conclusion",
    response_model=RemedyRead,
    summary="Record the result of a review or lawsuit (upheld, corrected, other), once",
    responses=problem_responses(404, 409, 412, 415, 428),
)
async def conclude_remedy(
    remedy_id: IdPath,
    data: RemedyConclusion,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("disclosures:write")],
    expected: IfMatchDep,
    today: TodayDep,
) -> RemedyRead:
    remedy = await service.conclude_remedy(session, actor, remedy_id, data, expected, today)
    set_etag(response, remedy.version)
    return remedy_read(remedy)
