"""Imports of projects, milestones, disclosure items and talents; every refused row reported; export round trips."""

import csv
import io

import httpx
import pytest
from sqlalchemy import func, select

from app.core.db import Database
from app.core.scopes import Role
from app.models import DisclosureItem, Enterprise, Milestone, Project, TalentPerson
from app.services.imports.base import ImportSpec
from app.services.imports.specs import DISCLOSURE_ITEMS, MILESTONES, PROJECTS, TALENTS
from tests.api.test_imports import HEADER, count, csv_file, enterprise_row, run, xlsx_file
from tests.conftest import UserFactory

Headers = dict[str, str]
NATIONAL_ID = "440105199003070013"
OTHER_NATIONAL_ID = "11010519491231002X"


@pytest.fixture
async def officer(make_user: UserFactory) -> Headers:
    _, headers = await make_user(Role.officer)
    return headers


def header(spec: ImportSpec) -> list[str]:
    return [c.header for c in spec.columns]


def row(spec: ImportSpec, **values: str) -> list[str]:
    unknown = set(values) - {c.field for c in spec.columns}
    assert not unknown, unknown
    return [values.get(c.field, "") for c in spec.columns]


def exported(response: httpx.Response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


async def enterprises(client: httpx.AsyncClient, headers: Headers, n: int) -> list[int]:
    job = await run(client, headers, csv_file([HEADER, *(enterprise_row(i) for i in range(1, n + 1))]))
    assert job["status"] == "succeeded", job
    items = (await client.get("/api/v1/enterprises", params={"sort": "uscc"}, headers=headers)).json()["items"]
    return [int(e["id"]) for e in items]


# --- every refused row, with savepoints -------------------------------------------------------------------


async def test_every_row_the_service_refuses_is_reported_and_nothing_is_written(
    client: httpx.AsyncClient, officer: Headers, database: Database
) -> None:
    table = [
        HEADER,
        enterprise_row(1),
        enterprise_row(2, industry_code="99"),  # no such industry division
        enterprise_row(3),
        enterprise_row(4, zone_id="999"),  # no such zone
        enterprise_row(5, established_on="2019-01-01", settled_on="2018-06-01"),  # settled before founded
        enterprise_row(6),
    ]
    for dry_run in (True, False):
        job = await run(client, officer, csv_file(table), dry_run=dry_run)
        assert job["status"] == "failed"
        assert [(e["row"], e["code"]) for e in job["errors"]] == [
            (3, "unknown_industry"),
            (5, "unknown_reference"),
            (6, "date_order"),
        ], job["errors"]
        assert next(e for e in job["errors"] if e["row"] == 5)["column"] == "集聚区编号"
        assert job["result"]["created"] == 3  # rows 2, 4 and 7 passed, and were rolled back with the rest
        assert await count(database) == 0


async def test_ids_typed_as_text_in_csv_are_read_as_numbers(
    client: httpx.AsyncClient, officer: Headers, database: Database
) -> None:
    [group] = await enterprises(client, officer, 1)
    job = await run(client, officer, csv_file([HEADER, enterprise_row(2, parent_id=f" {group} ")]))
    assert job["status"] == "succeeded", job["errors"]
    async with database.session() as session:
        child = await session.scalar(select(Enterprise).where(Enterprise.parent_id == group))
    assert child is not None and child.name == "广州导入示例公司00002"


async def test_a_whole_export_imports_back_unchanged(client: httpx.AsyncClient, officer: Headers) -> None:
    """Read-only columns (编号, 版本, 创建时间, 行业名称, …) may stay in the file: they are not read."""
    await enterprises(client, officer, 4)
    table = exported(await client.get("/api/v1/enterprises", params={"format": "csv"}, headers=officer))
    assert "编号" in table[0] and "版本" in table[0]
    job = await run(client, officer, csv_file(table))
    assert job["status"] == "succeeded", (job["problem"], job["errors"])
    assert job["result"] == {"created": 0, "updated": 0, "unchanged": 4}
    table[1][table[0].index("名称")] = "广州导入示例公司（更名）"
    job = await run(client, officer, csv_file(table))
    assert job["result"] == {"created": 0, "updated": 1, "unchanged": 3}


# --- projects and milestones --------------------------------------------------------------------------------


def project_row(name: str, **values: str) -> list[str]:
    return row(PROJECTS, **({"name": name, "introduced_on": "2018-03-01", "is_key": "是"} | values))


async def test_projects_import_match_by_name_and_keep_the_stage_history(
    client: httpx.AsyncClient, officer: Headers, database: Database
) -> None:
    [investor] = await enterprises(client, officer, 1)
    table = [
        header(PROJECTS),
        project_row("琶洲示例总部", enterprise_id=str(investor), planned_investment="500000000", stage="signed"),
        project_row("示例产业园", is_key="否", code_name="B-02"),
    ]
    first = await run(client, officer, xlsx_file(table), "项目.xlsx", "projects")
    assert first["status"] == "succeeded", (first["problem"], first["errors"])
    assert first["result"] == {"created": 2, "updated": 0, "unchanged": 0}
    listed = (await client.get("/api/v1/projects", params={"sort": "name"}, headers=officer)).json()["items"]
    hq = next(p for p in listed if p["name"] == "琶洲示例总部")
    assert (hq["stage"], hq["stage_since"], hq["planned_investment"], hq["is_key"]) == (
        "signed",
        "2018-03-01",
        "500000000.00",
        True,
    )
    history = (await client.get(f"/api/v1/projects/{hq['id']}/stage-events", headers=officer)).json()
    assert [e["to_stage"] for e in history] == ["signed"]

    again = await run(client, officer, xlsx_file(table), "项目.xlsx", "projects")
    assert again["result"] == {"created": 0, "updated": 0, "unchanged": 2}

    whole = exported(await client.get("/api/v1/projects", params={"format": "csv"}, headers=officer))
    back = await run(client, officer, csv_file(whole), resource="projects")
    assert back["status"] == "succeeded", (back["problem"], back["errors"])
    assert back["result"] == {"created": 0, "updated": 0, "unchanged": 2}

    changed = [
        header(PROJECTS),
        project_row("琶洲示例总部", enterprise_id=str(investor), planned_investment="600000000", stage="signed"),
        project_row("示例产业园", is_key="否", code_name="B-02", stage="operating"),
    ]
    refused = await run(client, officer, csv_file(changed), resource="projects")
    assert refused["status"] == "failed"
    assert [(e["row"], e["column"], e["code"]) for e in refused["errors"]] == [(3, "阶段", "stage_differs")]
    async with database.session() as session:
        amount = await session.scalar(select(Project.planned_investment).where(Project.name == "琶洲示例总部"))
    assert amount == 500_000_000  # the good row was rolled back with the refused one


async def test_importing_projects_needs_the_clearance_to_see_real_names(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    registered = await client.post(
        "/api/v1/clients",
        json={"name": "区发改局", "scopes": ["projects:write", "projects:read"]},
        headers=admin_headers,
    )
    grant = {
        "grant_type": "client_credentials",
        "client_id": registered.json()["client_id"],
        "client_secret": registered.json()["client_secret"],
    }
    token = (await client.post("/api/v1/auth/token", data=grant)).json()["access_token"]
    uncleared = {"Authorization": f"Bearer {token}"}
    content = csv_file([header(PROJECTS), project_row("某保密项目")])
    response = await client.post("/api/v1/imports/projects", files={"file": ("p.csv", content)}, headers=uncleared)
    assert response.status_code == 403
    template = await client.get("/api/v1/imports/projects/template", headers=uncleared)
    assert template.status_code == 403


async def test_milestone_tables_import_by_project_name_with_completion_and_no_silent_replan(
    client: httpx.AsyncClient, officer: Headers, database: Database
) -> None:
    projects = await run(
        client, officer, csv_file([header(PROJECTS), project_row("琶洲示例总部")]), resource="projects"
    )
    assert projects["status"] == "succeeded"
    project_id = (await client.get("/api/v1/projects", headers=officer)).json()["items"][0]["id"]

    def node(name: str, **values: str) -> list[str]:
        return row(MILESTONES, **({"project_name": "琶洲示例总部", "track": "construction", "name": name} | values))

    table = [
        header(MILESTONES),
        node("取得施工许可证", planned_on="2018-06-30", completed_on="2018-06-20", sort_order="10"),
        node("主体结构封顶", planned_on="2019-12-31", sort_order="20"),
        row(MILESTONES, project_id=str(project_id), track="industry", name="首批企业入驻"),
    ]
    first = await run(client, officer, csv_file(table), resource="milestones")
    assert first["status"] == "succeeded", (first["problem"], first["errors"])
    assert first["result"] == {"created": 3, "updated": 0, "unchanged": 0}
    listed = (await client.get(f"/api/v1/projects/{project_id}/milestones", headers=officer)).json()
    by_name = {m["name"]: m for m in listed}
    assert by_name["取得施工许可证"]["completed_on"] == "2018-06-20"
    assert by_name["取得施工许可证"]["status"] == "completed"
    assert by_name["主体结构封顶"]["due_on"] == "2019-12-31"
    assert by_name["首批企业入驻"]["planned_on"] is None

    again = await run(client, officer, csv_file(table), resource="milestones")
    assert again["result"] == {"created": 0, "updated": 0, "unchanged": 3}

    later = [
        header(MILESTONES),
        node("取得施工许可证", planned_on="2018-06-30", completed_on="2018-06-20", sort_order="10"),
        node("主体结构封顶", planned_on="2020-06-30", sort_order="20"),  # a new date needs a re-plan with a reason
        row(MILESTONES, project_id=str(project_id), track="industry", name="首批企业入驻", planned_on="2020-03-31"),
        node("竣工验收", project_name="没有这个项目"),
        node("竣工验收", project_id=str(project_id)),  # both keys
    ]
    refused = await run(client, officer, csv_file(later), resource="milestones")
    assert [(e["row"], e["code"]) for e in refused["errors"]] == [
        (3, "use_replan"),
        (5, "unknown_reference"),
        (6, "value_error"),
    ], refused["errors"]
    assert refused["result"]["updated"] == 1  # scheduling the unscheduled one would have been fine
    async with database.session() as session:
        unscheduled = await session.scalar(select(Milestone.planned_on).where(Milestone.name == "首批企业入驻"))
    assert unscheduled is None


# --- disclosure items ---------------------------------------------------------------------------------------


async def test_disclosure_items_import_with_channels_and_beijing_time(
    client: httpx.AsyncClient, officer: Headers, database: Database
) -> None:
    table = [
        header(DISCLOSURE_ITEMS),
        row(
            DISCLOSURE_ITEMS,
            title="关于印发示例办法的通知",
            category="normative_documents",
            channels="website；wechat",
            published_at="2018-10-08 09:30",
            link="https://www.example.gov.cn/xxgk/1.html",
        ),
        row(DISCLOSURE_ITEMS, title="招商工作动态", category="news", channels="weibo", published_at="2018-10-09"),
    ]
    impossible = row(
        DISCLOSURE_ITEMS, title="月份不存在", category="news", channels="", published_at="2018-13-08 09:30"
    )
    first = await run(client, officer, csv_file([*table, impossible]), resource="disclosure_items")
    assert [(e["row"], e["column"]) for e in first["errors"]] == [
        (3, "发布时间"),  # a date is not a time
        (4, "公开渠道"),
        (4, "发布时间"),
    ], first
    table[2][header(DISCLOSURE_ITEMS).index("发布时间")] = "2018-10-09T08:00:00+08:00"
    first = await run(client, officer, csv_file(table), resource="disclosure_items")
    assert first["status"] == "succeeded", (first["problem"], first["errors"])
    items = (await client.get("/api/v1/disclosures", params={"sort": "published_at"}, headers=officer)).json()["items"]
    assert [(i["published_at"], i["channels"]) for i in items] == [
        ("2018-10-08T01:30:00Z", ["website", "wechat"]),
        ("2018-10-09T00:00:00Z", ["weibo"]),
    ]
    assert items[0]["legal_basis_item"] is not None  # the category's default, as through the API

    again = await run(client, officer, csv_file(table), resource="disclosure_items")
    assert again["result"] == {"created": 0, "updated": 0, "unchanged": 2}
    whole = exported(await client.get("/api/v1/disclosures", params={"format": "csv"}, headers=officer))
    back = await run(client, officer, csv_file(whole), resource="disclosure_items")
    assert back["result"] == {"created": 0, "updated": 0, "unchanged": 2}, (back["problem"], back["errors"])

    table[1][header(DISCLOSURE_ITEMS).index("公开渠道")] = "website；wechat；weibo"
    third = await run(client, officer, csv_file(table), resource="disclosure_items")
    assert third["result"] == {"created": 0, "updated": 1, "unchanged": 1}
    async with database.session() as session:
        assert await session.scalar(select(func.count()).select_from(DisclosureItem)) == 2


# --- talents ------------------------------------------------------------------------------------------------


async def test_talents_import_matched_by_national_id_or_by_name_at_the_employer(
    client: httpx.AsyncClient, officer: Headers, database: Database, make_user: UserFactory
) -> None:
    first_id, second_id = await enterprises(client, officer, 2)
    table = [
        header(TALENTS),
        row(TALENTS, name="陈示例", enterprise_id=str(first_id), role="senior_executive", national_id=NATIONAL_ID),
        row(TALENTS, name="李示例", enterprise_id=str(first_id), role="core_technical", phone="13800001234"),
        row(TALENTS, name="王示例", enterprise_id=str(second_id), role="high_end", national_id=OTHER_NATIONAL_ID),
    ]
    first = await run(client, officer, xlsx_file(table), "人才.xlsx", "talents")
    assert first["status"] == "succeeded", (first["problem"], first["errors"])
    again = await run(client, officer, xlsx_file(table), "人才.xlsx", "talents")
    assert again["result"] == {"created": 0, "updated": 0, "unchanged": 3}

    whole = exported(await client.get("/api/v1/talents", params={"format": "csv"}, headers=officer))
    back = await run(client, officer, csv_file(whole), resource="talents")
    assert back["result"] == {"created": 0, "updated": 0, "unchanged": 3}, (back["problem"], back["errors"])

    moved = [
        header(TALENTS),
        # 陈 moves to the second employer: the number says it is the same person.
        row(TALENTS, name="陈示例", enterprise_id=str(second_id), role="senior_executive", national_id=NATIONAL_ID),
        row(TALENTS, name="李示例", enterprise_id=str(first_id), role="core_technical", position="总工程师"),
        row(TALENTS, name="赵示例", enterprise_id=str(first_id), role="other", national_id="440105199003070012"),
        row(TALENTS, name="钱示例", enterprise_id="999", role="other"),
        row(TALENTS, name="孙示例", enterprise_id=str(first_id), role="other", national_id=OTHER_NATIONAL_ID),
    ]
    refused = await run(client, officer, csv_file(moved), resource="talents")
    assert [(e["row"], e["column"], e["code"]) for e in refused["errors"]] == [
        (4, "身份证号", "value_error"),
        (5, "企业编号", "unknown_reference"),
        (6, "名称", "name_differs"),  # 王's number under another name: a typo, not a rename
    ], refused["errors"]
    assert refused["result"]["updated"] == 2
    assert all(NATIONAL_ID not in str(e) for e in refused["errors"])

    _, viewer = await make_user(Role.viewer)
    response = await client.post("/api/v1/imports/talents", files={"file": ("t.csv", csv_file(table))}, headers=viewer)
    assert response.status_code == 403
    async with database.session() as session:
        assert await session.scalar(select(func.count()).select_from(TalentPerson)) == 3
