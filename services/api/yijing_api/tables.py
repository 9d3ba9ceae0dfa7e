"""Answers other systems can take as JSON, CSV (RFC 4180, UTF-8 with a byte order mark unless ``bom=false``,
a header line) or XLSX (typed cells), chosen by ``?format=`` or the ``Accept`` header, with an ETag so an
unchanged answer costs a 304."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Query, Request, Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from pydantic import BaseModel, Field

from yijing.types import QueryBool


class TableFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MEDIA_TYPES = {
    TableFormat.JSON: "application/json",
    TableFormat.CSV: "text/csv; charset=utf-8",
    TableFormat.XLSX: XLSX_TYPE,
}


class TableQuery(BaseModel):
    """How a table answer is written: taken beside a route's own parameters as ``TableParams``."""

    format: TableFormat | None = Field(
        default=None, description="json (default), csv or xlsx; or ask by the Accept header"
    )
    bom: QueryBool = Field(
        default=True,
        description="CSV only: start with a UTF-8 byte order mark, which Excel needs to read the file as "
        "UTF-8 (without it, Excel on Chinese Windows reads GBK and garbles the Chinese text). `false` for "
        "programs that do not expect one",
    )


TableParams = Annotated[TableQuery, Query()]
TABLE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}},
        }
    },
    304: {"description": "Not modified: the `If-None-Match` ETag is still current"},
}


def chosen_format(request: Request, asked: TableFormat | None) -> TableFormat:
    """``?format=`` when given, else the first table type the ``Accept`` header names, else JSON."""
    if asked is not None:
        return asked
    accept = request.headers.get("accept", "")
    if "text/csv" in accept:
        return TableFormat.CSV
    if XLSX_TYPE in accept:
        return TableFormat.XLSX
    return TableFormat.JSON


# A text cell starting with one of these is a formula to a spreadsheet: it is written with a leading quote.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _neutralised(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _csv_cell(value: Any) -> Any:
    if isinstance(value, str):
        return _neutralised(value)
    if isinstance(value, bool):
        return "true" if value else "false"  # as JSON writes them
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _csv(rows: Sequence[dict[str, Any]], *, bom: bool) -> bytes:
    output = io.StringIO()
    columns = list(rows[0]) if rows else []
    writer = csv.DictWriter(output, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: "" if value is None else _csv_cell(value) for key, value in row.items()})
    return output.getvalue().encode("utf-8-sig" if bom else "utf-8")


# Rows dumped in JSON mode carry calendar days as this text.
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _calendar_day(text: str) -> date | None:
    if not _ISO_DATE.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _xlsx_cell(sheet: WriteOnlyWorksheet, value: Any) -> Any:
    """A value as a typed cell: booleans, numbers, dates and date-times as such, anything else as text."""
    if value is None or isinstance(value, bool | int | float | Decimal):
        return value
    if isinstance(value, str):
        day = _calendar_day(value)
        if day is None:
            return _neutralised(value)
        value = day
    if isinstance(value, datetime | date):
        cell = WriteOnlyCell(sheet)
        if isinstance(value, datetime) and value.tzinfo is not None:
            # A sheet holds no offsets: the wall time at the offset the answer gives, that offset shown by
            # the format, so that the cell reads as the CSV does and still sorts and computes as a date-time.
            offset = value.strftime("%z")
            cell.value = value.replace(tzinfo=None)
            cell.number_format = f'yyyy-mm-dd hh:mm:ss"{offset[:3]}:{offset[3:5]}"'
        else:
            cell.value = value
            cell.number_format = "yyyy-mm-dd hh:mm:ss" if isinstance(value, datetime) else "yyyy-mm-dd"
        return cell
    return _neutralised(str(value))  # an id or a code: its text, as in the JSON


def _xlsx(rows: Sequence[dict[str, Any]], title: str) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    columns = list(rows[0]) if rows else []
    sheet.append(columns)
    for row in rows:
        sheet.append([_xlsx_cell(sheet, row[column]) for column in columns])
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


def respond(
    request: Request, answer: BaseModel, rows: Sequence[dict[str, Any]], name: str, table: TableQuery
) -> Response:
    """The answer in the format asked for, with an ETag of its content (the same figures give the same tag
    in each format) and 304 when the client's copy is current."""
    chosen = chosen_format(request, table.format)
    document = answer.model_dump_json().encode()
    # CSV with and without its BOM are different bytes, so different tags; "csv" keeps naming the BOM-less
    # bytes it named before the BOM was the default.
    variant = f"{chosen.value}-bom" if chosen is TableFormat.CSV and table.bom else chosen.value
    etag = f'"{variant}-{hashlib.sha256(document).hexdigest()[:32]}"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache", "Vary": "Accept"}
    if etag in {tag.strip() for tag in request.headers.get("if-none-match", "").split(",")}:
        return Response(status_code=304, headers=headers)
    if chosen is TableFormat.JSON:
        return Response(document, media_type=MEDIA_TYPES[chosen], headers=headers)
    return table_file(rows, name, chosen, bom=table.bom, headers=headers)


def table_file(
    rows: Sequence[dict[str, Any]],
    name: str,
    chosen: TableFormat,
    *,
    bom: bool,
    headers: dict[str, str] | None = None,
) -> Response:
    """``rows`` as a CSV (with a byte order mark when ``bom``) or XLSX attachment named ``name``."""
    assert chosen is not TableFormat.JSON
    body = _csv(rows, bom=bom) if chosen is TableFormat.CSV else _xlsx(rows, name)
    disposition = {"Content-Disposition": f'attachment; filename="{name}.{chosen.value}"'}
    return Response(body, media_type=MEDIA_TYPES[chosen], headers=(headers or {}) | disposition)
