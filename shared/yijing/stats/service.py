"""Reading the figures: every answer is summed from the daily rollups (never from the raw records), says
which period it covers with the station's offset, and says whether its data is final, provisional or
missing; a missing figure is null, never zero."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from yijing.access import Actor, StationScope
from yijing.errors import InvalidInput
from yijing.ids import utcnow
from yijing.incidents import repository as incidents_repository
from yijing.org import repository as org_repository
from yijing.org.errors import SiteNotFound, StationNotFound
from yijing.org.models import Site
from yijing.stats import periods, repository
from yijing.stats.periods import Period
from yijing.stats.schemas import (
    Change,
    DataStatus,
    IncidentRow,
    IncidentStats,
    Meta,
    MonthStatus,
    Overview,
    OverviewFigure,
    PeriodRead,
    Series,
    SeriesPoint,
    SourceMeta,
)
from yijing.stats.sources import METRIC_SOURCES, SOURCES

# The overview's figures, in order: (metric, Chinese label, English label).
HEADLINES = (
    ("incidents", "警情", "Incident alerts"),
    ("volunteers_active", "在岗义警", "Active volunteers"),
    ("volunteers_joined", "新加入义警", "Volunteers joined"),
    ("hazards_found", "发现隐患", "Hazards found"),
    ("hazards_eliminated", "消除隐患", "Hazards eliminated"),
    ("hazards_closed_not_fixed", "未整改关闭隐患", "Hazards closed without a fix"),
    ("captain_weeks_served", "组长值守周", "Captain weeks served"),
    ("patrols_held", "巡防次数", "Patrols held"),
    ("patrols_missed", "漏巡次数", "Patrols missed"),
    ("patrol_minutes", "巡防时长（分钟）", "Verified patrol minutes"),
    ("checkpoint_visits", "应到巡防点次", "Checkpoint visits planned"),
    ("checkpoints_covered", "实到巡防点次", "Checkpoint visits covered"),
    ("persuasions", "安全劝导", "Safety persuasions"),
    ("outreach", "安全宣传", "Safety outreach"),
    ("disputes_reported", "纠纷上报", "Disputes reported"),
    ("disputes_resolved", "化解纠纷", "Disputes resolved"),
    ("disputes_escalated", "移交纠纷", "Disputes escalated"),
    ("trainings_held", "培训场次", "Trainings held"),
    ("training_attendances", "参训人次", "Training attendances"),
    ("volunteers_trained", "参训义警", "Volunteers trained"),
)


class Reach:
    """The stations a request counts: one station, or every station the caller reaches (county totals),
    and the time zone its calendar is read in."""

    def __init__(self, station_id: uuid.UUID | None, station_ids: list[uuid.UUID], zone: ZoneInfo) -> None:
        self.station_id = station_id
        self.station_ids = station_ids
        self.zone = zone

    def today(self) -> date:
        return utcnow().astimezone(self.zone).date()


async def reach_of(
    session: AsyncSession, actor: Actor, station_id: uuid.UUID | None, default_zone: ZoneInfo
) -> Reach:
    """One statement: the stations within the caller's reach (or the one asked for) and their time zones."""
    zones = await org_repository.station_zones(session, actor.scope, station_id)
    if station_id is not None and not zones:
        raise StationNotFound(f"no station {station_id}", zh=f"未找到派出所 {station_id}")
    if len(zones) == 1:  # one station (asked for, or the caller's own): in its time zone
        [(only, zone)] = zones.items()
        return Reach(only, [only], ZoneInfo(zone))
    return Reach(None, list(zones), default_zone)


async def site_in_reach(session: AsyncSession, reach: Reach, site_id: uuid.UUID | None) -> Site | None:
    if site_id is None:
        return None
    site = await org_repository.get_site(session, site_id, StationScope(frozenset(reach.station_ids)))
    if site is None:
        raise SiteNotFound(f"no site {site_id}", zh=f"未找到站点 {site_id}")
    return site


# Periods (and the year-earlier ones they are compared with) stay within the calendar's arithmetic.
FIRST_YEAR, LAST_YEAR = 1971, 9998


MAX_RANGE_DAYS = 3700


def check_range(period: str | None, first: date | None, last: date | None) -> None:
    """Refuse a query that gives both a period and a date range, half a range, or a range out of bounds."""
    given = [name for name, value in (("from", first), ("to", last)) if value is not None]
    if period is not None and given:
        raise _bad_range("give either period or from/to, not both", zh="period 与 from/to 只能二选一")
    if len(given) == 1:
        raise _bad_range("from and to go together", zh="from 和 to 必须同时提供")
    if first is not None and last is not None and not 0 <= (last - first).days < MAX_RANGE_DAYS:
        raise _bad_range(
            f"to must be on or after from, and the range at most {MAX_RANGE_DAYS} days",
            zh=f"to 不能早于 from，且范围最多 {MAX_RANGE_DAYS} 天",
        )
    if any(day is not None and not FIRST_YEAR <= day.year <= LAST_YEAR for day in (first, last)):
        raise _bad_range(
            f"dates run from {FIRST_YEAR} to {LAST_YEAR}", zh=f"日期须在 {FIRST_YEAR} 年至 {LAST_YEAR} 年之间"
        )


def _bad_range(problem: str, *, zh: str) -> InvalidInput:
    return InvalidInput(
        problem,
        zh=zh,
        errors=[{"field": "query.from", "message": problem, "message_zh": zh, "code": "range"}],
    )


def _bad_period(problem: str, *, zh: str) -> InvalidInput:
    return InvalidInput(
        problem,
        zh=zh,
        errors=[{"field": "query.period", "message": problem, "message_zh": zh, "code": "period"}],
    )


def choose_period(text: str | None, first: date | None, last: date | None, reach: Reach) -> Period:
    """The period asked for; by default the last complete month."""
    try:
        if text is not None:
            period = periods.parse(text)
        elif first is not None and last is not None:
            period = periods.date_range(first, last)
        else:
            period = periods.month(reach.today().replace(day=1) - timedelta(days=1))
    except (ValueError, OverflowError) as exc:  # not a period's name, or beyond the calendar (the year 10000)
        named = text is None or re.fullmatch(periods.PERIOD_PATTERN, text)
        zh = "超出了日历可表示的范围" if named else f"“{text}”不是统计周期（应形如 2023-10、2023-Q4 或 2023）"
        raise _bad_period(str(exc), zh=zh) from exc
    if not FIRST_YEAR <= period.start.year <= period.last.year <= LAST_YEAR:
        raise _bad_period(
            f"periods run from {FIRST_YEAR} to {LAST_YEAR}",
            zh=f"统计周期须在 {FIRST_YEAR} 年至 {LAST_YEAR} 年之间",
        )
    return period


def _period_read(reach: Reach, period: Period, computed: int) -> PeriodRead:
    """The period as answered, with its data status: how many of its station-days were ``computed``."""
    days = period.days * len(reach.station_ids)
    if computed == 0:
        status = DataStatus.MISSING
    elif period.end > reach.today() or computed < days:
        status = DataStatus.PROVISIONAL
    else:
        status = DataStatus.FINAL
    starts_at, ends_at = period.bounds(reach.zone)
    return PeriodRead(
        label=period.label,
        kind=period.kind,
        first_day=period.start,
        last_day=period.last,
        starts_at=starts_at,
        ends_at=ends_at,
        data_status=status,
        days_computed=computed,
        days=days,
    )


def percent_change(current: int, base: int) -> float | None:
    """(current − base) / base × 100 to one decimal, halves rounded away from zero; None for a base of 0."""
    if base == 0:
        return None
    exact = Decimal(current - base) * 100 / Decimal(base)
    return float(exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def compare(current: int | None, base: int | None) -> Change:
    if current is None or base is None:
        return Change(base=base, change=None, percent=None)
    return Change(base=base, change=current - base, percent=percent_change(current, base))


def _figure(values: dict[Any, int], key: Any, status: PeriodRead) -> int | None:
    return None if status.data_status is DataStatus.MISSING else values.get(key, 0)


# Incidents

CURRENT = "current"  # the span of the period asked for, beside those it is compared with


async def incidents(
    session: AsyncSession,
    reach: Reach,
    period: Period,
    *,
    by: str,
    site: Site | None,
    compare_with: set[str],
) -> IncidentStats:
    """Counts by class, tag or site for the period, each compared year on year and with the period before.
    One statement reads what every compared period needs: its coverage, its counts (a filtered sum per
    period) and the rows' labels (:func:`repository.figures_over`)."""
    compared = {"yoy": period.year_earlier(), "mom": period.before()}
    chosen = {name: compared[name] for name in sorted(compare_with)}
    spans = {
        CURRENT: (period.start, period.end),
        **{name: (other.start, other.end) for name, other in chosen.items()},
    }
    site_id = site.id if site is not None else None
    first = min(start for start, _ in spans.values())
    if by == "site":
        labels = org_repository.site_labels(reach.station_ids, site_id)
    else:
        labels = incidents_repository.code_labels(by, first, period.last)
    # The total is the classes' sum (every incident has one class): by tag, the classes are read beside.
    figures = await repository.figures_over(
        session,
        reach.station_ids,
        "incidents",
        "incidents",
        spans,
        prefixes=("tag:", "class:") if by == "tag" else ("class:",),
        site_id=site_id,
        by_site=by == "site",
        labels=labels,
    )
    status = _period_read(reach, period, figures.coverage[CURRENT][0])
    statuses = {name: _period_read(reach, other, figures.coverage[name][0]) for name, other in chosen.items()}
    counts = {
        name: {key: value for key, value in values.items() if by == "site" or key.startswith(f"{by}:")}
        for name, values in figures.sums.items()
    }
    totals = {
        name: sum(value for key, value in values.items() if by == "site" or key.startswith("class:"))
        for name, values in figures.sums.items()
    }
    current = counts[CURRENT]
    bases = {name: counts[name] for name in chosen}
    keys, row_labels, notes = _row_keys(by, site, figures.labels, current, bases)
    rows = []
    for key in keys:
        value = _figure(current, key, status)
        changes = {name: compare(value, _figure(bases[name], key, statuses[name])) for name in chosen}
        rows.append(
            IncidentRow(
                key=_key_text(key, by),
                label_zh=row_labels[key][0],
                label_en=row_labels[key][1],
                current=value,
                comparable=key not in notes,
                note=notes.get(key),
                **changes,
            )
        )
    current_total = None if status.data_status is DataStatus.MISSING else totals[CURRENT]
    total_changes = {}
    for name in chosen:
        base = None if statuses[name].data_status is DataStatus.MISSING else totals[name]
        total_changes[name] = compare(current_total, base)
    computed_at = figures.coverage[CURRENT][1]
    return IncidentStats(
        station_id=reach.station_id,
        site_id=site_id,
        by=by,
        period=status,
        yoy_period=statuses.get("yoy"),
        mom_period=statuses.get("mom"),
        total=IncidentRow(
            key="total", label_zh="合计", label_en="Total", current=current_total, **total_changes
        ),
        rows=rows,
        computed_at=computed_at,
    )


def _key_text(key: Any, by: str) -> str:
    if by == "site":
        return "none" if key is None else str(key)
    return str(key).split(":", 1)[1]


def _row_keys(
    by: str,
    site: Site | None,
    labelled: dict[Any, dict[str, Any]],
    current: dict[Any, int],
    bases: dict[str, dict[Any, int]],
) -> tuple[list[Any], dict[Any, tuple[str, str]], dict[Any, str]]:
    """The rows to show (every code valid in any compared period, zeros included; or every site), their
    labels, and a note for each code whose meaning changed within the compared periods."""
    seen = set(current) | {key for values in bases.values() for key in values}
    if by == "site":
        keys = sorted(({site.id} if site else set(labelled)) | seen, key=lambda key: str(key))
        site_labels = {
            key: (labelled[key]["label_zh"], labelled[key]["label_en"])
            if key in labelled
            else ("未标注站点", "No site given")
            for key in keys
        }
        return keys, site_labels, {}
    keys = sorted(set(labelled) | seen)
    labels: dict[Any, tuple[str, str]] = {}
    notes: dict[Any, str] = {}
    for key in keys:
        code = labelled.get(key)
        labels[key] = (code["label_zh"], code["label_en"]) if code else (str(key).split(":", 1)[1],) * 2
        if code and len(code["valid_from"]) > 1:
            changed = ", ".join(str(day) for day in code["valid_from"][1:])
            notes[key] = f"the code's meaning changed on {changed}: the periods count different things"
    return keys, labels, notes


# Overview, series and meta


async def overview(session: AsyncSession, reach: Reach, period: Period) -> Overview:
    """Every headline figure for the period, compared year on year and with the period before, and its
    running total: one statement (:func:`repository.headlines`)."""
    spans = {
        CURRENT: period,
        "yoy": period.year_earlier(),
        "mom": period.before(),
        "ever": periods.Period(period.kind, date(1970, 1, 1), reach.today() + timedelta(days=1)),
    }
    sources = {metric: METRIC_SOURCES[metric].name for metric, _, _ in HEADLINES}
    read = await repository.headlines(
        session,
        reach.station_ids,
        sources,
        {name: (span.start, span.end) for name, span in spans.items()},
        covered=(CURRENT, "yoy", "mom"),
        prefixes={"incidents": "class:"},  # each incident once: by its one class
    )
    figures = []
    for metric, label_zh, label_en in HEADLINES:
        headline = read[metric]
        # A snapshot's value is the one taken last in the span; any other metric's is the span's sum.
        value_in = headline.last if METRIC_SOURCES[metric].snapshot else headline.sums
        statuses = {name: _period_read(reach, spans[name], headline.days[name]) for name in headline.days}
        values = {
            name: None if status.data_status is DataStatus.MISSING else value_in[name]
            for name, status in statuses.items()
        }
        figures.append(
            OverviewFigure(
                metric=metric,
                label_zh=label_zh,
                label_en=label_en,
                value=values[CURRENT],
                running_total=value_in["ever"],
                data_status=statuses[CURRENT].data_status,
                yoy=compare(values[CURRENT], values["yoy"]),
                mom=compare(values[CURRENT], values["mom"]),
            )
        )
    return Overview(
        station_id=reach.station_id,
        period=_period_read(reach, period, read["incidents"].days[CURRENT]),
        figures=figures,
    )


async def series(
    session: AsyncSession,
    reach: Reach,
    *,
    metric: str,
    dimension: str | None,
    site: Site | None,
    granularity: str,
    first: date,
    last: date,
) -> Series:
    """One figure per day, week or month of [first, last]: one statement (:func:`repository.buckets`)."""
    source = METRIC_SOURCES[metric]
    end = last + timedelta(days=1)
    site_id = site.id if site is not None else None
    # Without a dimension, incidents are counted once each: by their one class.
    prefix = "class:" if metric == "incidents" and dimension is None else None
    read = await repository.buckets(
        session,
        reach.station_ids,
        source.name,
        metric,
        first,
        end,
        granularity,
        site_id=site_id,
        dimension=dimension,
        prefix=prefix,
    )
    points = []
    for start, stop in _buckets(first, last, granularity):
        shown_first, shown_last = max(start, first), min(stop, end) - timedelta(days=1)
        needed = ((shown_last - shown_first).days + 1) * len(reach.station_ids)
        count, total, last_taken = read.get(start, (0, 0, None))
        value: int | None
        if count == 0:
            status, value = DataStatus.MISSING, None
        else:
            over = shown_last < reach.today() and count >= needed
            status = DataStatus.FINAL if over else DataStatus.PROVISIONAL
            # A snapshot's value is the one taken last in the bucket (no figure in it: 0); others the sum.
            value = (last_taken if source.snapshot else total) or 0
        points.append(
            SeriesPoint(first_day=shown_first, last_day=shown_last, value=value, data_status=status)
        )
    return Series(
        station_id=reach.station_id,
        site_id=site_id,
        metric=metric,
        dimension=dimension,
        granularity=granularity,
        points=points,
    )


def _buckets(first: date, last: date, unit: str) -> list[tuple[date, date]]:
    """[start, stop) of each day, ISO week (from Monday) or month touching [first, last]."""
    if unit == "day":
        start = first
    elif unit == "week":
        start = first - timedelta(days=first.weekday())
    else:
        start = first.replace(day=1)
    buckets = []
    while start <= last:
        if unit == "day":
            stop = start + timedelta(days=1)
        elif unit == "week":
            stop = start + timedelta(weeks=1)
        else:
            stop = periods.month(start).end
        buckets.append((start, stop))
        start = stop
    return buckets


async def meta(session: AsyncSession, reach: Reach) -> Meta:
    """Every source's history and the status of each of the last 24 months: one statement."""
    by_month: dict[str, dict[date, Any]] = {}
    for row in await repository.source_coverage(session, reach.station_ids):
        by_month.setdefault(row.source, {})[row.month] = row
    this_month = periods.month(reach.today())
    months = []
    month = this_month
    for _ in range(24):
        months.append(month)
        month = month.before()
    sources = []
    for name, source in SOURCES.items():
        rows = by_month.get(name, {})
        computed = {start: row.days for start, row in rows.items()}
        statuses = [
            MonthStatus(
                month=span.label,
                data_status=_period_read(reach, span, computed.get(span.start, 0)).data_status,
            )
            for span in reversed(months)
        ]
        sources.append(
            SourceMeta(
                source=name,
                metrics=list(source.metrics),
                first_day=min((row.first_day for row in rows.values()), default=None),
                last_day=max((row.last_day for row in rows.values()), default=None),
                last_computed_at=max((row.computed_at for row in rows.values()), default=None),
                months=statuses,
            )
        )
    return Meta(station_id=reach.station_id, sources=sources)
