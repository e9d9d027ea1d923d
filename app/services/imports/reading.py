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
from enum import StrEnum
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

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
    # A file object, not the path: openpyxl judges a path by its suffix, and uploads are temp files.
    with path.open("rb") as f:
        try:
            workbook = load_workbook(f, read_only=True, data_only=False)
        except Exception:
            raise FileProblem("not_xlsx", "文件已损坏或不是 xlsx / the file is damaged or not an xlsx") from None
        try:
            sheet = workbook.worksheets[0]
            for record in sheet.iter_rows():
                cells = [Cell(c.value, formula=getattr(c, "data_type", None) == "f") for c in record]
                yield [Cell(None) if isinstance(c.value, str) and not c.value.strip() else c for c in cells]
        finally:
            workbook.close()


def csv_bytes(table: list[list[str]]) -> bytes:
    """A small CSV as Excel opens it (UTF-8 with BOM), for templates."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(table)
    return codecs.BOM_UTF8 + out.getvalue().encode()
