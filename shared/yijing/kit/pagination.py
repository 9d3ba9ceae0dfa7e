"""Keyset pagination: ``?limit=`` (default 50, at most 200) and an opaque ``?cursor=``; a page carries its
``items`` and the ``next_cursor`` (null on the last page). Ids are time-ordered UUIDs, so ordering by id is
ordering by creation and needs no second key."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable, Sequence
from typing import Annotated, Generic, Protocol, TypeVar

from pydantic import BaseModel, BeforeValidator, Field

from yijing.errors import InvalidInput
from yijing.i18n import invalid

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
# A cursor is a UUID's 16 bytes in unpadded URL-safe base64: every string of this shape decodes to one.
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{21}[AQgw]$"

T = TypeVar("T")


def _whole_number(value: object) -> object:
    # Digits only: lax parsing would also take "2.0".
    if isinstance(value, str) and not value.lstrip("-").isdigit():
        raise invalid("must be a whole number", zh="必须是整数")
    return value


class PageParams(BaseModel):
    """Which page of a list: taken from the query string (``Annotated[PageParams, Query()]``) beside the
    list's own filters."""

    limit: Annotated[
        int, Field(ge=1, le=MAX_LIMIT, description="Items per page"), BeforeValidator(_whole_number)
    ] = DEFAULT_LIMIT
    cursor: Annotated[
        str | None, Field(pattern=CURSOR_PATTERN, description="The `next_cursor` of the previous page")
    ] = None


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


def encode_cursor(last_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(last_id.bytes).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> uuid.UUID | None:
    if cursor is None:
        return None
    try:
        return uuid.UUID(bytes=base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput(
            "the cursor is not one this API issued",
            zh="该游标不是本接口签发的",
            errors=[
                {
                    "field": "query.cursor",
                    "message": "unknown cursor",
                    "message_zh": "无法识别的游标",
                    "code": "cursor_invalid",
                }
            ],
        ) from exc


class HasId(Protocol):
    @property
    def id(self) -> uuid.UUID: ...


R = TypeVar("R", bound=HasId)


def page_of(rows: Sequence[R], limit: int, read: Callable[[R], T]) -> Page[T]:
    """A page from rows fetched with ``limit + 1`` (the extra row only says there is a next page)."""
    shown = rows[:limit]
    cursor = encode_cursor(shown[-1].id) if len(rows) > limit else None
    return Page(items=[read(row) for row in shown], next_cursor=cursor)
