from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Response, status

from app.api.deps import (
    AnalyticsSessionDep,
    IdPath,
    NowDep,
    OptionalIfMatchDep,
    SessionDep,
    SettingsDep,
    TodayDep,
    require,
    set_etag,
    sort_dependency,
)
from app.api.export import EXPORT_RESPONSES, ExportDep, each
from app.core.errors import ProblemError, problem_responses
from app.core.principal import Principal
from app.core.scopes import SENSITIVE_KPIS
from app.models import ReportKind, ReportSnapshot
from app.schemas.annual_report import AnnualReport
from app.schemas.common import VISIBLE_TEXT, PageOut, QueryDate
from app.schemas.disclosure import EnforcementFiguresPut
from app.schemas.report import Difference, DisclosureAnnualReport, SnapshotCreate, SnapshotDiff, SnapshotRead
from app.services import annual_report, disclosure_report, disclosure_requests, report_snapshots
from app.services.calculators.differences import differences
from app.services.pagination import PageRequest
from app.services.report_documents import (
    DOCX_MEDIA_TYPE,
    XLSX_MEDIA_TYPE,
    annual_report_docx,
    disclosure_report_xlsx,
)

router = APIRouter(tags=["reports 报告"], responses=problem_responses(401, 403, 422))

YearPath = Annotated[int, Path(ge=1990, le=2100)]
ThroughMonth = Annotated[int | None, Query(ge=1, le=12, description="KPIs are 1–N月 through this month")]
AsOf = Annotated[QueryDate | None, Query(description="Counts run from 1 January to this day (default: year end)")]
KeyCohort = Annotated[
    str | None,
    Query(max_length=32, pattern=VISIBLE_TEXT, description="The key-projects cohort's code (default key-<year>)"),
]
SnapshotPage = Annotated[PageRequest, sort_dependency(report_snapshots.SNAPSHOT_SORTS, default="-created_at")]
DOCX_RESPONSE: dict[int | str, dict[str, Any]] = {200: {"content": {DOCX_MEDIA_TYPE: {}}}}
XLSX_RESPONSE: dict[int | str, dict[str, Any]] = {200: {"content": {XLSX_MEDIA_TYPE: {}}}}


def _year_begun(year: int, today: date) -> None:
    if year > today.year:
        raise ProblemError(
            422,
            "date_out_of_range",
            f"{year} 年尚未开始 / {year} has not begun",
            errors=[{"loc": ["path", "year"], "message": "a year still to come", "type": "date_out_of_range"}],
        )


def _download(content: bytes, media_type: str, filename: str) -> Response:
    # RFC 6266 / 5987: an ASCII fallback and the Chinese name for clients that read it.
    disposition = f"attachment; filename=\"report.{filename.rsplit('.', 1)[1]}\"; filename*=UTF-8''{quote(filename)}"
    return Response(content, media_type=media_type, headers={"Content-Disposition": disposition})


async def _annual(
    session: AnalyticsSessionDep,
    settings: SettingsDep,
    scopes: frozenset[str],
    year: int,
    through_month: int | None,
    as_of: date | None,
    key_cohort: str | None,
    today: date,
    now: Any,
    origin: str = "query",
) -> AnnualReport:
    request = annual_report.ReportRequest(
        year=year,
        through_month=through_month,
        as_of=as_of,
        key_cohort=key_cohort,
        office_name=settings.office_name,
        scopes=scopes,
        origin=origin,
    )
    return await annual_report.build(session, request, today, now)


@router.get(
    "/reports/annual/{year:int}",
    response_model=AnnualReport,
    summary="The annual work report assembled from the data (JSON, or a Chinese .docx draft)",
    description=(
        "Every figure of the office's yearly report: enterprises settled (count, capital, sources, investor "
        "classes), the key projects' and each cluster's KPIs (1–N月 through `through_month`, comparable-basis "
        "growth, completion of the staged target, intensity per km²), the clusters' parcels, groups and "
        "companies, visits, consultation fairs, service requests, talent apartments, household registrations "
        "and green cards (distinct persons and enterprises), meetings and 三重一大 decisions, and the items "
        "disclosed, with the draft's sentences. `format=docx` returns the Word draft. Tax figures need "
        "`sensitive_kpis:read`; without it they are left out and listed in `withheld_metrics`. A year without "
        "any data answers 422 `report_year_empty`."
    ),
    responses=DOCX_RESPONSE | problem_responses(404),
)
async def annual(
    year: YearPath,
    session: AnalyticsSessionDep,
    settings: SettingsDep,
    actor: Annotated[Principal, require("reports:read")],
    today: TodayDep,
    current: NowDep,
    through_month: ThroughMonth = None,
    as_of: AsOf = None,
    key_cohort: KeyCohort = None,
    format: Literal["json", "docx"] = "json",
) -> Any:
    report = await _annual(session, settings, actor.scopes, year, through_month, as_of, key_cohort, today, current)
    if format == "docx":
        return _download(annual_report_docx(report), DOCX_MEDIA_TYPE, f"{year}年度工作报告.docx")
    return report


@router.get(
    "/reports/disclosure/{year:int}",
    response_model=DisclosureAnnualReport,
    summary="The statutory annual disclosure report (2021 format, sections 二–四) as JSON or .xlsx",
    description=(
        "二: normative documents issued, abolished and in force, and the year's licensing, penalty, coercion and "
        "fee figures; 三: requests by applicant type — new, carried over, results by outcome code, carried "
        "forward; 四: reviews and lawsuits by result. The rule 一 + 二 = 三 + 四 is checked per column, and 二 "
        "against 四 of last year's frozen report: tables that do not balance answer 422 `report_unbalanced` "
        "with every gap in `gaps`, never a printed table."
    ),
    responses=XLSX_RESPONSE | problem_responses(404),
)
async def disclosure(
    year: YearPath,
    session: AnalyticsSessionDep,
    _actor: Annotated[Principal, require("reports:read")],
    current: NowDep,
    today: TodayDep,
    format: Literal["json", "xlsx"] = "json",
) -> Any:
    _year_begun(year, today)
    report = await disclosure_report.build(session, year, current)
    if format == "xlsx":
        return _download(disclosure_report_xlsx(report), XLSX_MEDIA_TYPE, f"{year}年政府信息公开工作年度报告.xlsx")
    return report


@router.get(
    "/reports/disclosure/{year:int}/enforcement-figures",
    response_model=EnforcementFiguresPut,
    summary="The year's licensing, penalty, coercion and fee figures (section 二)",
    responses=problem_responses(404),
)
async def get_enforcement_figures(
    year: YearPath, response: Response, session: SessionDep, _actor: Annotated[Principal, require("reports:read")]
) -> EnforcementFiguresPut:
    figures = await disclosure_requests.get_figures(session, year)
    if figures is None:
        raise ProblemError(404, "not_found", f"{year} 年的执法数据尚未录入 / no enforcement figures for {year}")
    set_etag(response, figures.version)
    return EnforcementFiguresPut.model_validate(figures, from_attributes=True)


@router.put(
    "/reports/disclosure/{year:int}/enforcement-figures",
    response_model=EnforcementFiguresPut,
    summary="Enter the year's licensing, penalty, coercion and fee figures (zeros for an office without any)",
    description="201 when the year's figures are entered, 200 when replaced (that needs If-Match).",
    responses=problem_responses(404, 409, 412, 415, 428)
    | {201: {"description": "The year's figures were entered", "model": EnforcementFiguresPut}},
)
async def put_enforcement_figures(
    year: YearPath,
    data: EnforcementFiguresPut,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("reports:write")],
    if_match: OptionalIfMatchDep,
    today: TodayDep,
) -> EnforcementFiguresPut:
    _year_begun(year, today)
    sent, expected = if_match
    figures, created = await disclosure_requests.put_figures(session, actor, year, data, sent, expected)
    if created:
        response.status_code = status.HTTP_201_CREATED
    set_etag(response, figures.version)
    return EnforcementFiguresPut.model_validate(figures, from_attributes=True)


def snapshot_read(snapshot: ReportSnapshot, with_content: bool) -> SnapshotRead:
    return SnapshotRead(
        id=snapshot.id,
        kind=snapshot.kind,
        year=snapshot.year,
        title=snapshot.title,
        parameters=snapshot.parameters,
        content_sha256=snapshot.content_sha256,
        created_by=snapshot.created_by,
        created_at=snapshot.created_at,
        content=snapshot.content if with_content else None,
    )


async def _generate(
    session: SessionDep,
    settings: SettingsDep,
    kind: ReportKind,
    year: int,
    parameters: dict[str, Any],
    scopes: frozenset[str],
    today: date,
    now: Any,
    check_balance: bool = True,
) -> dict[str, Any]:
    if kind is ReportKind.disclosure_annual:
        tables = await disclosure_report.build(session, year, now, check_balance=check_balance)
        return tables.model_dump(mode="json")
    as_of = date.fromisoformat(parameters["as_of"]) if parameters.get("as_of") else None
    report = await _annual(
        session,
        settings,
        scopes,
        year,
        parameters.get("through_month"),
        as_of,
        parameters.get("key_cohort"),
        today,
        now,
        origin="body",
    )
    return report.model_dump(mode="json")


@router.post(
    "/report-snapshots",
    response_model=SnapshotRead,
    status_code=status.HTTP_201_CREATED,
    summary="Freeze a report as it stands now",
    description=(
        "The report is generated and stored whole; it never changes (edits answer 409 `snapshot_frozen`). "
        "`/{id}/diff` compares it with the same report generated from today's data. A frozen annual work "
        "report holding tax figures is visible only to callers with `sensitive_kpis:read`. A frozen disclosure "
        "report of a year is what the next year's carried-over counts are checked against."
    ),
    responses=problem_responses(415),
)
async def freeze(
    data: SnapshotCreate,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    actor: Annotated[Principal, require("reports:write")],
    today: TodayDep,
    current: NowDep,
) -> SnapshotRead:
    parameters: dict[str, Any] = {}
    if data.kind is ReportKind.disclosure_annual:
        if data.through_month is not None or data.as_of is not None or data.key_cohort is not None:
            raise ProblemError(
                422,
                "validation_failed",
                "年度公开报告按整年统计，不取 through_month 或 as_of / the disclosure report covers the whole year",
                errors=[
                    {"loc": ["body", f], "message": "annual_work only", "type": "extra_forbidden"}
                    for f in ("through_month", "as_of", "key_cohort")
                    if getattr(data, f) is not None
                ],
            )
        if data.year >= today.year:
            # A frozen disclosure report is the next year's baseline: only a finished year can be one.
            raise ProblemError(
                422,
                "year_not_over",
                f"{data.year} 年尚未结束，不能冻结年度公开报告 / {data.year} is not over: its disclosure report "
                "cannot be frozen yet",
                errors=[{"loc": ["body", "year"], "message": "the year is not over", "type": "year_not_over"}],
            )
    if data.kind is ReportKind.annual_work:
        parameters = {
            "through_month": data.through_month,
            "as_of": data.as_of.isoformat() if data.as_of else None,
            "key_cohort": data.key_cohort,
        }
    content = await _generate(session, settings, data.kind, data.year, parameters, actor.scopes, today, current)
    if data.kind is ReportKind.annual_work:
        # Pin what "default" meant on the day of freezing, so the diff asks the same question later.
        key = content["investment"]["key_projects"]
        parameters |= {
            "through_month": content["through_month"],
            "as_of": content["as_of"],
            "key_cohort": key["cohort_code"] if key else None,
        }
        document = annual_report_docx(AnnualReport.model_validate(content))
    else:
        document = disclosure_report_xlsx(DisclosureAnnualReport.model_validate(content))
    snapshot = await report_snapshots.freeze(
        session,
        actor,
        data.kind,
        data.year,
        parameters,
        content,
        data.title,
        await report_snapshots.holds_sensitive_figures(session, content),
        document,
    )
    response.headers["Location"] = f"/api/v1/report-snapshots/{snapshot.id}"
    return snapshot_read(snapshot, with_content=True)


@router.get(
    "/report-snapshots",
    response_model=PageOut[SnapshotRead],
    summary="Frozen reports (without content)",
    responses=EXPORT_RESPONSES,
)
async def list_snapshots(
    session: SessionDep,
    actor: Annotated[Principal, require("reports:read")],
    page: SnapshotPage,
    export: ExportDep,
    kind: ReportKind | None = None,
    year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
) -> PageOut[SnapshotRead] | Response:
    if export.wanted:
        stmt = report_snapshots.snapshots_query(kind, year, actor.scopes, page.sort)
        read = each(lambda s: snapshot_read(s, with_content=False))
        return await export.respond(actor, "报告存档", SnapshotRead, stmt, read)
    result = await report_snapshots.list_snapshots(session, kind, year, actor.scopes, page)
    return PageOut[SnapshotRead](
        items=[snapshot_read(s, with_content=False) for s in result.items],
        total=result.total,
        limit=result.limit,
        offset=result.offset,
    )


@router.get(
    "/report-snapshots/{snapshot_id:int}",
    response_model=SnapshotRead,
    summary="A frozen report, as JSON or as its document (docx for the work report, xlsx for disclosure)",
    description="A format the report does not come in (xlsx of a work report, docx of a disclosure report) "
    "answers 406 `not_acceptable`.",
    responses=problem_responses(404)
    | {
        200: {"content": {DOCX_MEDIA_TYPE: {}, XLSX_MEDIA_TYPE: {}}},
        406: {"description": "That report does not come in that format: `not_acceptable`"},
    },
)
async def get_snapshot(
    snapshot_id: IdPath,
    session: SessionDep,
    actor: Annotated[Principal, require("reports:read")],
    format: Literal["json", "docx", "xlsx"] = "json",
) -> Any:
    snapshot = await report_snapshots.get_snapshot(session, snapshot_id, actor.scopes)
    wanted = {ReportKind.annual_work: "docx", ReportKind.disclosure_annual: "xlsx"}[snapshot.kind]
    if format not in ("json", wanted):
        raise ProblemError(
            406, "not_acceptable", f"该报告可导出为 json 或 {wanted} / this report comes as json or {wanted}"
        )
    # The document rendered when the report was frozen, byte for byte.
    if format == "docx":
        return _download(snapshot.document, DOCX_MEDIA_TYPE, f"{snapshot.year}年度工作报告（冻结{snapshot.id}）.docx")
    if format == "xlsx":
        name = f"{snapshot.year}年政府信息公开工作年度报告（冻结{snapshot.id}）.xlsx"
        return _download(snapshot.document, XLSX_MEDIA_TYPE, name)
    return snapshot_read(snapshot, with_content=True)


@router.get(
    "/report-snapshots/{snapshot_id:int}/diff",
    response_model=SnapshotDiff,
    summary="How today's data differ from the frozen report (same year and parameters)",
    description="Each difference names the figure's path, its frozen value and its value now; the generation "
    "time is ignored. It works on data that no longer balance too: that is how to see what broke a balance.",
    responses=problem_responses(404),
)
async def diff(
    snapshot_id: IdPath,
    session: SessionDep,
    settings: SettingsDep,
    actor: Annotated[Principal, require("reports:read")],
    today: TodayDep,
    current: NowDep,
) -> SnapshotDiff:
    snapshot = await report_snapshots.get_snapshot(session, snapshot_id, actor.scopes)
    # Ask with the clearance the snapshot was made with, so a tax figure does not show up as "new".
    scopes = actor.scopes if snapshot.includes_sensitive else actor.scopes - {SENSITIVE_KPIS}
    # The balance check is for printing; the diff is how to see what broke it.
    now = await _generate(
        session,
        settings,
        snapshot.kind,
        snapshot.year,
        snapshot.parameters,
        scopes,
        today,
        current,
        check_balance=False,
    )
    changed = differences(snapshot.content, now, ignore=frozenset({"generated_at"}))
    return SnapshotDiff(
        snapshot_id=snapshot.id,
        unchanged=not changed,
        differences=[Difference(path=p, frozen=a, now=b) for p, a, b in changed],
    )


async def _refuse_edit(session: SessionDep, snapshot_id: int, actor: Principal) -> None:
    await report_snapshots.get_snapshot(session, snapshot_id, actor.scopes)  # 404 for what the caller cannot see
    raise ProblemError(
        409,
        "snapshot_frozen",
        f"冻结的报告不能修改或删除 / snapshot {snapshot_id} is frozen: it cannot be changed or deleted; "
        "freeze a new one instead",
    )


REFUSED = "Refused: a frozen report never changes and is kept"


@router.patch(
    "/report-snapshots/{snapshot_id:int}", status_code=409, summary=REFUSED, responses=problem_responses(404, 409)
)
async def patch_snapshot(
    snapshot_id: IdPath, session: SessionDep, actor: Annotated[Principal, require("reports:write")]
) -> None:
    await _refuse_edit(session, snapshot_id, actor)


@router.put(
    "/report-snapshots/{snapshot_id:int}", status_code=409, summary=REFUSED, responses=problem_responses(404, 409)
)
async def put_snapshot(
    snapshot_id: IdPath, session: SessionDep, actor: Annotated[Principal, require("reports:write")]
) -> None:
    await _refuse_edit(session, snapshot_id, actor)


@router.delete(
    "/report-snapshots/{snapshot_id:int}", status_code=409, summary=REFUSED, responses=problem_responses(404, 409)
)
async def delete_snapshot(
    snapshot_id: IdPath, session: SessionDep, actor: Annotated[Principal, require("reports:write")]
) -> None:
    await _refuse_edit(session, snapshot_id, actor)
