"""Precise request types shared by every schema.

Pydantic's lax mode accepts ``false`` for an integer, ``"1"`` for a boolean and ``0`` for a datetime. Request
models use these annotated types instead, so that the API rejects what its OpenAPI document forbids (the
property-based tests in ``make test`` check exactly that).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator


def _json_integer_only(value: Any) -> Any:
    # JSON Schema's "integer" admits 7 and 7.0, never true or "7"; pydantic's lax int admits all four.
    if isinstance(value, bool | str | bytes):
        raise ValueError("must be a JSON integer")
    return value


def _iso_string_only(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 date-time string with a UTC offset")
    return value


# Makes an int field accept exactly what JSON Schema's "integer" does. Bounds go before it, so that they
# reach the OpenAPI document as minimum/maximum: Annotated[int, Field(ge=1, le=10), JSON_INTEGER].
JSON_INTEGER = BeforeValidator(_json_integer_only)
# An instant with its offset, given as an ISO 8601 string (never a bare number).
Instant = Annotated[AwareDatetime, BeforeValidator(_iso_string_only)]
