"""Keeping the daily figures: recomputing chosen days of one station when its records change (queued
through the outbox by the write), and a full check that recomputes every day of every station, replaces the
figures that drifted and marks every day from a station's first record to today as computed."""

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
from yijing.ids import utcnow, uuid7_sql
from yijing.jobs.registry import JobContext, JobPayload, JsonDict
from yijing.org import repository as org_repository
from yijing.stats.sources import SOURCES, RollupSource

# What tells one figure from another, and a figure's columns.
_KEY = "station_id, site_id, day, metric, dimension"
_COLUMNS = f"{_KEY}, value"
# The order of the figures' unique index: figures written in it (with ids increasing in it) keep both of
# their indexes' pages in cache, a third faster for the millions a first run writes.
_FIGURE_ORDER = "station_id, metric, day, site_id, dimension"
_NEW_ID = uuid7_sql(f"row_number() OVER (ORDER BY {_FIGURE_ORDER})")


def _figures(source: RollupSource) -> str:
    """The source's figures: its amounts added up (a sum of zero is no figure)."""
    return (
        f"SELECT {_KEY}, sum(amount) AS value FROM ({source.amounts}) amounts "
        f"GROUP BY {_KEY} HAVING sum(amount) > 0"
    )


async def _station_today(session: AsyncSession, station_id: uuid.UUID) -> date:
    statement = text("SELECT (now() AT TIME ZONE timezone)::date FROM stations WHERE id = :station")
    today: date = (await session.execute(statement, {"station": station_id})).scalar_one()
    return today


async def _lock(session: AsyncSession, source: RollupSource, station_ids: list[uuid.UUID]) -> None:
    """One writer at a time per station and source, until the transaction ends: two recounts of the same
    day one after the other, never interleaved (in id order, so that no two lockers wait on each other;
    all of them in one statement)."""
    await session.execute(
        text(
            "SELECT pg_advisory_xact_lock(hashtextextended('rollup:' || :source || ':' || station_id, 0)) "
            "FROM unnest(CAST(:stations AS uuid[])) WITH ORDINALITY AS locked (station_id, place) "
            "ORDER BY place"
        ),
        {"source": source.name, "stations": sorted(station_ids)},
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
            f"SELECT {_NEW_ID}, {_COLUMNS}, :now FROM ({_figures(source)}) figures"
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


async def _changed_figures(session: AsyncSession, source: RollupSource, station_ids: list[uuid.UUID]) -> str:
    """A temporary table (dropped at commit) of the stations' figures that differ from the stored ones:
    each with its value as counted now (NULL when it is no figure any more) and whether one is stored;
    found in one pass, the records' amounts and the stored figures added up in the same grouping. Its
    name (one per source: the demo checks every source in one transaction)."""
    changed = f"changed_{source.name}"
    await session.execute(
        text(
            f"CREATE TEMPORARY TABLE {changed} ON COMMIT DROP AS "
            # The figure as _figures makes it (none for a sum of zero), against the stored one.
            f"SELECT {_KEY}, CASE WHEN sum(amount) > 0 THEN sum(amount) END AS value, "
            "count(stored_value) > 0 AS stored FROM ("
            f"  SELECT {_KEY}, amount, CAST(NULL AS bigint) AS stored_value FROM ({source.amounts}) amounts"
            f"  UNION ALL SELECT {_KEY}, NULL, value FROM daily_rollups"
            "   WHERE station_id = ANY(:stations) AND metric = ANY(:metrics)"
            f") figures GROUP BY {_KEY} "
            "HAVING CASE WHEN sum(amount) > 0 THEN sum(amount) END IS DISTINCT FROM max(stored_value)"
        ),
        {"stations": station_ids, "days": None, "metrics": list(source.metrics)},
    )
    return changed


async def _replace_figures(
    session: AsyncSession, source: RollupSource, changed: str, now: datetime
) -> tuple[int, int]:
    """Replace the stored figures by the changed ones (dropping those that are no figure any more) and
    mark their days computed again; the number of days and of figures written."""
    await session.execute(
        text(
            f"DELETE FROM daily_rollups r USING {changed} c WHERE c.stored AND r.station_id = c.station_id "
            "AND r.day = c.day AND r.metric = c.metric AND r.dimension = c.dimension "
            "AND r.site_id IS NOT DISTINCT FROM c.site_id"
        )
    )
    written = await session.execute(
        text(
            f"INSERT INTO daily_rollups (id, {_COLUMNS}, computed_at) "
            f"SELECT {_NEW_ID}, {_COLUMNS}, :now FROM {changed} WHERE value IS NOT NULL "
            f"ORDER BY {_FIGURE_ORDER}"
        ),
        {"now": now},
    )
    repaired = await session.execute(
        text(
            "INSERT INTO rollup_days (station_id, source, day, computed_at) "
            f"SELECT DISTINCT station_id, :source, day, CAST(:now AS timestamptz) FROM {changed} "
            "ON CONFLICT (station_id, source, day) DO UPDATE SET computed_at = excluded.computed_at"
        ),
        {"source": source.name, "now": now},
    )
    return int(repaired.rowcount), int(written.rowcount)  # type: ignore[attr-defined]


async def check(
    session: AsyncSession, source: RollupSource, station_ids: list[uuid.UUID], now: datetime
) -> CheckOutcome:
    """Recompute every figure of the stations from the source; replace the figures that differ from the
    stored ones (a first run: every figure), mark their days computed again, and mark computed every day
    from each station's first record to its today. Figures that match keep their computation time."""
    await _lock(session, source, station_ids)
    if source.snapshot:
        taken = 0
        for station_id in station_ids:
            taken += await recompute_days(session, source, station_id, [], now)
        return CheckOutcome(len(station_ids), taken, len(station_ids))
    # For the rest of the transaction (the check's own, in the worker): the comparison adds up every figure
    # of the source in one hash table (some 450 MB for 2,000,000 incidents). Under the default work_mem
    # (4 MB, twice that for a hash) the planner sorts instead, on disk, twice as slow; 256 MB, and four
    # times that for a hash, keep the hash in memory. Compiling these long statements (JIT) costs a second
    # or more, more than it saves.
    await session.execute(
        text(
            "SELECT set_config('work_mem', '256MB', true), set_config('hash_mem_multiplier', '4', true), "
            "set_config('jit', 'off', true)"
        )
    )
    changed = await _changed_figures(session, source, station_ids)
    repaired, written = await _replace_figures(session, source, changed, now)
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
        {"stations": station_ids, "source": source.name, "now": now},
    )
    return CheckOutcome(repaired, written, int(marked.rowcount))  # type: ignore[attr-defined]


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
