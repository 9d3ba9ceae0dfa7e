"""Answers other systems can take as JSON or as a file: CSV (RFC 4180, UTF-8 with a byte order mark unless
``bom=false``, a header line) or XLSX (typed cells), each with an ETag so an unchanged answer costs a 304.

A table answer is two operations (:func:`table_routes`): the JSON at its path, and its rows as a file at the
path's ``/export``. Generated clients type a response by its media types; one operation answering JSON, CSV or
XLSX by a parameter would be typed as "JSON or text" and read wrongly whichever way it is read."""

from __future__ import annotations

import csv
import hashlib
import inspect
import io
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from pydantic import BaseModel, Field

from yijing.types import QueryBool
from yijing_api.problems import problem_responses


class TableFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"
MEDIA_TYPES = {TableFormat.CSV: CSV_TYPE, TableFormat.XLSX: XLSX_TYPE}
OCTET_STREAM = "application/octet-stream"


def file_content(*media_types: str) -> dict[str, Any]:
    """The ``content`` of a response that is a file of one of ``media_types``. Each is listed as bytes, and
    so is ``application/octet-stream`` (what :func:`file_media_type` labels it when the client asks for that),
    after the binary types and before any text type: generators read the first type they know, and only
    octet-stream is read as bytes by all of them (openapi-python-client reads ``text/*`` as text)."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    ordered = sorted(media_types, key=lambda media_type: media_type.startswith("text/"))
    textual = [media_type for media_type in ordered if media_type.startswith("text/")]
    return {
        **{media_type: binary for media_type in ordered if media_type not in textual},
        OCTET_STREAM: binary,
        **{media_type: binary for media_type in textual},
    }


def file_media_type(request: Request, media_type: str) -> str:
    """``media_type``, or ``application/octet-stream`` when the client asks for that and for no range that
    holds the real type (``image/png``, ``image/*``, ``*/*``)."""
    ranges = {part.split(";")[0].strip() for part in request.headers.get("accept", "").split(",")}
    kind = media_type.split(";")[0]
    if OCTET_STREAM in ranges and not ranges & {kind, f"{kind.split('/')[0]}/*", "*/*"}:
        return OCTET_STREAM
    return media_type


class TableExport(BaseModel):
    """How a table's rows are written as a file: taken by each ``…/export`` operation as ``ExportParams``."""

    format: TableFormat | None = Field(
        default=None, description="csv or xlsx; omitted: XLSX when the `Accept` header names it, else CSV"
    )
    bom: QueryBool = Field(
        default=True,
        description="CSV only: start with a UTF-8 byte order mark, which Excel needs to read the file as "
        "UTF-8 (without it, Excel on Chinese Windows reads GBK and garbles the Chinese text). `false` for "
        "programs that do not expect one",
    )

    def chosen(self, request: Request) -> TableFormat:
        if self.format is not None:
            return self.format
        return TableFormat.XLSX if XLSX_TYPE in request.headers.get("accept", "") else TableFormat.CSV


ExportParams = Annotated[TableExport, Query()]
_NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: the `If-None-Match` ETag is still current"}
}
EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The rows as a CSV or XLSX attachment",
        "content": file_content(XLSX_TYPE, "text/csv"),
    },
    **_NOT_MODIFIED,
}


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


def _sheet_text(text: str) -> str:
    """Text for a sheet cell: neutralised as in CSV, and the control characters XML cannot hold (a record may
    carry them: the API stores what it was sent) shown as U+FFFD instead of failing the whole file."""
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", _neutralised(text))


def _xlsx_cell(sheet: WriteOnlyWorksheet, value: Any) -> Any:
    """A value as a typed cell: booleans, numbers, dates and date-times as such, anything else as text."""
    if value is None or isinstance(value, bool | int | float | Decimal):
        return value
    if isinstance(value, str):
        day = _calendar_day(value)
        if day is None:
            return _sheet_text(value)
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
    return _sheet_text(str(value))  # an id or a code: its text, as in the JSON


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


def _tagged(request: Request, document: bytes, variant: str) -> tuple[dict[str, str], bool]:
    """The caching headers of an answer whose figures are ``document``, and whether the client's copy is
    current. The same figures give the same tag in each variant, each variant its own tag."""
    etag = f'"{variant}-{hashlib.sha256(document).hexdigest()[:32]}"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    return headers, is_current(request, etag)


def is_current(request: Request, etag: str) -> bool:
    """Whether the client's copy (``If-None-Match``) is the one ``etag`` names."""
    return etag in {tag.strip() for tag in request.headers.get("if-none-match", "").split(",")}


def table_file(
    request: Request,
    rows: Sequence[dict[str, Any]],
    name: str,
    export: TableExport,
    *,
    headers: dict[str, str] | None = None,
) -> Response:
    """``rows`` as a CSV (with a byte order mark when asked) or XLSX attachment named ``name``."""
    chosen = export.chosen(request)
    body = _csv(rows, bom=export.bom) if chosen is TableFormat.CSV else _xlsx(rows, name)
    return Response(
        body,
        media_type=file_media_type(request, MEDIA_TYPES[chosen]),
        headers=(headers or {})
        | {"Content-Disposition": f'attachment; filename="{name}.{chosen.value}"', "Vary": "Accept"},
    )


@dataclass(frozen=True)
class Table:
    """A table answer: the JSON document, its rows for a file, and the file's name (without extension)."""

    answer: BaseModel
    rows: Sequence[dict[str, Any]]
    name: str


def table_routes(
    router: APIRouter,
    path: str,
    *,
    operation_id: str,
    summary: str,
    response_model: type[BaseModel],
    problems: Sequence[int],
    description: str | None = None,
) -> Callable[[Callable[..., Awaitable[Table]]], Callable[..., Awaitable[Table]]]:
    """Register a function computing a :class:`Table` (its parameters are the operation's, as in any route) as
    two GET operations: ``path`` answering the JSON document, and ``path``/export answering its rows as CSV or
    XLSX. Both carry an ETag of the figures and answer 304 while the client's copy is current."""

    def register(compute: Callable[..., Awaitable[Table]]) -> Callable[..., Awaitable[Table]]:
        own = [
            parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY)
            for parameter in inspect.signature(compute, eval_str=True).parameters.values()
        ]
        request_parameter = inspect.Parameter(
            "table_request", inspect.Parameter.KEYWORD_ONLY, annotation=Request
        )
        export_parameter = inspect.Parameter(
            "table_export", inspect.Parameter.KEYWORD_ONLY, annotation=ExportParams
        )

        async def as_json(table_request: Request, **parameters: Any) -> Response:
            table = await compute(**parameters)
            document = table.answer.model_dump_json().encode()
            headers, current = _tagged(table_request, document, "json")
            if current:
                return Response(status_code=304, headers=headers)
            return Response(document, media_type="application/json", headers=headers)

        async def as_file(table_request: Request, table_export: TableExport, **parameters: Any) -> Response:
            table = await compute(**parameters)
            # CSV with and without its BOM are different bytes, so different tags.
            chosen = table_export.chosen(table_request)
            variant = "csv-bom" if chosen is TableFormat.CSV and table_export.bom else chosen.value
            headers, current = _tagged(table_request, table.answer.model_dump_json().encode(), variant)
            headers["Vary"] = "Accept"  # the format, and the media type's label, may follow it
            if current:
                return Response(status_code=304, headers=headers)
            return table_file(table_request, table.rows, table.name, table_export, headers=headers)

        as_json.__signature__ = inspect.Signature([request_parameter, *own])  # type: ignore[attr-defined]
        as_file.__signature__ = inspect.Signature([request_parameter, export_parameter, *own])  # type: ignore[attr-defined]
        router.get(
            path,
            operation_id=operation_id,
            summary=summary,
            description=description,
            response_model=response_model,
            responses={**_NOT_MODIFIED, **problem_responses(*problems)},
        )(as_json)
        router.get(
            f"{path}/export",
            operation_id=f"{operation_id}_export",
            summary=f"{summary} — as a CSV or XLSX file",
            description=description,
            response_class=Response,
            responses={**EXPORT_RESPONSES, **problem_responses(*problems)},
        )(as_file)
        return compute

    return register
