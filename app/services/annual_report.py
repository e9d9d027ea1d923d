"""The annual work report (年度工作报告) assembled from the data: every figure of the office's report, and a
Chinese draft whose sentences carry them.

Two dates frame it. KPIs are the 1–N月 cumulatives through `through_month` (statistics arrive a month or
more late, so the report of a year often stops at October). Everything else is counted from 1 January to
`as_of` (default: the year's end, or today if earlier): enterprises settled, visits, talents, meetings,
items disclosed; and states (a cluster's parcels and companies, apartments in use) are taken on `as_of`.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, selectinload

from app.core.errors import ProblemError
from app.core.scopes import SENSITIVE_KPIS
from app.models import (
    ApplicationStatus,
    Cohort,
    CohortKind,
    ConsultationAppointment,
    ConsultationEvent,
    Enterprise,
    EnterpriseInvestorClass,
    HouseholdRegistration,
    InvestorClass,
    KpiFact,
    Metric,
    ServiceRequest,
    TalentGreenCard,
    Visit,
    Zone,
    ZoneKind,
)
from app.schemas.annual_report import (
    AnnualReport,
    Cluster,
    ConsultationFair,
    Investment,
    KeyProjects,
    Section,
    Services,
)
from app.schemas.kpi import KpiSummary
from app.schemas.meeting import MeetingFigures
from app.schemas.service_analytics import (
    ApartmentFigures,
    ApplicationFigures,
    GreenCardFigures,
    OfficerVisits,
    TalentServiceStatistics,
    VisitCoverage,
)
from app.services import disclosures, kpi_analytics, meetings, registry_analytics, service_analytics, visits
from app.services.calculators.kpi import LightThresholds
from app.services.calculators.periods import Period
from app.services.calculators.presentation import percent
from app.services.calculators.units import round_half_up, share, yuan_to_yi
from app.services.trees import roots_of
from app.services.zones import area_basis

REPORTED_METRICS = ("revenue", "tax", "fixed_asset_investment")
BIG_TAXPAYER = Decimal(100_000_000)  # 亿元税收企业
ZONE_PARTS = {"core": "核心区", "expansion": "拓展区", "support": "配套区", "cluster": "集聚区", "other": "其他区域"}
METRIC_WORDS = {"revenue": "营收", "tax": "税收", "fixed_asset_investment": "固定资产投资"}
INTENSITY_WORDS = {"revenue": "营收强度", "tax": "税收强度", "fixed_asset_investment": "投资强度"}


@dataclass(frozen=True)
class ReportRequest:
    year: int
    through_month: int | None
    as_of: date | None
    key_cohort: str | None
    office_name: str
    scopes: frozenset[str]
    origin: str = "query"  # where the parameters came from, for errors[].loc: query, or body (a snapshot)


def _problem(request: ReportRequest, code: str, detail: str, field: str) -> ProblemError:
    return ProblemError(422, code, detail, errors=[{"loc": [request.origin, field], "message": detail, "type": code}])


async def _latest_kpi_month(session: AsyncSession, year: int, last: date, metrics: list[str]) -> int | None:
    """The last month of `year` (up to `last`) with facts of the metrics the report shows."""
    # Per metric, the newest month is one step down the (metric, year, month) index, not a scan of the year.
    newest = (
        select(func.max(KpiFact.month))
        .where(KpiFact.metric_id == Metric.id, KpiFact.year == year, KpiFact.month <= last.month)
        .correlate(Metric)
        .scalar_subquery()
    )
    month = await session.scalar(select(func.max(newest)).where(Metric.code.in_(metrics)))
    return int(month) if month else None


async def _key_cohort(session: AsyncSession, request: ReportRequest) -> Cohort | None:
    year, code = request.year, request.key_cohort
    if code is not None:
        cohort = await session.scalar(select(Cohort).where(Cohort.code == code))
        if cohort is None:
            raise _problem(
                request, "unknown_reference", f"没有代码为 {code} 的名单 / no cohort with code {code}", "key_cohort"
            )
        return cohort
    # By convention the year's key projects are `key-<year>`; failing that, the key-projects rule cohort.
    found = await session.scalar(select(Cohort).where(Cohort.code == f"key-{year}"))
    return found or await session.scalar(
        select(Cohort).where(Cohort.kind == CohortKind.key_projects).order_by(Cohort.id).limit(1)
    )


async def _visible_metrics(session: AsyncSession, scopes: frozenset[str]) -> tuple[list[str], list[str]]:
    rows = await session.execute(select(Metric.code, Metric.sensitive).where(Metric.code.in_(REPORTED_METRICS)))
    sensitive = {code: flag for code, flag in rows}
    shown = [m for m in REPORTED_METRICS if m in sensitive and (not sensitive[m] or SENSITIVE_KPIS in scopes)]
    withheld = [m for m in REPORTED_METRICS if m in sensitive and m not in shown]
    return shown, withheld


async def _summaries(
    session: AsyncSession, cohort_id: int, metrics: list[str], period: Period, scopes: frozenset[str]
) -> list[KpiSummary]:
    return [await kpi_analytics.summary(session, cohort_id, m, period, LightThresholds(), scopes) for m in metrics]


async def _clusters(
    session: AsyncSession, metrics: list[str], period: Period, as_of: date, scopes: frozenset[str]
) -> list[Cluster]:
    clusters = []
    for zone in await session.scalars(select(Zone).where(Zone.kind == ZoneKind.cluster).order_by(Zone.code)):
        cohort = await session.scalar(
            select(Cohort).where(Cohort.kind == CohortKind.zone, Cohort.rule_value == zone.id).order_by(Cohort.id)
        )
        basis = await area_basis(session, zone.id, as_of)
        big = None
        if cohort is not None and "tax" in metrics:
            big = await kpi_analytics.threshold_group(session, cohort.id, "tax", period, BIG_TAXPAYER, scopes)
        clusters.append(
            Cluster(
                zone_id=zone.id,
                code=zone.code,
                name=zone.name,
                summary=await registry_analytics.zone_summary(session, zone.id, as_of),
                area_parts=[ZONE_PARTS.get(m.kind.value, m.name) for m in basis.members if m.area_km2 is not None],
                cohort_id=cohort.id if cohort else None,
                metrics=await _summaries(session, cohort.id, metrics, period, scopes) if cohort else [],
                intensity=[await kpi_analytics.zone_intensity(session, zone.id, m, period, scopes) for m in metrics],
                big_taxpayers=big,
            )
        )
    return clusters


async def _named_visits(session: AsyncSession, first: date, last: date, limit: int = 8) -> list[str]:
    """The groups (or enterprises) visited most often: a project company counts for its group."""
    visited = select(Visit.enterprise_id).where(Visit.visited_on >= first, Visit.visited_on <= last)
    tree = roots_of(Enterprise, Enterprise.id.in_(visited))
    root = aliased(Enterprise)
    rows = await session.execute(
        select(root.name, func.count(Visit.id))
        .select_from(Visit)
        .join(tree, tree.c.id == Visit.enterprise_id)
        .join(root, root.id == tree.c.root_id)
        .where(Visit.visited_on >= first, Visit.visited_on <= last)
        .group_by(tree.c.root_id, root.name)
        .order_by(func.count(Visit.id).desc(), tree.c.root_id)
        .limit(limit)
    )
    return [name for name, _ in rows]


async def _fairs(session: AsyncSession, first: date, last: date) -> list[ConsultationFair]:
    fairs = []
    events = await session.scalars(
        select(ConsultationEvent)
        .where(ConsultationEvent.held_on >= first, ConsultationEvent.held_on <= last)
        .options(selectinload(ConsultationEvent.departments))
        .order_by(ConsultationEvent.held_on, ConsultationEvent.id)
    )
    for event in events:
        appointments = select(ConsultationAppointment.id).where(ConsultationAppointment.event_id == event.id)
        fairs.append(
            ConsultationFair(
                id=event.id,
                held_on=event.held_on,
                title=event.title,
                departments=[d.name for d in event.departments],
                appointments=int(await session.scalar(select(func.count()).select_from(appointments.subquery())) or 0),
                issues_raised=int(
                    await session.scalar(select(func.count()).where(ServiceRequest.appointment_id.in_(appointments)))
                    or 0
                ),
            )
        )
    return fairs


async def _green_card_employers(session: AsyncSession, first: date, last: date) -> list[str]:
    fortune = select(EnterpriseInvestorClass.enterprise_id).where(
        EnterpriseInvestorClass.investor_class == InvestorClass.fortune_global_500
    )
    rows = await session.execute(
        select(Enterprise.name, func.count(TalentGreenCard.id))
        .join(TalentGreenCard, TalentGreenCard.enterprise_id == Enterprise.id)
        .where(
            TalentGreenCard.status == ApplicationStatus.approved,
            TalentGreenCard.decided_on >= first,
            TalentGreenCard.decided_on <= last,
            Enterprise.id.in_(fortune),
        )
        .group_by(Enterprise.id, Enterprise.name)
        .order_by(func.count(TalentGreenCard.id).desc(), Enterprise.id)
    )
    return [name for name, _ in rows]


async def _services(session: AsyncSession, first: date, last: date) -> Services:
    count, enterprises, issues, per_officer = await visits.coverage(session, first, last, None)
    assigned, assigned_visited = await service_analytics.assigned_coverage(session, first, last, None)
    received = [ServiceRequest.received_on >= first, ServiceRequest.received_on <= last]
    total, _ = await service_analytics.outcomes(session, received, last)
    apartments = await service_analytics.apartment_counts(session, first, last, last)
    registrations = await service_analytics.application_counts(session, HouseholdRegistration, first, last, last)
    cards = await service_analytics.application_counts(session, TalentGreenCard, first, last, last)
    plain = {k: v for k, v in vars(registrations).items() if k in ApplicationFigures.model_fields}
    return Services(
        visits=VisitCoverage(
            visited_from=first,
            visited_to=last,
            visits=count,
            enterprises_visited=enterprises,
            issues_raised=issues,
            assigned_enterprises=assigned,
            assigned_enterprises_visited=assigned_visited,
            assigned_coverage=share(assigned_visited, assigned),
            by_officer=[
                OfficerVisits(
                    officer_id=o.officer_id, display_name=o.display_name, visits=o.visits, enterprises=o.enterprises
                )
                for o in per_officer
            ],
        ),
        named_enterprises_visited=await _named_visits(session, first, last),
        fairs=await _fairs(session, first, last),
        requests=service_analytics.outcome_read(None, None, "合计 / total", total),
        talents=TalentServiceStatistics(
            period_from=first,
            period_to=last,
            apartments=ApartmentFigures(as_of=last, **vars(apartments)),
            household_registrations=ApplicationFigures(**plain),
            green_cards=GreenCardFigures(**vars(cards)),
        ),
        green_card_employers=await _green_card_employers(session, first, last),
    )


async def build(session: AsyncSession, request: ReportRequest, today: date, now: datetime) -> AnnualReport:
    year = request.year
    first = date(year, 1, 1)
    if first > today:
        raise _problem(request, "date_out_of_range", f"{year} 年尚未开始 / {year} has not begun", "year")
    as_of = request.as_of or min(date(year, 12, 31), today)
    if as_of.year != year:
        raise _problem(
            request, "date_out_of_range", f"as_of {as_of} 不在 {year} 年内 / as_of must lie in {year}", "as_of"
        )
    if as_of > today:
        raise _problem(request, "date_in_future", f"as_of {as_of} 晚于今天 / as_of is after today ({today})", "as_of")
    shown, withheld = await _visible_metrics(session, request.scopes)
    latest = await _latest_kpi_month(session, year, as_of, shown)
    through = request.through_month or latest or as_of.month
    if through > as_of.month:
        raise _problem(
            request,
            "date_order",
            f"1–{through}月 的数据晚于 as_of {as_of} / the KPI period ends after as_of",
            "through_month",
        )
    if request.through_month is not None and latest is not None and through > latest:
        # A period past the last month reported would print 0.0亿元 as if nothing had been earned.
        raise _problem(
            request,
            "no_kpi_data",
            f"{year}年指标数据只报到{latest}月 / KPI facts of {year} reach month {latest} only",
            "through_month",
        )
    period = Period(year, through)
    # Without facts for the period the KPI figures would print as 0.0亿元: they are left out instead.
    kpi_metrics = shown if latest is not None else []
    settlement = await registry_analytics.settlement_cohort(session, first, as_of, None, None)
    cohort = await _key_cohort(session, request)
    key = (
        KeyProjects(
            cohort_id=cohort.id,
            cohort_code=cohort.code,
            cohort_name=cohort.name,
            metrics=await _summaries(session, cohort.id, kpi_metrics, period, request.scopes),
        )
        if cohort
        else None
    )
    clusters = await _clusters(session, kpi_metrics, period, as_of, request.scopes)
    services = await _services(session, first, as_of)
    meeting_counts, decision_counts, large = await meetings.figures(session, year, as_of)
    decision_making = MeetingFigures(year=year, meetings=meeting_counts, decisions=decision_counts, large_sums=large)
    disclosure = await disclosures.statistics(session, first, as_of, now)
    facts = await session.scalar(select(exists().where(KpiFact.year == year)))  # any at all: stops at the first
    if not any(
        (
            settlement.enterprises,
            facts,
            services.visits.visits,
            services.requests.received,
            sum(meeting_counts.values()),
            disclosure.total,
        )
    ):
        raise ProblemError(
            422,
            "report_year_empty",
            f"{year} 年没有任何数据（落户、指标、走访、诉求、会议、公开），无法生成报告 / there is no data for {year}",
        )
    investment = Investment(settlement=settlement, key_projects=key, clusters=clusters)
    report = AnnualReport(
        year=year,
        through_month=through,
        period_label=period.label,
        as_of=as_of,
        office_name=request.office_name,
        withheld_metrics=withheld,
        investment=investment,
        services=services,
        decision_making=decision_making,
        disclosure=disclosure,
        sections=[],
        notes=[],
        generated_at=now.astimezone(UTC),
    )
    notes = _notes(report) + ([] if latest is not None else [f"{year}年截至{_date(as_of)}尚无指标数据，指标未列出。"])
    return report.model_copy(update={"sections": sentences(report), "notes": notes})


# --- the draft's sentences --------------------------------------------------------------------------------


def _yi(amount: Decimal, places: int = 1) -> str:
    return f"{yuan_to_yi(amount, places)}亿元"


def _plain(value: Decimal) -> str:
    """161.30 → "161.3", 100.00 → "100": as a report prints an amount already rounded for display."""
    return f"{value.normalize():f}"


def _growth(summary: KpiSummary) -> str:
    """ "同比增长26.1%" / "同比增长1.6倍" / "同比下降3.0%"; nothing without a rate."""
    return "" if summary.yoy_growth is None else f"，同比{summary.yoy_text}"


def _kpi_clause(summary: KpiSummary, with_target: bool) -> str:
    text = f"{METRIC_WORDS.get(summary.metric, summary.metric)}{_yi(summary.actual)}{_growth(summary)}"
    if with_target and summary.staged_completion is not None:
        text += f"，完成任务目标进度的{percent(summary.staged_completion)}"
    elif with_target and summary.annual_completion is not None:
        text += f"，完成年度目标的{percent(summary.annual_completion)}，时序进度{percent(summary.time_progress)}"
    return text


def _date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def sentences(report: AnnualReport) -> list[Section]:
    year, label = report.year, report.period_label.replace("–", "-")
    whole_year = report.as_of == date(year, 12, 31)
    span = "全年" if whole_year else f"截至{report.as_of.month}月{report.as_of.day}日"
    inv, svc, dm, dis = report.investment, report.services, report.decision_making, report.disclosure
    investment: list[str] = []
    if inv.key_projects and inv.key_projects.metrics:
        clauses = "；".join(_kpi_clause(s, with_target=True) for s in inv.key_projects.metrics)
        investment.append(f"{label}，我办持续跟进并推动落户的重点招商项目实现{clauses}。")
    s = inv.settlement
    if s.enterprises:
        capital = next((m for m in s.registered_capital if m.currency == "CNY"), None)
        classes = {c.investor_class.value: c.enterprises for c in s.investor_classes}
        text = f"{year}年，我办引进落地了{s.enterprises}个企业"
        if capital is not None:
            text += f"，注册资本{_plain(capital.amount_yi)}亿元"
        text += f"。从企业来源看，{percent(s.new_or_relocated_share)}的企业是新设企业或从外市迁入"
        text += (
            f"；从项目质量看，含世界500强投资企业{classes.get('fortune_global_500', 0)}家，中国500强投资企业"
            f"{classes.get('china_500', 0)}家，占到引进企业的{percent(s.in_any_investor_class_share)}。"
        )
        investment.append(text)
    for cluster in inv.clusters:
        z = cluster.summary
        capital = next((m for m in z.companies_registered_capital if m.currency == "CNY"), None)
        text = (
            f"截至{_date(report.as_of)}，{cluster.name}先后出让{z.parcels_transferred}宗地块，引入{z.groups}家龙头企业，"
            f"共设立{z.companies}家项目及业务公司"
        )
        text += f"，总注册资本{_plain(capital.amount_yi)}亿元。" if capital else "。"
        text += f"已有{z.land_buyers_operating}家拍地企业在我区开展实质性产业业务。"
        if cluster.metrics:
            text += (
                f"{label}集聚区企业实现" + "；".join(_kpi_clause(m, with_target=False) for m in cluster.metrics) + "。"
            )
        if cluster.big_taxpayers is not None and cluster.big_taxpayers.members:
            names = "、".join(m.name for m in cluster.big_taxpayers.members)
            text += f"目前已产生{len(cluster.big_taxpayers.members)}个亿元税收企业（{names}）。"
        strengths = [
            f"{INTENSITY_WORDS.get(i.metric, i.metric)}{round_half_up(i.yi_per_km2, 1)}亿元/平方公里"
            for i in cluster.intensity
            if i.yi_per_km2 is not None
        ]
        if strengths:
            parts = "+".join(cluster.area_parts) or cluster.name
            text += f"按照{parts}共计{_plain(z.area_km2)}平方公里计算，" + "，".join(strengths) + "。"
        investment.append(text)

    services: list[str] = []
    v = svc.visits
    if v.visits:
        named = "、".join(svc.named_enterprises_visited)
        when = f"{year}年" if whole_year else f"{year}年{span}"
        services.append(
            f"{when}已走访了{named}等{v.enterprises_visited}家企业（共{v.visits}次），发现并登记诉求{v.issues_raised}件。"
        )
    for fair in svc.fairs:
        services.append(
            f"举办“{fair.title}”，组织{'、'.join(fair.departments)}等职能部门现场“摆摊”，为企业一对一、面对面“挂号问诊”"
            f"{fair.appointments}人次，收集诉求{fair.issues_raised}件。"
        )
    r = svc.requests
    if r.received:
        text = f"{span}登记企业诉求{r.received}件，办结{r.resolved}件，按时办结率{percent(r.on_time_rate)}"
        if r.satisfaction_average is not None:
            text += f"，回访满意度平均{r.satisfaction_average}分"
        services.append(text + "。")
    t = svc.talents
    if t.apartments.rent_free_persons:
        services.append(
            f"目前已为{t.apartments.rent_free_enterprises}家企业共{t.apartments.rent_free_persons}名人才提供免费人才公寓。"
        )
    hr, gc = t.household_registrations, t.green_cards
    if hr.approved or gc.approved:
        text = f"{year}年共协助{hr.approved_enterprises}家企业{hr.approved_persons}名人才成功申报白卡落户"
        if gc.approved:
            employers = "、".join(svc.green_card_employers)
            text += (
                f"，推动{employers}等{gc.approved_fortune_global_500_enterprises}家世界500强企业的高级管理人员获批"
                f"{gc.approved_fortune_global_500_executives}个人才绿卡"
                if gc.approved_fortune_global_500_enterprises
                else f"，获批人才绿卡{gc.approved}个"
            )
        services.append(text + "。")

    decisions: list[str] = []
    m = dm.meetings
    # Only what was held: "召开0场民主生活会" would read as an omission.
    held_clauses: list[str] = []
    if m["central_group_study"]:
        held_clauses.append(f"共开展中心组学习{m['central_group_study']}次")
    held = [
        (f"党组会议{m['party_group_meeting']}次", m["party_group_meeting"]),
        (f"党支部会议{m['party_branch_meeting']}次", m["party_branch_meeting"]),
        (f"办务会{m['office_meeting']}次", m["office_meeting"]),
        (f"主任办公会{m['director_meeting']}次", m["director_meeting"]),
    ]
    if any(n for _, n in held):
        held_clauses.append("召开" + "、".join(text for text, n in held if n))
    lives = [
        (f"{m['democratic_life_meeting']}场民主生活会", m["democratic_life_meeting"]),
        (f"{m['organisational_life_meeting']}场组织生活会", m["organisational_life_meeting"]),
    ]
    if any(n for _, n in lives):
        held_clauses.append("高标准、高质量召开" + "、".join(text for text, n in lives if n))
    if held_clauses:
        decisions.append(f"{year}年" + "，".join(held_clauses) + "。")
    taken = sum(dm.decisions.values())
    if taken:
        words = {
            "major_matter": "重大事项决策",
            "appointment": "重要干部任免",
            "project": "重要项目安排",
            "large_sum": "大额度资金使用",
        }
        parts = "、".join(f"{words[k]}{n}项" for k, n in dm.decisions.items() if n)
        decisions.append(f"“三重一大”事项{taken}项（{parts}）均经会议集体研究决定。")

    publication: list[str] = []
    if dis.total:
        category = {c.key: c.items for c in dis.by_category}
        groups = {c.key: c.items for c in dis.by_channel_group}
        news, budget = category.get("news", 0), category.get("budget_final_accounts", 0)
        website, social = groups.get("website", 0), groups.get("social_media", 0)
        publication.append(
            f"本单位{year}年{span}主动公开政府信息{dis.total}条，其中，动态类信息{news}条；财政预决算信息{budget}条。"
            f"在主动公开信息工作中，通过不同渠道和方式公开政府信息情况：政府网站公开信息{website}条，"
            f"微博微信公开信息{social}条。"
        )
    return [
        Section(heading="（一）招商引资方面", sentences=investment),
        Section(heading="（二）企业服务方面", sentences=services),
        Section(heading="三、科学民主决策情况", sentences=decisions),
        Section(heading="六、政务公开情况", sentences=publication),
    ]


def _notes(report: AnnualReport) -> list[str]:
    notes = [
        f"指标为{report.period_label}累计数；其余数据截至{_date(report.as_of)}。",
        "同比按可比口径计算：上年同期无数据的企业不计入两期。金额以亿元计，四舍五入保留1位（注册资本2位）。",
        "强度按面积口径（各子区域在期末有效面积之和）计算，四舍五入保留1位。",
        "走访、人才公寓、落户、绿卡均按不重复的企业数和人数统计；一条公开信息在多个渠道发布时，在各渠道分别计数、"
        "在总数中只计一次。",
    ]
    if report.withheld_metrics:
        notes.append("涉税等敏感指标未列出：查看者无相应权限。")
    return notes
