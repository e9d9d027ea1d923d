"""The xlsx reader against openpyxl's own reading of the same file, cell by cell.

The import reads sheets with openpyxl's cell parser but not its read-only worksheet (which scans a file
without <dimension> twice): what it yields must still be what `load_workbook` shows an office worker's file
to hold, including gaps, blank text, dates, formulas and both ways of writing strings.
"""

import zipfile
from collections.abc import Callable
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell

from app.services.imports.reading import FileFormat, FileProblem, rows

_ROWS: list[list[Any]] = [
    ["统一社会信用代码", "企业名称", "注册资本", "成立日期", "说明"],
    ["91440105MA59AAAA1X", "广州琶洲智能科技有限公司", 10000000, date(2018, 3, 1), "🚀 新引进"],
    ["91440105MA59AAAA2X", "  ", 1234.56, datetime(2018, 6, 1, 9, 30), None],  # noqa: DTZ001 - Excel cells carry no zone
    [None, None, None, None, None],
    ["91440105MA59AAAA3X", "=1+1", True, time(8, 15), "  前后空格  "],
]


def _openpyxl_view(path: Path) -> list[list[Any]]:
    """What openpyxl's full reader shows, as the import sees it: blank text as empty, trailing empties cut."""
    sheet = load_workbook(path).worksheets[0]
    table = []
    for record in sheet.iter_rows():
        values = [None if isinstance(c.value, str) and not c.value.strip() else c.value for c in record]
        while values and values[-1] is None:
            values.pop()
        table.append(values)
    return table


def _reader_view(path: Path) -> list[list[Any]]:
    table = []
    for cells in rows(path, FileFormat.xlsx):
        values = [c.value for c in cells]
        while values and values[-1] is None:
            values.pop()
        table.append(values)
    return table


def _normal_file(path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for number, values in enumerate(_ROWS, start=1):
        for column, value in enumerate(values, start=1):
            if value is not None:
                sheet.cell(number, column, value)
    sheet["B7"] = "隔了一行"  # row 6 is not in the file at all
    sheet["C5"] = "=SUM(C2:C3)"
    book.create_sheet("说明")["A1"] = "second sheet, not read"
    book.save(path)


def _write_only_file(path: Path) -> None:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("企业库")
    for values in _ROWS:
        row = []
        for value in values:
            cell = WriteOnlyCell(sheet, value)
            if isinstance(value, date):
                cell.number_format = "yyyy-mm-dd"
            row.append(cell)
        sheet.append(row)
    book.save(path)


@pytest.mark.parametrize("write", [_normal_file, _write_only_file], ids=["with-dimension", "write-only"])
def test_the_reader_sees_what_openpyxl_sees(tmp_path: Path, write: Any) -> None:
    path = tmp_path / "book.xlsx"
    write(path)

    seen = _reader_view(path)

    assert seen == _openpyxl_view(path)
    assert seen[1][:4] == ["91440105MA59AAAA1X", "广州琶洲智能科技有限公司", 10000000, datetime(2018, 3, 1)]  # noqa: DTZ001
    assert seen[2][1] is None  # blank text is an empty cell
    assert seen[3] == []  # the empty row keeps its place, so row numbers in reports stay right


def test_a_formula_is_marked_as_one(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    _normal_file(path)

    table = list(rows(path, FileFormat.xlsx))

    assert table[4][2].formula and table[4][2].value == "=SUM(C2:C3)"
    assert table[4][1].formula  # openpyxl, like Excel, stores text typed with a leading = as a formula
    assert not table[1][1].formula
    assert [c.value for c in table[6]] == [None, "隔了一行"]
    assert table[5] == []


_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lolololololololololol">
<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">]>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>
<row r="1"><c r="A1" t="inlineStr"><is><t>&lol8;</t></is></c></row></sheetData></worksheet>"""


def _with_sheet(tmp_path: Path, sheet: Callable[[bytes], bytes]) -> Path:
    """A normal workbook whose first sheet's XML is replaced by `sheet(the original XML)`."""
    good = tmp_path / "good.xlsx"
    _normal_file(good)
    path = tmp_path / "rewritten.xlsx"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            target.writestr(item, sheet(data) if item.filename == "xl/worksheets/sheet1.xml" else data)
    return path


@pytest.mark.parametrize("damage", ["cut", "entity-bomb"])
def test_a_damaged_sheet_is_a_file_problem(tmp_path: Path, damage: str) -> None:
    # Cut off mid-element, or a billion "lol"s in 1 kB.
    bad = _with_sheet(tmp_path, lambda xml: xml[: len(xml) // 2] if damage == "cut" else _LAUGHS)

    with pytest.raises(FileProblem) as caught:
        list(rows(bad, FileFormat.xlsx))

    assert caught.value.code == "not_xlsx"


_HAND_WRITTEN = """<?xml version="1.0" encoding="UTF-8"?>
<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData>
<x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>统一社会信用代码</x:t></x:is></x:c>
<x:c r="B1" t="inlineStr"><x:is><x:r><x:t>企业</x:t></x:r><x:r><x:t xml:space="preserve">名称 </x:t></x:r>
<x:rPh sb="0" eb="2"><x:t>キギョウ</x:t></x:rPh></x:is></x:c></x:row>
<x:row><x:c t="str"><x:v>91440105MA59AAAA1X</x:v></x:c><x:c t="b"><x:v>1</x:v></x:c><x:c t="e"><x:v>#N/A</x:v></x:c>
<x:c r="E2"><x:v>1.5E3</x:v></x:c><x:c r="D2"><x:v>7</x:v></x:c></x:row>
<x:row r="5"><x:c r="B5" t="d"><x:v>2018-10-31T09:30:00</x:v></x:c><x:c r="C5"><x:f>B5+1</x:f><x:v>43405</x:v></x:c>
<x:c r="D5" t="inlineStr"><x:is><x:t>   </x:t></x:is></x:c></x:row>
</x:sheetData></x:worksheet>"""


def test_prefixed_rich_and_positionless_xml_reads_as_openpyxl_reads_it(tmp_path: Path) -> None:
    """What other tools write: a namespace prefix, rich text with phonetic hints, cells and rows without a
    position, cells out of order, typed values (str, b, e, d, exponent), a cached formula result."""
    path = _with_sheet(tmp_path, lambda _xml: _HAND_WRITTEN.encode())

    seen = _reader_view(path)

    assert seen == _openpyxl_view(path)
    assert seen[0] == ["统一社会信用代码", "企业名称 "]
    assert seen[1] == ["91440105MA59AAAA1X", True, "#N/A", 7, 1500.0]
    assert seen[2] == seen[3] == []
    assert seen[4] == [None, datetime(2018, 10, 31, 9, 30), "=B5+1"]  # noqa: DTZ001
