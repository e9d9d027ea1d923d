"""Demo disclosure, decision records and enforcement figures, built to reproduce the 2018 report.

- "全年主动公开政府信息358条，其中，动态类信息336条；财政预决算信息8条……政府网站公开信息67条，微博微信公开信息291条":
  358 items in 2018 (336 news, 8 budget documents, 4 normative documents, 10 notices); 67 went out on the
  website only and 291 on WeChat or Weibo (100 of them on both, so WeChat and Weibo count 270 and 121 but
  the social-media group 291); 20 items of 2017 and one item scheduled for next week lie outside the year.
- "2018年共开展中心组学习37次……三场民主生活会、四场组织生活会": 37, 3 and 4 meetings, beside party-group
  meetings, office meetings and director's meetings, at which ten "三重一大" decisions were taken.
- Requests for disclosure (the report gives no figures): six in 2018 and one carried over from 2017, with
  outcomes and one administrative review, balancing 一 + 二 = 三 + 四.
"""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import SHANGHAI
from app.core.principal import SYSTEM
from app.models import (
    ApplicantType,
    DecisionKind,
    DisclosureCategory,
    DisclosureChannel,
    DisclosureItem,
    DisclosureOutcome,
    MeetingKind,
    RemedyKind,
    RemedyResult,
)
from app.schemas.disclosure import (
    Conclusion,
    DisclosureCreate,
    DisclosureRequestCreate,
    EnforcementFiguresPut,
    RemedyConclusion,
    RemedyCreate,
)
from app.schemas.meeting import DecisionCreate, MeetingCreate
from app.services import disclosure_requests, disclosures, meetings
from app.services.demo.calendar import working_day

W, WX, WB = DisclosureChannel.website, DisclosureChannel.wechat, DisclosureChannel.weibo


def _published(n: int, year: int = 2018) -> datetime:
    """Spread over the year's working days: item n at 10:00 or 15:00."""
    day = working_day(date(year, 1, 2) + timedelta(days=(n * 361) // 380))
    return datetime.combine(day, time(10 if n % 2 else 15), SHANGHAI).astimezone(UTC)


async def _items(session: AsyncSession, now: datetime) -> None:
    plan: list[tuple[DisclosureCategory, int | None, list[DisclosureChannel], str]] = []
    # The website carries the formal documents and 45 news items: 67 in all.
    plan += [(DisclosureCategory.budget_final_accounts, 7, [W], "财政预决算") for _ in range(8)]
    plan += [(DisclosureCategory.normative_documents, 1, [W], "行政规范性文件") for _ in range(4)]
    plan += [(DisclosureCategory.notices, None, [W], "通知公告") for _ in range(10)]
    plan += [(DisclosureCategory.news, None, [W], "工作动态") for _ in range(45)]
    # WeChat and Weibo carry 291 news items, 100 of them on both accounts.
    plan += [(DisclosureCategory.news, None, [WX, WB], "工作动态（微信微博）") for _ in range(100)]
    plan += [(DisclosureCategory.news, None, [WX], "工作动态（微信）") for _ in range(170)]
    plan += [(DisclosureCategory.news, None, [WB], "工作动态（微博）") for _ in range(21)]
    for n, (category, basis, channels, word) in enumerate(plan):
        await disclosures.create_item(
            session,
            SYSTEM,
            DisclosureCreate(
                title=f"{word}（示例{n + 1:03d}）",
                category=category,
                legal_basis_item=basis,
                channels=channels,
                published_at=_published((n * 7) % len(plan)),
                link=f"https://www.example.gov.cn/zsb/{n + 1:04d}.html",
            ),
            now,
        )
    # Earlier documents: two normative documents of 2016 (one abolished in 2018) and 2017's news.
    for n in range(2):
        await disclosures.create_item(
            session,
            SYSTEM,
            DisclosureCreate(
                title=f"行政规范性文件（2016年示例{n + 1}）",
                category=DisclosureCategory.normative_documents,
                legal_basis_item=1,
                channels=[W],
                published_at=datetime(2016, 5, 10 + n, 2, 0, tzinfo=UTC),
                abolished_on=date(2018, 6, 30) if n == 0 else None,
            ),
            now,
        )
    for n in range(20):
        await disclosures.create_item(
            session,
            SYSTEM,
            DisclosureCreate(
                title=f"工作动态（2017年示例{n + 1:02d}）",
                category=DisclosureCategory.news,
                channels=[W, WX] if n % 2 else [WX],
                published_at=_published(n * 19, 2017),
            ),
            now,
        )
    await disclosures.create_item(
        session,
        SYSTEM,
        DisclosureCreate(
            title="招商政策宣讲会通知（示例，定时发布）",
            category=DisclosureCategory.notices,
            channels=[W, WX],
            published_at=now + timedelta(days=7),
            scheduled=True,
        ),
        now,
    )


async def _requests(session: AsyncSession, today: date) -> None:
    async def apply(
        applicant: ApplicantType, name: str, received: date, outcome: DisclosureOutcome | None, concluded: date | None
    ) -> int:
        request = await disclosure_requests.register(
            session,
            SYSTEM,
            DisclosureRequestCreate(
                applicant_type=applicant,
                applicant_name=name,
                subject="申请公开招商引资政策兑现情况（示例）",
                received_on=received,
            ),
            today,
        )
        if outcome is not None and concluded is not None:
            await disclosure_requests.conclude(
                session, SYSTEM, request.id, Conclusion(outcome=outcome, concluded_on=concluded), None, today
            )
        return request.id

    person, company = ApplicantType.natural_person, ApplicantType.commercial_enterprise
    await apply(person, "陈示例", date(2017, 12, 20), DisclosureOutcome.disclosed, date(2018, 1, 10))  # carried over
    await apply(person, "李示例", date(2018, 3, 5), DisclosureOutcome.disclosed, date(2018, 3, 26))
    await apply(person, "王示例", date(2018, 5, 14), DisclosureOutcome.unavailable_not_held, date(2018, 6, 1))
    await apply(
        company, "广州示例咨询有限公司", date(2018, 6, 11), DisclosureOutcome.partly_disclosed, date(2018, 7, 2)
    )
    repeated = await apply(
        company, "广州示例咨询有限公司", date(2018, 8, 6), DisclosureOutcome.not_processed_repeated, date(2018, 8, 20)
    )
    await apply(
        ApplicantType.legal_service_organization,
        "广东示例律师事务所",
        date(2018, 9, 3),
        DisclosureOutcome.disclosed,
        date(2018, 9, 21),
    )
    await apply(person, "张示例", date(2018, 12, 17), None, None)  # carried forward into 2019
    review = await disclosure_requests.file_remedy(
        session,
        SYSTEM,
        RemedyCreate(kind=RemedyKind.administrative_review, filed_on=date(2018, 9, 10), request_id=repeated),
        today,
    )
    await disclosure_requests.conclude_remedy(
        session,
        SYSTEM,
        review.id,
        RemedyConclusion(result=RemedyResult.upheld, concluded_on=date(2018, 11, 5)),
        None,
        today,
    )
    # "根据规定，我办无行政执法事项": the enforcement figures are zeros, entered as such.
    await disclosure_requests.put_figures(session, SYSTEM, 2018, EnforcementFiguresPut(), False, None)


MEETING_PLAN = [
    (MeetingKind.central_group_study, 37, "党委（党组）理论学习中心组学习（示例）"),
    (MeetingKind.democratic_life_meeting, 3, "领导班子民主生活会（示例）"),
    (MeetingKind.organisational_life_meeting, 4, "党支部组织生活会（示例）"),
    (MeetingKind.party_group_meeting, 12, "办党组会议（示例）"),
    (MeetingKind.office_meeting, 24, "办务会（示例）"),
    (MeetingKind.director_meeting, 12, "主任办公会（示例）"),
]
DECISIONS = [
    (DecisionKind.major_matter, "审议《办党组议事规则》（示例）", None),
    (DecisionKind.major_matter, "审议《办党组“三重一大”决策制度》（示例）", None),
    (DecisionKind.major_matter, "审议《办党组中心组学习制度》（示例）", None),
    (DecisionKind.appointment, "科室负责人任免（示例）", None),
    (DecisionKind.appointment, "项目部长调整（示例）", None),
    (DecisionKind.project, "琶洲重点项目节点督办安排（示例）", None),
    (DecisionKind.project, "长条桌送服务现场问诊会筹办（示例）", None),
    (DecisionKind.project, "人才公寓分批筹集方案（示例）", None),
    (DecisionKind.large_sum, "招商推介活动经费（示例）", Decimal("1200000.00")),
    (DecisionKind.large_sum, "人才公寓改造经费（示例）", Decimal("3500000.00")),
]


async def _meetings(session: AsyncSession, today: date) -> None:
    deciding = []
    for kind, count, title in MEETING_PLAN:
        for n in range(count):
            day = working_day(date(2018, 1, 8) + timedelta(days=(n * 350) // count))
            meeting = await meetings.create_meeting(
                session, SYSTEM, MeetingCreate(kind=kind, held_on=day, title=f"{title}第{n + 1}次"), today
            )
            if kind in (MeetingKind.party_group_meeting, MeetingKind.office_meeting):
                deciding.append(meeting)
    for (decision, title, amount), meeting in zip(DECISIONS, deciding[::3], strict=False):
        await meetings.record_decision(
            session, SYSTEM, DecisionCreate(kind=decision, title=title, meeting_id=meeting.id, amount=amount)
        )


async def load_disclosure(session: AsyncSession, today: date) -> bool:
    """Loads the demo disclosure and decision records once; returns False when they are already there."""
    if await session.scalar(select(DisclosureItem.id).limit(1)) is not None:
        return False
    await _items(session, datetime.now(UTC))
    await _requests(session, today)
    await _meetings(session, today)
    return True
