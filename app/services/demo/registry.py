"""Demo registry built to reproduce the 2018 Haizhu report's registry figures exactly.

Groups the report names (腾讯, 阿里巴巴, 复星, 小米, 赫基) and enterprises it mentions (欧派, YY, 今日头条,
东凌, 华邦) appear under their names; every other name carries 示例 (sample) and every USCC, capital,
date, contact and parcel is synthetic (valid check digits, made-up values).

Figures reproduced (see tests/api/test_registry_report_figures.py):
- settled in 2018: 72 enterprises, registered capital 102.35亿元 (> 100亿), 43 new or relocated (59.7%,
  "近六成"), 8 with a Fortune Global 500 investor and 16 with a China 500 investor: 24, a third of 72;
- 琶洲 cluster on 2018-10-31 and at the year's end: 28 parcels transferred, 20 leading groups, 94 project and
  business companies with 161.3亿元 registered capital, 13 land buyers in substantive operation, core +
  expansion + support = 0.37 km².
"""

from datetime import date, timedelta
from decimal import Decimal
from itertools import cycle

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.principal import SYSTEM
from app.models import Enterprise, EnterpriseSource, InvestorClass, User, Zone, ZoneKind
from app.schemas.enterprise import ContactItem, EnterpriseCreate, InvestorClassItem
from app.schemas.land_parcel import LandParcelCreate
from app.schemas.zone import AreaVersionCreate, ZoneCreate
from app.services import enterprises, land_parcels, zones
from app.services.calculators.uscc import check_character

YI = Decimal(100_000_000)
PAZHOU_CAPITAL = Decimal("161.3") * YI
COHORT_CAPITAL = Decimal("102.35") * YI

_serial = iter(range(1, 1_000_000))


def demo_uscc(division_code: str = "440105") -> str:
    """A synthetic but well-formed USCC: 9 (工商) 1 (企业), the area code, MA + serial, check character."""
    first17 = f"91{division_code}MA5{next(_serial):06d}"
    return first17 + check_character(first17)


# (group name, short name, its USCC area code, industry division, companies it set up in 琶洲)
PAZHOU_GROUPS: list[tuple[str, str, str, str, int]] = [
    ("深圳市腾讯计算机系统有限公司", "腾讯", "440300", "64", 12),
    ("阿里巴巴（中国）有限公司", "阿里巴巴", "330100", "64", 10),
    ("上海复星高科技（集团）有限公司", "复星", "310000", "72", 8),
    ("小米科技有限责任公司", "小米", "110108", "39", 7),
    ("赫基（中国）集团股份有限公司", "赫基", "440101", "18", 5),
    *[
        (f"示例{word}集团有限公司", word, "440106", code, n)
        for word, code, n in [
            ("云智", "65", 4),
            ("数联", "64", 4),
            ("星链", "63", 4),
            ("慧视", "65", 4),
            ("创新药", "27", 4),
            ("智造", "35", 4),
            ("融科", "69", 4),
            ("文创", "88", 3),
            ("物联", "65", 3),
            ("新零售", "52", 3),
            ("云游", "64", 3),
            ("链信", "65", 3),
            ("声谷", "87", 3),
            ("绿能", "44", 3),
            ("汇通", "72", 3),
        ]
    ],
]

# Mentioned by the report (visits), registered outside 琶洲 and settled before 2018.
OTHER_NAMED = [
    ("欧派家居集团股份有限公司", "21"),
    ("广州华多网络科技有限公司（YY）", "64"),
    ("北京字节跳动科技有限公司广州分公司（今日头条）", "64"),
    ("广东东凌集团有限公司", "72"),
    ("广州华邦示例科技有限公司", "65"),
]

COHORT_WORDS = ["数智", "云帆", "启航", "海贝", "珠江", "南岸", "青禾", "远望", "拓普", "卓越", "博纳", "嘉禾"]
COHORT_INDUSTRIES = ["64", "65", "72", "74", "52", "51", "67", "70", "88", "39", "27", "86"]
CAPITAL_WEIGHTS = [30, 12, 8, 25, 5, 15, 20, 10]
WAN = Decimal(10_000)


def split_total(count: int, total: Decimal) -> list[Decimal]:
    """`count` amounts in whole 万元, shaped by CAPITAL_WEIGHTS, summing exactly to `total`."""
    weights = [w for w, _ in zip(cycle(CAPITAL_WEIGHTS), range(count), strict=False)]
    unit = total / sum(weights)
    values = [(unit * w / WAN).to_integral_value() * WAN for w in weights[:-1]]
    values.append(total - sum(values))
    return values


async def _zone(session: AsyncSession, code: str, name: str, kind: ZoneKind, parent: Zone | None) -> Zone:
    return await zones.create_zone(
        session, SYSTEM, ZoneCreate(code=code, name=name, kind=kind, parent_id=parent.id if parent else None)
    )


async def _area(session: AsyncSession, zone: Zone, km2: str, start: date, end: date | None = None) -> None:
    await zones.add_area_version(
        session, SYSTEM, zone.id, AreaVersionCreate(area_km2=Decimal(km2), effective_from=start, effective_to=end)
    )


async def load_registry(session: AsyncSession, officers: list[User], today: date) -> bool:
    """Loads the registry once; returns False when it is already there."""
    if await session.scalar(select(Zone.id).where(Zone.code == "HZ")) is not None:
        return False

    district = await _zone(session, "HZ", "海珠区", ZoneKind.district, None)
    pazhou = await _zone(session, "PZ", "琶洲互联网创新集聚区", ZoneKind.cluster, district)
    core = await _zone(session, "PZ-CORE", "琶洲集聚区核心区", ZoneKind.core, pazhou)
    expansion = await _zone(session, "PZ-EXP", "琶洲集聚区拓展区", ZoneKind.expansion, pazhou)
    support = await _zone(session, "PZ-SUP", "琶洲集聚区配套区", ZoneKind.support, pazhou)
    rest = await _zone(session, "HZ-REST", "海珠区其他区域", ZoneKind.other, district)
    await _area(session, core, "0.20", date(2015, 1, 1))
    # The expansion area was enlarged in 2018: the basis on 2017-06-30 is 0.34 km², on 2018-10-31 0.37 km².
    await _area(session, expansion, "0.08", date(2015, 1, 1), date(2018, 1, 1))
    await _area(session, expansion, "0.11", date(2018, 1, 1))
    await _area(session, support, "0.06", date(2015, 1, 1))
    await _area(session, rest, "90.03", date(2015, 1, 1))

    officer_ids = cycle([o.id for o in officers] or [None])

    async def add(**fields: object) -> Enterprise:
        if fields.get("service_officer_id") is not None:
            # Each enterprise got its chief service officer when it settled (为各企业配备一名首席服务官).
            fields["service_officer_since"] = fields["settled_on"]
        data = EnterpriseCreate.model_validate(fields)
        return await enterprises.create_enterprise(session, SYSTEM, data, today)

    # 琶洲: 20 leading groups (outside the district) and their 94 project and business companies.
    pazhou_zones = cycle([core, core, expansion, support])
    total_companies = sum(n for *_, n in PAZHOU_GROUPS)
    capitals = iter(split_total(total_companies, PAZHOU_CAPITAL))
    companies: list[Enterprise] = []
    settled_2018 = 0
    for g, (group_name, short, area_code, industry, count) in enumerate(PAZHOU_GROUPS):
        group = await add(
            uscc=demo_uscc(area_code),
            name=group_name,
            registered_capital=Decimal(500_000) * 10_000,
            industry_code=industry,
            source=EnterpriseSource.existing,
            established_on=date(2000 + g % 15, 3, 1),
            investor_classes=[InvestorClassItem(investor_class=InvestorClass.leading_enterprise)],
        )
        holding: Enterprise | None = None
        for i in range(count):
            # Half the companies of each group settled via 2016–2017, ten of them in 2018 (the cohort below).
            in_2018 = settled_2018 < 10 and i == count - 1
            settled = date(2018, 3 + settled_2018 % 8, 10) if in_2018 else date(2015 + i % 3, 1 + (g + i) % 12, 15)
            settled_2018 += in_2018
            company = await add(
                uscc=demo_uscc(),
                name=f"广州琶洲{short}示例{i + 1:02d}科技有限公司",
                registered_capital=next(capitals),
                industry_code=industry,
                source=EnterpriseSource.new if i % 3 else EnterpriseSource.relocated,
                established_on=settled - timedelta(days=30),
                settled_on=settled,
                # Larger groups hold their project companies through a Guangzhou sub-holding (any depth).
                parent_id=(holding.id if holding and count >= 7 else group.id),
                zone_id=next(pazhou_zones).id,
                service_officer_id=next(officer_ids),
                investor_classes=(
                    [InvestorClassItem(investor_class=InvestorClass.china_500, list_year=2018)] if in_2018 else []
                ),
                contacts=[
                    ContactItem(
                        name=f"示例联系人{len(companies) + 1}",
                        phone=f"020-8900{len(companies):04d}",
                        position="总经理助理",
                    )
                ],
            )
            holding = holding or company
            companies.append(company)
    if len(companies) != 94 or settled_2018 != 10:
        raise RuntimeError("demo registry no longer matches the report (94 companies, 10 settled in 2018)")

    # 28 parcels transferred by the end of 2018, to 22 buyers, 13 of which operate by then; one more parcel
    # transferred in January 2019 and two not yet transferred.
    buyers = companies[::4][:22]
    for n, buyer in enumerate(buyers):
        if n < 13:
            buyer.operations_started_on = date(2017 + n % 2, 1 + n % 9, 1)
    buyers[13].operations_started_on = date(2019, 1, 7)  # starts after the report's year
    plan = [*buyers, *buyers[:6]]
    for n, buyer in enumerate(plan):
        await land_parcels.create_parcel(
            session,
            SYSTEM,
            LandParcelCreate(
                code=f"AH0401{n + 1:02d}",
                zone_id=buyer.zone_id or core.id,
                area_m2=Decimal(8000 + 350 * n),
                planned_use="商务设施用地（B2）",
                transferred_on=date(2014 + n % 4, 1 + n % 12, 20) if n % 4 != 3 else date(2018, 1 + n % 9, 28),
                buyer_enterprise_id=buyer.id,
                price=Decimal(600_000_000 + 10_000_000 * n),
            ),
        )
    await land_parcels.create_parcel(
        session,
        SYSTEM,
        LandParcelCreate(
            code="AH040129",
            zone_id=support.id,
            area_m2=Decimal(9100),
            planned_use="商业用地（B1）",
            transferred_on=date(2019, 1, 10),
            buyer_enterprise_id=buyers[14].id,
            price=Decimal(450_000_000),
        ),
    )
    for n in (30, 31):
        await land_parcels.create_parcel(
            session,
            SYSTEM,
            LandParcelCreate(code=f"AH0401{n}", zone_id=expansion.id, area_m2=Decimal(7600), planned_use="待定"),
        )

    # The 2018 settlement cohort: the 10 琶洲 companies above plus 62 more elsewhere in the district.
    pazhou_2018 = [c for c in companies if c.settled_on and c.settled_on.year == 2018]
    others = 62
    other_capitals = iter(split_total(others, COHORT_CAPITAL - sum(c.registered_capital for c in pazhou_2018)))
    sources = [EnterpriseSource.new] * 25 + [EnterpriseSource.relocated] * 12 + [EnterpriseSource.existing] * 25
    pazhou_new_or_relocated = sum(c.source is not EnterpriseSource.existing for c in pazhou_2018)
    # 43 new or relocated in all: the 琶洲 ten contribute theirs; trim the rest to match.
    sources = sources[: 43 - pazhou_new_or_relocated] + [EnterpriseSource.existing] * others
    for i in range(others):
        classes: list[InvestorClassItem] = []
        if i < 8:  # Fortune Global 500 investors; two were on the 2017 list as well (counted once)
            classes.append(InvestorClassItem(investor_class=InvestorClass.fortune_global_500, list_year=2018))
            if i < 2:
                classes.append(InvestorClassItem(investor_class=InvestorClass.fortune_global_500, list_year=2017))
        elif i < 14:  # China 500 investors: these 6 and the ten 琶洲 companies settled in 2018
            classes.append(InvestorClassItem(investor_class=InvestorClass.china_500, list_year=2018))
        word = COHORT_WORDS[i % len(COHORT_WORDS)]
        await add(
            uscc=demo_uscc(),
            name=f"广州海珠{word}示例{i + 1:02d}有限公司",
            registered_capital=next(other_capitals),
            industry_code=COHORT_INDUSTRIES[i % len(COHORT_INDUSTRIES)],
            source=sources[i],
            established_on=date(2017, 6, 1) + timedelta(days=5 * i),
            settled_on=date(2018, 1, 8) + timedelta(days=5 * i),
            zone_id=rest.id,
            service_officer_id=next(officer_ids) if i % 3 else None,
            investor_classes=classes,
        )

    # Enterprises the report mentions, settled before 2018 (not in the cohort).
    for i, (name, industry) in enumerate(OTHER_NAMED):
        await add(
            uscc=demo_uscc(),
            name=name,
            registered_capital=Decimal(20_000) * 10_000 * (i + 1),
            industry_code=industry,
            source=EnterpriseSource.existing,
            established_on=date(2005 + i, 5, 1),
            settled_on=date(2012 + i, 5, 1),
            zone_id=rest.id,
            service_officer_id=next(officer_ids),
        )
    await session.flush()
    return True
