from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Date, and_, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.stats.models import DailyRollup, RollupDay


def _figures(
    station_ids: Sequence[uuid.UUID],
    metric: str,
    start: date,
    end: date,
    *,
    site_id: uuid.UUID | None = None,
    dimension: str | None = None,
    prefix: str | None = None,
) -> list[ColumnElement[bool]]:
    """The conditions picking a metric's daily figures over [start, end), for a site and a dimension (or
    the dimensions starting with ``prefix``) when given."""
    conditions = [
        col(DailyRollup.station_id).in_(station_ids),
        col(DailyRollup.metric) == metric,
        col(DailyRollup.day) >= start,
        col(DailyRollup.day) < end,
    ]
    if site_id is not None:
        conditions.append(col(DailyRollup.site_id) == site_id)
    if dimension is not None:
        conditions.append(col(DailyRollup.dimension) == dimension)
    if prefix is not None:
        conditions.append(col(DailyRollup.dimension).startswith(prefix))
    return conditions


async def sums(
    session: AsyncSession,
    station_ids: Sequence[uuid.UUID],
    metric: str,
    start: date,
    end: date,
    *,
    site_id: uuid.UUID | None = None,
    prefix: str | None = None,
    by_site: bool = False,
) -> dict[Any, int]:
    """The metric's sums over [start, end), by dimension (or by site), read from the daily figures."""
    key = col(DailyRollup.site_id) if by_site else col(DailyRollup.dimension)
    conditions = _figures(station_ids, metric, start, end, site_id=site_id, prefix=prefix)
    query = select(key, func.sum(col(DailyRollup.value))).where(*conditions)
    rows = await session.execute(query.group_by(key))
    return {name: int(total) for name, total in rows.all()}


# Named spans of days [start, end), e.g. a period and those it is compared with.
Spans = dict[str, tuple[date, date]]


def _within(day: Any, spans: Spans) -> dict[str, ColumnElement[bool]]:
    return {name: and_(day >= start, day < end) for name, (start, end) in spans.items()}


async def sums_over(
    session: AsyncSession,
    station_ids: Sequence[uuid.UUID],
    metric: str,
    spans: Spans,
    *,
    prefixes: Sequence[str],
    site_id: uuid.UUID | None = None,
    by_site: bool = False,
) -> dict[str, dict[Any, int]]:
    """:func:`sums` of the dimensions starting with any of ``prefixes`` for every span at once, in one
    statement (a filtered sum per span): {span name: {dimension (or site): sum}}, a key only where the span
    has figures for it."""
    key = col(DailyRollup.site_id) if by_site else col(DailyRollup.dimension)
    within = _within(col(DailyRollup.day), spans)
    columns = [
        column
        for condition in within.values()
        for column in (func.count().filter(condition), func.sum(col(DailyRollup.value)).filter(condition))
    ]
    conditions = [
        col(DailyRollup.station_id).in_(station_ids),
        col(DailyRollup.metric) == metric,
        or_(*within.values()),
        or_(*(col(DailyRollup.dimension).startswith(prefix) for prefix in prefixes)),
    ]
    if site_id is not None:
        conditions.append(col(DailyRollup.site_id) == site_id)
    rows = await session.execute(select(key, *columns).where(*conditions).group_by(key))
    found: dict[str, dict[Any, int]] = {name: {} for name in spans}
    for name_of_key, *figures in rows.all():
        for index, name in enumerate(spans):
            count, total = figures[2 * index], figures[2 * index + 1]
            if count:
                found[name][name_of_key] = int(total)
    return found


async def coverage_over(
    session: AsyncSession, station_ids: Sequence[uuid.UUID], source: str, spans: Spans
) -> dict[str, tuple[int, datetime | None]]:
    """:func:`coverage` of every span at once, in one statement."""
    within = _within(col(RollupDay.day), spans)
    columns = [
        column
        for condition in within.values()
        for column in (func.count().filter(condition), func.max(col(RollupDay.computed_at)).filter(condition))
    ]
    query = select(*columns).where(
        col(RollupDay.station_id).in_(station_ids), col(RollupDay.source) == source, or_(*within.values())
    )
    row: Sequence[Any] = (await session.execute(query)).one()
    return {name: (int(row[2 * index]), row[2 * index + 1]) for index, name in enumerate(spans)}


async def last_day_sum(
    session: AsyncSession,
    station_ids: Sequence[uuid.UUID],
    metric: str,
    start: date,
    end: date,
    *,
    site_id: uuid.UUID | None = None,
    dimension: str | None = None,
) -> int | None:
    """A snapshot metric's value on the last day of [start, end) it was taken (None: never taken)."""
    conditions = _figures(station_ids, metric, start, end, site_id=site_id, dimension=dimension)
    last = await session.scalar(select(func.max(col(DailyRollup.day))).where(*conditions))
    if last is None:
        return None
    total = await session.scalar(
        select(func.sum(col(DailyRollup.value))).where(*conditions, col(DailyRollup.day) == last)
    )
    return int(total or 0)


async def coverage(
    session: AsyncSession, station_ids: Sequence[uuid.UUID], source: str, start: date, end: date
) -> tuple[int, datetime | None]:
    """How many station-days of [start, end) the source has been computed for, and when last."""
    query = select(func.count(), func.max(col(RollupDay.computed_at))).where(
        col(RollupDay.station_id).in_(station_ids),
        col(RollupDay.source) == source,
        col(RollupDay.day) >= start,
        col(RollupDay.day) < end,
    )
    count, latest = (await session.execute(query)).one()
    return int(count), latest


async def computed_days_by_bucket(
    session: AsyncSession, station_ids: Sequence[uuid.UUID], source: str, start: date, end: date, unit: str
) -> dict[date, int]:
    bucket = cast(func.date_trunc(unit, col(RollupDay.day)), Date)
    query = (
        select(bucket, func.count())
        .where(
            col(RollupDay.station_id).in_(station_ids),
            col(RollupDay.source) == source,
            col(RollupDay.day) >= start,
            col(RollupDay.day) < end,
        )
        .group_by(bucket)
    )
    return {day: int(count) for day, count in (await session.execute(query)).all()}


async def sums_by_bucket(
    session: AsyncSession,
    station_ids: Sequence[uuid.UUID],
    metric: str,
    start: date,
    end: date,
    unit: str,
    *,
    site_id: uuid.UUID | None = None,
    dimension: str | None = None,
    prefix: str | None = None,
) -> dict[date, int]:
    bucket = cast(func.date_trunc(unit, col(DailyRollup.day)), Date)
    conditions = _figures(
        station_ids, metric, start, end, site_id=site_id, dimension=dimension, prefix=prefix
    )
    query = select(bucket, func.sum(col(DailyRollup.value))).where(*conditions)
    return {day: int(total) for day, total in (await session.execute(query.group_by(bucket))).all()}


async def source_coverage(session: AsyncSession, station_ids: Sequence[uuid.UUID]) -> Sequence[Any]:
    """Per source: the first and last day computed, how many station-days, and when last computed."""
    query = (
        select(
            col(RollupDay.source),
            func.min(col(RollupDay.day)),
            func.max(col(RollupDay.day)),
            func.count(),
            func.max(col(RollupDay.computed_at)),
        )
        .where(col(RollupDay.station_id).in_(station_ids))
        .group_by(col(RollupDay.source))
    )
    return (await session.execute(query)).all()
