"""Requests for disclosure (依申请公开): applications, outcomes by the 2021 format's codes and the
processing fee; administrative reviews and lawsuits about them; the yearly enforcement figures."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import ConflictError, NotFoundError, ProblemError, field_problem, unknown_reference
from app.core.principal import Principal
from app.models import (
    ApplicantType,
    DisclosureOutcome,
    DisclosureRemedy,
    DisclosureRequest,
    EnforcementFigures,
    FeeBasis,
    RemedyKind,
)
from app.schemas.disclosure import (
    Conclusion,
    DisclosureRequestCreate,
    DisclosureRequestUpdate,
    EnforcementFiguresPut,
    RemedyConclusion,
    RemedyCreate,
)
from app.services import audit
from app.services.calculators.disclosure_fee import IN_FORCE_FROM, per_item_fee, per_volume_fee
from app.services.entered_dates import not_in_future
from app.services.pagination import Page, PageRequest, ordered, page_of
from app.services.versioning import check_version

# 国办函〔2020〕109号 第五条: per volume applies when paper copies, e-mail or data were provided.
INFORMATION_PROVIDED = frozenset({DisclosureOutcome.disclosed, DisclosureOutcome.partly_disclosed})
REQUEST_SORTS = {"received_on": DisclosureRequest.received_on, "concluded_on": DisclosureRequest.concluded_on}
REMEDY_SORTS = {"filed_on": DisclosureRemedy.filed_on}


@dataclass(frozen=True)
class RequestFilter:
    applicant_type: ApplicantType | None = None
    outcome: DisclosureOutcome | None = None
    pending: bool | None = None
    received_from: date | None = None
    received_to: date | None = None


def requests_query(flt: RequestFilter, sort: tuple[str, ...]) -> Select[DisclosureRequest]:
    """The list's statement in its order: one page of it for the list, all of it for an export."""
    stmt = select(DisclosureRequest)
    if flt.applicant_type is not None:
        stmt = stmt.where(DisclosureRequest.applicant_type == flt.applicant_type)
    if flt.outcome is not None:
        stmt = stmt.where(DisclosureRequest.outcome == flt.outcome)
    if flt.pending is not None:
        column = DisclosureRequest.concluded_on
        stmt = stmt.where(column.is_(None) if flt.pending else column.is_not(None))
    if flt.received_from is not None:
        stmt = stmt.where(DisclosureRequest.received_on >= flt.received_from)
    if flt.received_to is not None:
        stmt = stmt.where(DisclosureRequest.received_on <= flt.received_to)
    return ordered(stmt, sort, REQUEST_SORTS, DisclosureRequest.id)


async def list_requests(session: AsyncSession, flt: RequestFilter, page: PageRequest) -> Page[DisclosureRequest]:
    return await page_of(session, requests_query(flt, page.sort), page)


async def get_request(session: AsyncSession, request_id: int) -> DisclosureRequest:
    found = await session.get(DisclosureRequest, request_id)
    if found is None:
        raise NotFoundError("disclosure request", request_id)
    return found


def _snapshot(request: DisclosureRequest) -> dict[str, object]:
    data = audit.snapshot(request)
    if request.applicant_type is ApplicantType.natural_person:
        data["applicant_name"] = "***"  # a person's name stays out of the audit trail's values
    return data


async def register(
    session: AsyncSession, actor: Principal, data: DisclosureRequestCreate, today: date
) -> DisclosureRequest:
    not_in_future("received_on", data.received_on, today)
    request = DisclosureRequest(**data.model_dump(), fee_basis=FeeBasis.none, fee=Decimal("0.00"))
    session.add(request)
    await session.flush()
    audit.record(session, actor, "create", "disclosure_request", request.id, None, _snapshot(request))
    return request


async def correct(
    session: AsyncSession,
    actor: Principal,
    request_id: int,
    data: DisclosureRequestUpdate,
    expected: frozenset[int] | None,
    today: date,
) -> DisclosureRequest:
    """Corrects a request's record; the audit trail keeps what it said before."""
    request = await get_request(session, request_id)
    check_version(request.version, expected)
    changes = data.model_dump(exclude_unset=True)
    if {"outcome", "concluded_on"} & changes.keys():
        if request.concluded_on is None:
            raise ConflictError(
                "not_concluded",
                "申请尚未办结：请用 /conclusion 办结 / the request is not concluded yet: conclude it first",
            )
        concluded = changes.get("concluded_on", request.concluded_on)
        not_in_future("concluded_on", concluded, today)
        if concluded < request.received_on:
            raise field_problem(422, "date_order", "concluded_on", "办结日期早于收到日期 / before the request arrived")
        outcome = changes.get("outcome", request.outcome)
        if request.fee_basis is FeeBasis.per_volume and outcome not in INFORMATION_PROVIDED:
            raise field_problem(
                422,
                "fee_basis_not_applicable",
                "outcome",
                "该申请按量收费，结果须为予以公开或部分公开 / a per-volume fee needs outcome 1 or 2",
            )
    before = _snapshot(request)
    for field, value in changes.items():
        setattr(request, field, value)
    await session.flush()
    audit.record(session, actor, "update", "disclosure_request", request.id, before, _snapshot(request))
    return request


def fee_for(basis: FeeBasis, ordinal: int | None, pages: int | None) -> Decimal:
    fee = Decimal(0)
    if basis is FeeBasis.per_item and ordinal is not None:
        fee = per_item_fee(ordinal)
    elif basis is FeeBasis.per_volume and pages is not None:
        fee = per_volume_fee(pages)
    return fee.quantize(Decimal("0.01"))  # yuan and fen, as stored


async def conclude(
    session: AsyncSession,
    actor: Principal,
    request_id: int,
    data: Conclusion,
    expected: frozenset[int] | None,
    today: date,
) -> DisclosureRequest:
    request = await get_request(session, request_id)
    check_version(request.version, expected)
    if request.concluded_on is not None:
        raise ConflictError(
            "already_decided",
            f"申请已于 {request.concluded_on} 办结 / request {request_id} was concluded on {request.concluded_on}",
        )
    not_in_future("concluded_on", data.concluded_on, today)
    if data.concluded_on < request.received_on:
        raise field_problem(
            422,
            "date_order",
            "concluded_on",
            f"办结日期早于收到日期 {request.received_on} / before the request arrived",
        )
    if data.fee_basis is not FeeBasis.none and request.received_on < IN_FORCE_FROM:
        raise field_problem(
            422,
            "fee_rules_not_in_force",
            "fee_basis",
            f"信息处理费办法自 {IN_FORCE_FROM} 起施行 / the processing-fee rules apply to requests received from "
            f"{IN_FORCE_FROM}",
        )
    if data.fee_basis is FeeBasis.per_volume and data.outcome not in INFORMATION_PROVIDED:
        raise field_problem(
            422,
            "fee_basis_not_applicable",
            "fee_basis",
            "按量计收只适用于提供了信息的申请（予以公开、部分公开）/ a per-volume fee applies only when information "
            "was provided (outcomes 1 and 2)",
        )
    if data.monthly_ordinal is not None:
        month_start = request.received_on.replace(day=1)
        on_record = await session.scalar(
            select(func.count()).where(
                DisclosureRequest.applicant_type == request.applicant_type,
                DisclosureRequest.applicant_name == request.applicant_name,
                DisclosureRequest.received_on >= month_start,
                DisclosureRequest.received_on <= request.received_on,
            )
        )
        if data.monthly_ordinal > int(on_record or 0):
            raise field_problem(
                422,
                "ordinal_not_on_record",
                "monthly_ordinal",
                f"本月登记的该申请人申请只有 {on_record} 件 / only {on_record} application(s) of this applicant are "
                "on record this month up to this one",
            )
    before = _snapshot(request)
    request.outcome = data.outcome
    request.concluded_on = data.concluded_on
    request.fee_basis = data.fee_basis
    request.monthly_ordinal = data.monthly_ordinal
    request.pages = data.pages
    request.fee = fee_for(data.fee_basis, data.monthly_ordinal, data.pages)
    await session.flush()
    audit.record(session, actor, "conclude", "disclosure_request", request.id, before, _snapshot(request))
    return request


# --- administrative reviews and lawsuits -------------------------------------------------------------------


def remedies_query(
    kind: RemedyKind | None, filed_from: date | None, filed_to: date | None, sort: tuple[str, ...]
) -> Select[DisclosureRemedy]:
    """The list's statement in its order: one page of it for the list, all of it for an export."""
    stmt = select(DisclosureRemedy)
    if kind is not None:
        stmt = stmt.where(DisclosureRemedy.kind == kind)
    if filed_from is not None:
        stmt = stmt.where(DisclosureRemedy.filed_on >= filed_from)
    if filed_to is not None:
        stmt = stmt.where(DisclosureRemedy.filed_on <= filed_to)
    return ordered(stmt, sort, REMEDY_SORTS, DisclosureRemedy.id)


async def list_remedies(
    session: AsyncSession, kind: RemedyKind | None, filed_from: date | None, filed_to: date | None, page: PageRequest
) -> Page[DisclosureRemedy]:
    return await page_of(session, remedies_query(kind, filed_from, filed_to, page.sort), page)


async def get_remedy(session: AsyncSession, remedy_id: int) -> DisclosureRemedy:
    found = await session.get(DisclosureRemedy, remedy_id)
    if found is None:
        raise NotFoundError("disclosure remedy", remedy_id)
    return found


async def file_remedy(session: AsyncSession, actor: Principal, data: RemedyCreate, today: date) -> DisclosureRemedy:
    not_in_future("filed_on", data.filed_on, today)
    if data.as_review_organ_co_defendant and data.kind is not RemedyKind.lawsuit_after_review:
        raise field_problem(
            422,
            "validation_failed",
            "as_review_organ_co_defendant",
            "复议机关作共同被告只见于复议后起诉的行政诉讼 / only a lawsuit after review has the review organ as "
            "co-defendant",
        )
    if data.request_id is not None:
        request = await session.get(DisclosureRequest, data.request_id)
        if request is None:
            raise unknown_reference("request_id", "disclosure request", data.request_id)
        if request.concluded_on is None or data.filed_on < request.concluded_on:
            raise field_problem(
                422,
                "date_order",
                "filed_on",
                "复议或诉讼针对的是办理结果：须在申请办结之后 / a review or lawsuit follows the request's conclusion",
            )
    remedy = DisclosureRemedy(**data.model_dump())
    session.add(remedy)
    await session.flush()
    audit.record(session, actor, "create", "disclosure_remedy", remedy.id, None, audit.snapshot(remedy))
    return remedy


async def conclude_remedy(
    session: AsyncSession,
    actor: Principal,
    remedy_id: int,
    data: RemedyConclusion,
    expected: frozenset[int] | None,
    today: date,
) -> DisclosureRemedy:
    remedy = await get_remedy(session, remedy_id)
    check_version(remedy.version, expected)
    if remedy.result is not None:
        raise ConflictError(
            "already_decided", f"已审结（{remedy.result.value}）/ remedy {remedy_id} already has a result"
        )
    not_in_future("concluded_on", data.concluded_on, today)
    if data.concluded_on < remedy.filed_on:
        raise field_problem(422, "date_order", "concluded_on", "审结日期早于提起日期 / concluded before it was filed")
    before = audit.snapshot(remedy)
    remedy.result = data.result
    remedy.concluded_on = data.concluded_on
    await session.flush()
    audit.record(session, actor, "conclude", "disclosure_remedy", remedy.id, before, audit.snapshot(remedy))
    return remedy


# --- the yearly enforcement figures (section 二) -------------------------------------------------------------


async def get_figures(session: AsyncSession, year: int) -> EnforcementFigures | None:
    return await session.get(EnforcementFigures, year)


async def put_figures(
    session: AsyncSession,
    actor: Principal,
    year: int,
    data: EnforcementFiguresPut,
    sent: bool,
    expected: frozenset[int] | None,
) -> tuple[EnforcementFigures, bool]:
    figures = await session.get(EnforcementFigures, year)
    if figures is None:
        figures = EnforcementFigures(year=year, **data.model_dump())
        session.add(figures)
        await session.flush()
        audit.record(session, actor, "create", "enforcement_figures", year, None, audit.snapshot(figures))
        return figures, True
    if not sent:
        raise ProblemError(428, "if_match_required", "替换需带 If-Match / send If-Match with the ETag you read")
    check_version(figures.version, expected)
    before = audit.snapshot(figures)
    for field, value in data.model_dump().items():
        setattr(figures, field, value)
    await session.flush()
    audit.record(session, actor, "update", "enforcement_figures", year, before, audit.snapshot(figures))
    return figures, False
