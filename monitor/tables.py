"""Rows of the spreadsheets offices keep, streamed; and cells written so that Excel shows, not runs, them.

Reading (`read_table`): a CSV in UTF-8 (with or without a BOM) or GB18030/GBK (what Excel and
WPS save as "CSV" on a Chinese Windows), or the first sheet of an .xlsx workbook (openpyxl,
read-only). Rows come one at a time as dicts of header -> text, each with `_where` ("row N", the
header being row 1), so a file of millions of rows is read in bounded memory. A file over
`MAX_FILE_BYTES`, a field over `MAX_FIELD_CHARS`, text in neither encoding or a workbook that
cannot be read stops with a DataError naming the file and row.

Headers: a table this tool writes heads each column `中文 english` (`heading`); reading takes
the English name (`english`), so such a file imports back. Flags are written 是/否 (`yes_no`).

Writing (`cell`): text that starts with = + - @ tab or carriage return would be run as a formula
by Excel, WPS or LibreOffice (OWASP "CSV injection"), so it gets a leading apostrophe; reading a
CSV takes that apostrophe off again (`uncell`), so an export imports back unchanged. Plain
numbers ("-3", "-116.5", "+1e5") are left alone: a spreadsheet reads a cell that is wholly a
number as that number, never as a formula, and a negative longitude or a count is data that
must stay a number when the file is opened. An apostrophe already at the start before one of
those characters (or before another apostrophe) is doubled the same way, so the rule is exact
both ways.

Used by the facility import; meant for the households and calls imports too.
This module imports only the standard library at import time (openpyxl inside `_xlsx_rows`).
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

from .errors import DataError

MAX_FILE_BYTES = 512 * 1024 * 1024   # 10^6 facilities as CSV are about 200 MB
MAX_FIELD_CHARS = 10_000             # no field of a facility, household or call is anywhere near this
MAX_XLSX_UNPACKED = 2 * 1024 ** 3    # what a workbook may unpack to (a zip bomb is refused before reading)
HEADER_SEARCH_ROWS = 20             # title rows above a table's header are passed over, this far down
SNIFF_BYTES = 1 << 20                # how much text, from the first non-ASCII byte, decides the encoding

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


# --- cells for spreadsheets -------------------------------------------------------------------

def cell(value) -> str:
    """A value as CSV cell text that a spreadsheet shows as text, never runs as a formula.

    >>> cell("=1+2"), cell("-3"), cell(-116.5), cell(None), cell("@SUM(A1)")
    ("'=1+2", '-3', '-116.5', '', "'@SUM(A1)")
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    text = repr(value) if isinstance(value, float) else str(value)
    if _needs_quote(text):
        return "'" + text
    return text


def heading(zh: str, en: str) -> str:
    """A column header as the office reads it, Chinese then the English name: `状态 status`.

    >>> heading("状态", "status")
    '状态 status'
    """
    return f"{zh} {en}"


_BILINGUAL = re.compile(r"(?P<zh>.*[^\x00-\x7f].*?)\s+(?P<en>[A-Za-z_][A-Za-z0-9_]*)")


def english(header: str) -> str:
    """The English name of a bilingual header (`heading`), or the header as it is.

    >>> english("状态 status"), english("经度 lon"), english("lon"), english("备注")
    ('status', 'lon', 'lon', '备注')
    """
    m = _BILINGUAL.fullmatch(header.strip())
    return m["en"] if m else header.strip()


def yes_no(flag) -> str:
    """A flag as a spreadsheet cell: 是 or 否 (empty when unknown); the import reads both back.

    >>> yes_no(True), yes_no(0), yes_no(None)
    ('是', '否', '')
    """
    return "" if flag is None else ("是" if flag else "否")


def _needs_quote(text: str) -> bool:
    if not text:
        return False
    if text[0] == "'":
        return len(text) > 1 and (text[1] in FORMULA_START or text[1] == "'")
    return text[0] in FORMULA_START and not _NUMBER.fullmatch(text)


def uncell(text: str) -> str:
    """The value `cell` wrote: the apostrophe it added is taken off (anything else is left as it is).

    >>> uncell("'=SUM(A1)"), uncell("''=1"), uncell("'abc"), uncell("-3")
    ('=SUM(A1)', "'=1", "'abc", '-3')
    """
    if len(text) > 1 and text[0] == "'" and (text[1] in FORMULA_START or text[1] == "'"):
        return text[1:]
    return text


# --- reading ----------------------------------------------------------------------------------

@dataclass
class Table:
    """An open spreadsheet: its header and its rows (an iterator, read as it is consumed)."""
    path: Path
    columns: list[str]
    rows: Iterator[dict]
    encoding: str  # utf-8, utf-8-sig, gb18030 or xlsx


@contextmanager
def read_table(path: str | os.PathLike, *, max_bytes: int = MAX_FILE_BYTES,
               header: Sequence[str] = ()) -> Iterator[Table]:
    """Open a CSV or .xlsx file for reading row by row; DataError when it cannot be read.

    The header is the first row that is not empty; with `header` (column names it must have),
    the first of the first HEADER_SEARCH_ROWS rows that has them all, so that the title rows an
    office puts above a table ("怀柔区供暖设施台账 2021年") are passed over.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise DataError(f"{path}: 旧版 Excel .xls 文件无法读取，请另存为 .xlsx 或 CSV；"
                        f"old Excel .xls files are not read: save it as .xlsx or CSV")
    try:
        f = open(path, "rb")
    except OSError as e:
        raise DataError(f"{path}: 无法读取 cannot read ({e.strerror})") from None
    with f:
        _check_size(path, f, max_bytes)
        if suffix in (".xlsx", ".xlsm") or f.read(4) == b"PK\x03\x04":
            f.seek(0)
            yield _xlsx_table(path, f, header)
        else:
            f.seek(0)
            yield _csv_table(path, f, max_bytes, header)


def _check_size(path: Path, f, max_bytes: int) -> None:
    size = os.fstat(f.fileno()).st_size
    if size > max_bytes:
        raise DataError(f"{path}: 文件过大（{size / 2**20:,.0f} MB，上限 {max_bytes / 2**20:,.0f} MB），请拆分成几个文件分别导入；"
                        f"file too large ({size:,} bytes, the limit is {max_bytes:,}): split it into several files")


def _too_long(path: Path, where: str, limit: int = MAX_FIELD_CHARS) -> DataError:
    return DataError(f"{path}: {where}: 有字段超过 {limit:,} 个字符，请检查引号是否成对；"
                     f"a field is longer than {limit:,} characters (an unclosed quote?); nothing imported")


def _find_header(path: Path, rows: Iterator[tuple[int, list[str]]], needs: Sequence[str]) -> tuple[int, list[str]]:
    """The header row (number, cells) among the first HEADER_SEARCH_ROWS of `rows`."""
    for n, cells in rows:
        if n > HEADER_SEARCH_ROWS:
            break
        names = {english(c) for c in cells}
        if names - {""} and set(needs) <= names:
            return n, _header(path, cells)
    if not needs:
        return 0, []
    wanted = ", ".join(needs)
    raise DataError(f"{path}: 前 {HEADER_SEARCH_ROWS} 行中没有包含 {wanted} 列的表头；no header row with the "
                    f"columns {wanted} in the first {HEADER_SEARCH_ROWS} rows")


def _header(path: Path, cells: list[str]) -> list[str]:
    columns = [english(c) for c in cells]  # `状态 status` as an export writes it reads as `status`
    seen: set[str] = set()
    for c in columns:
        if c and c in seen:
            raise DataError(f"{path}: 表头中列 '{c[:40]}' 出现两次；column '{c[:40]}' appears twice in the header")
        seen.add(c)
    return columns


# CSV


class _Capped(io.RawIOBase):
    """The bytes of `f` after `head` (already read), refusing to go past `limit` bytes in all."""

    def __init__(self, path: Path, head: bytes, f, limit: int):
        self.path, self.head, self.f, self.limit, self.count = path, head, f, limit, 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if self.head:
            n = min(len(b), len(self.head))
            b[:n], self.head = self.head[:n], self.head[n:]
        else:
            n = self.f.readinto(b)
        self.count += n
        if self.count > self.limit:
            raise DataError(f"{self.path}: 文件过大（上限 {self.limit / 2**20:,.0f} MB），请拆分；"
                            f"file larger than the {self.limit:,}-byte limit: split it")
        return n


def sniff_encoding(head: bytes, *, complete: bool) -> str:
    """utf-8-sig, utf-8 or gb18030 from the first bytes of a text file (`complete`: the whole file).

    >>> sniff_encoding("名称".encode("gb18030"), complete=True), sniff_encoding(b"name", complete=True)
    ('gb18030', 'utf-8')
    """
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise DataError("UTF-16 文本（Excel 的“Unicode 文本”）无法读取，请另存为“CSV UTF-8”；"
                        "UTF-16 text (Excel's 'Unicode Text') is not read: save it as CSV UTF-8")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=complete)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        codecs.getincrementaldecoder("gb18030")().decode(head, final=complete)
        return "gb18030"
    except UnicodeDecodeError:
        raise DataError("文本既不是 UTF-8 也不是 GB18030/GBK，请在 Excel 中另存为“CSV UTF-8”；"
                        "the text is neither UTF-8 nor GB18030/GBK: save it as CSV UTF-8") from None


def _csv_table(path: Path, f, max_bytes: int, needs: Sequence[str]) -> Table:
    head, encoding = _sniff(path, f)
    # surrogateescape: a byte the encoding cannot read becomes a lone surrogate, found in its row
    text = io.TextIOWrapper(io.BufferedReader(_Capped(path, head, f, max_bytes)), encoding=encoding,
                            errors="surrogateescape", newline="")
    reader = csv.reader(text)

    def leading() -> Iterator[tuple[int, list[str]]]:
        for n in range(1, HEADER_SEARCH_ROWS + 1):
            try:
                cells = next(reader, None)
            except csv.Error as e:
                raise _csv_problem(path, f"row {n}", e) from None
            if cells is None:
                return
            _check_decoded(path, cells, f"row {n}", encoding)
            yield n, cells

    n, columns = _find_header(path, leading(), needs)
    return Table(path, columns, _csv_rows(path, reader, columns, encoding, n), encoding)


_UNDECODED = re.compile("[\udc80-\udcff]")


def _check_decoded(path: Path, cells: list[str], where: str, encoding: str) -> None:
    if any(_UNDECODED.search(c) for c in cells):
        raise DataError(f"{path}: {where}: 编码与文件开头不一致（{encoding}），请整体另存为“CSV UTF-8”；"
                        f"text not in the file's encoding ({encoding}) from here on: save it as CSV UTF-8; "
                        f"nothing imported")


def _sniff(path: Path, f) -> tuple[bytes, str]:
    """The encoding, decided by the SNIFF_BYTES that hold the first non-ASCII byte (before it, both
    encodings read the same); and the bytes already read that the reader must still be given
    (none when `f` could be rewound)."""
    first = f.read(SNIFF_BYTES)
    chunk, complete = first, len(first) < SNIFF_BYTES
    keep = first
    if f.seekable():
        while chunk.isascii() and not complete:  # an ASCII start (refs, numbers) says nothing yet
            chunk = f.read(SNIFF_BYTES)
            complete = len(chunk) < SNIFF_BYTES
        f.seek(0)
        keep = b""
    boms = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    try:
        return keep, sniff_encoding(first if first.startswith(boms) else chunk, complete=complete)
    except DataError as e:
        raise DataError(f"{path}: {e}") from None


def _csv_problem(path: Path, where: str, e: Exception) -> DataError:
    if "field larger than field limit" in str(e):
        return _too_long(path, where, csv.field_size_limit())  # the csv module's own limit (128 KiB)
    return DataError(f"{path}: {where}: CSV 格式错误 not valid CSV ({e}); nothing imported")


def _csv_rows(path: Path, reader, columns: list[str], encoding: str, header_row: int) -> Iterator[dict]:
    n = header_row
    while True:
        n += 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise _csv_problem(path, f"row {n}", e) from None
        joined = "\x00".join(cells)  # one look at the whole row is faster than one per cell
        if _UNDECODED.search(joined):
            _check_decoded(path, cells, f"row {n}", encoding)
        if len(joined) > MAX_FIELD_CHARS and any(len(c) > MAX_FIELD_CHARS for c in cells):
            raise _too_long(path, f"row {n}")
        if not joined.replace("\x00", "").strip():
            continue  # a blank line, or Excel's trailing ",,,,"
        yield _row(columns, [uncell(c) for c in cells] if "'" in joined else cells, f"row {n}")


def _row(columns: list[str], cells: list[str], where: str) -> dict:
    row = {c: v for c, v in zip(columns, cells) if c}
    if len(cells) > len(columns) and any(v.strip() for v in cells[len(columns):]):
        row["_extra"] = len(cells) - len(columns)
    row["_where"] = where
    return row


# XLSX


def _xlsx_table(path: Path, f, needs: Sequence[str]) -> Table:
    import zipfile

    try:
        with zipfile.ZipFile(f) as z:
            unpacked = sum(i.file_size for i in z.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise DataError(f"{path}: 不是有效的 Excel 工作簿 not a readable .xlsx workbook ({e})") from None
    if unpacked > MAX_XLSX_UNPACKED:
        raise DataError(f"{path}: 工作簿解压后过大（{unpacked:,} 字节）；the workbook unpacks to {unpacked:,} bytes, "
                        f"over the {MAX_XLSX_UNPACKED:,}-byte limit: save it as CSV")
    f.seek(0)
    try:
        import openpyxl

        book = openpyxl.load_workbook(f, read_only=True, data_only=True)
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        n, columns = _find_header(path, ((i, [xlsx_text(v) for v in values or ()])
                                         for i, values in enumerate(rows, start=1)), needs)
    except DataError:
        raise
    except Exception as e:  # openpyxl raises many kinds on a damaged workbook
        raise DataError(f"{path}: 不是有效的 Excel 工作簿 not a readable .xlsx workbook "
                        f"({type(e).__name__}: {str(e)[:200]})") from None
    return Table(path, columns, _xlsx_rows(path, book, rows, columns, n), "xlsx")


def _xlsx_rows(path: Path, book, rows, columns: list[str], header_row: int) -> Iterator[dict]:
    n = header_row
    try:
        for n, values in enumerate(rows, start=header_row + 1):
            cells = [xlsx_text(v) for v in values or ()]
            if any(len(c) > MAX_FIELD_CHARS for c in cells):
                raise _too_long(path, f"row {n}")
            if any(c.strip() for c in cells):
                yield _row(columns, cells, f"row {n}")
    except DataError:
        raise
    except Exception as e:
        raise DataError(f"{path}: row {n + 1}: 工作簿已损坏 the workbook is damaged "
                        f"({type(e).__name__}: {str(e)[:200]}); nothing imported") from None
    finally:
        book.close()


def xlsx_text(value) -> str:
    """A cell's value as the text a CSV of it would hold: whole numbers without ".0" (a phone
    number or a count typed as a number), dates as YYYY-MM-DD, times of day kept when set.

    >>> xlsx_text(13800001234.0), xlsx_text(116.637118), xlsx_text(datetime(2021, 10, 8)), xlsx_text(True)
    ('13800001234', '116.637118', '2021-10-08', '1')
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value)
