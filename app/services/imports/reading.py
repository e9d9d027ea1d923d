"""Reading an uploaded table: what the file really is, its encoding, its rows, streamed.

CSV arrives as UTF-8 (with or without BOM) or as GBK/GB18030, which Chinese Excel writes by default; xlsx is
checked as a zip before openpyxl sees it, so a zip bomb or a renamed file is refused up front.
"""

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import IO, Any
from xml.parsers import expat

from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.utils.cell import column_index_from_string
from openpyxl.utils.datetime import from_excel, from_ISO8601

MAX_ROWS = 1_000_000
# An honest xlsx of a million rows unpacks to well under this; a bomb's ratio gives it away earlier.
MAX_UNPACKED_BYTES = 1_500_000_000
MAX_RATIO = 200
_CHUNK = 1 << 16


class FileFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"


class FileProblem(Exception):
    """The file as a whole cannot be read: nothing in it is imported."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Cell:
    value: Any  # str for CSV; str, number, date or datetime for xlsx; None when empty
    formula: bool = False


_EMPTY = Cell(None)


def sniff(path: Path, filename: str) -> FileFormat:
    """The format by content, checked against the name: a .xlsx that is not a zip is refused."""
    with path.open("rb") as f:
        head = f.read(8)
    is_zip = head.startswith(b"PK\x03\x04")
    suffix = Path(filename).suffix.lower()
    if suffix == ".xlsx" or (suffix not in (".csv", ".txt") and is_zip):
        if not is_zip:
            raise FileProblem("not_xlsx", f"{filename} 不是 xlsx 文件 / {filename} is not an xlsx file")
        return FileFormat.xlsx
    if suffix in (".csv", ".txt", ""):
        if is_zip or b"\x00" in head:
            raise FileProblem("not_csv", f"{filename} 不是文本 CSV 文件 / {filename} is not a CSV text file")
        return FileFormat.csv
    raise FileProblem("unsupported_file", f"只接受 .xlsx 或 .csv 文件 / send an .xlsx or a .csv file, not {suffix}")


def detect_encoding(path: Path) -> str:
    """utf-8-sig for a BOM, utf-8 when every byte decodes, else gb18030 (a superset of GBK)."""
    with path.open("rb") as f:
        if f.read(3) == codecs.BOM_UTF8:
            return "utf-8-sig"
    bad_line = 0
    for encoding in ("utf-8", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        line = 1
        try:
            with path.open("rb") as f:
                while chunk := f.read(_CHUNK):
                    line += decoder.decode(chunk).count("\n")
                decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            bad_line = line
    raise FileProblem(
        "undecodable_file",
        f"第 {bad_line} 行附近有无法识别的字符：请另存为 UTF-8 或 GBK 编码的 CSV / line {bad_line} holds bytes that "
        "are neither UTF-8 nor GBK/GB18030: save the file as UTF-8 or GBK CSV",
    )


def _check_zip(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
            names = {e.filename for e in entries}
            unpacked = sum(e.file_size for e in entries)
            packed = sum(e.compress_size for e in entries) or 1
    except zipfile.BadZipFile:
        raise FileProblem("not_xlsx", "文件已损坏或不是 xlsx / the file is damaged or not an xlsx") from None
    if "xl/workbook.xml" not in names:
        raise FileProblem("not_xlsx", "压缩包内没有 Excel 工作簿 / the zip holds no Excel workbook")
    if unpacked > MAX_UNPACKED_BYTES or unpacked / packed > MAX_RATIO:
        raise FileProblem(
            "suspicious_archive",
            "xlsx 解压后过大，疑似压缩炸弹 / the xlsx unpacks to far more than a table of this size could",
        )


def rows(path: Path, file_format: FileFormat) -> Iterator[list[Cell]]:
    """Every row, the header first, as cells; raises FileProblem for what makes the file unreadable."""
    if file_format is FileFormat.csv:
        yield from _csv_rows(path, detect_encoding(path))
    else:
        _check_zip(path)
        yield from _xlsx_rows(path)


def _csv_rows(path: Path, encoding: str) -> Iterator[list[Cell]]:
    with path.open(encoding=encoding, newline="") as f:
        try:
            for record in csv.reader(f, strict=True):
                yield [Cell(value or None) for value in record]
        except csv.Error as exc:
            raise FileProblem("malformed_csv", f"CSV 格式错误 / malformed CSV: {exc}") from None


def _xlsx_rows(path: Path) -> Iterator[list[Cell]]:
    # openpyxl reads the workbook's parts (shared strings, date styles, epoch); the sheet's cells are read
    # here in one streamed pass. openpyxl's read-only worksheet parses a sheet without <dimension> (every
    # write-only file, our export's too) twice and builds objects per cell: 4-5 times slower on 100,000 rows.
    # A file object, not the path: openpyxl judges a path by its suffix, and uploads are temp files.
    with path.open("rb") as f:
        try:
            reader = ExcelReader(f, read_only=True, data_only=False)
            reader.read_manifest()
            reader.read_strings()
            reader.read_workbook()
            apply_stylesheet(reader.archive, reader.wb)
            target = next(
                rel.target
                for _, rel in reader.parser.find_sheets()
                if rel.target in reader.valid_files and "chartsheet" not in rel.Type
            )
            source = reader.archive.open(target)
        except Exception:
            raise FileProblem("not_xlsx", "文件已损坏或不是 xlsx / the file is damaged or not an xlsx") from None
        # The styles load_workbook hands its own cell parser (the stubs do not know these attributes).
        sheet = _Sheet(
            reader.shared_strings,
            reader.wb._date_formats,  # type: ignore[attr-defined]
            reader.wb._timedelta_formats,  # type: ignore[attr-defined]
            reader.wb.epoch,
        )
        try:
            yield from sheet.rows(source)
        except (expat.ExpatError, ValueError, IndexError):
            raise FileProblem("not_xlsx", "文件已损坏或不是 xlsx / the file is damaged or not an xlsx") from None
        finally:
            source.close()
            reader.archive.close()


_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main|"
_ROW, _CELL, _VALUE, _FORMULA, _TEXT, _PHONETIC = (f"{_NS}{tag}" for tag in ("row", "c", "v", "f", "t", "rPh"))


class _Sheet:
    """A worksheet's cells as openpyxl reads them (values, dates by cell style, formulas as "=…" text).

    Expat's callbacks, not an element tree: building an element per row, cell and value was most of the
    time of reading 100,000 rows.
    """

    def __init__(self, strings: list[str], date_styles: set[int], timedelta_styles: set[int], epoch: datetime):
        self.strings = strings
        self.date_styles = date_styles
        self.timedelta_styles = timedelta_styles
        self.epoch = epoch
        self.done: list[list[Cell]] = []  # rows read from the last chunk
        self.number = 0  # the current row's number
        self.cells: list[Cell] = []
        self.column = 0
        self.position: str | None = None  # the current cell's attributes
        self.kind = "n"
        self.style: str | None = None
        self.formula: str | None = None
        self.value: str | None = None
        self.inline: list[str] = []
        self.text: list[str] | None = None  # collecting character data into this
        self.phonetic = False

    def rows(self, source: IO[bytes]) -> Iterator[list[Cell]]:
        # Untrusted XML through the parser openpyxl uses too: expat fetches no external entities and, from
        # 2.4.1 on (Python 3.11 bundles 2.5), stops entity-expansion bombs with an error.
        parser = expat.ParserCreate(namespace_separator="|")
        parser.buffer_text = True
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._characters
        while chunk := source.read(1 << 16):
            parser.Parse(chunk, False)
            yield from self.done  # rows leave as each chunk is read: memory does not grow with the sheet
            self.done.clear()
        parser.Parse(b"", True)
        yield from self.done

    def _start(self, name: str, attributes: dict[str, str]) -> None:
        if name == _CELL:
            self.position = attributes.get("r")
            self.kind = attributes.get("t", "n")
            self.style = attributes.get("s")
            self.formula = self.value = None
            self.inline = []
        elif name in (_VALUE, _FORMULA) or (name == _TEXT and not self.phonetic):
            self.text = []
        elif name == _PHONETIC:
            self.phonetic = True
        elif name == _ROW:
            position = attributes.get("r")
            number = int(position) if position else self.number + 1
            # A row missing from the sheet is an empty row (row numbers in the report stay right).
            self.done.extend([] for _ in range(self.number + 1, number))
            self.number = number
            self.cells = []
            self.column = 0

    def _characters(self, data: str) -> None:
        if self.text is not None:
            self.text.append(data)

    def _end(self, name: str) -> None:
        if name == _CELL:
            self._place(self._cell())
        elif name == _VALUE and self.text is not None:
            self.value = "".join(self.text)
        elif name == _FORMULA and self.text is not None:
            self.formula = "".join(self.text)
        elif name == _TEXT and self.text is not None:
            self.inline.append("".join(self.text))
        elif name == _PHONETIC:
            self.phonetic = False
        elif name == _ROW:
            self.done.append(self.cells)
        if name != _PHONETIC:
            self.text = None

    def _place(self, cell: Cell) -> None:
        position = self.position
        self.column = column_index_from_string(position.rstrip("0123456789")) if position else self.column + 1
        if cell is _EMPTY:
            return
        cells = self.cells
        if self.column > len(cells):
            cells.extend([_EMPTY] * (self.column - 1 - len(cells)))
            cells.append(cell)
        else:
            cells[self.column - 1] = cell  # cells out of order: as openpyxl, the later one counts

    def _cell(self) -> Cell:
        if self.formula is not None:
            return Cell("=" + self.formula, formula=True)
        kind, text = self.kind, self.value
        value: Any
        if kind == "inlineStr":
            value = "".join(self.inline)  # the plain text and the runs' text, phonetic hints left out
        elif not text:
            return _EMPTY
        elif kind == "n":
            value = self._number(text)
        elif kind == "s":
            value = self.strings[int(text)]
        elif kind == "b":
            value = bool(int(text))
        elif kind == "d":
            value = from_ISO8601(text)  # type: ignore[no-untyped-call]
        else:  # "str" (a formula's cached text), "e" (an error such as #N/A)
            value = text
        if isinstance(value, str) and not value.strip():
            return _EMPTY
        return Cell(value)

    def _number(self, text: str) -> Any:
        number = float(text) if "." in text or "E" in text or "e" in text else int(text)
        style_id = int(self.style) if self.style else 0
        if style_id not in self.date_styles:
            return number
        try:
            return from_excel(number, self.epoch, timedelta=style_id in self.timedelta_styles)
        except (OverflowError, ValueError):
            return "#VALUE!"  # a date cell whose serial is out of range: openpyxl's reading too


def csv_bytes(table: list[list[str]]) -> bytes:
    """A small CSV as Excel opens it (UTF-8 with BOM), for templates."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(table)
    return codecs.BOM_UTF8 + out.getvalue().encode()
