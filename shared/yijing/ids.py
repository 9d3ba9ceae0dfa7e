"""Public identifiers and instants."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import uuid6


def new_id() -> uuid.UUID:
    """A time-ordered UUID (v7): unique without coordination and kind to B-tree indexes."""
    return uuid.UUID(bytes=uuid6.uuid7().bytes)


def utcnow() -> datetime:
    return datetime.now(UTC)


def station_today(timezone: str) -> date:
    """Today's date on a station's calendar (its IANA time zone)."""
    return utcnow().astimezone(ZoneInfo(timezone)).date()
