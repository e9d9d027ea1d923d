"""Import templates: the header row to fill in, and (xlsx) a sheet that explains each column."""

import io

from openpyxl import Workbook
from openpyxl.styles import Font

from app.services.imports.base import ImportSpec
from app.services.imports.reading import csv_bytes


def csv(spec: ImportSpec) -> bytes:
    return csv_bytes([[c.header for c in spec.columns]])


def xlsx(spec: ImportSpec) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # noqa: S101 - a new workbook has one sheet
    sheet.title = spec.title
    sheet.append([c.header for c in spec.columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.number_format = "@"
    sheet.freeze_panes = "A2"
    notes = workbook.create_sheet("说明")
    notes.append(["列", "必填", "示例", "说明"])
    for column in spec.columns:
        notes.append([column.header, "是" if column.required else "否", column.example, column.note])
    if spec.ignored_headers:
        notes.append([])
        notes.append(["导出文件中的其他列（" + "、".join(sorted(spec.ignored_headers)) + "）可以保留，导入时不读取。"])
    for cell in notes[1]:
        cell.font = Font(bold=True)
    # Examples are text, never formulas, whatever they start with.
    for row in notes.iter_rows(min_row=2):
        for cell in row:
            cell.data_type = "s"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
