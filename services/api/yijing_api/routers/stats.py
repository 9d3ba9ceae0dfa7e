"""Programme statistics for other police systems: headline figures, incident counts with year-on-year and
month-on-month change, time series and what the figures cover. Read from daily rollups only."""

import uuid
from typing import Annotated, Literal

from fastapi import Depends, Query

from yijing.access import STAFF, Actor, ApiScope
from yijing.stats import service
from yijing.stats.periods import PERIOD_PATTERN
from yijing.stats.schemas import IncidentStats, Meta, Overview, Series
from yijing.stats.sources import METRIC_SOURCES
from yijing.types import CalendarDate
from yijing_api.auth import Access
from yijing_api.deps import SessionDep, SettingsDep
from yijing_api.routing import Router
from yijing_api.tables import Table, table_routes

router = Router(prefix="/stats", tags=["stats"])

# Station staff read their station's figures; other police systems read them with a stats:read key. A
# county admin or a county-wide key reads every station, and county totals.
READ = Access(STAFF, frozenset({ApiScope.STATS_READ}))

StationParam = Annotated[
    uuid.UUID | None,
    Query(description="One station; omitted: the caller's station, or every station it reaches (totals)"),
]
PeriodParam = Annotated[
    str | None,
    Query(
        pattern=PERIOD_PATTERN,
        description="A month `2023-10`, a quarter `2023-Q4` or a year `2023`, in the station's time zone. "
        "Or give `from` and `to`. Default: the last complete month.",
    ),
]
FromParam = Annotated[CalendarDate | None, Query(alias="from", description="First day of a date range")]
ToParam = Annotated[CalendarDate | None, Query(alias="to", description="Last day of a date range")]


@table_routes(
    router,
    "/incidents",
    operation_id="stats_incidents",
    summary="Incident alerts by class, tag or site, with year-on-year and month-on-month change",
    description="Counts are summed from daily rollups. Year on year compares with the same range a year "
    "earlier; month on month with the period of the same kind just before (previous month or quarter; for "
    "a date range, as many days just before). `percent` = (current − base) / base × 100 to one decimal, "
    "null when the base is 0; a period whose data is missing gives null figures (`data_status: missing`), "
    "never zeros. A code whose meaning changed within the compared periods is `comparable: false`.",
    problems=(401, 403, 404, 422),
    response_model=IncidentStats,
)
async def incidents(
    session: SessionDep,
    settings: SettingsDep,
    actor: Annotated[Actor, Depends(READ)],
    station_id: StationParam = None,
    site_id: uuid.UUID | None = None,
    period: PeriodParam = None,
    first: FromParam = None,
    last: ToParam = None,
    by: Literal["class", "tag", "site"] = "class",
    compare: Annotated[
        str, Query(pattern=r"^(|yoy|mom|yoy,mom|mom,yoy)$", description="yoy, mom, both (default) or none")
    ] = "yoy,mom",
) -> Table:
    service.check_range(period, first, last)
    reach = await service.reach_of(session, actor, station_id, settings.tz)
    site = await service.site_in_reach(session, reach, site_id)
    chosen = service.choose_period(period, first, last, reach)
    answer = await service.incidents(
        session, reach, chosen, by=by, site=site, compare_with={name for name in compare.split(",") if name}
    )
    return Table(answer, answer.table(), f"incidents-{chosen.label.replace('/', '_')}")


@table_routes(
    router,
    "/overview",
    operation_id="stats_overview",
    summary="The programme's headline figures for a period, with running totals",
    problems=(401, 403, 404, 422),
    response_model=Overview,
)
async def overview(
    session: SessionDep,
    settings: SettingsDep,
    actor: Annotated[Actor, Depends(READ)],
    station_id: StationParam = None,
    period: PeriodParam = None,
    first: FromParam = None,
    last: ToParam = None,
) -> Table:
    service.check_range(period, first, last)
    reach = await service.reach_of(session, actor, station_id, settings.tz)
    chosen = service.choose_period(period, first, last, reach)
    answer = await service.overview(session, reach, chosen)
    return Table(answer, answer.table(), f"overview-{chosen.label.replace('/', '_')}")


@table_routes(
    router,
    "/series",
    operation_id="stats_series",
    summary="A metric over time, by day, week (from Monday) or month",
    description="Metrics: " + ", ".join(sorted(METRIC_SOURCES)) + ". `dimension` narrows to one category, "
    "e.g. `class:illegal_crime`, `tag:porn_gambling`, `category:fire`, `source:landlord`.",
    problems=(401, 403, 404, 422),
    response_model=Series,
)
async def series(
    session: SessionDep,
    settings: SettingsDep,
    actor: Annotated[Actor, Depends(READ)],
    metric: Annotated[str, Query(pattern="^(" + "|".join(sorted(METRIC_SOURCES)) + ")$")],
    first: Annotated[CalendarDate, Query(alias="from")],
    last: Annotated[CalendarDate, Query(alias="to")],
    granularity: Literal["day", "week", "month"] = "month",
    dimension: Annotated[str | None, Query(pattern=r"^[a-z]+:[a-z0-9_]{1,48}$")] = None,
    station_id: StationParam = None,
    site_id: uuid.UUID | None = None,
) -> Table:
    service.check_range(None, first, last)
    reach = await service.reach_of(session, actor, station_id, settings.tz)
    site = await service.site_in_reach(session, reach, site_id)
    answer = await service.series(
        session, reach, metric=metric, dimension=dimension, site=site, granularity=granularity, first=first,
        last=last,
    )  # fmt: skip
    return Table(answer, answer.table(), f"series-{metric}")


@table_routes(
    router,
    "/meta",
    operation_id="stats_meta",
    summary="What the figures cover: per source, when last computed and each recent month's status",
    problems=(401, 403, 404, 422),
    response_model=Meta,
)
async def meta(
    session: SessionDep,
    settings: SettingsDep,
    actor: Annotated[Actor, Depends(READ)],
    station_id: StationParam = None,
) -> Table:
    reach = await service.reach_of(session, actor, station_id, settings.tz)
    answer = await service.meta(session, reach)
    return Table(answer, answer.table(), "meta")
