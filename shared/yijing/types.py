"""Precise request types shared by every schema.

Pydantic's lax mode accepts ``false`` for an integer, ``"1"`` for a boolean and ``0`` for a datetime. Request
models use these annotated types instead, so that the API rejects what its OpenAPI document forbids (the
property-based tests in ``make test`` check exactly that).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, StringConstraints

from yijing.i18n import invalid


def _json_integer_only(value: Any) -> Any:
    # JSON Schema's "integer" admits 7 and 7.0, never true or "7"; pydantic's lax int admits all four.
    if isinstance(value, bool | str | bytes):
        raise invalid("must be a JSON integer", zh="必须是 JSON 整数")
    return value


def _json_number_only(value: Any) -> Any:
    if isinstance(value, bool | str | bytes):
        raise invalid("must be a JSON number", zh="必须是 JSON 数字")
    return value


def _known_time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise invalid(f"unknown IANA time zone {value!r}", zh=f"未知的 IANA 时区“{value}”") from exc
    return value


_ISO_DATE_TIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}")


def _true_or_false_word(value: Any) -> Any:
    # Only the words JSON uses: lax parsing would also take 1, "yes" and "on".
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise invalid("must be true or false", zh="必须是 true 或 false")


def _iso_string_only(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    # Pydantic would also take a number, or a string of digits, as seconds since 1970.
    if not isinstance(value, str) or not _ISO_DATE_TIME.match(value):
        raise invalid(
            "must be an ISO 8601 date-time string with a UTC offset",
            zh="必须是带 UTC 偏移的 ISO 8601 日期时间字符串",
        )
    return value


def _representable_in_utc(value: datetime) -> datetime:
    # PostgreSQL stores an instant in UTC: 0001-01-01T00:00+02:00 is a valid ISO string but no storable time.
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise invalid(
            "must lie between the years 1 and 9999 in UTC", zh="按 UTC 计算必须在公元 1 年至 9999 年之间"
        ) from None
    return value


_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _iso_date_only(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise invalid("must be an ISO 8601 date, YYYY-MM-DD", zh="必须是 ISO 8601 日期，格式为 YYYY-MM-DD")
    return value


# Makes an int field accept exactly what JSON Schema's "integer" does. Bounds go before it, so that they
# reach the OpenAPI document as minimum/maximum: Annotated[int, Field(ge=1, le=10), JSON_INTEGER].
JSON_INTEGER = BeforeValidator(_json_integer_only)
JSON_NUMBER = BeforeValidator(_json_number_only)
# A calendar day as an ISO 8601 string (YYYY-MM-DD); pydantic would also take a number as seconds since 1970.
CalendarDate = Annotated[
    date,
    BeforeValidator(_iso_date_only),
    Field(json_schema_extra={"format": "date"}),
]
# An instant with its offset, given as an ISO 8601 string (never a bare number).
Instant = Annotated[AwareDatetime, BeforeValidator(_iso_string_only), AfterValidator(_representable_in_utc)]
# A JSON true or false, never 1 or "yes".
StrictBool = Annotated[bool, Field(strict=True)]
# A query-string or form boolean: the words true or false, never 1 or "yes".
QueryBool = Annotated[bool, BeforeValidator(_true_or_false_word)]
# An IANA time zone name such as Asia/Shanghai.
TimeZoneName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        examples=["Asia/Shanghai"],
        json_schema_extra={"format": "iana-time-zone"},
    ),
    AfterValidator(_known_time_zone),
]
# Text with at least one character that is not white space, and no NUL. The class is written out because
# Python's \s also matches \x1c-\x1f and \x85, ECMAScript's (JSON Schema's) \ufeff: listing them keeps
# both readings of the pattern the same.
NOT_BLANK = r"^[^\x00]*[^\s\x00\x1c-\x1f\x85\ufeff][^\x00]*$"
# A short name: 1 to 100 characters, at least one of them not white space, none of them NUL.
Name = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=NOT_BLANK)]
# Why something was done, kept in a history: 1 to 500 characters, not blank.
Reason = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=NOT_BLANK)]
# A street address or a place description.
Address = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NOT_BLANK)]
