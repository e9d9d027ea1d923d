"""Demo key projects with both milestone tracks, as the office would have seen them on 2018-10-31.

Project names are synthetic (示例); the investors are the demo registry's groups. Seen as of 2018-10-31,
three milestones are late (one re-planned once already), two projects carry escalations, and one
supervision round covered them.
"""

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import shanghai_date
from app.core.principal import SYSTEM
from app.models import Enterprise, EscalationLevel, Milestone, MilestoneTemplate, Project, ProjectStage, Track, User
from app.schemas.project import (
    ApplyTemplate,
    EscalationCreate,
    MilestoneCreate,
    MilestoneUpdate,
    ProjectCreate,
    ReplanCreate,
    StageEventCreate,
    SupervisionRoundCreate,
    TemplateCreate,
    TemplateItem,
)
from app.services import milestones, projects, supervision

YI = Decimal(100_000_000)

HQ_TEMPLATE = TemplateCreate(
    code="hq_campus",
    name="产业总部项目关键节点表",
    project_type="hq_campus",
    items=[
        TemplateItem(track=Track.construction, name="取得建设用地规划许可", offset_days=30),
        TemplateItem(track=Track.construction, name="取得施工许可", offset_days=120),
        TemplateItem(track=Track.construction, name="基坑及地下室完成", offset_days=300),
        TemplateItem(track=Track.construction, name="主体结构封顶", offset_days=540),
        TemplateItem(track=Track.construction, name="竣工验收", offset_days=760),
        TemplateItem(track=Track.industry, name="注册项目公司", offset_days=15),
        TemplateItem(track=Track.industry, name="首批团队入驻过渡办公", offset_days=90),
        TemplateItem(track=Track.industry, name="营收纳入区统计", offset_days=180),
        TemplateItem(track=Track.industry, name="达到承诺营收", offset_days=720),
    ],
)

# name, group short name (its first 琶洲 company is the project company), type, investment 亿元, introduced,
# [(stage, date)], template start or None, {milestone name: completed_on} (None = still open)
PLANS: list[
    tuple[str, str, str | None, str, date, list[tuple[ProjectStage, date]], date | None, dict[str, date | None]]
] = [
    (
        "腾讯琶洲总部项目（示例）",
        "腾讯",
        "hq_campus",
        "60",
        date(2016, 3, 1),
        [
            (ProjectStage.signed, date(2016, 8, 18)),
            (ProjectStage.registered, date(2016, 9, 20)),
            (ProjectStage.under_construction, date(2017, 5, 2)),
        ],
        date(2017, 1, 1),
        {
            "取得建设用地规划许可": date(2017, 1, 25),
            "取得施工许可": date(2017, 4, 25),
            "基坑及地下室完成": date(2017, 12, 10),
            "注册项目公司": date(2017, 1, 10),
            "首批团队入驻过渡办公": date(2017, 3, 28),
            "营收纳入区统计": date(2017, 6, 20),
        },
    ),
    (
        "阿里巴巴华南运营中心项目（示例）",
        "阿里巴巴",
        "hq_campus",
        "45",
        date(2016, 6, 1),
        [
            (ProjectStage.signed, date(2016, 12, 8)),
            (ProjectStage.registered, date(2017, 2, 14)),
            (ProjectStage.under_construction, date(2018, 3, 1)),
        ],
        date(2018, 5, 3),
        {"取得建设用地规划许可": date(2018, 5, 30), "注册项目公司": date(2018, 5, 15)},
    ),
    (
        "复星南方总部项目（示例）",
        "复星",
        "hq_campus",
        "30",
        date(2017, 3, 1),
        [(ProjectStage.signed, date(2017, 9, 1)), (ProjectStage.registered, date(2017, 11, 20))],
        date(2018, 7, 17),
        {"取得建设用地规划许可": date(2018, 8, 10), "注册项目公司": date(2018, 7, 30)},
    ),
    (
        "小米华南总部项目（示例）",
        "小米",
        "hq_campus",
        "25",
        date(2016, 9, 1),
        [
            (ProjectStage.signed, date(2017, 1, 10)),
            (ProjectStage.registered, date(2017, 3, 1)),
            (ProjectStage.under_construction, date(2017, 10, 9)),
        ],
        date(2017, 6, 1),
        {
            "取得建设用地规划许可": date(2017, 6, 28),
            "取得施工许可": date(2017, 9, 20),
            "基坑及地下室完成": date(2018, 3, 20),
            "注册项目公司": date(2017, 6, 10),
            "首批团队入驻过渡办公": date(2017, 8, 25),
            "营收纳入区统计": date(2017, 11, 30),
        },
    ),
    (
        "赫基集团总部项目（示例）",
        "赫基",
        None,
        "12",
        date(2015, 5, 1),
        [
            (ProjectStage.signed, date(2015, 9, 1)),
            (ProjectStage.registered, date(2015, 10, 15)),
            (ProjectStage.under_construction, date(2016, 4, 1)),
            (ProjectStage.operating, date(2018, 6, 28)),
        ],
        None,
        {},
    ),
]


async def _move(session: AsyncSession, project: Project, stages: list[tuple[ProjectStage, date]], today: date) -> None:
    for to_stage, on in stages:
        await projects.change_stage(
            session, SYSTEM, project.id, StageEventCreate(to_stage=to_stage, occurred_on=on), None, today
        )


async def _company(session: AsyncSession, short: str) -> Enterprise | None:
    return await session.scalar(
        select(Enterprise).where(Enterprise.name.like(f"广州琶洲{short}示例%")).order_by(Enterprise.id).limit(1)
    )


async def load_projects(session: AsyncSession, officers: list[User]) -> bool:
    if await session.scalar(select(MilestoneTemplate.id).where(MilestoneTemplate.code == HQ_TEMPLATE.code)):
        return False
    today = shanghai_date(datetime.now(UTC))
    template = await supervision.create_template(session, SYSTEM, HQ_TEMPLATE)
    responsible = officers[0].id if officers else None
    cso = officers[-1].id if officers else None
    made: dict[str, Project] = {}

    for name, short, project_type, investment, introduced, stages, start, done in PLANS:
        company = await _company(session, short)
        project = await projects.create_project(
            session,
            SYSTEM,
            ProjectCreate(
                name=name,
                project_type=project_type,
                enterprise_id=company.id if company else None,
                zone_id=company.zone_id if company else None,
                is_key=True,
                industry_code="64",
                planned_investment=Decimal(investment) * YI,
                responsible_officer_id=responsible,
                service_officer_id=cso,
                introduced_on=introduced,
            ),
            today,
        )
        await _move(session, project, stages, today)
        if start is not None:
            for m in await milestones.apply_template(
                session, SYSTEM, project.id, ApplyTemplate(template_id=template.id, start_on=start)
            ):
                if done.get(m.name):
                    await milestones.update_milestone(
                        session, SYSTEM, project.id, m.id, MilestoneUpdate(completed_on=done[m.name]), None, today
                    )
        made[short] = project

    # 腾讯: the topping-out was re-planned once and is late again (31 days on 2018-10-31).
    tencent = made["腾讯"]
    topping = await session.scalar(
        select(Milestone).where(Milestone.project_id == tencent.id, Milestone.name == "主体结构封顶")
    )
    if topping is not None:
        await milestones.replan(
            session,
            SYSTEM,
            tencent.id,
            topping.id,
            ReplanCreate(
                new_due_on=date(2018, 9, 30), reason="基坑施工遇溶洞，工期顺延（示例）", decided_on=date(2018, 6, 20)
            ),
            None,
            today,
        )
    # 阿里巴巴: the construction permit (due 2018-08-31) is 61 days late; a reminder, then a supervision notice.
    ali = made["阿里巴巴"]
    permit = await session.scalar(
        select(Milestone).where(Milestone.project_id == ali.id, Milestone.name == "取得施工许可")
    )
    for level, on, note in [
        (EscalationLevel.reminder, date(2018, 9, 10), "电话提醒施工许可办理进度（示例）"),
        (EscalationLevel.supervision, date(2018, 10, 8), "发督办函，要求10月底前报送施工图审查意见（示例）"),
    ]:
        await supervision.create_escalation(
            session,
            SYSTEM,
            ali.id,
            EscalationCreate(level=level, occurred_on=on, milestone_id=permit.id if permit else None, note=note),
            today,
        )

    # Further projects in other stages: signed with an unscheduled milestone, a code-named negotiation,
    # one on hold and one dropped.
    extra = [
        ("示例云智人工智能产业园项目", None, date(2018, 1, 15), [(ProjectStage.signed, date(2018, 6, 30))]),
        ("某世界500强企业华南区域总部项目（示例）", "珠江一号", date(2018, 8, 1), []),
        (
            "示例数联大数据中心项目",
            None,
            date(2017, 5, 1),
            [(ProjectStage.signed, date(2017, 11, 1)), (ProjectStage.on_hold, date(2018, 7, 1))],
        ),
        ("示例文创园项目", None, date(2017, 2, 1), [(ProjectStage.dropped, date(2018, 4, 20))]),
    ]
    for name, code_name, introduced, stages in extra:
        project = await projects.create_project(
            session,
            SYSTEM,
            ProjectCreate(
                name=name,
                code_name=code_name,
                is_key=code_name is not None,
                introduced_on=introduced,
                planned_investment=Decimal(8) * YI,
                responsible_officer_id=responsible,
            ),
            today,
        )
        await _move(session, project, stages, today)
        if project.stage is ProjectStage.signed:
            await milestones.create_milestone(
                session, SYSTEM, project.id, MilestoneCreate(track=Track.industry, name="注册项目公司（待定）")
            )

    await supervision.create_round(
        session,
        SYSTEM,
        SupervisionRoundCreate(
            held_on=date(2018, 9, 15),
            title="琶洲重点项目第三季度督查（示例）",
            findings="腾讯项目主体结构封顶较原计划滞后；阿里巴巴项目施工许可尚未取得。（示例）",
            follow_up_actions="约请企业负责人沟通；由项目部长跟进施工图审查。（示例）",
            project_ids=[made["腾讯"].id, made["阿里巴巴"].id, made["复星"].id],
        ),
        today,
    )
    await session.flush()
    return True
