"""Demo service desk and talent services, built to reproduce the 2018 report's figures.

Reproduced (see tests/api/test_demo_service_figures.py):
- "2018年已走访了阿里巴巴、东凌集团、欧派、小米、YY、华邦、复星、今日头条等30余家企业": 40 visits in 2018 to 32
  distinct enterprises (the eight named twice), plus three visits in 2017 that the 2018 figure leaves out;
- "长条桌送服务现场问诊会—琶洲专场" with 住建、城管、国规、政务、消防、税务、供电、供水、招商、发改 and the
  street office;
- "目前已为14家战略新兴企业共30名提供免费人才公寓": on 2018-10-31 (and at year end) 30 talents of 14 enterprises
  live in free talent apartments; two more pay a rent and one moved out in August;
- "2018年共协助17家企业45名人才成功申报白卡落户": 45 approvals in 2018 for talents of 17 enterprises, beside
  approvals of 2017, rejections and applications still pending;
- "推动阿里巴巴、中石油、中石化、昆仑能源等4家世界500强企业的高级管理人员获批21个人才绿卡": 21 cards approved in
  2018 for senior executives of those four, beside one rejected and one pending.

Names of people are synthetic (示例); national ID numbers are made up with valid check characters and
phones use the 1380000xxxx placeholder range. 中石油, 中石化 and 昆仑能源 appear as the report names them,
as synthetic local companies (示例).
"""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import SHANGHAI
from app.core.principal import SYSTEM
from app.models import (
    ApplicationStatus,
    Department,
    Enterprise,
    EnterpriseSource,
    HouseholdRegistration,
    InvestorClass,
    OfficerRole,
    RejectionReason,
    RequestStatus,
    ServiceCategory,
    ServiceRequest,
    ServiceType,
    TalentGreenCard,
    TalentRole,
    User,
    Zone,
)
from app.schemas.consultation_event import AppointmentCreate, AppointmentIssueCreate, ConsultationEventCreate
from app.schemas.department import DepartmentCreate
from app.schemas.enterprise import EnterpriseCreate, EnterpriseUpdate, InvestorClassItem
from app.schemas.service_request import Accept, Evaluate, Reject, Resolve, Start, VisitIssueCreate
from app.schemas.service_type import ServiceTypeCreate
from app.schemas.talent import (
    AllocationCreate,
    ApplicationCreate,
    BatchCreate,
    Decision,
    GreenCardDecision,
    TalentCreate,
    UnitCreate,
)
from app.schemas.visit import VisitCreate
from app.services import (
    consultation_events,
    departments,
    enterprises,
    service_officers,
    service_requests,
    service_types,
    talent_apartments,
    talent_applications,
    talents,
    visits,
)
from app.services.calculators.national_id import check_character
from app.services.demo.calendar import working_day
from app.services.demo.registry import OTHER_NAMED, demo_uscc
from app.services.talent_applications import Application

# code, name: the departments of the 琶洲 fair, the street office, and those the catalogue needs besides.
DEPARTMENTS = [
    ("housing", "区住房城乡建设局"),
    ("urban_management", "区城市管理和综合执法局"),
    ("planning", "市规划和自然资源局海珠区分局"),
    ("government_services", "区政务服务数据管理局"),
    ("fire", "区消防救援大队"),
    ("tax", "区税务局"),
    ("power", "海珠供电局"),
    ("water", "市自来水公司海珠分公司"),
    ("investment", "区招商办"),
    ("development_reform", "区发展和改革局"),
    ("pazhou_street", "琶洲街道办事处"),
    ("education", "区教育局"),
    ("human_resources", "区人力资源和社会保障局"),
    ("public_security", "区公安分局户政科"),
]
FAIR_DEPARTMENTS = [code for code, _ in DEPARTMENTS[:11]]

# code, name, category, department, time limit in working days
CATALOGUE = [
    ("site_selection", "场地选址", ServiceCategory.enterprise, "investment", 5),
    ("talent_settlement", "人才落户", ServiceCategory.talent, "public_security", 20),
    ("talent_apartment", "人才公寓", ServiceCategory.talent, "investment", 10),
    ("children_schooling", "子女教育（入学）", ServiceCategory.talent, "education", 15),
    ("fire_inspection", "二次消防验收", ServiceCategory.enterprise, "fire", 10),
    ("tax_invoicing", "税务开票", ServiceCategory.enterprise, "tax", 3),
    ("policy_application", "政策申报", ServiceCategory.enterprise, "development_reform", 10),
    ("construction_permit", "施工许可与报建", ServiceCategory.enterprise, "housing", 15),
    ("planning_approval", "规划审批", ServiceCategory.enterprise, "planning", 15),
    ("power_connection", "用电报装", ServiceCategory.enterprise, "power", 5),
    ("water_connection", "用水报装", ServiceCategory.enterprise, "water", 5),
    ("urban_management", "市政设施与占道审批", ServiceCategory.enterprise, "urban_management", 7),
    ("government_services", "政务办事协调", ServiceCategory.enterprise, "government_services", 3),
    ("local_coordination", "属地协调", ServiceCategory.enterprise, "pazhou_street", 5),
]
# What the fair's departments are asked about there.
FAIR_TYPES = {
    "housing": "construction_permit",
    "urban_management": "urban_management",
    "planning": "planning_approval",
    "government_services": "government_services",
    "fire": "fire_inspection",
    "tax": "tax_invoicing",
    "power": "power_connection",
    "water": "water_connection",
    "investment": "site_selection",
    "development_reform": "policy_application",
    "pazhou_street": "local_coordination",
}

# Fortune Global 500 employers of the green-card holders (besides 阿里巴巴, already in the registry).
FORTUNE_EMPLOYERS = ["中石油（示例）广州分公司", "中石化（示例）广州分公司", "昆仑能源（示例）广州有限公司"]
SURNAMES = "陈李张王刘黄林吴何郑梁谢罗许邓冯曾彭萧蔡"
FAIR_DAY = date(2018, 6, 15)


def _at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour, 0), SHANGHAI)


class _People:
    """Synthetic talents: 陈示例001 …, valid national ID numbers, placeholder phones."""

    def __init__(self) -> None:
        self.count = 0

    def next(self, enterprise_id: int, role: TalentRole, position: str) -> TalentCreate:
        self.count += 1
        n = self.count
        born = date(1968, 1, 1) + timedelta(days=97 * n)
        first17 = f"440105{born:%Y%m%d}{n % 1000:03d}"
        return TalentCreate(
            name=f"{SURNAMES[n % len(SURNAMES)]}示例{n:03d}",
            enterprise_id=enterprise_id,
            role=role,
            position=position,
            national_id=first17 + check_character(first17),
            phone=f"1380000{n:04d}",
        )


async def _catalogue(session: AsyncSession) -> tuple[dict[str, Department], dict[str, ServiceType]]:
    depts: dict[str, Department] = {}
    for code, name in DEPARTMENTS:
        depts[code] = await departments.create_department(session, SYSTEM, DepartmentCreate(code=code, name=name))
    types: dict[str, ServiceType] = {}
    for code, name, category, dept, limit in CATALOGUE:
        types[code] = await service_types.create_type(
            session,
            SYSTEM,
            ServiceTypeCreate(
                code=code,
                name=name,
                category=category,
                department_id=depts[dept].id,
                time_limit_working_days=limit,
            ),
        )
    return depts, types


async def _follow_up(session: AsyncSession, request: ServiceRequest, n: int, now: datetime) -> None:
    """Takes a demo request through the closed loop; the pattern depends on n. The last ones stay open."""
    received = request.received_on
    still_open = received >= date(2018, 11, 15)
    if still_open and n % 2:
        return
    step = working_day(received + timedelta(days=1))
    if n % 10 == 0:
        reason = [RejectionReason.duplicate, RejectionReason.outside_remit, RejectionReason.in_litigation][n % 3]
        await service_requests.transition(
            session,
            SYSTEM,
            request.id,
            Reject(to_status=RequestStatus.rejected, occurred_at=_at(step), reason_code=reason),
            None,
            now,
        )
        return
    await service_requests.transition(
        session, SYSTEM, request.id, Accept(to_status=RequestStatus.accepted, occurred_at=_at(step)), None, now
    )
    await service_requests.transition(
        session, SYSTEM, request.id, Start(to_status=RequestStatus.in_progress, occurred_at=_at(step, 15)), None, now
    )
    if still_open:
        return  # still being handled at the year's end
    late = n % 6 == 5
    done = request.due_on + timedelta(days=3) if late else max(step, request.due_on - timedelta(days=n % 4))
    await service_requests.transition(
        session,
        SYSTEM,
        request.id,
        Resolve(to_status=RequestStatus.resolved, occurred_at=_at(done, 16), resolution="已协调办结（示例）"),
        None,
        now,
    )
    if n % 3 != 2:
        await service_requests.transition(
            session,
            SYSTEM,
            request.id,
            Evaluate(
                to_status=RequestStatus.evaluated,
                occurred_at=_at(done + timedelta(days=2), 11),
                callback_on=done + timedelta(days=2),
                satisfaction=[5, 4, 5, 3, 4][n % 5] if not late else 3,
            ),
            None,
            now,
        )


async def _service_team(session: AsyncSession, named: list[Enterprise], officers: list[User], today: date) -> None:
    if len(officers) < 2:
        return
    for enterprise in named:
        deputy = next(o for o in officers if o.id != enterprise.service_officer_id)
        await service_officers.assign(
            session,
            SYSTEM,
            enterprise,
            deputy.id,
            OfficerRole.deputy,
            date(2018, 3, 1),
            "重点企业配备协办服务官",
            today,
        )
    # One hand-over in the year: the primary of 小米's project company changed on 1 July.
    xiaomi = next(e for e in named if "小米" in e.name)
    successor = next(o for o in officers if o.id != xiaomi.service_officer_id)
    await service_officers.assign(
        session, SYSTEM, xiaomi, successor.id, OfficerRole.primary, date(2018, 7, 1), "岗位调整，工作交接", today
    )


async def load_services(session: AsyncSession, officers: list[User], leader: User | None, today: date) -> bool:
    """Loads the demo service desk once; returns False when it is already there."""
    if await session.scalar(select(Department.id).where(Department.code == "investment")) is not None:
        return False
    now = datetime.now(UTC)
    depts, types = await _catalogue(session)
    companies = list(
        await session.scalars(select(Enterprise).where(Enterprise.name.like("广州琶洲%示例%")).order_by(Enterprise.id))
    )
    others = list(
        await session.scalars(select(Enterprise).where(Enterprise.name.like("广州海珠%示例%")).order_by(Enterprise.id))
    )
    by_name = {e.name: e for e in await session.scalars(select(Enterprise))}

    def named_one(word: str) -> Enterprise:
        """The group's first 琶洲 project company, or the enterprise the report mentions by that name."""
        local = [c for c in companies if f"琶洲{word}示例01" in c.name]
        return local[0] if local else next(by_name[n] for n, _ in OTHER_NAMED if word in n)

    # In the report's order: 阿里巴巴、东凌集团、欧派、小米、YY、华邦、复星、今日头条.
    named = [named_one(w) for w in ("阿里巴巴", "东凌", "欧派", "小米", "YY", "华邦", "复星", "今日头条")]
    await _service_team(session, named, officers, today)

    # Visits: the eight named enterprises twice, 24 more once, in 2018; three visits in 2017.
    staff = [o.id for o in officers] or ([leader.id] if leader else [])
    if not staff:
        return True
    named_ids = {e.id for e in named}
    more = [c for c in companies if c.id not in named_ids][3:15] + others[:12]
    plan = [(e, 0) for e in named] + [(e, 1) for e in more] + [(e, 2) for e in named]
    request_no = 0
    visit_types = ["policy_application", "site_selection", "talent_apartment", "children_schooling", "tax_invoicing"]
    for i, (enterprise, round_) in enumerate(plan):
        day = working_day(date(2018, 1, 15) + timedelta(days=8 * i))
        team = [staff[i % len(staff)]] + ([leader.id] if leader and round_ != 1 and i % 2 == 0 else [])
        visit = await visits.create_visit(
            session,
            SYSTEM,
            VisitCreate(
                enterprise_id=enterprise.id,
                visited_on=day,
                officer_ids=team,
                purpose="首席服务官上门走访（示例）",
                findings="了解企业经营与用地、人才需求（示例）",
            ),
            today,
        )
        if i < 12:
            request_no += 1
            request = await visits.raise_issue(
                session,
                SYSTEM,
                visit.id,
                VisitIssueCreate(
                    service_type_id=types[visit_types[i % len(visit_types)]].id,
                    title=f"走访发现诉求（示例{request_no:02d}）",
                    description="企业在走访中提出的诉求（示例）",
                ),
                now,
            )
            await _follow_up(session, request, request_no, now)
    for i, enterprise in enumerate(named[:3]):
        await visits.create_visit(
            session,
            SYSTEM,
            VisitCreate(
                enterprise_id=enterprise.id,
                visited_on=date(2017, 11, 6 + 7 * i),
                officer_ids=[staff[0]],
                findings="2017年走访（示例）",
            ),
            today,
        )

    # The 琶洲 fair: land buyers book two departments each; every other appointment raises an issue.
    fair = await consultation_events.create_event(
        session,
        SYSTEM,
        ConsultationEventCreate(
            held_on=FAIR_DAY,
            title="长条桌送服务现场问诊会—琶洲专场",
            place="琶洲互联网创新集聚区（示例会场）",
            department_ids=[depts[c].id for c in FAIR_DEPARTMENTS],
            note="职能部门及属地街道现场摆摊，为拍地企业一对一挂号问诊（示例）",
        ),
    )
    buyers = companies[::4][:22]
    for i, buyer in enumerate(buyers):
        for k in (i % 11, (i + 3) % 11):
            code = FAIR_DEPARTMENTS[k]
            appointment = await consultation_events.book(
                session,
                SYSTEM,
                fair.id,
                AppointmentCreate(
                    enterprise_id=buyer.id, department_id=depts[code].id, topic="项目建设手续咨询（示例）"
                ),
            )
            if (i + k) % 2 == 0:
                request_no += 1
                request = await consultation_events.raise_issue(
                    session,
                    SYSTEM,
                    fair.id,
                    appointment.id,
                    AppointmentIssueCreate(
                        service_type_id=types[FAIR_TYPES[code]].id,
                        title=f"问诊会诉求（示例{request_no:02d}）",
                        description="企业在问诊会上提出的诉求（示例）",
                    ),
                    now,
                    today,
                )
                await _follow_up(session, request, request_no, now)

    # Requests enterprises brought directly, through the year.
    direct_types = [t for t in types.values() if t.code not in ("talent_settlement",)]
    for i in range(26):
        request_no += 1
        enterprise = (companies + others)[(7 * i) % (len(companies) + len(others))]
        new = service_requests.NewRequest(
            enterprise_id=enterprise.id,
            service_type_id=direct_types[i % len(direct_types)].id,
            title=f"企业诉求（示例{request_no:02d}）",
            description="企业通过首席服务官提出的诉求（示例）",
            received_at=_at(working_day(date(2018, 1, 8) + timedelta(days=14 * i)), 9 + i % 6),
            assignee_id=None,
            department_id=None,
        )
        request = await service_requests.register(session, SYSTEM, new, now)
        await _follow_up(session, request, request_no, now)

    await _talents(session, companies, by_name, today)
    return True


async def _fortune_employers(session: AsyncSession, by_name: dict[str, Enterprise], today: date) -> list[Enterprise]:
    rest = await session.scalar(select(Zone).where(Zone.code == "HZ-REST"))
    employers = []
    alibaba = by_name["阿里巴巴（中国）有限公司"]
    await enterprises.update_enterprise(
        session,
        SYSTEM,
        alibaba.id,
        EnterpriseUpdate(
            investor_classes=[
                InvestorClassItem(investor_class=InvestorClass.leading_enterprise),
                InvestorClassItem(investor_class=InvestorClass.fortune_global_500, list_year=2018),
            ]
        ),
        None,
        today,
    )
    employers.append(alibaba)
    for i, name in enumerate(FORTUNE_EMPLOYERS):
        employers.append(
            await enterprises.create_enterprise(
                session,
                SYSTEM,
                EnterpriseCreate(
                    uscc=demo_uscc(),
                    name=name,
                    registered_capital=Decimal(50_000_000 * (i + 1)),
                    industry_code="52" if i < 2 else "45",
                    source=EnterpriseSource.existing,
                    established_on=date(2003 + i, 4, 1),
                    settled_on=date(2010 + i, 4, 1),
                    zone_id=rest.id if rest else None,
                    investor_classes=[
                        InvestorClassItem(investor_class=InvestorClass.fortune_global_500, list_year=2018)
                    ],
                ),
                today,
            )
        )
    return employers


async def _talents(
    session: AsyncSession, companies: list[Enterprise], by_name: dict[str, Enterprise], today: date
) -> None:
    people = _People()

    async def person(enterprise: Enterprise, role: TalentRole, position: str) -> int:
        return (await talents.create_talent(session, SYSTEM, people.next(enterprise.id, role, position))).id

    # Apartments: two batches from state-owned stock; 30 talents of 14 enterprises live rent-free.
    batches = [
        await talent_apartments.create_batch(
            session,
            SYSTEM,
            BatchCreate(
                code=code,
                name=name,
                supplied_on=supplied,
                source="国有物业存量房源",
                provider="海珠区国有资产经营示例公司",
            ),
            today,
        )
        for code, name, supplied in (
            ("batch_2017_4", "2017年第四批人才公寓（示例）", date(2017, 12, 1)),
            ("batch_2018_2", "2018年第二批人才公寓（示例）", date(2018, 6, 1)),
        )
    ]
    units = []
    for n in range(36):
        batch = batches[0] if n < 20 else batches[1]
        units.append(
            await talent_apartments.create_unit(
                session,
                SYSTEM,
                UnitCreate(
                    batch_id=batch.id,
                    code=f"PZ-{'A' if n < 20 else 'B'}-{n + 1:03d}",
                    address=f"琶洲人才公寓示例楼{'A' if n < 20 else 'B'}座{n + 1:03d}室",
                    area_m2=Decimal("45.00") + n % 3 * 10,
                    bedrooms=1 + n % 2,
                ),
            )
        )
    strategic = companies[::6][:14]
    tenants = [(e, 3 if i < 2 else 2) for i, e in enumerate(strategic)]
    slot = 0
    for enterprise, count in tenants:
        for _ in range(count):
            person_id = await person(enterprise, TalentRole.urgently_needed, "研发工程师")
            start = date(2018, 1, 8) if slot < 20 else date(2018, 6, 11)
            await talent_apartments.allocate(
                session,
                SYSTEM,
                AllocationCreate(unit_id=units[slot].id, person_id=person_id, start_on=start, rent_free=True),
            )
            slot += 1
    # Two talents pay a (reduced) rent, and one moved out in August.
    paying = companies[84]
    for k in range(2):
        person_id = await person(paying, TalentRole.core_technical, "技术主管")
        await talent_apartments.allocate(
            session,
            SYSTEM,
            AllocationCreate(
                unit_id=units[30 + k].id,
                person_id=person_id,
                start_on=date(2018, 7, 2),
                rent_free=False,
                monthly_rent=Decimal("1500.00"),
            ),
        )
    leaver = await person(companies[90], TalentRole.core_technical, "产品经理")
    await talent_apartments.allocate(
        session,
        SYSTEM,
        AllocationCreate(
            unit_id=units[32].id, person_id=leaver, start_on=date(2018, 6, 11), end_on=date(2018, 8, 31), rent_free=True
        ),
    )

    async def apply(
        model: type[Application],
        person_id: int,
        applied: date,
        outcome: ApplicationStatus | None,
        decided: date | None = None,
    ) -> None:
        application = await talent_applications.submit(
            session, SYSTEM, model, ApplicationCreate(person_id=person_id, applied_on=applied), today
        )
        if outcome is None or decided is None:
            return
        decision: Decision
        if model is TalentGreenCard and outcome is ApplicationStatus.approved:
            decision = GreenCardDecision(
                outcome=outcome,
                decided_on=decided,
                card_number=f"GZRC{decided:%Y}{application.id:05d}",
                expires_on=decided + timedelta(days=5 * 365),
            )
        else:
            decision = Decision.model_validate({"outcome": outcome, "decided_on": decided})
        await talent_applications.decide(session, SYSTEM, model, application.id, decision, None, today)

    # 白卡落户: 45 approvals in 2018 for 17 enterprises (eleven with three talents, six with two).
    settlers = companies[1::5][:17]
    for i, enterprise in enumerate(settlers):
        for k in range(3 if i < 11 else 2):
            applied = working_day(date(2018, 1, 22) + timedelta(days=11 * i + 3 * k))
            await apply(
                HouseholdRegistration,
                await person(enterprise, TalentRole.high_end, "高级工程师"),
                applied,
                ApplicationStatus.approved,
                working_day(applied + timedelta(days=40)),
            )
    for i in range(4):  # approved in 2017: not 2018's figure
        applied = date(2017, 6, 5) + timedelta(days=14 * i)
        await apply(
            HouseholdRegistration,
            await person(settlers[i], TalentRole.high_end, "工程师"),
            applied,
            ApplicationStatus.approved,
            applied + timedelta(days=35),
        )
    for i in range(2):  # rejected in 2018
        applied = date(2018, 4, 9) + timedelta(days=7 * i)
        await apply(
            HouseholdRegistration,
            await person(settlers[5 + i], TalentRole.other, "专员"),
            applied,
            ApplicationStatus.rejected,
            applied + timedelta(days=30),
        )
    for i in range(3):  # still pending at the year's end
        await apply(
            HouseholdRegistration,
            await person(settlers[8 + i], TalentRole.high_end, "工程师"),
            date(2018, 11, 26) + timedelta(days=7 * i),
            None,
        )

    # 人才绿卡: 21 approved in 2018 for senior executives of four Fortune Global 500 enterprises.
    employers = await _fortune_employers(session, by_name, today)
    for i, (employer, count) in enumerate(zip(employers, (8, 5, 5, 3), strict=True)):
        for k in range(count):
            applied = working_day(date(2018, 3, 5) + timedelta(days=17 * i + 5 * k))
            await apply(
                TalentGreenCard,
                await person(employer, TalentRole.senior_executive, "副总裁"),
                applied,
                ApplicationStatus.approved,
                working_day(applied + timedelta(days=30)),
            )
    await apply(
        TalentGreenCard,
        await person(employers[0], TalentRole.senior_executive, "总监"),
        date(2018, 5, 7),
        ApplicationStatus.rejected,
        date(2018, 6, 8),
    )
    await apply(
        TalentGreenCard, await person(employers[2], TalentRole.senior_executive, "副总经理"), date(2018, 12, 3), None
    )
