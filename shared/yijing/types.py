"""Precise request types shared by every schema.

Pydantic's lax mode accepts ``false`` for an integer, ``"1"`` for a boolean and ``0`` for a datetime. Request
models use these annotated types instead, so that the API rejects what its OpenAPI document forbids (the
property-based tests in ``make test`` check exactly that).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator, Field, StringConstraints


def _iso_string_only(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 date-time string with a UTC offset")
    return value


StrictInt = Annotated[int, Field(strict=True)]
StrictBool = Annotated[bool, Field(strict=True)]
# An instant with its offset, given as an ISO 8601 string (never a bare number).
Instant = Annotated[AwareDatetime, BeforeValidator(_iso_string_only)]
# A short single-line name; surrounding whitespace is trimmed.
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
