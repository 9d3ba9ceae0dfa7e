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


def uuid7_sql(counter: str) -> str:
    """SQL for a time-ordered UUID (v7) made by PostgreSQL for each row of a statement that ``counter``
    numbers (a distinct integer per row: a staged line, a ``row_number()``): the milliseconds since 1970,
    then random bits drawn once per statement, the last 60 of them counting on by ``counter`` (RFC 9562's
    counter method: unique within the statement, increasing within a millisecond). Random bits drawn for
    every row (``gen_random_uuid()``) cost more than the rest of a bulk insert's own work, and scatter
    the primary key's index."""
    seed = "(SELECT replace(gen_random_uuid()::text, '-', ''))"
    return (
        "(lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') || '7' || "
        f"substr({seed}, 1, 3) || to_hex(x'8000000000000000'::bigint | "
        f"(('x' || substr({seed}, 4, 15))::bit(60)::bigint + {counter})))::uuid"
    )


def utcnow() -> datetime:
    return datetime.now(UTC)


def station_today(timezone: str) -> date:
    """Today's date on a station's calendar (its IANA time zone)."""
    return utcnow().astimezone(ZoneInfo(timezone)).date()
