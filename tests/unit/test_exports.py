"""The export writers on their own: columns and headers, money units, formula safety, CSV and xlsx cells."""

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from pydantic import BaseModel

from app.models import Metric, MetricKind
from app.schemas.api_client import ApiClientRead
from app.schemas.consultation_event import ConsultationEventRead
from app.schemas.disclosure import DisclosureRead, DisclosureRequestRead, RemedyRead
from app.schemas.enterprise import EnterpriseRead
from app.schemas.kpi import FactRead
from app.schemas.land_parcel import LandParcelRead
from app.schemas.meeting import DecisionRead, MeetingRead
from app.schemas.project import ProjectRead, SupervisionRoundRead
from app.schemas.report import SnapshotRead
from app.schemas.service_request import ServiceRequestRead
from app.schemas.talent import AllocationRead, ApplicationRead, BatchRead, GreenCardRead, TalentRead, UnitRead
from app.schemas.visit import VisitRead
from app.services.exports import (
    FACT_VALUES,
    HEADERS,
    CsvWriter,
    Money,
    MoneyUnit,
    Table,
    XlsxWriter,
    columns,
    csv_text,
    metric_money,
)

NOW = datetime(2018, 10, 31, 15, 30, tzinfo=UTC)

# Every read model a list endpoint exports.
EXPORTED = [
    ApiClientRead,
    ConsultationEventRead,
    DecisionRead,
    DisclosureRead,
    DisclosureRequestRead,
    EnterpriseRead,
    FactRead,
    GreenCardRead,
    ApplicationRead,
    LandParcelRead,
    MeetingRead,
    ProjectRead,
    RemedyRead,
    ServiceRequestRead,
    SnapshotRead,
    SupervisionRoundRead,
    TalentRead,
    BatchRead,
    UnitRead,
    AllocationRead,
    VisitRead,
]


def enterprise(**overrides: Any) -> EnterpriseRead:
    data: dict[str, Any] = {
        "id": 7,
        "uscc": "91440105MA5000001H",
        "name": "广州示例科技有限公司",
        "registered_capital": Decimal("102350000.00"),
        "currency": "CNY",
        "established_on": date(2018, 2, 1),
        "settled_on": date(2018, 3, 15),
        "industry": {"code": "64", "name": "互联网和相关服务", "section_code": "I", "section_name": "信息传输"},
        "source": "new",
        "status": "active",
        "operations_started_on": None,
        "investor_classes": [{"investor_class": "fortune_global_500", "list_year": 2018}],
        "parent_id": None,
        "zone_id": 3,
        "service_officer_id": None,
        "contacts": [],
        "contacts_masked": True,
        "created_at": NOW,
        "updated_at": NOW,
        "version": 2,
    }
    return EnterpriseRead.model_validate(data | overrides)


def csv_lines(writer: CsvWriter, *items: BaseModel) -> list[list[str]]:
    text = (writer.header() + writer.rows(items)).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))


def test_columns_follow_the_read_model_with_nested_objects_flattened() -> None:
    keys = [c.key for c in columns(EnterpriseRead)]
    assert keys[:8] == [
        "id",
        "uscc",
        "name",
        "registered_capital",
        "currency",
        "established_on",
        "settled_on",
        "industry.code",
    ]
    assert keys[8:11] == ["industry.name", "industry.section_code", "industry.section_name"]
    assert keys[-3:] == ["created_at", "updated_at", "version"]
    headers = [c.header for c in columns(EnterpriseRead)]
    assert headers[:4] == ["编号", "统一社会信用代码", "名称", "注册资本"]
    assert "行业代码" in headers and "落户日期" in headers


@pytest.mark.parametrize("model", EXPORTED, ids=lambda m: m.__name__)
def test_every_exported_column_has_a_unique_chinese_header(model: type[BaseModel]) -> None:
    headers = [c.header for c in columns(model, MoneyUnit.wan)]
    assert len(set(headers)) == len(headers)
    untranslated = [h for h in headers if not any("\u4e00" <= ch <= "\u9fff" for ch in h)]
    assert untranslated == []


def test_headers_the_import_relies_on_are_stable() -> None:
    assert {k: HEADERS[k] for k in ("uscc", "name", "registered_capital", "settled_on", "industry.code")} == {
        "uscc": "统一社会信用代码",
        "name": "名称",
        "registered_capital": "注册资本",
        "settled_on": "落户日期",
        "industry.code": "行业代码",
    }


def test_lists_of_scalars_are_joined_and_lists_of_objects_are_json() -> None:
    row = dict(zip((c.key for c in columns(EnterpriseRead)), Table(EnterpriseRead).values(enterprise()), strict=True))
    assert row["investor_classes"] == '[{"investor_class":"fortune_global_500","list_year":2018}]'
    assert row["industry.name"] == "互联网和相关服务"
    assert row["settled_on"] == date(2018, 3, 15)
    assert row["created_at"] == "2018-10-31T15:30:00Z"  # the JSON's instant, as text
    client = ApiClientRead(
        id=1,
        client_id="tongji",
        name="区统计局",
        scopes="kpis:write kpis:read",
        is_active=True,
        secret_rotated_at=NOW,
        created_at=NOW,
        updated_at=NOW,
        version=1,
    )
    assert Table(ApiClientRead).values(client)[3] == "kpis:read；kpis:write"


@pytest.mark.parametrize(
    ("unit", "header", "big", "small"),
    [
        (MoneyUnit.yuan, "注册资本", "102350000.00", "12345.67"),
        (MoneyUnit.wan, "注册资本（万元）", "10235", "1.234567"),
        (MoneyUnit.yi, "注册资本（亿元）", "1.0235", "0.0001234567"),
    ],
)
def test_money_units_rescale_exactly(unit: MoneyUnit, header: str, big: str, small: str) -> None:
    lines = csv_lines(
        CsvWriter(Table(EnterpriseRead, unit)),
        enterprise(),
        enterprise(registered_capital=Decimal("12345.67")),
    )
    assert lines[0][3] == header
    assert [lines[1][3], lines[2][3]] == [big, small]
    assert lines[1][0] == "7"  # other numbers untouched


def test_kpi_values_are_rescaled_only_for_yuan_metrics() -> None:
    revenue = Metric(code="revenue", unit="元", kind=MetricKind.money)
    staff = Metric(code="employees", unit="人", kind=MetricKind.count)
    assert metric_money([revenue]) == Money(FACT_VALUES)
    assert metric_money([staff]).fields == frozenset()
    mixed = metric_money([revenue, staff])
    table = Table(FactRead, MoneyUnit.wan, mixed)
    assert table.headers[5] == "报送值（货币指标：万元）"

    def fact(metric: str) -> FactRead:
        return FactRead(
            id=1,
            enterprise_id=1,
            metric=metric,
            period="2018-10",
            reported_as="ytd",
            reported_value=Decimal("50000"),
            monthly_value=None,
            ytd_value=Decimal("50000"),
            updated_at=NOW,
            version=1,
        )

    assert table.values(fact("revenue"))[5] == Decimal(5)
    assert table.values(fact("employees"))[5] == Decimal(50000)
    assert Table(FactRead, MoneyUnit.wan, metric_money([staff])).headers[5] == "报送值"


@pytest.mark.parametrize("text", ['=HYPERLINK("http://x","y")', "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"])
def test_text_that_could_start_a_formula_gets_an_apostrophe_in_csv(text: str) -> None:
    assert csv_text("text", text) == "'" + text
    lines = csv_lines(CsvWriter(Table(EnterpriseRead)), enterprise(name=text))
    assert lines[1][2] == "'" + text


def test_numbers_and_ordinary_text_are_written_as_they_are() -> None:
    assert csv_text("decimal", Decimal("-5.00")) == "-5.00"
    assert csv_text("int", -3) == "-3"
    assert csv_text("text", "中-1") == "中-1"
    assert csv_text("decimal", Decimal("1E-10")) == "0.0000000001"  # never in exponent notation


def test_csv_is_utf8_with_bom_and_crlf() -> None:
    writer = CsvWriter(Table(EnterpriseRead))
    data = writer.header() + writer.rows([enterprise(name='带"引号",和逗号')])
    assert data.startswith("\ufeff".encode())
    assert data.count(b"\r\n") == 2 and b"\n" not in data.replace(b"\r\n", b"")
    assert '"带""引号"",和逗号"' in data.decode("utf-8-sig")


def test_xlsx_has_a_bold_frozen_header_typed_cells_and_no_formulas(tmp_path: Path) -> None:
    writer = XlsxWriter(Table(EnterpriseRead, MoneyUnit.wan), "企业库")
    names = ['=HYPERLINK("x")', "+1", "@SUM(A1)", "-1", "#N/A"]
    writer.rows([enterprise(id=i, name=n) for i, n in enumerate(names, 1)])
    writer.save(tmp_path / "out.xlsx")

    sheet = openpyxl.load_workbook(tmp_path / "out.xlsx").active
    assert sheet is not None
    assert sheet.title == "企业库" and sheet.freeze_panes == "A2"
    assert sheet["A1"].value == "编号" and sheet["A1"].font.b
    assert sheet["D1"].value == "注册资本（万元）"
    for row, name in enumerate(names, 2):
        cell = sheet.cell(row=row, column=3)
        assert (cell.value, cell.data_type) == (name, "s")
    assert sheet["C2"].quotePrefix  # stays text even when edited in Excel
    assert (sheet["D2"].value, sheet["D2"].data_type) == (10235, "n")
    assert sheet["G2"].is_date and sheet["G2"].value.date() == date(2018, 3, 15)
    assert sheet["G2"].number_format == "yyyy-mm-dd"
    assert (sheet["B2"].value, sheet["B2"].data_type) == ("91440105MA5000001H", "s")


def test_an_abandoned_xlsx_leaves_no_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    writer = XlsxWriter(Table(EnterpriseRead), "企业库")
    writer.rows([enterprise()])
    assert list(tmp_path.iterdir())  # openpyxl spools rows to disk
    writer.discard()
    assert list(tmp_path.iterdir()) == []
