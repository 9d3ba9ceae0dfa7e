"""Incident and statistics benchmarks: 2,000,000 incidents over five years across 20 stations. The import
(the real job: parse, COPY into staging, check, merge) against a plain COPY of the same file into a bare
table, and against a COPY of the same records, complete, into a table like ``incidents`` (its indexes and
foreign keys: what storing them costs with no checking at all); the full rollup (the nightly check, first
on empty rollups) against one GROUP BY over the raw table, and against the one INSERT … GROUP BY that
writes the same figures into a table like ``daily_rollups``; and `GET /stats/incidents` with 10,000
incidents stored and with 2,000,000 (it reads rollups, so it should not grow).

``YIJING_BENCH_INCIDENTS`` sets the big number (default 2,000,000)."""

from __future__ import annotations

import csv
import io
import os
import random
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy import text

from bench.common import report, station_with_sites, timed
from tests.world import make_api_key
from yijing.access import ApiScope
from yijing.db import SessionFactory, driver_of, session_scope, short_lived_sessions
from yijing.ids import new_id, utcnow, uuid7_sql
from yijing.incidents.jobs import IMPORT
from yijing.incidents.models import IncidentImport
from yijing.jobs import service as jobs_service
from yijing.org.models import Site
from yijing.settings import Settings
from yijing.stats import rollups
from yijing.stats.sources import INCIDENTS
from yijing_api.main import create_app

BIG = int(os.environ.get("YIJING_BENCH_INCIDENTS", "2000000"))
SMALL = 10_000
STATIONS = 20
YEARS = 5
CLASSES = ("illegal_crime", "public_order", "traffic", "fire", "dispute", "assistance", "other")
SHANGHAI = ZoneInfo("Asia/Shanghai")  # the benchmark stations' time zone (bench.common)
TAGS = ("", "", "", "floating_population", "porn_gambling", "telecom_fraud", "floating_population;minors")


def _incidents(
    stations: list[tuple[uuid.UUID, list[Site]]], count: int, prefix: str
) -> Iterator[tuple[str, uuid.UUID, Site | None, datetime, str, str]]:
    """The same ``count`` incidents every time: (reference, station, site, instant, class, tags)."""
    rng = random.Random(count)
    end = utcnow()
    span = int(timedelta(days=365 * YEARS).total_seconds())
    for number in range(count):
        station_id, sites = stations[number % len(stations)]
        moment = end - timedelta(seconds=rng.randrange(span))
        site = rng.choice(sites) if number % 3 else None
        yield f"{prefix}{number:09d}", station_id, site, moment, rng.choice(CLASSES), rng.choice(TAGS)


def incident_file(stations: list[tuple[uuid.UUID, list[Site]]], count: int, prefix: str) -> bytes:
    output = io.StringIO()
    writer = csv.writer(output)
    writer.writerow(
        ["source_system", "source_ref", "station_id", "site_id", "occurred_at", "class_code", "tags"]
    )
    for reference, station_id, site, moment, class_code, tags in _incidents(stations, count, prefix):
        writer.writerow(
            ["jq110", reference, station_id, site.id if site else "", moment.astimezone(UTC).isoformat(),
             class_code, tags]
        )  # fmt: skip
    return output.getvalue().encode()


def stored_incidents_file(stations: list[tuple[uuid.UUID, list[Site]]], count: int, prefix: str) -> bytes:
    """The same incidents as ``incident_file``'s as ``incidents`` stores them: every column, the ids
    time-ordered, the days in the stations' time zone (Asia/Shanghai), the tags an array."""
    output = io.StringIO()
    writer = csv.writer(output)
    now = utcnow().isoformat()
    for reference, station_id, site, moment, class_code, tags in _incidents(stations, count, prefix):
        day = moment.astimezone(SHANGHAI).date()
        codes = sorted({tag for tag in tags.split(";") if tag})
        writer.writerow(
            [new_id(), station_id, site.id if site else "", "jq110", reference, moment.isoformat(), day,
             class_code, "{" + ",".join(codes) + "}", 1, now, now]
        )  # fmt: skip
    return output.getvalue().encode()


async def import_through_the_job(
    factory: SessionFactory, settings: Settings, content: bytes
) -> tuple[float, dict]:
    async with session_scope(factory) as session:
        record = IncidentImport(file_name="bench.csv", file_sha256="0" * 64, content=content)
        session.add(record)
    started = time.perf_counter()
    execution = await jobs_service.execute(factory, settings, IMPORT, {"import_id": str(record.id)})
    return time.perf_counter() - started, execution.result or {}


# A table like ``incidents``: its columns, defaults, checks and indexes, and its two foreign keys.
LIKE_INCIDENTS = (
    "CREATE TABLE bench_incidents (LIKE incidents INCLUDING ALL, "
    "FOREIGN KEY (station_id) REFERENCES stations, FOREIGN KEY (site_id) REFERENCES sites ON DELETE SET NULL)"
)


async def copy_stored(factory: SessionFactory, content: bytes) -> float:
    """The same incidents, complete, COPYed into a table like ``incidents``: storing them, unchecked (the
    COPY is its own transaction, its commit timed with it)."""
    async with session_scope(factory) as session:
        await session.execute(text(LIKE_INCIDENTS))
    try:
        async with factory() as session:
            driver = await driver_of(await session.connection())
            started = time.perf_counter()
            await driver.copy_to_table("bench_incidents", source=io.BytesIO(content), format="csv", null="")
            return time.perf_counter() - started
    finally:
        async with session_scope(factory) as session:
            await session.execute(text("DROP TABLE bench_incidents"))


async def plain_copy(factory: SessionFactory, content: bytes) -> float:
    """The same file COPYed into a bare (temporary) table of the same columns: the floor for any import."""
    async with session_scope(factory) as session:
        await session.execute(
            text(
                "CREATE TEMPORARY TABLE plain_incidents (source_system text, source_ref text, "
                "station_id uuid, site_id uuid, occurred_at timestamptz, class_code text, tags text) "
                "ON COMMIT DROP"
            )
        )
        driver = await driver_of(await session.connection())
        started = time.perf_counter()
        await driver.copy_to_table(
            "plain_incidents", source=io.BytesIO(content), format="csv", header=True, null=""
        )
        return time.perf_counter() - started


# Incidents changed behind the rollups' back (no recount queued): the drift a nightly check is there for.
DRIFTED = 100
# The check counts each incident under its class and under each of its tags; the fairest single statement
# that yields those figures, beside the plain GROUP BY by class.
GROUP_BY_CLASS = (
    "SELECT station_id, site_id, occurred_on, class_code, count(*) FROM incidents "
    "GROUP BY station_id, site_id, occurred_on, class_code"
)
GROUP_BY_CLASS_AND_TAGS = (
    "SELECT station_id, site_id, occurred_on, dimension, count(*) FROM incidents CROSS JOIN LATERAL ("
    "  SELECT 'class:' || class_code UNION ALL SELECT 'tag:' || tag FROM unnest(tags) AS tag"
    ") AS d (dimension) GROUP BY station_id, site_id, occurred_on, dimension"
)


async def vacuum(factory: SessionFactory, table: str) -> None:
    """What autovacuum does to a table after a bulk write (hint bits, visibility map, statistics): the
    table as a nightly check finds it, and as each compared statement does."""
    async with factory() as session:
        connection = await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        await connection.execute(text(f"VACUUM ANALYZE {table}"))


# The one statement that writes the figures a first run writes (by class and by tag), ids as the check makes
# them, into a table like ``daily_rollups`` (its indexes and foreign key).
LIKE_ROLLUPS = (
    "CREATE TABLE bench_rollups (LIKE daily_rollups INCLUDING ALL, "
    "FOREIGN KEY (station_id) REFERENCES stations)"
)
_ORDER = "station_id, day, site_id, dimension"
INSERT_GROUP_BY = (
    "INSERT INTO bench_rollups (id, station_id, site_id, day, metric, dimension, value, computed_at) "  # noqa: S608
    f"SELECT {uuid7_sql(f'row_number() OVER (ORDER BY {_ORDER})')}, station_id, site_id, day, 'incidents', "
    "dimension, count, now() FROM ("
    "SELECT station_id, site_id, occurred_on AS day, dimension, count(*) FROM incidents CROSS JOIN LATERAL ("
    "  SELECT 'class:' || class_code UNION ALL SELECT 'tag:' || tag FROM unnest(tags) AS tag"
    f") AS d (dimension) GROUP BY station_id, site_id, occurred_on, dimension) figures ORDER BY {_ORDER}"
)


async def insert_group_by(factory: SessionFactory) -> float:
    async with session_scope(factory) as session:
        await session.execute(text(LIKE_ROLLUPS))
    try:
        async with session_scope(factory) as session:
            await session.execute(text("SET LOCAL jit = off"))  # as the check has it
            started = time.perf_counter()
            await session.execute(text(INSERT_GROUP_BY))
            await session.commit()
            return time.perf_counter() - started
    finally:
        async with session_scope(factory) as session:
            await session.execute(text("DROP TABLE bench_rollups"))


async def full_rollup(factory: SessionFactory, station_ids: list[uuid.UUID]) -> None:
    """The check on empty rollups (a first run: it writes every figure) and on rollups in place with
    DRIFTED incidents changed (what it does each night), against one GROUP BY over the raw table (its rows
    fetched by the client, as before) and, for the first run, the one INSERT … GROUP BY writing the same
    figures."""
    async with session_scope(factory) as session:
        await session.execute(text("DELETE FROM daily_rollups WHERE metric = 'incidents'"))
        await session.execute(text("DELETE FROM rollup_days WHERE source = 'incidents'"))
    await vacuum(factory, "incidents")
    await vacuum(factory, "daily_rollups")
    async with session_scope(factory) as session:
        started = time.perf_counter()
        first = await rollups.check(session, INCIDENTS, station_ids, utcnow())
        first_run = time.perf_counter() - started
    await vacuum(factory, "daily_rollups")
    async with session_scope(factory) as session:
        await session.execute(
            text(
                "UPDATE incidents SET class_code = CASE class_code WHEN 'fire' THEN 'traffic' "
                "ELSE 'fire' END WHERE id IN (SELECT id FROM incidents ORDER BY id LIMIT :drifted)"
            ),
            {"drifted": DRIFTED},
        )
    async with session_scope(factory) as session:
        started = time.perf_counter()
        nightly = await rollups.check(session, INCIDENTS, station_ids, utcnow())
        nightly_run = time.perf_counter() - started
    grouped: dict[str, float] = {}
    for name, statement in (("class", GROUP_BY_CLASS), ("class and tags", GROUP_BY_CLASS_AND_TAGS)):
        async with session_scope(factory) as session:
            started = time.perf_counter()
            (await session.execute(text(statement))).all()
            grouped[name] = time.perf_counter() - started
    inserted = await insert_group_by(factory)
    print(
        f"{'full rollup, first run (empty)':<34} {first_run:8.1f} s  ({first_run / inserted:.1f}× the one "
        f"INSERT … GROUP BY; {first_run / grouped['class']:.1f}× one GROUP BY, "
        f"{first_run / grouped['class and tags']:.1f}× with tags; {first.figures_written:,} figures written)"
    )
    print(
        f"{'full rollup (nightly check)':<34} {nightly_run:8.1f} s  ({nightly_run / grouped['class']:.1f}× "
        f"one GROUP BY, {nightly_run / grouped['class and tags']:.1f}× with tags; target ≤ 1.5×; "
        f"{DRIFTED} incidents changed, {nightly.days_repaired} days repaired)"
    )
    print(f"{'one GROUP BY over the raw table':<34} {grouped['class']:8.1f} s  (by class)")
    print(f"{'one GROUP BY, class and tags':<34} {grouped['class and tags']:8.1f} s")
    print(f"{'one INSERT … GROUP BY (figures)':<34} {inserted:8.1f} s  (into a table like daily_rollups)")


async def latency(settings: Settings, headers: dict[str, str], station_id: uuid.UUID) -> list[float]:
    app = create_app(settings)
    last_month = (utcnow().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    params = {"station_id": str(station_id), "period": last_month}
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", headers=headers) as client:
            response = await client.get("/api/v1/stats/incidents", params=params)
            assert response.status_code == 200, response.text
            return await timed(lambda: client.get("/api/v1/stats/incidents", params=params), 100)


async def bench_incidents(settings: Settings) -> None:
    assert settings.database_url
    async with short_lived_sessions(settings.database_url) as factory:
        stations: list[tuple[uuid.UUID, list[Site]]] = []
        async with session_scope(factory) as session:
            for number in range(STATIONS):
                station, sites = await station_with_sites(session, f"警情压测派出所{number}", 5)
                stations.append((station.id, sites))
        station_ids = [station_id for station_id, _ in stations]
        _, key = await make_api_key(factory, settings, [ApiScope.STATS_READ], None)
        headers = {"X-API-Key": key}

        small = incident_file(stations, SMALL, "S")
        elapsed, result = await import_through_the_job(factory, settings, small)
        assert result.get("created") == SMALL, result
        print(f"{'import 10,000 incidents (job)':<34} {elapsed:8.2f} s  created={result.get('created')}")
        async with session_scope(factory) as session:
            await rollups.check(session, INCIDENTS, station_ids, utcnow())
        report("stats/incidents, 10,000 stored", await latency(settings, headers, station_ids[0]))

        started = time.perf_counter()
        big = incident_file(stations, BIG, "B")
        written = time.perf_counter() - started
        print(
            f"{'write the CSV (' + format(BIG, ',') + ' rows)':<34} {written:8.1f} s  "
            f"({len(big) / 1e6:.0f} MB)"
        )
        copied = await plain_copy(factory, big)
        print(f"{'plain COPY of the file':<34} {copied:8.1f} s  {BIG / copied:10,.0f} rows/s  (bare table)")
        stored = await copy_stored(factory, stored_incidents_file(stations, BIG, "B"))
        print(
            f"{'COPY of the records, complete':<34} {stored:8.1f} s  {BIG / stored:10,.0f} rows/s  "
            "(into a table like incidents)"
        )
        elapsed, result = await import_through_the_job(factory, settings, big)
        assert result.get("created") == BIG, {key: value for key, value in result.items() if key != "errors"}
        print(
            f"{'import through the job':<34} {elapsed:8.1f} s  {BIG / elapsed:10,.0f} rows/s  "
            f"({elapsed / stored:.1f}× the COPY of the records, {elapsed / copied:.1f}× the plain COPY; "
            f"target ≤ 3×; created={result.get('created')})"
        )
        async with session_scope(factory) as session:
            await session.execute(text("ANALYZE incidents"))
        await full_rollup(factory, station_ids)
        total = SMALL + BIG
        report(f"stats/incidents, {total:,} stored", await latency(settings, headers, station_ids[0]))
