"""Exports of list endpoints (`format=csv|xlsx`): the whole filtered, sorted list, as the caller may see it.

The demo-data tests come last: the module's demo data must not be emptied by a test that runs after them.
"""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx
import openpyxl
import pytest
from openpyxl.worksheet.worksheet import Worksheet

from app.core.clock import FixedClock
from app.core.db import Database
from app.core.scopes import Role
from app.models import Enterprise, EnterpriseSource
from tests.api.desk import created
from tests.api.test_enterprises import create, uscc
from tests.conftest import UserFactory

Headers = dict[str, str]
ENTERPRISES = "/api/v1/enterprises"
NATIONAL_ID = "440105199003070013"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def csv_rows(response: httpx.Response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.startswith("\ufeff".encode()), "Excel needs the BOM to read UTF-8"
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))


def xlsx_sheet(response: httpx.Response) -> Worksheet:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert isinstance(sheet, Worksheet)
    return sheet


def column(rows: list[list[str]], header: str) -> list[str]:
    index = rows[0].index(header)
    return [row[index] for row in rows[1:]]


@pytest.fixture
async def officer(make_user: UserFactory) -> Headers:
    _, headers = await make_user(Role.officer)
    return headers


async def many_enterprises(database: Database, count: int) -> None:
    """`count` enterprises straight into the table (quicker than the API): every third relocated."""
    async with database.session() as session:
        session.add_all(
            Enterprise(
                uscc=uscc(1000 + i),
                name=f"示例企业{i:04d}",
                registered_capital=Decimal(f"{i}0000.00"),
                industry_code="64",
                source=EnterpriseSource.relocated if i % 3 == 0 else EnterpriseSource.new,
            )
            for i in range(1, count + 1)
        )


async def test_csv_holds_every_filtered_row_in_sort_order_beyond_a_page(
    client: httpx.AsyncClient, officer: Headers, database: Database, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await many_enterprises(database, 330)
    monkeypatch.setattr("app.api.export.BATCH_SIZE", 7)  # many batches: none lost or repeated at their seams
    clock.set(datetime(2026, 12, 1, 16, 30, tzinfo=UTC))  # 00:30 on 2 December in Guangzhou
    response = await client.get(
        ENTERPRISES,
        params={"format": "csv", "source": "new", "sort": "-name", "limit": 5, "offset": 3},
        headers=officer,
    )
    rows = csv_rows(response)
    assert rows[0][:4] == ["编号", "统一社会信用代码", "名称", "注册资本"]
    names = column(rows, "名称")
    expected = sorted((f"示例企业{i:04d}" for i in range(1, 331) if i % 3), reverse=True)
    assert names == expected and len(names) == 220  # limit/offset ignored, more than one page (200)
    assert set(column(rows, "来源")) == {"new"}
    assert b"\r\n" in response.content and b"\n" not in response.content.replace(b"\r\n", b"")

    disposition = response.headers["content-disposition"]
    assert disposition == (
        "attachment; filename=\"enterprises-2026-12-02.csv\"; filename*=UTF-8''" + quote("企业库-2026-12-02.csv")
    )
    # The same rows, in the same order, as the JSON list.
    page = (
        await client.get(ENTERPRISES, params={"source": "new", "sort": "-name", "limit": 200}, headers=officer)
    ).json()
    assert page["total"] == 220
    assert [str(e["id"]) for e in page["items"]] == column(rows, "编号")[:200]


async def test_xlsx_is_one_sheet_with_typed_cells(
    client: httpx.AsyncClient, officer: Headers, database: Database
) -> None:
    await many_enterprises(database, 210)
    await create(client, officer, 1, name="甲公司", registered_capital="102350000.00", settled_on="2018-03-15")
    response = await client.get(ENTERPRISES, params={"format": "xlsx", "sort": "-registered_capital"}, headers=officer)
    sheet = xlsx_sheet(response)
    assert 'filename="enterprises-' in response.headers["content-disposition"]
    assert sheet.title == "企业库" and sheet.freeze_panes == "A2"
    headers = [c.value for c in sheet[1]]
    assert headers[:4] == ["编号", "统一社会信用代码", "名称", "注册资本"] and all(c.font.b for c in sheet[1])
    assert sheet.max_row == 212  # header + every enterprise
    top = {h: c for h, c in zip(headers, sheet[2], strict=True)}
    assert top["名称"].value == "甲公司"
    assert (top["注册资本"].value, top["注册资本"].data_type) == (102350000, "n")
    assert (str(top["落户日期"].value), top["落户日期"].number_format) == ("2018-03-15 00:00:00", "yyyy-mm-dd")
    assert top["统一社会信用代码"].data_type == "s"
    assert sheet.cell(row=3, column=headers.index("注册资本") + 1).value == 2100000  # then 210 0000.00, …


async def test_money_unit_rescales_money_columns_exactly(client: httpx.AsyncClient, officer: Headers) -> None:
    await create(client, officer, 1, registered_capital="102350000.00")
    await create(client, officer, 2, registered_capital="12345.67")
    wan = csv_rows(await client.get(ENTERPRISES, params={"format": "csv", "money_unit": "wan"}, headers=officer))
    assert column(wan, "注册资本（万元）") == ["10235", "1.234567"]
    assert column(wan, "编号") == ["1", "2"]  # not money: untouched
    yi = csv_rows(await client.get(ENTERPRISES, params={"format": "csv", "money_unit": "yi"}, headers=officer))
    assert column(yi, "注册资本（亿元）") == ["1.0235", "0.0001234567"]
    sheet = xlsx_sheet(await client.get(ENTERPRISES, params={"format": "xlsx", "money_unit": "wan"}, headers=officer))
    assert sheet["D1"].value == "注册资本（万元）" and sheet["D2"].value == 10235
    # JSON is always yuan.
    page = (await client.get(ENTERPRISES, params={"money_unit": "wan"}, headers=officer)).json()
    assert page["items"][0]["registered_capital"] == "102350000.00"


async def test_kpi_values_follow_money_unit_only_for_yuan_metrics(
    client: httpx.AsyncClient, officer: Headers, admin_headers: Headers
) -> None:
    company = await create(client, officer, 1)
    staff = {"code": "employees", "name": "从业人员", "unit": "人", "kind": "count"}
    assert (await client.post("/api/v1/metrics", json=staff, headers=admin_headers)).status_code == 201
    rows = [
        {"enterprise_id": company["id"], "metric": m, "period": "2018-01", "reported_as": "ytd", "value": "250000"}
        for m in ("revenue", "employees")
    ]
    assert (await client.post("/api/v1/kpi-facts/bulk", json={"rows": rows}, headers=officer)).status_code == 200

    def fetch(**params: str) -> Any:
        return client.get("/api/v1/kpi-facts", params={"format": "csv", "money_unit": "wan"} | params, headers=officer)

    mixed = csv_rows(await fetch(sort="year,month,enterprise_id"))
    values = dict(zip(column(mixed, "指标"), column(mixed, "报送值（货币指标：万元）"), strict=True))
    assert values == {"revenue": "25", "employees": "250000.00"}
    assert column(csv_rows(await fetch(metric="revenue")), "报送值（万元）") == ["25"]
    assert column(csv_rows(await fetch(metric="employees")), "报送值") == ["250000.00"]


@pytest.mark.parametrize("name", ['=HYPERLINK("http://evil.example","点我")', "+1", "@SUM(A1)", "-1"])
async def test_formula_like_names_stay_inert_text(client: httpx.AsyncClient, officer: Headers, name: str) -> None:
    await create(client, officer, 1, name=name)
    rows = csv_rows(await client.get(ENTERPRISES, params={"format": "csv"}, headers=officer))
    assert column(rows, "名称") == ["'" + name]
    assert column(rows, "注册资本") == ["10000000.00"]  # numbers are not prefixed

    sheet = xlsx_sheet(await client.get(ENTERPRISES, params={"format": "xlsx"}, headers=officer))
    cell = sheet["C2"]
    assert (cell.value, cell.data_type) == (name, "s")


async def test_masking_follows_the_callers_scopes(
    client: httpx.AsyncClient, officer: Headers, make_user: UserFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("app.api.export.BATCH_SIZE", 1)  # contacts are loaded batch by batch
    await create(client, officer, 1, contacts=[{"name": "欧阳明月", "phone": "13812345678", "position": "总经理"}])
    company = await create(client, officer, 2)
    person = {"name": "陈示例", "enterprise_id": company["id"], "role": "senior_executive"}
    await created(await client.post("/api/v1/talents", json=person | {"national_id": NATIONAL_ID}, headers=officer))
    _, viewer = await make_user(Role.viewer)

    def cells(sheet: Worksheet) -> str:
        return str([c.value for row in sheet.iter_rows() for c in row])

    seen = await client.get(ENTERPRISES, params={"format": "csv"}, headers=viewer)
    assert "13812345678" not in seen.text and "欧阳明月" not in seen.text
    assert '"name":"欧***"' in column(csv_rows(seen), "联系人")[0]
    assert column(csv_rows(seen), "联系人已脱敏") == ["true", "true"]
    seen_sheet = xlsx_sheet(await client.get(ENTERPRISES, params={"format": "xlsx"}, headers=viewer))
    assert "欧***" in cells(seen_sheet) and "欧阳明月" not in cells(seen_sheet)
    full = await client.get(ENTERPRISES, params={"format": "csv"}, headers=officer)
    assert "13812345678" in column(csv_rows(full), "联系人")[0]
    full_sheet = xlsx_sheet(await client.get(ENTERPRISES, params={"format": "xlsx"}, headers=officer))
    assert "欧阳明月" in cells(full_sheet)

    talents = "/api/v1/talents"
    assert column(csv_rows(await client.get(talents, params={"format": "csv"}, headers=viewer)), "身份证号") == [
        "44************0013"
    ]
    assert NATIONAL_ID not in cells(xlsx_sheet(await client.get(talents, params={"format": "xlsx"}, headers=viewer)))
    assert column(csv_rows(await client.get(talents, params={"format": "csv"}, headers=officer)), "身份证号") == [
        NATIONAL_ID
    ]


async def test_unknown_format_or_unit_is_a_validation_problem(client: httpx.AsyncClient, officer: Headers) -> None:
    for params, field in (({"format": "pdf"}, "format"), ({"format": "csv", "money_unit": "usd"}, "money_unit")):
        response = await client.get(ENTERPRISES, params=params, headers=officer)
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["code"] == "validation_failed"
        assert [e["loc"] for e in problem["errors"]] == [["query", field]]


async def test_too_many_rows_are_refused_before_anything_is_sent(
    client: httpx.AsyncClient, officer: Headers, monkeypatch: pytest.MonkeyPatch
) -> None:
    for serial in (1, 2, 3):
        await create(client, officer, serial, source="relocated" if serial == 3 else "new")
    monkeypatch.setattr("app.api.export.MAX_EXPORT_ROWS", 2)
    refused = await client.get(ENTERPRISES, params={"format": "xlsx"}, headers=officer)
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert (refused.json()["code"], refused.json()["total"], refused.json()["max_rows"]) == ("export_too_large", 3, 2)
    narrowed = await client.get(ENTERPRISES, params={"format": "csv", "source": "new"}, headers=officer)
    assert len(csv_rows(narrowed)) == 3


async def test_exports_are_in_the_audit_trail_without_the_id_numbers_searched(
    client: httpx.AsyncClient, officer: Headers, admin_headers: Headers
) -> None:
    await create(client, officer, 1)
    await create(client, officer, 2)
    await client.get(ENTERPRISES, params={"format": "csv", "q": "示例"}, headers=officer)
    await client.get("/api/v1/talents", params={"format": "xlsx", "national_id": NATIONAL_ID}, headers=officer)
    events = (await client.get("/api/v1/audit-events", params={"action": "export"}, headers=admin_headers)).json()
    by_path = {e["entity_id"]: e for e in events["items"]}
    assert set(by_path) == {"/api/v1/enterprises", "/api/v1/talents"}
    assert by_path["/api/v1/enterprises"]["after"] == {
        "format": "csv",
        "money_unit": "yuan",
        "query": {"format": "csv", "q": "示例"},
        "rows": 2,
    }
    assert by_path["/api/v1/enterprises"]["actor_type"] == "user"
    assert by_path["/api/v1/talents"]["after"]["query"]["national_id"] == "44************0013"


def test_openapi_documents_the_download_types_and_parameters(app: Any) -> None:
    spec = app.openapi()
    for path in LISTS:
        operation = spec["paths"][path]["get"]
        assert {"application/json", "text/csv", XLSX} <= set(operation["responses"]["200"]["content"]), path
        names = {p["name"] for p in operation["parameters"]}
        assert {"format", "money_unit"} <= names, path
    assert "format" not in {p["name"] for p in spec["paths"]["/api/v1/audit-events"]["get"]["parameters"]}


# --- every list endpoint, on the demo data (keep these last) -------------------------------------------------

LISTS = [
    "/api/v1/clients",
    "/api/v1/users",
    "/api/v1/enterprises",
    "/api/v1/zones",
    "/api/v1/land-parcels",
    "/api/v1/projects",
    "/api/v1/supervision-rounds",
    "/api/v1/kpi-facts",
    "/api/v1/departments",
    "/api/v1/service-types",
    "/api/v1/service-requests",
    "/api/v1/visits",
    "/api/v1/consultation-events",
    "/api/v1/talents",
    "/api/v1/talent-apartments/batches",
    "/api/v1/talent-apartments/units",
    "/api/v1/talent-apartments/allocations",
    "/api/v1/household-registrations",
    "/api/v1/talent-green-cards",
    "/api/v1/disclosures",
    "/api/v1/disclosure-requests",
    "/api/v1/disclosure-remedies",
    "/api/v1/meetings",
    "/api/v1/major-decisions",
    "/api/v1/report-snapshots",
]


def test_the_list_of_lists_is_complete(app: Any) -> None:
    spec = app.openapi()
    pages = {
        path
        for path, operations in spec["paths"].items()
        if "get" in operations and _response_schema(operations["get"]).startswith("PageOut_")
    }
    # The audit trail and the webhook configuration and delivery log are administration, not data to export.
    administration = {"/api/v1/audit-events", "/api/v1/webhooks", "/api/v1/webhooks/{subscription_id}/deliveries"}
    assert pages - administration == set(LISTS)


def _response_schema(operation: dict[str, Any]) -> str:
    content = operation["responses"].get("200", {}).get("content", {})
    ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
    return str(ref).rsplit("/", 1)[-1]


@pytest.mark.parametrize("path", LISTS)
async def test_every_list_exports_all_its_rows_as_csv(
    client: httpx.AsyncClient, demo_leader: Headers, path: str
) -> None:
    page = (await client.get(path, params={"limit": 200}, headers=demo_leader)).json()
    rows = csv_rows(await client.get(path, params={"format": "csv"}, headers=demo_leader))
    assert rows[0][0] == "编号" and len(rows[0]) > 1
    assert len(rows) - 1 == page["total"]
    assert [str(item["id"]) for item in page["items"]] == [row[0] for row in rows[1 : 1 + len(page["items"])]]


@pytest.mark.parametrize("path", LISTS)
async def test_every_list_exports_as_xlsx(client: httpx.AsyncClient, demo_leader: Headers, path: str) -> None:
    total = (await client.get(path, params={"limit": 1}, headers=demo_leader)).json()["total"]
    sheet = xlsx_sheet(await client.get(path, params={"format": "xlsx"}, headers=demo_leader))
    assert sheet["A1"].value == "编号"
    assert sheet.max_row == total + 1
