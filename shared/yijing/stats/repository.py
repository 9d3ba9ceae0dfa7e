from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Date, Select, and_, cast, func, or_, select, true
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


@dataclass
class Figures:
    """What one statement reads for a table of statistics over named spans (see :func:`figures_over`)."""

    # Per span: how many station-days of it are computed, and when last.
    coverage: dict[str, tuple[int, datetime | None]]
    # Per span: {dimension (or site): sum}, a key only where the span has figures for it.
    sums: dict[str, dict[Any, int]]
    # Per key the labels select gave: its other columns (label_zh, label_en…), by name.
    labels: dict[Any, dict[str, Any]]


async def figures_over(
    session: AsyncSession,
    station_ids: Sequence[uuid.UUID],
    source: str,
    metric: str,
    spans: Spans,
    *,
    prefixes: Sequence[str],
    site_id: uuid.UUID | None = None,
    by_site: bool = False,
    labels: Select[*tuple[Any, ...]] | None = None,
) -> Figures:
    """A statistics table in one statement, however many spans it compares: the source's coverage of every
    span, the metric's sums of the dimensions starting with any of ``prefixes`` (or by site) for every span
    (a filtered sum per span), and the rows ``labels`` selects (a ``key`` column, matched to the sums' keys,
    and labels)."""
    within = _within(col(DailyRollup.day), spans)
    key: Any = (col(DailyRollup.site_id) if by_site else col(DailyRollup.dimension)).label("key")
    conditions = [
        col(DailyRollup.station_id).in_(station_ids),
        col(DailyRollup.metric) == metric,
        or_(*within.values()),
        or_(*(col(DailyRollup.dimension).startswith(prefix) for prefix in prefixes)),
    ]
    if site_id is not None:
        conditions.append(col(DailyRollup.site_id) == site_id)
    spans_summed = (
        func.sum(col(DailyRollup.value)).filter(condition).label(f"sum_{n}")
        for n, condition in enumerate(within.values())
    )
    sums = select(key, *spans_summed).where(*conditions).group_by(key).cte("sums")
    computed = _within(col(RollupDay.day), spans)
    spans_computed = (
        column
        for n, condition in enumerate(computed.values())
        for column in (
            func.count().filter(condition).label(f"days_{n}"),
            func.max(col(RollupDay.computed_at)).filter(condition).label(f"computed_{n}"),
        )
    )
    coverage = (
        select(*spans_computed)
        .where(
            col(RollupDay.station_id).in_(station_ids),
            col(RollupDay.source) == source,
            or_(*computed.values()),
        )
        .cte("coverage")
    )
    table: Any = sums
    row_key: Any = sums.c.key
    label_columns: list[Any] = []
    if labels is not None:
        labelled = labels.cte("labels")
        table = sums.join(labelled, sums.c.key == labelled.c.key, full=True)
        row_key = func.coalesce(sums.c.key, labelled.c.key)
        label_columns = [column for column in labelled.c if column.name != "key"]
    # The coverage is one row: beside every row of the table, and alone when the table has none.
    query = select(*coverage.c, row_key.label("row_key"), *list(sums.c)[1:], *label_columns).select_from(
        coverage.outerjoin(table, true())
    )
    found = Figures(coverage={}, sums={name: {} for name in spans}, labels={})
    for row in (await session.execute(query)).mappings():
        found.coverage = {name: (int(row[f"days_{n}"]), row[f"computed_{n}"]) for n, name in enumerate(spans)}
        for n, name in enumerate(spans):
            if row[f"sum_{n}"] is not None:
                found.sums[name][row["row_key"]] = int(row[f"sum_{n}"])
        if label_columns and row[label_columns[0].name] is not None:
            found.labels[row["row_key"]] = {column.name: row[column.name] for column in label_columns}
    return found


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
