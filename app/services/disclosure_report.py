"""The statutory annual report on government information disclosure, in the 2021 national format
(国办公开办函〔2021〕30号): sections 二 to 四 as tables, counted in SQL, with the balance rule checked.

Section 三 counts requests by applicant: 一 new (received in the year), 二 carried over (received before the
year and not concluded by its first day), 三 results (concluded in the year, by outcome code) and 四
carried forward (received by the year's end, not concluded by then). The printed rule 一 + 二 = 三 + 四 is
checked per column, and 二 against 四 of last year's frozen report when there is one: a report that does
not balance is refused with the gap named, not printed. For requests entered here the rule holds by
construction (a request is concluded once, after it arrived); it guards data brought in otherwise, and the
previous-year comparison catches late entries and corrections after a report was frozen.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import ProblemError
from app.models import (
    ApplicantType,
    DisclosureCategory,
    DisclosureItem,
    DisclosureOutcome,
    DisclosureRemedy,
    DisclosureRequest,
    EnforcementFigures,
    RemedyKind,
    RemedyResult,
    ReportKind,
    ReportSnapshot,
)
from app.schemas.report import (
    ActiveDisclosure,
    ApplicationRow,
    BalanceGap,
    DisclosureAnnualReport,
    DisclosureOverview,
    DocumentRow,
    RemedyRow,
)
from app.services.calculators.units import YUAN_PER_WAN, round_half_up
from app.services.disclosures import day_start, item_counts

COLUMNS = [t.value for t in ApplicantType] + ["total"]
OUTCOME_LABELS = {
    DisclosureOutcome.disclosed: "（一）予以公开",
    DisclosureOutcome.partly_disclosed: "（二）部分公开（区分处理的，只计这一情形，不计其他情形）",
    DisclosureOutcome.withheld_state_secret: "（三）不予公开 1.属于国家秘密",
    DisclosureOutcome.withheld_prohibited_by_law: "（三）不予公开 2.其他法律行政法规禁止公开",
    DisclosureOutcome.withheld_security_stability: "（三）不予公开 3.危及“三安全一稳定”",
    DisclosureOutcome.withheld_third_party_rights: "（三）不予公开 4.保护第三方合法权益",
    DisclosureOutcome.withheld_internal_affairs: "（三）不予公开 5.属于三类内部事务信息",
    DisclosureOutcome.withheld_process_information: "（三）不予公开 6.属于四类过程性信息",
    DisclosureOutcome.withheld_enforcement_files: "（三）不予公开 7.属于行政执法案卷",
    DisclosureOutcome.withheld_query_matters: "（三）不予公开 8.属于行政查询事项",
    DisclosureOutcome.unavailable_not_held: "（四）无法提供 1.本机关不掌握相关政府信息",
    DisclosureOutcome.unavailable_needs_creation: "（四）无法提供 2.没有现成信息需要另行制作",
    DisclosureOutcome.unavailable_unclear: "（四）无法提供 3.补正后申请内容仍不明确",
    DisclosureOutcome.not_processed_petition: "（五）不予处理 1.信访举报投诉类申请",
    DisclosureOutcome.not_processed_repeated: "（五）不予处理 2.重复申请",
    DisclosureOutcome.not_processed_publication: "（五）不予处理 3.要求提供公开出版物",
    DisclosureOutcome.not_processed_excessive: "（五）不予处理 4.无正当理由大量反复申请",
    DisclosureOutcome.not_processed_confirmation: "（五）不予处理 5.要求行政机关确认或重新出具已获取信息",
    DisclosureOutcome.other_no_correction: (
        "（六）其他处理 1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请"
    ),
    DisclosureOutcome.other_fee_unpaid: (
        "（六）其他处理 2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请"
    ),
    DisclosureOutcome.other: "（六）其他处理 3.其他",
}


def _by_applicant(rows: Any) -> dict[str, int]:
    counts = {c: 0 for c in COLUMNS}
    for applicant, n in rows:
        counts[applicant.value] = int(n)
        counts["total"] += int(n)
    return counts


async def _documents(session: AsyncSession, year: int, now: datetime) -> list[DocumentRow]:
    first, last = date(year, 1, 1), date(year, 12, 31)
    # Issued means published by the year's end and by now: a document still scheduled is not out yet.
    out_by = min(day_start(last + timedelta(days=1)), now + timedelta(microseconds=1))
    doc = DisclosureItem
    issued_in_year = and_(doc.published_at >= day_start(first), doc.published_at < out_by)
    abolished_in_year = and_(doc.abolished_on >= first, doc.abolished_on <= last, doc.published_at < out_by)
    in_force = and_(doc.published_at < out_by, doc.abolished_on.is_(None) | (doc.abolished_on > last))

    def count(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    issued, abolished, current = (
        await session.execute(
            select(count(issued_in_year), count(abolished_in_year), count(in_force)).where(
                doc.category == DisclosureCategory.normative_documents
            )
        )
    ).one()
    # A district office issues no 规章 (only provincial and larger-city governments may): the row stays 0.
    return [
        DocumentRow(kind="规章", issued=0, abolished=0, in_force=0),
        DocumentRow(kind="行政规范性文件", issued=int(issued), abolished=int(abolished), in_force=int(current)),
    ]


async def _applications(session: AsyncSession, year: int) -> list[ApplicationRow]:
    first, last = date(year, 1, 1), date(year, 12, 31)
    r = DisclosureRequest
    by = r.applicant_type

    async def count(*where: Any) -> dict[str, int]:
        return _by_applicant(await session.execute(select(by, func.count()).where(*where).group_by(by)))

    new = await count(r.received_on >= first, r.received_on <= last)
    carried_over = await count(r.received_on < first, (r.concluded_on.is_(None)) | (r.concluded_on >= first))
    carried_forward = await count(r.received_on <= last, (r.concluded_on.is_(None)) | (r.concluded_on > last))
    concluded = await session.execute(
        select(r.outcome, by, func.count())
        .where(r.concluded_on >= first, r.concluded_on <= last)
        .group_by(r.outcome, by)
    )
    results: dict[str, dict[str, int]] = {o.value: {c: 0 for c in COLUMNS} for o in DisclosureOutcome}
    for outcome, applicant, n in concluded:
        if outcome is None:
            continue  # concluded without an outcome (e.g. imported): the balance check below names the gap
        results[outcome.value][applicant.value] += int(n)
        results[outcome.value]["total"] += int(n)
    rows = [
        ApplicationRow(code="new", label="一、本年新收政府信息公开申请数量", counts=new),
        ApplicationRow(code="carried_over", label="二、上年结转政府信息公开申请数量", counts=carried_over),
    ]
    for outcome in DisclosureOutcome:
        label = "三、本年度办理结果 " + OUTCOME_LABELS[outcome]
        rows.append(ApplicationRow(code=outcome.value, label=label, counts=results[outcome.value]))
    results_total = {c: sum(results[o.value][c] for o in DisclosureOutcome) for c in COLUMNS}
    rows.append(ApplicationRow(code="results_total", label="三、本年度办理结果 （七）总计", counts=results_total))
    rows.append(ApplicationRow(code="carried_forward", label="四、结转下年度继续办理", counts=carried_forward))
    return rows


async def _remedies(session: AsyncSession, year: int) -> list[RemedyRow]:
    """Cases of the year: those decided in it, by result, and those still pending at its end (filed by then).
    A case filed one year and decided the next is pending in the first year's table and decided in the next."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    m = DisclosureRemedy
    decided_in_year = and_(m.result.is_not(None), m.concluded_on >= first, m.concluded_on <= last)
    pending_at_end = and_(m.filed_on <= last, m.result.is_(None) | (m.concluded_on > last))
    # Grouped by the expression itself: PostgreSQL would read a bare "result" in GROUP BY as the column.
    result_then = case((decided_in_year, m.result), else_=None)
    rows = await session.execute(
        select(m.kind, result_then, func.count())
        .where(decided_in_year | pending_at_end, m.as_review_organ_co_defendant.is_(False))
        .group_by(m.kind, result_then)
    )
    table = {k: {"upheld": 0, "corrected": 0, "other": 0, "pending": 0} for k in RemedyKind}
    for kind, result, n in rows:
        key = "pending" if result is None else RemedyResult(result).value
        table[kind][key] += int(n)
    return [RemedyRow(kind=k.value, **v, total=sum(v.values())) for k, v in table.items()]


def balance_gaps(rows: list[ApplicationRow], previous_forward: dict[str, int] | None) -> list[BalanceGap]:
    by_code = {row.code: row.counts for row in rows}
    gaps = []
    for column in COLUMNS:
        left = by_code["new"][column] + by_code["carried_over"][column]
        right = by_code["results_total"][column] + by_code["carried_forward"][column]
        if left != right:
            gaps.append(
                BalanceGap(
                    check="rule",
                    column=column,
                    left=left,
                    right=right,
                    detail=f"一 + 二 = {left} but 三 + 四 = {right} for {column}",
                )
            )
        if previous_forward is not None and previous_forward.get(column, 0) != by_code["carried_over"][column]:
            gaps.append(
                BalanceGap(
                    check="previous_year",
                    column=column,
                    left=previous_forward.get(column, 0),
                    right=by_code["carried_over"][column],
                    detail=f"last year's frozen report carried {previous_forward.get(column, 0)} forward for {column}; "
                    f"the data now carry over {by_code['carried_over'][column]}",
                )
            )
    return gaps


async def _previous_forward(session: AsyncSession, year: int) -> dict[str, int] | None:
    snapshot = await session.scalar(
        select(ReportSnapshot)
        .where(ReportSnapshot.kind == ReportKind.disclosure_annual, ReportSnapshot.year == year - 1)
        .order_by(ReportSnapshot.id.desc())
        .limit(1)
    )
    if snapshot is None:
        return None
    rows = snapshot.content.get("applications", [])
    forward = next((row for row in rows if row.get("code") == "carried_forward"), None)
    return dict(forward["counts"]) if forward else None


async def build(
    session: AsyncSession, year: int, now: datetime, *, check_balance: bool = True
) -> DisclosureAnnualReport:
    """The year's report; 422 `report_unbalanced` naming every gap when the tables do not balance."""
    counts = await item_counts(session, date(year, 1, 1), date(year, 12, 31), now)
    figures = await session.get(EnforcementFigures, year)
    applications = await _applications(session, year)
    previous = await _previous_forward(session, year)
    gaps = balance_gaps(applications, previous)
    if gaps and check_balance:
        raise ProblemError(
            422,
            "report_unbalanced",
            f"{year} 年报表不平衡，共 {len(gaps)} 处 / the {year} tables do not balance: "
            + "; ".join(g.detail for g in gaps[:5]),
            extra={"gaps": [g.model_dump() for g in gaps]},
        )
    remedies = await _remedies(session, year)
    if not counts.total and not any(r.counts["total"] for r in applications) and not any(r.total for r in remedies):
        raise ProblemError(
            422,
            "report_year_empty",
            f"{year} 年没有公开信息、依申请公开或复议诉讼记录 / there is no disclosure data for {year}",
        )
    # 6.2: the applicant did not pay in time and the request lapsed, so its fee was notified, not collected.
    fees = await session.scalar(
        select(func.sum(DisclosureRequest.fee)).where(
            DisclosureRequest.concluded_on >= date(year, 1, 1),
            DisclosureRequest.concluded_on <= date(year, 12, 31),
            DisclosureRequest.outcome != DisclosureOutcome.other_fee_unpaid,
        )
    )
    return DisclosureAnnualReport(
        year=year,
        overview=DisclosureOverview(
            items=counts.total, by_channel_group=counts.by_channel_group, by_category=counts.by_category
        ),
        active=ActiveDisclosure(
            documents=await _documents(session, year, now),
            licensing_decisions=figures.licensing_decisions if figures else 0,
            penalty_decisions=figures.penalty_decisions if figures else 0,
            coercion_decisions=figures.coercion_decisions if figures else 0,
            fee_income_wan=round_half_up((figures.fee_income if figures else Decimal(0)) / YUAN_PER_WAN, 4),
            enforcement_figures_entered=figures is not None,
        ),
        applications=applications,
        remedies=remedies,
        fees_yuan=Decimal(fees or 0).quantize(Decimal("0.01")),
        previous_year_checked=previous is not None,
    )
