"""What each importable resource's file holds: its Chinese columns, and how one checked row is written.

Headers are the export's (app/services/exports.HEADERS), so an exported file imports back unchanged; the
export's read-only columns (编号, 版本, 创建时间, …) may stay in the file and are not read. Writing goes
through the resource's own service, with its rules, audit trail and change log. A row is matched to what
is stored by its natural key (统一社会信用代码, 身份证号, a project's name, …): a match is updated where it
differs, so importing the same file twice changes nothing the second time.
"""

from collections.abc import Hashable
from datetime import date, datetime
from typing import Self

from pydantic import BaseModel, model_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import shanghai_date
from app.core.errors import ConflictError, ProblemError, field_problem
from app.core.principal import Principal
from app.core.scopes import CONFIDENTIAL, PERSONAL_DATA
from app.models import DisclosureItem, Enterprise, Industry, Milestone, Project, TalentPerson, Zone
from app.schemas.common import Id
from app.schemas.disclosure import DisclosureCreate, DisclosureRead, DisclosureUpdate
from app.schemas.enterprise import EnterpriseCreate, EnterpriseRead, EnterpriseUpdate
from app.schemas.kpi import FactBatch, FactIn, FactRead
from app.schemas.project import (
    BusinessDate,
    MilestoneCreate,
    MilestoneUpdate,
    ProjectCreate,
    ProjectRead,
    ProjectUpdate,
    Title,
)
from app.schemas.talent import TalentCreate, TalentRead, TalentUpdate
from app.services import disclosures, enterprises, kpi_facts, milestones, projects, talents
from app.services.exports import Table
from app.services.imports.base import (
    Applied,
    Column,
    ImportSpec,
    Outcome,
    Refusal,
    changed_fields,
    column,
    key_of,
    parse_with,
    refusal,
    row_by_row,
)


def _read_only(read_model: type[BaseModel], columns: tuple[Column, ...]) -> frozenset[str]:
    return frozenset(Table(read_model).headers) - {c.header for c in columns}


# --- enterprises -----------------------------------------------------------------------------------------

_ENTERPRISE_FIELDS = {
    "name",
    "registered_capital",
    "currency",
    "established_on",
    "settled_on",
    "industry_code",
    "source",
    "status",
    "operations_started_on",
    "parent_id",
    "zone_id",
    "service_officer_id",
}


async def _write_enterprise(session: AsyncSession, actor: Principal, row: EnterpriseCreate, now: datetime) -> Outcome:
    today = shanghai_date(now)
    existing = await session.scalar(select(Enterprise).where(Enterprise.uscc == row.uscc))
    if existing is None:
        await enterprises.create_enterprise(session, actor, row, today)
        return Outcome.created
    return await _update_enterprise(session, actor, existing, row, today)


async def _update_enterprise(
    session: AsyncSession, actor: Principal, existing: Enterprise, row: EnterpriseCreate, today: date
) -> Outcome:
    changed = changed_fields(existing, row.model_dump(include=_ENTERPRISE_FIELDS))
    if not changed:
        return Outcome.unchanged
    await enterprises.update_enterprise(
        session, actor, existing.id, EnterpriseUpdate.model_validate(changed), None, today
    )
    return Outcome.updated


async def _write_enterprises(
    session: AsyncSession, actor: Principal, rows: list[EnterpriseCreate], now: datetime
) -> list[Outcome]:
    """The batch at once: its USCCs looked up in one query, its new enterprises registered together."""
    today = shanghai_date(now)
    stored = await session.scalars(select(Enterprise).where(Enterprise.uscc.in_([row.uscc for row in rows])))
    by_uscc = {enterprise.uscc: enterprise for enterprise in stored}
    outcomes = [
        Outcome.created
        if row.uscc not in by_uscc
        else await _update_enterprise(session, actor, by_uscc[row.uscc], row, today)
        for row in rows
    ]
    await enterprises.create_enterprises(session, actor, [row for row in rows if row.uscc not in by_uscc], today)
    return outcomes


_ENTERPRISE_COLUMNS = (
    column("uscc", True, "91440105MA59XXXXXX", "18 位，含校验位；已登记的代码按本行更新"),
    column("name", True, "广州示例科技有限公司"),
    column("registered_capital", True, "10000000.00", "元，最多两位小数"),
    column("currency", False, "CNY", "默认 CNY"),
    column("established_on", False, "2018-03-01", "YYYY-MM-DD"),
    column("settled_on", False, "2018-06-01", "落户日期，YYYY-MM-DD"),
    column("industry_code", True, "64", "GB/T 4754-2017 大类代码（两位）", header_key="industry.code"),
    column("source", True, "new", "new 新引进 / relocated 迁入 / existing 存量"),
    column("status", False, "active", "默认 active"),
    column("operations_started_on", False, "2018-09-01", "实质性运营日期，YYYY-MM-DD"),
    column("parent_id", False, "", "所属集团的企业编号"),
    column("zone_id", False, "", "集聚区编号"),
    column("service_officer_id", False, "", "首席服务官（员工）编号"),
)

ENTERPRISES = ImportSpec(
    resource="enterprises",
    title="企业库",
    scopes=("enterprises:write",),
    columns=_ENTERPRISE_COLUMNS,
    key=key_of("uscc"),
    parse=parse_with(EnterpriseCreate),
    apply=row_by_row(_write_enterprise, "uscc", keep=(Industry, Zone), batch=_write_enterprises),
    batch_size=500,
    ignored_headers=_read_only(EnterpriseRead, _ENTERPRISE_COLUMNS),
)


# --- projects ----------------------------------------------------------------------------------------------

_PROJECT_FIELDS = set(ProjectUpdate.model_fields)


async def _project_named(session: AsyncSession, name: str) -> Project | None:
    found = list(await session.scalars(select(Project).where(Project.name == name).limit(2)))
    if len(found) > 1:
        raise field_problem(
            409,
            "ambiguous_name",
            "name",
            f"有多个项目名为“{name}”，无法按名称对应 / several projects are named {name!r}: rename one first",
        )
    return found[0] if found else None


async def _write_project(session: AsyncSession, actor: Principal, row: ProjectCreate, now: datetime) -> Outcome:
    today = shanghai_date(now)
    existing = await _project_named(session, row.name)
    if existing is None:
        await projects.create_project(session, actor, row, today)
        return Outcome.created
    # A stage moves by a dated event and the day of introduction is history: a file cannot rewrite them.
    if row.stage != existing.stage.value:
        raise field_problem(
            409,
            "stage_differs",
            "stage",
            f"项目当前阶段为 {existing.stage.value}，阶段变更请登记阶段事件 / the project is "
            f"{existing.stage.value}: record a stage change as an event (POST …/projects/{existing.id}/stage-events)",
        )
    if row.introduced_on != existing.introduced_on:
        raise field_problem(
            409,
            "introduced_on_differs",
            "introduced_on",
            f"项目引进日期为 {existing.introduced_on}，不能通过导入修改 / introduced on {existing.introduced_on}; "
            "an import does not change it",
        )
    changed = changed_fields(existing, row.model_dump(include=_PROJECT_FIELDS))
    if not changed:
        return Outcome.unchanged
    await projects.update_project(session, actor, existing.id, ProjectUpdate.model_validate(changed), None)
    return Outcome.updated


_PROJECT_COLUMNS = (
    column("name", True, "示例总部项目", "项目名称，按名称对应已有项目（须唯一）"),
    column("code_name", False, "A-01", "代号：无保密权限者看到代号"),
    column("project_type", False, "hq_campus", "项目类型代码，对应节点模板"),
    column("enterprise_id", False, "", "投资企业或项目公司的企业编号"),
    column("zone_id", False, "", "集聚区编号"),
    column("is_key", False, "是", "重点项目：是 / 否"),
    column("industry_code", False, "64", "GB/T 4754-2017 大类代码（两位）"),
    column("planned_investment", False, "500000000.00", "元"),
    column("planned_registered_capital", False, "", "元"),
    column("responsible_officer_id", False, "", "项目部长（员工）编号"),
    column("service_officer_id", False, "", "首席服务官（员工）编号"),
    column("introduced_on", True, "2018-03-01", "引进日期，YYYY-MM-DD，不晚于今天"),
    column("stage", False, "negotiating", "引进时所处阶段（默认 negotiating 在谈）；之后的变更登记为阶段事件"),
)

PROJECTS = ImportSpec(
    resource="projects",
    title="招商项目",
    scopes=("projects:write", CONFIDENTIAL),
    columns=_PROJECT_COLUMNS,
    key=key_of("name"),
    parse=parse_with(ProjectCreate),
    apply=row_by_row(_write_project, "name", keep=(Industry, Zone)),
    batch_size=500,
    ignored_headers=_read_only(ProjectRead, _PROJECT_COLUMNS),
)


# --- milestones (关键节点表) -----------------------------------------------------------------------------


class MilestoneRow(MilestoneCreate):
    """A milestone row names its project by 项目编号 or by 项目名称; 实际完成日期 marks it done."""

    project_id: Id | None = None
    project_name: Title | None = None
    completed_on: BusinessDate | None = None

    @model_validator(mode="after")
    def _one_project_key(self) -> Self:
        if (self.project_id is None) == (self.project_name is None):
            raise ValueError("give exactly one of project_id and project_name")
        return self


async def _milestone_project(session: AsyncSession, row: MilestoneRow) -> Project:
    if row.project_id is not None:
        return await projects.get_project(session, row.project_id)
    assert row.project_name is not None  # noqa: S101 - the row's own check
    project = await _project_named(session, row.project_name)
    if project is None:
        raise field_problem(
            422, "unknown_reference", "project_name", f"项目“{row.project_name}”不存在 / no project of that name"
        )
    return project


async def _write_milestone(session: AsyncSession, actor: Principal, row: MilestoneRow, now: datetime) -> Outcome:
    today = shanghai_date(now)
    project = await _milestone_project(session, row)
    existing = await session.scalar(
        select(Milestone).where(
            Milestone.project_id == project.id, Milestone.track == row.track, Milestone.name == row.name
        )
    )
    outcome = Outcome.updated
    if existing is None:
        create = MilestoneCreate.model_validate(row.model_dump(include=set(MilestoneCreate.model_fields)))
        existing = await milestones.create_milestone(session, actor, project.id, create)
        if row.completed_on is None:
            return Outcome.created
        outcome = Outcome.created
    wanted = {"sort_order": row.sort_order, "note": row.note, "completed_on": row.completed_on}
    if row.planned_on is not None:  # an empty cell does not unschedule; moving a date is a re-plan (refused)
        wanted["planned_on"] = row.planned_on
    changed = changed_fields(existing, wanted)
    if not changed:
        return outcome if outcome is Outcome.created else Outcome.unchanged
    await milestones.update_milestone(
        session, actor, project.id, existing.id, MilestoneUpdate.model_validate(changed), None, today
    )
    return outcome


MILESTONES = ImportSpec(
    resource="milestones",
    title="关键节点表",
    scopes=("projects:write", CONFIDENTIAL),
    columns=(
        column("project_id", False, "", "项目编号，与项目名称二选一"),
        column("project_name", False, "示例总部项目", "项目名称，与项目编号二选一"),
        column("track", True, "construction", "construction 项目建设 / industry 产业导入"),
        column("name", True, "取得施工许可证", "节点名称：同一项目同一类型内按名称对应"),
        column("planned_on", False, "2018-12-31", "计划完成日期；已排期节点改期请在系统中登记调整及原因"),
        column("completed_on", False, "", "实际完成日期，不晚于今天；留空为未完成"),
        column("sort_order", False, "10", "排序，0–10000"),
        column("note", False, ""),
    ),
    key=key_of("project_id", "project_name", "track", "name"),
    parse=parse_with(MilestoneRow),
    apply=row_by_row(_write_milestone, "name"),
    batch_size=500,
)


# --- KPI facts --------------------------------------------------------------------------------------------


async def _apply_facts(session: AsyncSession, actor: Principal, rows: list[BaseModel], now: datetime) -> Applied:
    facts = [row for row in rows if isinstance(row, FactIn)]
    try:
        async with session.begin_nested():
            result = await kpi_facts.upsert_facts(session, actor, FactBatch(rows=facts), shanghai_date(now))
    except ProblemError as exc:
        refused = [
            Refusal(int(e["loc"][2]), str(e["loc"][-1]), str(e.get("type", exc.code)), str(e["message"]))
            for e in exc.errors or []
            if len(e.get("loc", ())) >= 4 and isinstance(e["loc"][2], int)
        ]
        return Applied(refused=refused or [refusal(0, exc, "value")])
    # The service counts per batch; each row's own outcome is not needed beyond the totals.
    counts = (
        (Outcome.created, result.created),
        (Outcome.updated, result.updated),
        (Outcome.unchanged, result.unchanged),
    )
    return Applied(outcomes=[outcome for outcome, n in counts for _ in range(n)])


_FACT_COLUMNS = (
    column("uscc", False, "91440105MA59XXXXXX", "与企业编号二选一"),
    column("enterprise_id", False, "", "与统一社会信用代码二选一"),
    column("metric", True, "revenue", "revenue 营业收入 / tax 税收 / fixed_asset_investment 固定资产投资"),
    column("period", True, "2018-10", "YYYY-MM"),
    column("reported_as", True, "ytd", "ytd 1–N月累计 / monthly 当月"),
    column("value", True, "1234567.89", "元", header_key="reported_value"),
)

KPI_FACTS = ImportSpec(
    resource="kpi_facts",
    title="指标数据",
    scopes=("kpis:write",),
    columns=_FACT_COLUMNS,
    key=key_of("uscc", "enterprise_id", "metric", "period"),
    parse=parse_with(FactIn),
    apply=_apply_facts,
    batch_size=2000,
    ignored_headers=_read_only(FactRead, _FACT_COLUMNS),
)


# --- disclosure items -------------------------------------------------------------------------------------

_DISCLOSURE_FIELDS = {"category", "legal_basis_item", "link", "abolished_on"}


async def _write_disclosure(session: AsyncSession, actor: Principal, row: DisclosureCreate, now: datetime) -> Outcome:
    # An item is the same item when its title and publication time are: that is what the portal shows.
    found = await session.scalar(
        select(DisclosureItem.id).where(
            DisclosureItem.title == row.title, DisclosureItem.published_at == row.published_at
        )
    )
    if found is None:
        await disclosures.create_item(session, actor, row, now)
        return Outcome.created
    existing = await disclosures.get_item(session, found)  # with its channels
    changed = changed_fields(existing, row.model_dump(include=_DISCLOSURE_FIELDS))
    if row.legal_basis_item is None:
        changed.pop("legal_basis_item", None)  # the category's default was filled in on creation
    if sorted(c.channel for c in existing.channels) != sorted(row.channels):
        changed["channels"] = row.channels
    if not changed:
        return Outcome.unchanged
    await disclosures.update_item(session, actor, existing.id, DisclosureUpdate.model_validate(changed), None, now)
    return Outcome.updated


_DISCLOSURE_COLUMNS = (
    column("title", True, "关于印发示例办法的通知", "标题；与发布时间一起对应已有条目"),
    column(
        "category",
        True,
        "normative_documents",
        "news 工作动态 / budget_final_accounts 财政预决算 / normative_documents 行政规范性文件 / policy_documents "
        "政策文件及解读 / plans 规划计划 / notices 通知公告 / personnel 人事信息 / procurement 政府采购 / other",
    ),
    column("legal_basis_item", False, "", "《政府信息公开条例》第二十条第几项（1–15），留空按类别默认"),
    column(
        "channels",
        True,
        "website；wechat",
        "公开渠道，多个用“；”分隔：website 政府网站 / wechat 政务微信 / weibo 政务微博 / "
        "gazette 政府公报 / press_conference 新闻发布会 / reading_room 查阅场所",
    ),
    column("published_at", True, "2018-10-08 09:30", "发布时间；不带时区按北京时间"),
    column("scheduled", False, "否", "发布时间在将来时填“是”（定时发布）"),
    column("link", False, "https://www.example.gov.cn/xxgk/1.html", "http(s) 链接"),
    column("abolished_on", False, "", "仅规范性文件：废止日期"),
)

DISCLOSURE_ITEMS = ImportSpec(
    resource="disclosure_items",
    title="主动公开",
    scopes=("disclosures:write",),
    columns=_DISCLOSURE_COLUMNS,
    key=key_of("title", "published_at"),
    parse=parse_with(DisclosureCreate),
    apply=row_by_row(_write_disclosure, "title"),
    batch_size=500,
    ignored_headers=_read_only(DisclosureRead, _DISCLOSURE_COLUMNS),
)


# --- talents ----------------------------------------------------------------------------------------------

_TALENT_FIELDS = {"name", "enterprise_id", "role", "position", "national_id", "phone"}


async def _talent_of(session: AsyncSession, row: TalentCreate) -> TalentPerson | None:
    if row.national_id is not None:
        return await session.scalar(select(TalentPerson).where(TalentPerson.national_id == row.national_id))
    # Without a number, a person is their name at their employer, if that is one person.
    stmt = select(TalentPerson).where(TalentPerson.enterprise_id == row.enterprise_id, TalentPerson.name == row.name)
    found = list(await session.scalars(stmt.limit(2)))
    if len(found) > 1:
        raise ConflictError(
            "ambiguous_name",
            f"该企业有多位同名人才，请填写身份证号 / several talents of this name at enterprise {row.enterprise_id}: "
            "give the national ID number",
        )
    return found[0] if found else None


async def _write_talent(session: AsyncSession, actor: Principal, row: TalentCreate, _now: datetime) -> Outcome:
    existing = await _talent_of(session, row)
    if existing is None:
        await talents.create_talent(session, actor, row)
        return Outcome.created
    if existing.name != row.name:
        # Renaming the holder of a number is done in the API; in a file it is far likelier a mistyped number.
        raise field_problem(
            409,
            "name_differs",
            "name",
            "该身份证号已登记在另一姓名下，请核对号码；更名请在系统中修改 / this national ID number is registered "
            "under another name: check the number (a rename is made in the API)",
        )
    wanted = row.model_dump(include=_TALENT_FIELDS)
    for personal in ("national_id", "phone"):
        if wanted[personal] is None:
            del wanted[personal]  # an empty cell keeps what is on record; erasing is done one by one in the API
    changed = changed_fields(existing, wanted)
    if not changed:
        return Outcome.unchanged
    await talents.update_talent(session, actor, existing.id, TalentUpdate.model_validate(changed), None)
    return Outcome.updated


def _talent_key(row: BaseModel) -> Hashable:
    assert isinstance(row, TalentCreate)  # noqa: S101 - parsed by this spec
    return row.national_id or (row.enterprise_id, row.name)


_TALENT_COLUMNS = (
    column("name", True, "张三"),
    column("enterprise_id", True, "1", "用人单位的企业编号"),
    column(
        "role",
        True,
        "senior_executive",
        "senior_executive 高级管理人员 / core_technical 核心技术人才 / high_end 高端人才 / "
        "urgently_needed 急需紧缺人才 / other",
    ),
    column("position", False, "副总裁", "职务"),
    column("national_id", False, "", "居民身份证号码（18 位，含校验位）；填写后按号码对应已有人员"),
    column("phone", False, "", "手机号码"),
)

TALENTS = ImportSpec(
    resource="talents",
    title="人才",
    scopes=("talents:write", PERSONAL_DATA),
    columns=_TALENT_COLUMNS,
    key=_talent_key,
    parse=parse_with(TalentCreate),
    apply=row_by_row(_write_talent, "name"),
    batch_size=500,
    ignored_headers=_read_only(TalentRead, _TALENT_COLUMNS),
)

SPECS: dict[str, ImportSpec] = {
    spec.resource: spec for spec in (ENTERPRISES, PROJECTS, MILESTONES, KPI_FACTS, DISCLOSURE_ITEMS, TALENTS)
}
