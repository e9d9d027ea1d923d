"""List results as CSV or xlsx files: the columns of the read model, Chinese headers, money in a chosen unit,
and text that never turns into a live spreadsheet formula.

Pure code: items (read models) in, bytes or a file out. The API layer reads the rows and streams the result.

- Columns follow the read model's field order. Nested objects become `parent.child` columns, lists of scalars
  one cell joined with "；", lists of objects (and free-form objects) one cell of compact JSON.
- A cell holds what the JSON item holds (`model_dump(mode="json")`), typed for the sheet: dates as dates,
  amounts as numbers, instants as the same ISO 8601 text as in JSON (spreadsheets have no time zones).
- Money columns (yuan amounts, `MONEY_FIELDS`) are in 元 under their plain header (注册资本), or rescaled
  exactly to 万元 / 亿元 with the unit in the header (注册资本（万元）).
- Formula safety: a text cell starting with = + - @, a tab or a carriage return is written with a leading
  apostrophe in CSV, and as a string cell (never a formula, error or number) in xlsx.
"""

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from types import NoneType, UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from pydantic import BaseModel

from app.models import Metric, MetricKind

# An export counts its rows first and refuses more than this (a spreadsheet holds 1,048,576 rows).
MAX_EXPORT_ROWS = 1_000_000


class ExportFormat(StrEnum):
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


class MoneyUnit(StrEnum):
    """The unit money columns are written in. Amounts are stored in yuan."""

    yuan = "yuan"
    wan = "wan"
    yi = "yi"

    @property
    def label(self) -> str:
        return _UNIT_LABELS[self]

    def rescale(self, yuan: Decimal) -> Decimal:
        """Exact: a power-of-ten shift of the decimal point, no float, no rounding."""
        if self is MoneyUnit.yuan:
            return yuan
        shifted = yuan.scaleb(-_UNIT_EXPONENTS[self])
        return _without_trailing_zeros(shifted)


_UNIT_LABELS = {MoneyUnit.yuan: "元", MoneyUnit.wan: "万元", MoneyUnit.yi: "亿元"}
_UNIT_EXPONENTS = {MoneyUnit.yuan: 0, MoneyUnit.wan: 4, MoneyUnit.yi: 8}


def _without_trailing_zeros(value: Decimal) -> Decimal:
    # 10235.000000 → 10235; normalize() alone would write 1.0235E+4.
    normal = value.normalize()
    exponent = normal.as_tuple().exponent
    return normal.quantize(Decimal(1)) if isinstance(exponent, int) and exponent > 0 else normal


# Column headers by field (dotted for nested objects). Stable: the import side reads files by these labels,
# so change a label only together with it. Within one resource's columns every label is unique.
HEADERS: dict[str, str] = {
    "id": "编号",
    "version": "版本",
    "created_at": "创建时间",
    "updated_at": "更新时间",
    # enterprises
    "uscc": "统一社会信用代码",
    "name": "名称",
    "registered_capital": "注册资本",
    "currency": "币种",
    "established_on": "成立日期",
    "settled_on": "落户日期",
    "industry.code": "行业代码",
    "industry.name": "行业名称",
    "industry.section_code": "行业门类代码",
    "industry.section_name": "行业门类名称",
    "source": "来源",
    "status": "状态",
    "operations_started_on": "实质性运营日期",
    "investor_classes": "投资方类别",
    "parent_id": "上级编号",
    "zone_id": "集聚区编号",
    "service_officer_id": "首席服务官编号",
    "contacts": "联系人",
    "contacts_masked": "联系人已脱敏",
    # KPI facts
    "enterprise_id": "企业编号",
    "metric": "指标",
    "period": "报告期",
    "reported_as": "报送口径",
    "reported_value": "报送值",
    "monthly_value": "当月值",
    "ytd_value": "累计值",
    # projects
    "name_masked": "名称已隐去",
    "code_name": "代号",
    "project_type": "项目类型",
    "is_key": "重点项目",
    "industry_code": "行业代码",
    "planned_investment": "计划投资额",
    "planned_registered_capital": "计划注册资本",
    "responsible_officer_id": "责任人编号",
    "introduced_on": "引进日期",
    "stage": "阶段",
    "stage_since": "进入阶段日期",
    # milestones
    "project_id": "项目编号",
    "project_name": "项目名称",
    "track": "节点类型",
    "planned_on": "计划完成日期",
    "completed_on": "实际完成日期",
    "sort_order": "排序",
    # supervision
    "held_on": "召开日期",
    "title": "标题",
    "findings": "发现问题",
    "follow_up_actions": "整改措施",
    "project_ids": "项目编号",
    # talents
    "role": "角色",
    "position": "职务",
    "national_id": "身份证号",
    "phone": "电话",
    "personal_data_masked": "个人信息已脱敏",
    # talent apartments
    "code": "编码",
    "supplied_on": "筹集日期",
    "provider": "提供方",
    "units": "套数",
    "batch_id": "批次编号",
    "address": "地址",
    "area_m2": "面积（平方米）",
    "bedrooms": "卧室数",
    "occupied": "已入住",
    "unit_id": "房源编号",
    "person_id": "人才编号",
    "start_on": "起始日期",
    "end_on": "结束日期",
    "rent_free": "免租",
    "monthly_rent": "月租金",
    "note": "备注",
    # household registrations, green cards
    "applied_on": "申请日期",
    "decided_on": "决定日期",
    "card_number": "卡号",
    "expires_on": "有效期至",
    # disclosure
    "category": "类别",
    "legal_basis_item": "公开依据条目",
    "channels": "公开渠道",
    "published_at": "发布时间",
    "scheduled": "定时发布",
    "link": "链接",
    "abolished_on": "废止日期",
    "applicant_type": "申请人类型",
    "applicant_name": "申请人",
    "subject": "申请内容",
    "received_on": "收到日期",
    "concluded_on": "办结日期",
    "outcome": "答复结果",
    "fee_basis": "收费依据",
    "monthly_ordinal": "当月次序",
    "pages": "页数",
    "fee": "信息处理费",
    "request_id": "申请编号",
    "kind": "种类",
    "filed_on": "提起日期",
    "result": "审结结果",
    "as_review_organ_co_defendant": "作为复议机关共同被告",
    # land parcels
    "planned_use": "规划用途",
    "transferred_on": "出让日期",
    "buyer_enterprise_id": "受让企业编号",
    "price": "出让价款",
    # staff, clients, departments, catalogue
    "username": "用户名",
    "display_name": "姓名",
    "is_active": "启用",
    "last_login_at": "最近登录时间",
    "client_id": "客户端标识",
    "scopes": "权限范围",
    "secret_rotated_at": "密钥轮换时间",
    "department_id": "部门编号",
    "time_limit_working_days": "办理时限（工作日）",
    "description": "说明",
    # service desk
    "visited_on": "走访日期",
    "officers": "走访人员",
    "purpose": "走访目的",
    "request_ids": "诉求编号",
    "place": "地点",
    "departments": "参与部门",
    "appointments": "预约数",
    "service_type_id": "事项编号",
    "assignee_id": "承办人编号",
    "visit_id": "走访编号",
    "appointment_id": "预约编号",
    "received_at": "受理时间",
    "due_on": "办理期限",
    "status_changed_at": "状态变更时间",
    "resolved_on": "办结日期",
    "resolution": "办理结果",
    "rejected_on": "退回日期",
    "rejection_reason": "退回原因",
    "callback_on": "回访日期",
    "satisfaction": "满意度",
    "evaluated_on": "评价日期",
    "on_time": "按时办结",
    "overdue": "已超期",
    "days_overdue": "超期天数",
    # meetings, decisions, reports
    "topics": "议题",
    "attendees": "出席人数",
    "decisions": "决策事项数",
    "meeting_id": "会议编号",
    "amount": "金额",
    "year": "年度",
    "parameters": "参数",
    "content_sha256": "内容摘要（SHA-256）",
    "created_by": "生成人",
    "content": "内容",
}

# Fields holding an amount in yuan, wherever they appear. KPI values are money only for 元 metrics (below).
MONEY_FIELDS = frozenset(
    {"registered_capital", "planned_investment", "planned_registered_capital", "price", "monthly_rent", "fee", "amount"}
)
FACT_VALUES = frozenset({"reported_value", "monthly_value", "ytd_value"})
MONEY_METRIC_UNIT = "元"

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
LIST_SEPARATOR = "；"
XLSX_MAX_CELL_TEXT = 32_767  # Excel refuses to open a file with a longer cell
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

Kind = Literal["text", "int", "decimal", "date", "bool", "list", "json"]
_TEXT_KINDS = frozenset({"text", "list", "json"})
Value = str | int | bool | Decimal | date | None


@dataclass(frozen=True)
class Money:
    """Which columns are yuan amounts. `when` picks the rows they are money in (a KPI fact of a 元 metric);
    `partial` says so in the header, e.g. 报送值（货币指标：万元）."""

    fields: frozenset[str] = MONEY_FIELDS
    when: Callable[[Mapping[str, Any]], bool] | None = None
    partial: bool = False


NO_MONEY = Money(frozenset())


def metric_money(metrics: Iterable[Metric]) -> Money:
    """KPI facts' money columns, for the metrics an export can contain: money metrics counted in 元."""
    shown = list(metrics)
    money = frozenset(m.code for m in shown if m.kind is MetricKind.money and m.unit == MONEY_METRIC_UNIT)
    if not money:
        return NO_MONEY
    if len(money) == len(shown):
        return Money(FACT_VALUES)
    return Money(FACT_VALUES, when=lambda item: item.get("metric") in money, partial=True)


@dataclass(frozen=True)
class Column:
    key: str  # "industry.code": the path in the JSON item
    kind: Kind
    header: str
    money: bool = False


def unwrap(annotation: Any) -> Any:
    """`Annotated[X, …] | None` → X; a union of several types stays as it is."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, UnionType):
        members = [a for a in get_args(annotation) if a is not NoneType]
        if len(members) == 1:
            return unwrap(members[0])
    return annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _kind(annotation: Any) -> Kind:
    origin = get_origin(annotation)
    if origin in (list, tuple, set, frozenset):
        items = [unwrap(a) for a in get_args(annotation) if a is not Ellipsis]
        scalar = all(not _is_model(a) and get_origin(a) not in (dict, list) and a not in (dict, Any) for a in items)
        return "list" if items and scalar else "json"
    if origin is dict or annotation is dict or annotation is Any:
        return "json"
    if annotation is bool:
        return "bool"
    if annotation is int:
        return "int"
    if annotation is Decimal:
        return "decimal"
    if annotation is datetime:
        return "text"  # an instant: the JSON's ISO 8601 text, offset included
    if annotation is date:
        return "date"
    return "text"  # str, enums, literals


def _fields(model: type[BaseModel], prefix: str = "") -> Iterable[tuple[str, Kind]]:
    for name, info in model.model_fields.items():
        annotation = unwrap(info.annotation)
        if _is_model(annotation):
            yield from _fields(annotation, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", _kind(annotation)


def money_header(label: str, unit: MoneyUnit, partial: bool = False) -> str:
    """注册资本（万元）; yuan, the stored unit, keeps the plain label, so a default export imports back as it is."""
    return f"{label}（{'货币指标：' if partial else ''}{unit.label}）"


def columns(model: type[BaseModel], unit: MoneyUnit = MoneyUnit.yuan, money: Money = Money()) -> list[Column]:
    """The sheet's columns, in the read model's field order, with unique Chinese headers."""
    result: list[Column] = []
    used: set[str] = set()
    for key, kind in _fields(model):
        is_money = key in money.fields and kind == "decimal"
        label = HEADERS.get(key, key)
        if is_money and unit is not MoneyUnit.yuan:
            label = money_header(label, unit, money.partial)
        if label in used:
            label = f"{label}（{key}）"
        used.add(label)
        result.append(Column(key, kind, label, is_money))
    return result


def _lookup(item: Mapping[str, Any], key: str) -> Any:
    value: Any = item
    for part in key.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class Table:
    """Turns read models into typed cell values, one list per row, in the columns' order."""

    def __init__(self, model: type[BaseModel], unit: MoneyUnit = MoneyUnit.yuan, money: Money = Money()) -> None:
        self.unit = unit
        self.money = money
        self.columns = columns(model, unit, money)

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]

    def values(self, item: BaseModel) -> list[Value]:
        data = item.model_dump(mode="json")
        rescale = self.unit is not MoneyUnit.yuan and (self.money.when is None or self.money.when(data))
        row: list[Value] = []
        for column in self.columns:
            value = _cell(column.kind, _lookup(data, column.key))
            if column.money and rescale and isinstance(value, Decimal):
                value = self.unit.rescale(value)
            row.append(value)
        return row


def _cell(kind: Kind, value: Any) -> Value:
    if value is None:
        return None
    if kind == "decimal":
        return Decimal(str(value))
    if kind == "date":
        return date.fromisoformat(value) if isinstance(value, str) else value
    if kind in ("int", "bool"):
        return value if isinstance(value, int) else _scalar_text(value)
    if kind == "list" and isinstance(value, list):
        return LIST_SEPARATOR.join(_scalar_text(v) for v in value)
    if isinstance(value, dict | list):
        return _compact_json(value)
    return _scalar_text(value)


def is_formula_like(text: str) -> bool:
    """Text a spreadsheet would read as a formula (or a DDE payload) if it began a cell."""
    return text.startswith(_FORMULA_STARTS)


def csv_text(kind: Kind, value: Value) -> str:
    """One CSV field: text that could start a formula gets a leading apostrophe; numbers never do."""
    if value is None:
        return ""
    if kind in _TEXT_KINDS:
        text = str(value)
        return "'" + text if is_formula_like(text) else text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


class CsvWriter:
    """UTF-8 with a BOM (Excel reads the Chinese correctly), CRLF line ends, csv-module quoting."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\r\n")

    def _take(self) -> bytes:
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text.encode("utf-8")

    def header(self) -> bytes:
        self._writer.writerow(csv_text("text", h) for h in self.table.headers)
        return "\ufeff".encode() + self._take()

    def rows(self, items: Iterable[BaseModel]) -> bytes:
        kinds = [c.kind for c in self.table.columns]
        for item in items:
            self._writer.writerow(csv_text(k, v) for k, v in zip(kinds, self.table.values(item), strict=True))
        return self._take()


def _sheet_title(title: str) -> str:
    return re.sub(r"[\[\]:*?/\\]", "_", title)[:31] or "Sheet1"


class XlsxWriter:
    """One sheet, bold frozen header row, written row by row (openpyxl write-only: rows go to disk)."""

    def __init__(self, table: Table, title: str) -> None:
        self.table = table
        self._book = Workbook(write_only=True)
        self._sheet: WriteOnlyWorksheet = self._book.create_sheet(_sheet_title(title))
        self._sheet.freeze_panes = "A2"
        for index, column in enumerate(table.columns, 1):
            width = 12 if column.kind == "date" else max(10, min(40, 2 * len(column.header) + 2))
            self._sheet.column_dimensions[get_column_letter(index)].width = width
        bold = Font(bold=True)
        header = []
        for text in table.headers:
            cell = self._text(text)
            cell.font = bold
            header.append(cell)
        self._sheet.append(header)

    def _text(self, value: str) -> Cell:
        cell = WriteOnlyCell(self._sheet, value=_XML_ILLEGAL.sub("\ufffd", value)[:XLSX_MAX_CELL_TEXT])
        # openpyxl makes "=…" a formula and "#N/A" an error: text stays text.
        cell.data_type = "s"
        if is_formula_like(value):
            cell.quotePrefix = True  # and stays text when someone edits the cell in Excel
        return cell

    def _date(self, value: date) -> Cell:
        cell = WriteOnlyCell(self._sheet)
        cell.value = value
        cell.number_format = "yyyy-mm-dd"
        return cell

    def rows(self, items: Iterable[BaseModel]) -> None:
        kinds = [c.kind for c in self.table.columns]
        for item in items:
            row: list[Any] = []
            for kind, value in zip(kinds, self.table.values(item), strict=True):
                if value is None:
                    row.append(None)
                elif kind in _TEXT_KINDS:
                    row.append(self._text(str(value)))
                elif isinstance(value, date):
                    row.append(self._date(value))
                else:
                    row.append(value)  # int, bool, Decimal: numbers
            self._sheet.append(row)

    def save(self, path: Path) -> None:
        self._book.save(path)

    def discard(self) -> None:
        """Remove openpyxl's own temporary file when the export stops before `save` (which removes it)."""
        if self._sheet.closed:
            return
        self._sheet.close()  # finishes the sheet's XML, so nothing is left half-written for the collector
        writer = getattr(self._sheet, "_writer", None)
        if writer is not None:
            writer.cleanup()


def filename(title: str, today: date, fmt: ExportFormat) -> str:
    """企业库-2026-12-02.csv"""
    return f"{title}-{today.isoformat()}.{fmt.value}"
