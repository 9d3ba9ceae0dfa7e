"""Public identifiers and instants."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import uuid6

# A capture time this far ahead of the server's clock is a wrong phone clock, not a record from the future.
CLOCK_SKEW = timedelta(minutes=10)
# A record captured offline longer ago than this is a wrong clock (or one for staff to enter).
OFFLINE_AT_MOST = timedelta(days=30)


def new_id() -> uuid.UUID:
    """A time-ordered UUID (v7): unique without coordination and kind to B-tree indexes."""
    return uuid.UUID(bytes=uuid6.uuid7().bytes)


def utcnow() -> datetime:
    return datetime.now(UTC)


def station_today(timezone: str) -> date:
    """Today's date on a station's calendar (its IANA time zone)."""
    return utcnow().astimezone(ZoneInfo(timezone)).date()
