"""Answers other systems can take as JSON, CSV (RFC 4180, UTF-8, a header line) or XLSX, chosen by
``?format=`` or the ``Accept`` header, with an ETag so an unchanged answer costs a 304."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Query, Request, Response
from openpyxl import Workbook
from pydantic import BaseModel


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
FormatParam = Annotated[
    TableFormat | None,
    Query(alias="format", description="json (default), csv or xlsx; or ask by the Accept header"),
]
TABLE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}},
        }
    },
    304: {"description": "Not modified: the `If-None-Match` ETag is still current"},
}


def _chosen(request: Request, asked: TableFormat | None) -> TableFormat:
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


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    if isinstance(value, bool):
        return "true" if value else "false"  # as JSON writes them
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _csv(rows: Sequence[dict[str, Any]]) -> bytes:
    output = io.StringIO()
    columns = list(rows[0]) if rows else []
    writer = csv.DictWriter(output, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: "" if value is None else _cell(value) for key, value in row.items()})
    return output.getvalue().encode("utf-8")


def _xlsx(rows: Sequence[dict[str, Any]], title: str) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]
    columns = list(rows[0]) if rows else []
    sheet.append(columns)
    for row in rows:
        sheet.append([_cell(row[column]) for column in columns])
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


def respond(
    request: Request, answer: BaseModel, rows: Sequence[dict[str, Any]], name: str, asked: TableFormat | None
) -> Response:
    """The answer in the format asked for, with an ETag of its content (the same figures give the same tag
    in each format) and 304 when the client's copy is current."""
    chosen = _chosen(request, asked)
    document = answer.model_dump_json().encode()
    etag = f'"{chosen.value}-{hashlib.sha256(document).hexdigest()[:32]}"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache", "Vary": "Accept"}
    if etag in {tag.strip() for tag in request.headers.get("if-none-match", "").split(",")}:
        return Response(status_code=304, headers=headers)
    if chosen is TableFormat.CSV:
        body = _csv(rows)
        headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    elif chosen is TableFormat.XLSX:
        body = _xlsx(rows, name)
        headers["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    else:
        body = document
    return Response(body, media_type=MEDIA_TYPES[chosen], headers=headers)
