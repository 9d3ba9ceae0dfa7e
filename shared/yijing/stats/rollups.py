"""Keeping the daily figures: recomputing chosen days of one station when its records change (queued
through the outbox by the write), and a full check that recomputes every day of every station, replaces the
days whose figures drifted and marks every day from a station's first record to today as computed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from yijing.access import StationScope
from yijing.db import session_scope
from yijing.ids import utcnow
from yijing.jobs.registry import JobContext, JobPayload, JsonDict
from yijing.org import repository as org_repository
from yijing.stats.sources import SOURCES, RollupSource

_COLUMNS = "station_id, site_id, day, metric, dimension, value"
# A site-less figure joins on this instead of NULL (a full join needs an equality it can hash).
_NO_SITE = "'00000000-0000-0000-0000-000000000000'::uuid"


async def _station_today(session: AsyncSession, station_id: uuid.UUID) -> date:
    statement = text("SELECT (now() AT TIME ZONE timezone)::date FROM stations WHERE id = :station")
    today: date = (await session.execute(statement, {"station": station_id})).scalar_one()
    return today


async def _lock(session: AsyncSession, source: RollupSource, station_ids: list[uuid.UUID]) -> None:
    """One writer at a time per station and source, until the transaction ends: two recounts of the same
    day one after the other, never interleaved (in id order, so that no two lockers wait on each other)."""
    for station_id in sorted(station_ids):
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"rollup:{source.name}:{station_id}"},
        )


async def recompute_days(
    session: AsyncSession, source: RollupSource, station_id: uuid.UUID, days: list[date], now: datetime
) -> int:
    """Replace the station's figures of ``days`` from the source and mark those days computed; the number
    of figures written. A snapshot source is only ever taken for today."""
    await _lock(session, source, [station_id])
    if source.snapshot:
        days = [await _station_today(session, station_id)]
    parameters: dict[str, Any] = {
        "stations": [station_id],
        "days": days,
        "metrics": list(source.metrics),
        "now": now,
        "source": source.name,
        "station": station_id,
    }
    await session.execute(
        text(
            "DELETE FROM daily_rollups WHERE station_id = :station AND metric = ANY(:metrics) "
            "AND day = ANY(CAST(:days AS date[]))"
        ),
        parameters,
    )
    written = await session.execute(
        text(
            f"INSERT INTO daily_rollups (id, {_COLUMNS}, computed_at) "
            f"SELECT gen_random_uuid(), {_COLUMNS}, :now FROM ({source.query}) figures"
        ),
        parameters,
    )
    await session.execute(
        text(
            "INSERT INTO rollup_days (station_id, source, day, computed_at) "
            "SELECT :station, :source, day, :now FROM unnest(CAST(:days AS date[])) AS day "
            "ON CONFLICT (station_id, source, day) DO UPDATE SET computed_at = excluded.computed_at"
        ),
        parameters,
    )
    return int(written.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class CheckOutcome:
    days_repaired: int
    figures_written: int
    days_marked: int


async def check(
    session: AsyncSession, source: RollupSource, station_ids: list[uuid.UUID], now: datetime
) -> CheckOutcome:
    """Recompute every day of the stations from the source; replace the days whose figures differ from the
    stored ones (a first run: every day), and mark computed every day from each station's first record to
    its today. Figures that match keep their computation time."""
    await _lock(session, source, station_ids)
    if source.snapshot:
        taken = 0
        for station_id in station_ids:
            taken += await recompute_days(session, source, station_id, [], now)
        return CheckOutcome(len(station_ids), taken, len(station_ids))
    parameters: dict[str, Any] = {
        "stations": station_ids,
        "days": None,
        "metrics": list(source.metrics),
        "now": now,
        "source": source.name,
    }
    # Named per source: the demo checks every source in one transaction.
    fresh, drifted = f"fresh_{source.name}", f"drifted_{source.name}"
    await session.execute(
        text(f"CREATE TEMPORARY TABLE {fresh} ON COMMIT DROP AS SELECT * FROM ({source.query}) q"),
        parameters,
    )
    await session.execute(
        text(
            f"CREATE TEMPORARY TABLE {drifted} ON COMMIT DROP AS "
            "SELECT DISTINCT coalesce(f.station_id, c.station_id) AS station_id, "
            "coalesce(f.day, c.day) AS day "
            f"FROM {fresh} f FULL JOIN ("
            f"  SELECT {_COLUMNS} FROM daily_rollups "
            "  WHERE station_id = ANY(:stations) AND metric = ANY(:metrics)"
            ") c ON f.station_id = c.station_id AND f.day = c.day AND f.metric = c.metric "
            f"AND f.dimension = c.dimension "
            f"AND coalesce(f.site_id, {_NO_SITE}) = coalesce(c.site_id, {_NO_SITE}) "
            "WHERE f.value IS DISTINCT FROM c.value"
        ),
        parameters,
    )
    await session.execute(
        text(
            f"DELETE FROM daily_rollups r USING {drifted} d WHERE r.station_id = d.station_id "
            "AND r.day = d.day AND r.metric = ANY(:metrics)"
        ),
        parameters,
    )
    written = await session.execute(
        text(
            f"INSERT INTO daily_rollups (id, {_COLUMNS}, computed_at) "
            f"SELECT gen_random_uuid(), {', '.join('f.' + name for name in _COLUMNS.split(', '))}, :now "
            f"FROM {fresh} f JOIN {drifted} d ON d.station_id = f.station_id AND d.day = f.day"
        ),
        parameters,
    )
    repaired = await session.execute(
        text(
            "INSERT INTO rollup_days (station_id, source, day, computed_at) "
            f"SELECT station_id, :source, day, :now FROM {drifted} "
            "ON CONFLICT (station_id, source, day) DO UPDATE SET computed_at = excluded.computed_at"
        ),
        parameters,
    )
    marked = await session.execute(
        text(
            "INSERT INTO rollup_days (station_id, source, day, computed_at) "
            "SELECT first.station_id, :source, series.day::date, :now "
            f"FROM ({source.first_day}) AS first (station_id, first_day) "
            "JOIN stations s ON s.id = first.station_id "
            "CROSS JOIN LATERAL generate_series(first.first_day, (now() AT TIME ZONE s.timezone)::date, "
            "interval '1 day') AS series (day) "
            "ON CONFLICT (station_id, source, day) DO NOTHING"
        ),
        parameters,
    )
    return CheckOutcome(
        int(repaired.rowcount),  # type: ignore[attr-defined]
        int(written.rowcount),  # type: ignore[attr-defined]
        int(marked.rowcount),  # type: ignore[attr-defined]
    )


# The worker's jobs

# Days one recompute job takes at most (a write that touched more queues several).
MAX_DAYS = 1000


class RecomputePayload(JobPayload):
    source: str = Field(min_length=1, max_length=32)
    station_id: uuid.UUID
    days: list[date] = Field(max_length=MAX_DAYS)


async def recompute_station(context: JobContext, payload: RecomputePayload) -> JsonDict:
    source = SOURCES[payload.source]
    written = await recompute_days(
        context.session, source, payload.station_id, sorted(set(payload.days)), utcnow()
    )
    return {"source": source.name, "days": len(set(payload.days)), "figures": written}


class CheckPayload(JobPayload):
    sources: list[str] | None = Field(default=None, description="Only these sources; by default every one")


async def check_sources(context: JobContext, payload: CheckPayload) -> JsonDict:
    """Every source in its own transaction, so one slow source holds up no other."""
    stations = await org_repository.station_ids(context.session, StationScope.everywhere())
    outcome: JsonDict = {}
    for name in payload.sources or list(SOURCES):
        async with session_scope(context.session_factory) as session:
            result = await check(session, SOURCES[name], stations, utcnow())
        outcome[name] = {
            "days_repaired": result.days_repaired,
            "figures_written": result.figures_written,
            "days_marked": result.days_marked,
        }
    return outcome
