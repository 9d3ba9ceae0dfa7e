"""Query, header and response helpers shared by the routers."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Annotated, Any, Literal, get_args, get_origin
from urllib.parse import quote

from fastapi import Header, Query, Request, Response, UploadFile
from pydantic import BaseModel

from yijing.errors import InvalidInput
from yijing.kit.imports import SheetImport
from yijing.kit.pagination import PageParams
from yijing.uploads import FileFormat
from yijing_api.tables import CSV_TYPE, XLSX_TYPE, file_content, file_media_type, is_current

# Which page of a list; a list's filters are its own model, taken the same way: Annotated[XFilters, Query()].
PageQuery = Annotated[PageParams, Query()]

# An import's template, as XLSX or CSV.
TEMPLATE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"description": "The template file", "content": file_content(XLSX_TYPE, "text/csv")}
}
_FILE_TYPES = {FileFormat.XLSX: XLSX_TYPE, FileFormat.CSV: CSV_TYPE}


def template_response(
    request: Request, sheet: SheetImport[Any], file_format: FileFormat, name: str
) -> Response:
    """The import's header row (and, in XLSX, its columns explained) as the file ``name``.csv or .xlsx."""
    return Response(
        sheet.template(file_format),
        media_type=file_media_type(request, _FILE_TYPES[file_format]),
        headers={"Content-Disposition": f'attachment; filename="{name}.{file_format}"'},
    )


Reveal = Annotated[
    Literal["personal_data"] | None,
    Query(
        description="`personal_data`: return phone and ID-card numbers in full, for roles whose work needs "
        "them (your own record: always). Every such read is written to the audit log."
    ),
]


def version_of(if_match: str | None) -> int | None:
    """The version an ``If-Match`` header names (its pattern has already been checked)."""
    if if_match is None or if_match == "*":  # "*": any version (RFC 9110)
        return None
    return int(if_match.removeprefix("W/").strip('"'))


IfMatch = Annotated[
    str | None,
    Header(
        pattern=r'^((W/)?"?[0-9]{1,9}"?|\*)$',
        description='The ETag you read (e.g. "3", quotes optional): a change is refused with 412 '
        "if the record moved on since. `*` matches any version.",
    ),
]


def upload_name(file: UploadFile, default: str) -> str:
    """An uploaded file's name as it may be stored and shown: its last path segment, without control
    characters (a multipart name may carry NUL, which PostgreSQL text cannot), at most 255 characters with
    the extension kept."""
    name = re.split(r"[/\\]", file.filename or "")[-1]
    name = "".join(char for char in name if not unicodedata.category(char).startswith("C")).strip()
    return name[-255:] or default


# A stored photo's download (hazard attachments, patrol log photos) and how it is documented.
PHOTO_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"description": "The photo", "content": file_content("image/*")},
    304: {"description": "Not modified: the `If-None-Match` ETag (the photo's SHA-256) is still current"},
}


def photo_response(
    request: Request, content: bytes, *, media_type: str, file_name: str, sha256: str
) -> Response:
    """A stored photo, shown inline under its name, cached privately, never sniffed as another type; a 304
    when the client's copy is this photo (a photo never changes: its ETag is its SHA-256)."""
    cache = {"ETag": f'"{sha256}"', "Cache-Control": "private, max-age=3600"}
    if is_current(request, cache["ETag"]):
        return Response(status_code=304, headers=cache)
    return Response(
        content,
        media_type=file_media_type(request, media_type),
        headers={
            **cache,
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(file_name)}",
            "X-Content-Type-Options": "nosniff",
        },
    )


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'


def _is_sequence(annotation: object) -> bool:
    return any(
        origin in (list, tuple, set, frozenset) for origin in (get_origin(annotation), annotation)
    ) or any(
        _is_sequence(argument) for argument in get_args(annotation) if get_origin(annotation) is not Annotated
    )


def _query_parameters(route: object) -> Iterator[tuple[str, object]]:
    """The name and type of each query parameter of the route, those of its query models included."""
    for field in getattr(getattr(route, "dependant", None), "query_params", []):
        model = field.field_info.annotation
        if isinstance(model, type) and issubclass(model, BaseModel):
            for name, info in model.model_fields.items():
                yield info.alias or name, info.annotation
        else:
            yield field.alias, model


async def refuse_repeated_parameters(request: Request) -> None:
    """A query parameter that takes one value, given several times, is refused (422) instead of the last
    one silently winning: the client meant something this API does not do."""
    for name, annotation in _query_parameters(request.scope.get("route")):
        if len(request.query_params.getlist(name)) > 1 and not _is_sequence(annotation):
            raise InvalidInput(
                f"the query parameter {name!r} takes one value",
                zh=f"查询参数“{name}”只能取一个值",
                errors=[
                    {
                        "field": f"query.{name}",
                        "message": "given more than once",
                        "message_zh": "不能重复提供",
                        "code": "repeated",
                    }
                ],
            )
