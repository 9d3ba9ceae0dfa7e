"""Query, header and response helpers shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Query, Response
from pydantic import BeforeValidator

from yijing.pagination import CURSOR_PATTERN, MAX_LIMIT

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page")]
Cursor = Annotated[
    str | None,
    Query(pattern=CURSOR_PATTERN, description="The `next_cursor` of the previous page"),
]


def _query_boolean(value: object) -> object:
    # Only the words JSON uses: lax parsing would also take 1, "yes" and "on".
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise ValueError("must be true or false")


QueryBool = Annotated[bool, BeforeValidator(_query_boolean)]


def version_of(if_match: str | None) -> int | None:
    """The version an ``If-Match`` header names (its pattern has already been checked)."""
    if if_match is None:
        return None
    return int(if_match.removeprefix("W/").strip('"'))


IfMatch = Annotated[
    str | None,
    Header(
        pattern=r'^(W/)?"?[0-9]{1,9}"?$',
        description='The ETag you read (e.g. "3", quotes optional): a change is refused with 412 '
        "if the record moved on since",
    ),
]


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'
