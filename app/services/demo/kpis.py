"""Demo KPI facts, cohorts and targets on which the API reproduces the report's 2018 1–10月 figures.

- key projects (a static cohort): revenue 486.1亿元 (+26.1%, 147.3% of the staged target), tax 20.5亿元
  (+12.1%, 136.7%), fixed-asset investment 171.6亿元;
- 琶洲 (a zone cohort): revenue 140.3亿元 (+91.9%), tax 9.3亿元 (+34.8%), investment 78.8亿元; on 0.37 km²
  that is 379.2, 25.1 and 212.97 亿元/km²; two enterprises (腾讯, 赫基) pay 1亿元 or more in tax.

Companies that settled in 2018 have no 2017 figures: they count in the actual and are left out of both
sides of the growth (可比口径), as the statistics bureau does. All values are synthetic.
"""

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.principal import SYSTEM
from app.models import Cohort, CohortKind, Enterprise, ReportedAs, Zone
from app.schemas.kpi import CohortCreate, FactBatch, FactIn, MemberIn, TargetIn
from app.services import cohorts, kpi_facts
from app.services.demo.registry import OTHER_NAMED, split_total

YI = Decimal(100_000_000)
REPORT_MONTH = 10


def _yi(text: str) -> Decimal:
    return Decimal(text) * YI


# metric → (琶洲 comparable 2018, 琶洲 new 2018, 琶洲 2017 base, named 2018, named 2017, new elsewhere 2018)
FIGURES = {
    "revenue": ("140.0", "0.3", "72.95", "325.8", "296.44", "20.0"),
    "tax": ("9.3", "0", "6.90", "10.2", "10.50", "1.0"),
    "fixed_asset_investment": ("77.8", "1.0", "60.0", "82.8", "70.0", "10.0"),
}
TARGETS = {"revenue": ("400", "330"), "tax": ("22", "15"), "fixed_asset_investment": ("200", "160")}  # annual, 1–10月
# The two 亿元税收企业 of 琶洲 (their first project company) and their 2018 tax.
BIG_TAXPAYERS = {"腾讯": "1.85", "赫基": "1.12"}


def _rows(enterprises: list[Enterprise], metric: str, year: int, total: Decimal) -> list[FactIn]:
    if not enterprises or total == 0:
        return []
    return [
        FactIn(
            enterprise_id=e.id, metric=metric, period=f"{year}-{REPORT_MONTH:02d}", reported_as=ReportedAs.ytd, value=v
        )
        for e, v in zip(enterprises, split_total(len(enterprises), total), strict=True)
    ]


async def load_kpis(session: AsyncSession, today: date) -> bool:
    if await session.scalar(select(Cohort.id).where(Cohort.code == "key-2018")) is not None:
        return False
    pazhou_zone = await session.scalar(select(Zone).where(Zone.code == "PZ"))
    if pazhou_zone is None:
        return False
    pazhou = list(
        await session.scalars(select(Enterprise).where(Enterprise.name.like("广州琶洲%示例%")).order_by(Enterprise.id))
    )
    new_in_pazhou = [e for e in pazhou if e.settled_on and e.settled_on.year == 2018]
    old_in_pazhou = [e for e in pazhou if e not in new_in_pazhou]
    named = list(
        await session.scalars(
            select(Enterprise).where(Enterprise.name.in_([n for n, _ in OTHER_NAMED])).order_by(Enterprise.id)
        )
    )
    new_elsewhere = list(
        await session.scalars(
            select(Enterprise).where(Enterprise.name.like("广州海珠%示例%")).order_by(Enterprise.id).limit(20)
        )
    )
    big = {
        short: next(e for e in old_in_pazhou if e.name.startswith(f"广州琶洲{short}示例")) for short in BIG_TAXPAYERS
    }

    rows: list[FactIn] = []
    for metric, (pz_now, pz_new, pz_then, named_now, named_then, new_now) in FIGURES.items():
        if metric == "tax":
            others = [e for e in old_in_pazhou if e not in big.values()]
            rows += [
                FactIn(
                    enterprise_id=big[s].id,
                    metric="tax",
                    period=f"2018-{REPORT_MONTH:02d}",
                    reported_as=ReportedAs.ytd,
                    value=_yi(v),
                )
                for s, v in BIG_TAXPAYERS.items()
            ]
            rows += _rows(others, metric, 2018, _yi(pz_now) - sum(_yi(v) for v in BIG_TAXPAYERS.values()))
        else:
            rows += _rows(old_in_pazhou, metric, 2018, _yi(pz_now))
        rows += _rows(new_in_pazhou, metric, 2018, _yi(pz_new))
        rows += _rows(old_in_pazhou, metric, 2017, _yi(pz_then))
        rows += _rows(named, metric, 2018, _yi(named_now))
        rows += _rows(named, metric, 2017, _yi(named_then))
        rows += _rows(new_elsewhere, metric, 2018, _yi(new_now))
    await kpi_facts.upsert_facts(session, SYSTEM, FactBatch(rows=rows), today)

    key = await cohorts.create_cohort(
        session, SYSTEM, CohortCreate(code="key-2018", name="2018年重点招商项目（示例）", kind=CohortKind.static), today
    )
    await cohorts.set_members(
        session,
        SYSTEM,
        key.id,
        [
            MemberIn(enterprise_id=e.id, joined_on=e.settled_on or date(2017, 1, 1))
            for e in [*pazhou, *named, *new_elsewhere]
        ],
    )
    for metric, (annual, staged) in TARGETS.items():
        await cohorts.upsert_target(session, SYSTEM, key.id, TargetIn(metric=metric, year=2018, value=_yi(annual)))
        await cohorts.upsert_target(
            session, SYSTEM, key.id, TargetIn(metric=metric, year=2018, month=REPORT_MONTH, value=_yi(staged))
        )
    await cohorts.create_cohort(
        session,
        SYSTEM,
        CohortCreate(code="pazhou", name="琶洲互联网创新集聚区", kind=CohortKind.zone, rule_value=pazhou_zone.id),
        today,
    )
    return True
