"""Uploaded files read with hard bounds, off the event loop: the one mechanism every upload path uses
(volunteer and incident imports, hazard photos, and the imports still to come).

A hostile upload is cheap to send and must stay cheap to refuse: a 2 KB workbook can declare a sheet of 16,384
columns, inflate to gigabytes, or hold a million empty rows; a 200 KB PNG can claim 400 million pixels. So
before any full parse a file is checked for its shape with limits on what it may cost — zip parts, unzipped
bytes and compression ratio, rows and columns (never trusting a sheet's declared dimension), text per cell, a
time budget — and the parse itself runs in a small pool of threads (``off_loop``) so that the event loop keeps
serving while it works. Whatever breaks a limit is a 422 ``upload_refused`` naming the limit.
"""

from __future__ import annotations

import asyncio
import csv
import ctypes
import functools
import io
import sys
import time
import xml.parsers.expat
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, ParamSpec, TypeVar

import openpyxl

from yijing.errors import InvalidInput

P = ParamSpec("P")
T = TypeVar("T")

# Parsing is CPU work: two threads per process bound both the memory parses may hold at once and the share of
# the interpreter they take from requests (each yields the GIL every few milliseconds).
_PARSERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="yijing-upload")


async def off_loop(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a parse of an upload in the upload threads and wait for it without blocking the event loop."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_PARSERS, functools.partial(function, *args, **kwargs))


# mallopt's parameter for the size from which an allocation gets its own memory mapping.
_M_MMAP_THRESHOLD = -3


def return_freed_memory_promptly() -> None:
    """Call once per process. glibc keeps freed large blocks in each thread's arena and, after the first
    one is freed, raises the size from which it maps memory directly: a decoded 40 Mpx photo would stay in
    the process for good. A fixed threshold of 1 MiB maps every large buffer on its own, so freeing it
    gives it back to the system at once. (Other C libraries: nothing to do, or nothing that can be done.)"""
    if not sys.platform.startswith("linux"):
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_MMAP_THRESHOLD, 1 << 20)


class UploadRefused(InvalidInput):
    """An uploaded file this service will not read: unreadable, or over one of the limits."""

    code = "upload_refused"


def refusal(message: str, reason: str, *, zh: str) -> UploadRefused:
    """The refusal of the uploaded file: ``message`` in English, ``zh`` in Chinese, ``reason`` its code."""
    return UploadRefused(
        message, zh=zh, errors=[{"field": "body.file", "message": message, "message_zh": zh, "code": reason}]
    )


@dataclass(frozen=True)
class SheetLimits:
    """What reading one spreadsheet may cost. ``rows`` counts every line, the header and blank ones
    included (a sheet's missing rows are read as blank ones)."""

    rows: int
    columns: int = 64
    cells: int = 500_000  # cells of the sheet, and strings shared between them
    cell_chars: int = 32_767  # Excel's own limit for one cell
    line_chars: int = 1 << 20  # one physical line of a CSV file
    unzipped_bytes: int = 64 << 20  # every part of an XLSX workbook together, as unzipped
    part_bytes: int = 4 << 20  # one part other than sheets and their strings (styles, relationships, …)
    parts: int = 512
    ratio: int = 200  # unzipped ÷ zipped, for parts over RATIO_CHECKED_FROM
    seconds: float = 10.0


RATIO_CHECKED_FROM = 1 << 20
_MiB = 1 << 20


class Deadline:
    """The time budget of one parse, checked as the work goes (a thread cannot be stopped from outside)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.ends:
            raise refusal(
                f"reading the file took longer than {self.seconds:g} s; split it",
                "time_budget",
                zh=f"读取文件超过了 {self.seconds:g} 秒，请拆分后再上传",
            )


# Formats and text


class FileFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


_OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97–2003 (.xls), WPS .et


def detect_format(content: bytes) -> FileFormat:
    """By content, not by name: an XLSX file is a zip archive; anything else is read as CSV text."""
    if content.startswith(_OLE2_SIGNATURE):
        raise refusal(
            "old Excel (.xls) workbooks are not read: save the file as .xlsx or CSV",
            "xls",
            zh="不支持旧版 Excel（.xls）文件，请另存为 .xlsx 或 CSV",
        )
    return FileFormat.XLSX if content[:4] == b"PK\x03\x04" else FileFormat.CSV


def decode_text(content: bytes) -> str:
    """UTF-8 (with or without the BOM Excel writes), else GB 18030, in which Chinese Excel saves "CSV"."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise refusal(
        "the CSV file is neither UTF-8 nor GB 18030 text",
        "encoding",
        zh="CSV 文件的编码既不是 UTF-8 也不是 GB 18030",
    )


def cell_text(value: Any) -> str | None:
    """A cell as text: Excel gives numbers and dates as such; an empty cell is None."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def sheet_rows(content: bytes, limits: SheetLimits) -> Iterator[list[str | None]]:
    """Every row of a CSV file or of an XLSX workbook's first sheet, each cell as text (None when blank),
    within ``limits``. Call it in the upload threads (``off_loop``)."""
    deadline = Deadline(limits.seconds)
    if detect_format(content) is FileFormat.CSV:
        rows: Iterator[Sequence[Any]] = csv_rows(content, limits, deadline)
    else:
        rows = xlsx_rows(content, limits, deadline)
    for row in rows:
        yield [cell_text(value) for value in row]


# CSV


def _bounded_lines(text: str, limits: SheetLimits) -> Iterator[str]:
    for line in io.StringIO(text, newline=""):
        if len(line) > limits.line_chars:
            message = f"a line of the file is longer than {limits.line_chars:,} characters"
            raise refusal(message, "line_too_long", zh=f"文件中有一行超过了 {limits.line_chars:,} 个字符")
        yield line


def csv_rows(content: bytes, limits: SheetLimits, deadline: Deadline) -> Iterator[list[str]]:
    reader = csv.reader(_bounded_lines(decode_text(content), limits))
    count = 0
    try:
        for row in reader:
            count += 1
            _check_row(count, len(row), limits, deadline)
            if any(len(field) > limits.cell_chars for field in row):
                message = f"row {count} has a cell longer than {limits.cell_chars:,} characters"
                raise refusal(
                    message, "cell_too_long", zh=f"第 {count} 行有单元格超过了 {limits.cell_chars:,} 个字符"
                )
            yield row
    except csv.Error as exc:
        raise refusal(
            f"the CSV file cannot be read: {exc}", "csv_unreadable", zh="无法读取该 CSV 文件"
        ) from exc


def _check_row(number: int, cells: int, limits: SheetLimits, deadline: Deadline) -> None:
    if number > limits.rows:
        raise refusal(
            f"the file has more than {limits.rows:,} rows; split it",
            "too_many_rows",
            zh=f"文件超过了 {limits.rows:,} 行，请拆分后再上传",
        )
    if cells > limits.columns:
        raise refusal(
            f"row {number} has more than {limits.columns} columns",
            "too_many_columns",
            zh=f"第 {number} 行超过了 {limits.columns} 列",
        )
    if number % 256 == 0:
        deadline.check()


# XLSX


def xlsx_rows(content: bytes, limits: SheetLimits, deadline: Deadline) -> Iterator[tuple[Any, ...]]:
    """The first sheet's rows, after the whole workbook passed ``check_workbook``."""
    check_workbook(content, limits, deadline)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError, SyntaxError) as exc:
        raise refusal(
            "the file is not a readable XLSX workbook", "xlsx_unreadable", zh="该文件不是可读取的 XLSX 工作簿"
        ) from exc
    deadline.check()
    try:
        if not workbook.worksheets:
            raise refusal("the workbook has no sheet", "xlsx_unreadable", zh="该工作簿中没有工作表")
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # its declared size proves nothing; the checked rows and cells decide
        for count, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            _check_row(count, len(values), limits, deadline)
            yield values
    except (KeyError, ValueError, TypeError, SyntaxError, zipfile.BadZipFile) as exc:
        raise refusal(
            f"the XLSX workbook is damaged: {type(exc).__name__}",
            "xlsx_unreadable",
            zh="该 XLSX 工作簿已损坏",
        ) from exc
    finally:
        workbook.close()


# Parts that may be large: the sheets and the strings they share. Every other part (styles, the workbook,
# relationships, themes) is parsed whole by openpyxl and stays small in any real workbook.
_SHEET_PARTS = ("xl/worksheets/", "xl/sharedstrings")


def check_workbook(content: bytes, limits: SheetLimits, deadline: Deadline) -> None:
    """Refuse a workbook whose zip parts, unzipped size, compression ratio, XML (no DTDs, hence no entity
    expansion) or sheet shape (rows, columns, shared strings) break ``limits``, reading each part once as a
    stream: the work stops at the first limit broken, whatever the file claims."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise refusal(
            f"the file is not a readable XLSX workbook ({exc})",
            "xlsx_unreadable",
            zh="该文件不是可读取的 XLSX 工作簿",
        ) from exc
    with archive:
        parts = archive.infolist()
        if len(parts) > limits.parts:
            raise refusal(
                f"the workbook has more than {limits.parts} parts",
                "too_many_parts",
                zh=f"该工作簿的组成部分超过了 {limits.parts} 个",
            )
        declared = sum(part.file_size for part in parts)
        if declared > limits.unzipped_bytes:
            raise _unzipped_too_large(limits)
        budget = limits.unzipped_bytes
        for part in parts:
            name = part.filename
            if not name.lower().startswith(_SHEET_PARTS) and part.file_size > limits.part_bytes:
                message = f"the workbook part {name!r} is larger than {limits.part_bytes // _MiB} MiB"
                zh = f"工作簿中的部分“{name}”超过了 {limits.part_bytes // _MiB} MiB"
                raise refusal(message, "part_too_large", zh=zh)
            if part.file_size > max(RATIO_CHECKED_FROM, limits.ratio * part.compress_size):
                message = f"the workbook part {name!r} unzips to over {limits.ratio} times its size"
                zh = f"工作簿中的部分“{name}”解压后超过了压缩大小的 {limits.ratio} 倍"
                raise refusal(message, "compression_ratio", zh=zh)
            budget -= _scan_part(archive, part, budget, limits, deadline)


def _unzipped_too_large(limits: SheetLimits) -> UploadRefused:
    mebibytes = limits.unzipped_bytes // _MiB
    return refusal(
        f"the workbook unzips to more than {mebibytes} MiB; split it",
        "unzipped_too_large",
        zh=f"该工作簿解压后超过了 {mebibytes} MiB，请拆分后再上传",
    )


def _scan_part(
    archive: zipfile.ZipFile, part: zipfile.ZipInfo, budget: int, limits: SheetLimits, deadline: Deadline
) -> int:
    """Unzip one part as a stream, counting its bytes against ``budget``; a part that is XML is checked by
    ``_SheetShape`` as it streams. Returns the bytes unzipped."""
    shape: _SheetShape | None = None
    unzipped = 0
    try:
        with archive.open(part) as stream:
            while chunk := stream.read(1 << 16):
                unzipped += len(chunk)
                if unzipped > budget:
                    raise _unzipped_too_large(limits)
                if unzipped == len(chunk) and _looks_like_xml(chunk):
                    shape = _SheetShape(limits, deadline)
                if shape is not None:
                    shape.feed(chunk)
                deadline.check()
        if shape is not None:
            shape.feed(b"", final=True)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError) as exc:
        message = f"the workbook part {part.filename!r} cannot be unzipped ({exc})"
        zh = f"工作簿中的部分“{part.filename}”无法解压"
        raise refusal(message, "xlsx_unreadable", zh=zh) from exc
    return unzipped


def _looks_like_xml(head: bytes) -> bool:
    """Whether a part's first bytes may start an XML document (in UTF-8, or in UTF-16 with or without
    its BOM): such a part is checked as XML, whatever its name says."""
    return head.lstrip(b" \t\r\n").startswith((b"<", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00<"))


class _SheetShape:
    """An expat pass over one XML part: no DTD or entity; at most ``limits.rows`` rows (by count and by
    their numbers, since a reader fills the gaps with blank rows), ``limits.columns`` cells a row (by count
    and by column letters), ``limits.cells`` cells and as many shared strings."""

    def __init__(self, limits: SheetLimits, deadline: Deadline) -> None:
        self.limits = limits
        self.deadline = deadline
        self.rows = 0
        self.cells_in_row = 0
        self.cells = 0
        self.strings = 0
        self.elements = 0
        parser = xml.parsers.expat.ParserCreate(namespace_separator="}")
        parser.StartDoctypeDeclHandler = self._refuse_dtd
        parser.EntityDeclHandler = self._refuse_dtd
        parser.StartElementHandler = self._start
        self.parser = parser

    def feed(self, data: bytes, *, final: bool = False) -> None:
        try:
            self.parser.Parse(data, final)
        except xml.parsers.expat.ExpatError as exc:
            raise refusal(
                f"the workbook holds XML that cannot be read ({exc})",
                "xlsx_unreadable",
                zh="该工作簿包含无法读取的 XML",
            ) from exc

    def _refuse_dtd(self, *_: Any) -> None:
        raise refusal(
            "the workbook declares a DTD, which XLSX files never need",
            "xlsx_unsafe",
            zh="该工作簿声明了 DTD，正常的 XLSX 文件不需要 DTD",
        )

    def _start(self, name: str, attributes: dict[str, str]) -> None:
        self.elements += 1
        if self.elements % 4096 == 0:
            self.deadline.check()
        local = name.rpartition("}")[2]
        if local == "row":
            self.rows += 1
            self.cells_in_row = 0
            number = attributes.get("r", "")
            numbered_beyond = number.isdigit() and (len(number) > 9 or int(number) > self.limits.rows)
            if self.rows > self.limits.rows or numbered_beyond:
                raise refusal(
                    f"the sheet has more than {self.limits.rows:,} rows; split it",
                    "too_many_rows",
                    zh=f"工作表超过了 {self.limits.rows:,} 行，请拆分后再上传",
                )
        elif local == "c":
            self.cells_in_row += 1
            self.cells += 1
            if self.cells > self.limits.cells:
                raise refusal(
                    f"the sheet has more than {self.limits.cells:,} cells; split it",
                    "too_many_cells",
                    zh=f"工作表超过了 {self.limits.cells:,} 个单元格，请拆分后再上传",
                )
            reference = attributes.get("r", "")
            letters = reference.rstrip("0123456789")
            if self.cells_in_row > self.limits.columns or _column_number(letters) > self.limits.columns:
                raise refusal(
                    f"the sheet has cells beyond column {self.limits.columns}",
                    "too_many_columns",
                    zh=f"工作表中有超出第 {self.limits.columns} 列的单元格",
                )
        elif local == "si":
            self.strings += 1
            if self.strings > self.limits.cells:
                raise refusal(
                    "the workbook shares more strings than its sheet could hold",
                    "too_many_strings",
                    zh="工作簿中的共享字符串数量超出了工作表所能容纳的上限",
                )


def _column_number(letters: str) -> int:
    """A1-style column letters as a number (A = 1); 0 for none. Letters past three are already too many."""
    if len(letters) > 3:
        return 1 << 20
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - ord("A") + 1
    return number
