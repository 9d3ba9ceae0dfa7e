from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Date, Select, and_, cast, func, or_, select, text, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.stats.models import DailyRollup, RollupDay

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


@dataclass
class Headline:
    """What :func:`headlines` reads for one metric: its source's computed station-days in each span, and
    per span its sum (a count or amount) and its total on the span's last day with figures (a snapshot)."""

    days: dict[str, int]
    sums: dict[str, int]
    last: dict[str, int | None]


def _span_filters(day: str, spans: Spans) -> list[tuple[str, str]]:
    """(suffix, SQL condition on ``day``) of each span, its bounds bound as ``:start_N`` and ``:end_N``."""
    return [(str(n), f"{day} >= :start_{n} AND {day} < :end_{n}") for n in range(len(spans))]


def _span_bounds(spans: Spans) -> dict[str, date]:
    bounds = {}
    for n, (start, end) in enumerate(spans.values()):
        bounds[f"start_{n}"], bounds[f"end_{n}"] = start, end
    return bounds


async def headlines(
    session: AsyncSession,
    station_ids: Sequence[uuid.UUID],
    sources: dict[str, str],
    spans: Spans,
    *,
    covered: Sequence[str],
    prefixes: dict[str, str],
) -> dict[str, Headline]:
    """Every metric of ``sources`` ({metric: its source}) over every span in one statement: the metric's
    daily totals (of its dimensions starting with its entry in ``prefixes``, if it has one) summed per span
    and taken on each span's last day, beside its source's computed station-days in each of the ``covered``
    spans."""
    filters = _span_filters("day", spans)
    numbered = dict(zip(spans, filters, strict=True))
    days = ", ".join(
        f"count(*) FILTER (WHERE {numbered[name][1]}) AS days_{numbered[name][0]}" for name in covered
    )
    values = ", ".join(
        f"sum(total) FILTER (WHERE {condition}) AS sum_{n}, "
        f"(array_agg(total ORDER BY day DESC) FILTER (WHERE {condition}))[1] AS last_{n}"
        for n, condition in filters
    )
    first = min(start for start, _ in spans.values())
    end = max(stop for _, stop in spans.values())
    statement = f"""
        WITH headline (metric, source, prefix) AS (
            SELECT * FROM unnest(
                CAST(:metrics AS text[]), CAST(:sources AS text[]), CAST(:prefixes AS text[])
            )
        ), coverage AS (
            SELECT source, {days} FROM rollup_days
            WHERE station_id = ANY(:stations) AND source = ANY(:sources) AND day >= :first AND day < :end
            GROUP BY source
        ), daily AS (
            SELECT metric, day, sum(value) AS total FROM daily_rollups JOIN headline USING (metric)
            WHERE station_id = ANY(:stations) AND metric = ANY(:metrics) AND day < :end
              AND (prefix IS NULL OR starts_with(dimension, prefix))
            GROUP BY metric, day
        ), totals AS (
            SELECT metric, {values} FROM daily GROUP BY metric
        )
        SELECT * FROM headline LEFT JOIN coverage USING (source) LEFT JOIN totals USING (metric)
    """  # noqa: S608 - spans numbered, values bound
    rows = await session.execute(
        text(statement),
        {
            "stations": list(station_ids),
            "metrics": list(sources),
            "sources": list(sources.values()),
            "prefixes": [prefixes.get(metric) for metric in sources],
            "first": first,
            "end": end,
            **_span_bounds(spans),
        },
    )
    found = {}
    for row in rows.mappings():
        found[row["metric"]] = Headline(
            days={name: int(row[f"days_{numbered[name][0]}"] or 0) for name in covered},
            sums={name: int(row[f"sum_{n}"] or 0) for name, (n, _) in numbered.items()},
            last={
                name: None if row[f"last_{n}"] is None else int(row[f"last_{n}"])
                for name, (n, _) in numbered.items()
            },
        )
    return found


async def buckets(
    session: AsyncSession,
    station_ids: Sequence[uuid.UUID],
    source: str,
    metric: str,
    start: date,
    end: date,
    unit: str,
    *,
    site_id: uuid.UUID | None = None,
    dimension: str | None = None,
    prefix: str | None = None,
) -> dict[date, tuple[int, int, int | None]]:
    """Per bucket (``day``, ``week`` or ``month``, by its first day) of [start, end), in one statement: how
    many station-days the source has computed, the metric's sum, and its total on the bucket's last day with
    figures (a snapshot)."""
    conditions = ["station_id = ANY(:stations)", "metric = :metric", "day >= :start", "day < :end"]
    if site_id is not None:
        conditions.append("site_id = :site")
    if dimension is not None:
        conditions.append("dimension = :dimension")
    if prefix is not None:
        conditions.append("starts_with(dimension, :prefix)")
    statement = f"""
        WITH computed AS (
            SELECT CAST(date_trunc(:unit, day) AS date) AS bucket, count(*) AS days FROM rollup_days
            WHERE station_id = ANY(:stations) AND source = :source AND day >= :start AND day < :end
            GROUP BY bucket
        ), daily AS (
            SELECT day, sum(value) AS total FROM daily_rollups WHERE {" AND ".join(conditions)} GROUP BY day
        ), valued AS (
            SELECT CAST(date_trunc(:unit, day) AS date) AS bucket, sum(total) AS total,
                   (array_agg(total ORDER BY day DESC))[1] AS last
            FROM daily GROUP BY bucket
        )
        SELECT bucket, days, total, last FROM computed FULL JOIN valued USING (bucket)
    """  # noqa: S608 - fixed conditions, values bound
    rows = await session.execute(
        text(statement),
        {
            "stations": list(station_ids),
            "source": source,
            "metric": metric,
            "start": start,
            "end": end,
            "unit": unit,
            "site": site_id,
            "dimension": dimension,
            "prefix": prefix,
        },
    )
    return {
        bucket: (int(days or 0), int(total or 0), None if last is None else int(last))
        for bucket, days, total, last in rows.all()
    }


async def source_coverage(session: AsyncSession, station_ids: Sequence[uuid.UUID]) -> Sequence[Any]:
    """Per source and month: the first and last day computed, how many station-days, and when last
    computed (every month with any: a source's whole history is its months together)."""
    month = cast(func.date_trunc("month", col(RollupDay.day)), Date).label("month")
    query = (
        select(
            col(RollupDay.source),
            month,
            func.min(col(RollupDay.day)).label("first_day"),
            func.max(col(RollupDay.day)).label("last_day"),
            func.count().label("days"),
            func.max(col(RollupDay.computed_at)).label("computed_at"),
        )
        .where(col(RollupDay.station_id).in_(station_ids))
        .group_by(col(RollupDay.source), month)
    )
    return (await session.execute(query)).all()
