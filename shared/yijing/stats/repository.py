from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Date, cast, func, select
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
