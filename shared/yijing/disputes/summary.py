"""The disputes' monthly figures per site and over every site counted: reported by kind, closed by status
(resolved by outcome, escalated by destination, failed), first interventions and how many came within ten
minutes, and the median time to resolution. One statement answers every site and the total."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Date,
    DateTime,
    and_,
    bindparam,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.access import Actor, StationScope
from yijing.disputes.models import (
    Dispute,
    DisputeKind,
    DisputeOutcome,
    DisputeStatus,
    EscalationTarget,
)
from yijing.disputes.schemas import DisputeFigures, DisputeSummary, SiteDisputeFigures
from yijing.ids import station_today
from yijing.org import repository as org_repository
from yijing.org.errors import SiteNotFound, StationNotFound
from yijing.org.models import Site, Station

# An intervention within this many seconds of the report counts as prompt.
PROMPT_SECONDS = 600


@cache
def _month_query(every_station: bool, one_site: bool) -> CompoundSelect[Any]:
    """The month's figures as one statement, built once per shape: rebuilding a statement this wide on every
    request costs more than running it. Its parameters: ``month`` and ``next_month`` (first days), the UTC
    window around them, ``stations`` (unless ``every_station``) and ``site_id`` (if ``one_site``)."""

    def reached(station_column: Any | None, site_column: Any | None) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if station_column is not None and not every_station:
            conditions.append(col(station_column).in_(bindparam("stations", expanding=True)))
        if site_column is not None and one_site:
            conditions.append(col(site_column) == bindparam("site_id"))
        return conditions

    # Each station's month as instants, worked out once per station rather than once per dispute.
    def local_midnight(day: str) -> Any:
        return func.timezone(col(Station.timezone), cast(bindparam(day, type_=Date), DateTime))

    bounds = (
        select(
            col(Station.id).label("station_id"),
            local_midnight("month").label("starts"),
            local_midnight("next_month").label("ends"),
        )
        .where(*reached(Station.id, None))
        .cte("bounds")
        .prefix_with("MATERIALIZED")
    )

    # A dispute counts in a month it was reported, first stepped into or closed in.
    moments = (Dispute.reported_at, Dispute.mediating_at, Dispute.closed_at)

    def in_month(column: Any) -> ColumnElement[bool]:
        return and_(col(column) >= bounds.c.starts, col(column) < bounds.c.ends)

    # Every time zone lies within UTC−12…UTC+14: a fixed UTC window that wide around the month lets the
    # indexes on (station, reported_at), (station, mediating_at) and (station, closed_at) find the month's
    # disputes (the planner cannot foresee a window that depends on each station's zone).
    def near_month(column: Any) -> ColumnElement[bool]:
        return col(column).between(
            bindparam("window_starts", type_=DateTime(timezone=True)),
            bindparam("window_ends", type_=DateTime(timezone=True)),
        )

    disputes = (
        select(
            col(Dispute.site_id), col(Dispute.kind), col(Dispute.status), col(Dispute.outcome),
            col(Dispute.escalated_to), col(Dispute.intervention_seconds), col(Dispute.resolution_seconds),
            in_month(Dispute.reported_at).label("reported"),
            in_month(Dispute.closed_at).label("closed"),
            in_month(Dispute.mediating_at).label("mediated"),
        )
        .select_from(bounds)
        .join(
            Dispute,
            and_(
                col(Dispute.station_id) == bounds.c.station_id,
                or_(*(near_month(moment) for moment in moments)),
            ),
        )
        # The stations again, on disputes' own column: the indexes start with it.
        .where(*reached(Dispute.station_id, Dispute.site_id))
        .cte("month_disputes")
    )  # fmt: skip
    rows = disputes.c
    reported = rows.reported.is_(True)
    closed = rows.closed.is_(True)
    resolved = and_(closed, rows.status == DisputeStatus.RESOLVED)
    escalated = and_(closed, rows.status == DisputeStatus.ESCALATED)
    mediated = rows.mediated.is_(True)

    def count(condition: ColumnElement[bool], name: str) -> Any:
        return func.count().filter(condition).label(name)

    figures: list[ColumnElement[Any]] = [
        count(reported, "reported"),
        *(count(and_(reported, rows.kind == kind), f"kind_{kind.value}") for kind in DisputeKind),
        count(resolved, "resolved"),
        *(count(and_(resolved, rows.outcome == value), f"outcome_{value.value}") for value in DisputeOutcome),
        count(escalated, "escalated"),
        *(count(and_(escalated, rows.escalated_to == to), f"to_{to.value}") for to in EscalationTarget),
        count(and_(closed, rows.status == DisputeStatus.FAILED), "failed"),
        count(mediated, "interventions"),
        count(and_(mediated, rows.intervention_seconds <= PROMPT_SECONDS), "within_10_minutes"),
        func.percentile_cont(0.5)
        .within_group(rows.resolution_seconds / 60.0)
        .filter(resolved)
        .label("median_minutes"),
    ]
    # Each site's figures and the total over them: one pass over the month's (narrow) rows.
    by_site = (
        select(rows.site_id, func.grouping(rows.site_id).label("is_total"), *figures)
        .group_by(func.grouping_sets(tuple_(rows.site_id), tuple_()))
        .cte("figures")
    )
    names = [figure.name for figure in figures]
    per_site = (
        select(
            col(Site.id).label("site_id"), col(Site.name).label("site_name"),
            col(Site.station_id).label("station_id"), literal(0).label("is_total"),
            *(by_site.c[name] for name in names),
        )
        .select_from(Site)
        # Sites without a dispute in the month have no figures row: their counts are null.
        .outerjoin(by_site, and_(by_site.c.site_id == col(Site.id), by_site.c.is_total == 0))
        .where(*reached(Site.station_id, Site.id))
    )  # fmt: skip
    total = select(
        null().label("site_id"), null().label("site_name"), null().label("station_id"), by_site.c.is_total,
        *(by_site.c[name] for name in names),
    ).where(by_site.c.is_total == 1)  # fmt: skip
    return union_all(per_site, total).order_by("is_total", "station_id", "site_name", "site_id")


async def month_rows(
    session: AsyncSession,
    *,
    month: date,
    stations: Collection[uuid.UUID] | None,
    site_id: uuid.UUID | None,
) -> Sequence[Any]:
    """A row per site of ``stations`` (None: every station), or the one site, ordered by station and name,
    then the total over them (``site_id`` null); ``month`` is each site's month in its station's time zone."""
    next_month = (month + timedelta(days=32)).replace(day=1)
    parameters: dict[str, Any] = {
        "month": month,
        "next_month": next_month,
        "window_starts": datetime.combine(month, time(), UTC) - timedelta(hours=14),
        "window_ends": datetime.combine(next_month, time(), UTC) + timedelta(hours=12),
    }
    if stations is not None:
        parameters["stations"] = sorted(stations)
    if site_id is not None:
        parameters["site_id"] = site_id
    query = _month_query(every_station=stations is None, one_site=site_id is not None)
    rows: Sequence[Any] = (await session.execute(query, parameters)).all()
    return rows


def _figures(row: Any) -> dict[str, Any]:
    # A site without a dispute in the month has null counts: none.
    counts = {name: value or 0 for name, value in row._mapping.items() if name != "median_minutes"}
    return {
        "reported": counts["reported"],
        "by_kind": {kind: counts[f"kind_{kind.value}"] for kind in DisputeKind},
        "resolved": counts["resolved"],
        "by_outcome": {value: counts[f"outcome_{value.value}"] for value in DisputeOutcome},
        "escalated": counts["escalated"],
        "by_destination": {to: counts[f"to_{to.value}"] for to in EscalationTarget},
        "failed": counts["failed"],
        "interventions": counts["interventions"],
        "within_10_minutes": counts["within_10_minutes"],
        "share_within_10_minutes": (
            round(counts["within_10_minutes"] / counts["interventions"], 3)
            if counts["interventions"]
            else None
        ),
        "median_minutes_to_resolution": None if row.median_minutes is None else round(row.median_minutes, 1),
    }


async def summarise(
    session: AsyncSession,
    actor: Actor,
    *,
    station_id: uuid.UUID | None,
    site_id: uuid.UUID | None,
    month: str | None,
    default_timezone: ZoneInfo,
) -> DisputeSummary:
    # Figures for a station or site out of reach would read as "none there": not found instead.
    station = None
    if station_id is not None:
        station = await org_repository.get_station(session, station_id, actor.scope)
        if station is None:
            raise StationNotFound(f"no station {station_id}", zh=f"未找到派出所 {station_id}")
    if site_id is not None:
        site = await org_repository.get_site(session, site_id, actor.scope)
        if site is None:
            raise SiteNotFound(f"no site {site_id}", zh=f"未找到站点 {site_id}")
        if station is None:
            station = await org_repository.get_station(session, site.station_id, StationScope.everywhere())
    # By default the current month: the station's when one is asked for, else the service's.
    timezone = station.timezone if station is not None else default_timezone.key
    first = station_today(timezone).replace(day=1) if month is None else date.fromisoformat(f"{month}-01")
    stations = [station_id] if station_id is not None else actor.scope.stations
    *sites, total = await month_rows(session, month=first, stations=stations, site_id=site_id)
    return DisputeSummary(
        month=f"{first:%Y-%m}",
        total=DisputeFigures(**_figures(total)),
        sites=[
            SiteDisputeFigures(
                site_id=row.site_id, site_name=row.site_name, station_id=row.station_id, **_figures(row)
            )
            for row in sites
        ],
    )
