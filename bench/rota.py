"""Rota benchmarks: 10,000 groups of ten reconciled by the real job (the first run stores every group's nine
weeks, timed against one plain SQL INSERT … SELECT that writes the same weeks, target: the job within 10×; the
next run has nothing to do; a week later each group stores one more week), and the captain endpoints over
them."""

from __future__ import annotations

import itertools
import statistics
import time
import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from unittest import mock

import asyncpg
import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from bench.common import Comparison, report, timed
from bench.volunteers import _card
from tests.world import add_user, sign_in_directly
from yijing.access import Role
from yijing.db import SessionFactory, driver_of, session_scope, short_lived_sessions
from yijing.groups.models import Group, GroupMembership
from yijing.ids import new_id, utcnow
from yijing.jobs import service as jobs_service
from yijing.org.models import Site, Station
from yijing.personal import protector_for
from yijing.rota import reconcile
from yijing.rota.jobs import RECONCILE
from yijing.rota.models import CaptainWeek
from yijing.settings import Settings
from yijing.volunteers import repository as volunteer_repository
from yijing.volunteers.models import Gender, VolunteerSource, VolunteerStatus
from yijing.volunteers.schemas import VolunteerCreate
from yijing.volunteers.service import volunteer_row
from yijing_api.main import create_app

SITES = 100
GROUPS_PER_SITE = 100  # 10,000 groups
MEMBERS = 10
CALLS = 200
LATER_SAMPLE = 1000  # groups reconciled a week on (the most one job payload names)
ROUNDS = 2  # first reconciles timed against the statement, after a warm-up, the rota emptied before each

# The weeks the first reconcile stores, by hand: each group's current week (the last local handoff at or
# before $1) and its horizon, captained in turn by its members in join order (nobody has had a turn yet).
STATEMENT = """
WITH members AS (
    SELECT group_id, volunteer_id,
           row_number() OVER (PARTITION BY group_id ORDER BY joined_at, id) - 1 AS place,
           count(*) OVER (PARTITION BY group_id) AS size
    FROM group_memberships WHERE left_at IS NULL
), handoffs AS (
    SELECT g.id AS group_id, g.station_id, g.handoff_time, g.horizon_weeks, s.timezone,
           d.day - ((extract(isodow FROM d.day)::int - 1 - g.handoff_weekday + 7) % 7) AS day
    FROM groups g JOIN stations s ON s.id = g.station_id,
         LATERAL (SELECT ($1::timestamptz AT TIME ZONE s.timezone)::date AS day) d
), currents AS (
    SELECT h.*, CASE WHEN (h.day + h.handoff_time) AT TIME ZONE h.timezone <= $1 THEN h.day
                     ELSE h.day - 7 END AS week_start
    FROM handoffs h
)
INSERT INTO captain_weeks (id, group_id, station_id, week_start, starts_at, ends_at, volunteer_id,
                           rotation_volunteer_id, source, reason, sequence, created_at, updated_at)
SELECT gen_random_uuid(), c.group_id, c.station_id, c.week_start + 7 * k.n,
       (c.week_start + 7 * k.n + c.handoff_time) AT TIME ZONE c.timezone,
       (c.week_start + 7 * (k.n + 1) + c.handoff_time) AT TIME ZONE c.timezone,
       m.volunteer_id, m.volunteer_id, 'rotation', NULL, 0, now(), now()
FROM currents c
CROSS JOIN LATERAL generate_series(0, c.horizon_weeks) AS k(n)
JOIN members m ON m.group_id = c.group_id AND m.place = k.n % m.size
"""
STORED_WEEKS = (
    "SELECT group_id, week_start, starts_at, ends_at, volunteer_id, rotation_volunteer_id, source "
    "FROM captain_weeks"
)
# Back to before the first reconcile: no weeks (TRUNCATE also drops the rows a rolled-back INSERT left for
# vacuum, which would slow the next writer), no group planned.
FORGET_ROTA = (
    "TRUNCATE captain_notices, captain_swaps, captain_weeks",
    "UPDATE groups SET planned_until = NULL, plan_checked_at = NULL",
    "VACUUM ANALYZE groups, captain_weeks, captain_notices",
)


async def _copy(session: AsyncSession, model: type[SQLModel], rows: Sequence[dict[str, Any]]) -> None:
    """COPY rows (column values) straight into the model's table, inside the session's transaction."""
    columns = [column.name for column in inspect(model).columns]
    driver = await driver_of(await session.connection())
    records = [tuple(row[name] for name in columns) for row in rows]
    await driver.copy_records_to_table(model.__tablename__, records=records, columns=columns)


async def seed(settings: Settings) -> tuple[list[Site], list[list[uuid.UUID]], dict[str, str]]:
    """A station with SITES sites of GROUPS_PER_SITE groups of MEMBERS active volunteers each, who joined a
    month ago and have no rota yet; an officer's headers."""
    assert settings.database_url
    protector = protector_for(settings.personal_data_key)
    now = utcnow()
    joined = now - timedelta(days=30)
    async with short_lived_sessions(settings.database_url) as factory, session_scope(factory) as session:
        station = Station(name="轮值压测派出所", division_code="350121", timezone="Asia/Shanghai")
        session.add(station)
        await session.flush()
        sites = [Site(station_id=station.id, name=f"轮值网格{index}") for index in range(SITES)]
        session.add_all(sites)
        await session.flush()
        volunteers: list[dict[str, Any]] = []
        groups: list[dict[str, Any]] = []
        memberships: list[dict[str, Any]] = []
        site_groups: list[list[uuid.UUID]] = []
        for site in sites:
            site_groups.append([])
            for number in range(1, GROUPS_PER_SITE + 1):
                group_id = new_id()
                site_groups[-1].append(group_id)
                groups.append(
                    {
                        "id": group_id, "station_id": station.id, "site_id": site.id, "name": f"第{number}组",
                        "target_size": MEMBERS, "handoff_weekday": 0, "handoff_time": datetime.min.time(),
                        "horizon_weeks": 8, "planned_until": None, "plan_checked_at": None, "version": 1,
                        "created_at": joined, "updated_at": joined,
                    }
                )  # fmt: skip
                for _ in range(MEMBERS):
                    serial = len(volunteers)
                    data = VolunteerCreate.model_construct(
                        name=f"队员{serial}", gender=Gender.MALE, phone=f"16{serial:09d}",
                        id_card_number=_card(serial), site_id=site.id, source=VolunteerSource.STALL_OPERATOR,
                        household_name=f"{serial}号", household_address=None, badge_number=f"R{serial}",
                        skills=[], joined_on=date(2024, 1, 1), status=VolunteerStatus.ACTIVE, user_id=None,
                    )  # fmt: skip
                    row = volunteer_row(data, station.id, date(2024, 1, 1), protector)
                    row["created_at"] = row["updated_at"] = joined
                    volunteers.append(row)
                    memberships.append(
                        {
                            "id": new_id(), "group_id": group_id, "volunteer_id": row["id"],
                            "joined_at": joined, "left_at": None, "left_reason": None,
                        }
                    )  # fmt: skip
        await volunteer_repository.insert_new(session, volunteers)
        await _copy(session, Group, groups)
        await _copy(session, GroupMembership, memberships)
        officer = await add_user(session, settings, Role.OFFICER, station.id, "13700000002", 2)
        token = await sign_in_directly(session, settings, officer)
    await _analyze(settings)
    return sites, site_groups, {"Authorization": f"Bearer {token}"}


async def _analyze(settings: Settings) -> None:
    """Fresh planner statistics, as autovacuum would gather them soon after a bulk load. Committed: ANALYZE in
    a transaction that rolls back leaves the old statistics (with which finding the groups due takes ~100
    times longer at this size)."""
    assert settings.database_url
    async with short_lived_sessions(settings.database_url) as factory, session_scope(factory) as session:
        for name in ("volunteers", "groups", "group_memberships", "captain_weeks", "captain_notices"):
            await session.execute(text(f"ANALYZE {name}"))


async def _connect(settings: Settings) -> asyncpg.Connection:
    assert settings.database_url
    dsn = make_url(settings.database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    return await asyncpg.connect(dsn)


async def _statement(connection: asyncpg.Connection) -> tuple[float, set[tuple[Any, ...]]]:
    """The statement's time, and the weeks it wrote (read before its transaction is rolled back)."""
    transaction = connection.transaction()
    await transaction.start()
    try:
        begun = time.perf_counter()
        await connection.execute(STATEMENT, utcnow())
        elapsed = time.perf_counter() - begun
        weeks = await _stored_weeks(connection)
    finally:
        await transaction.rollback()
    return elapsed, weeks


async def _stored_weeks(connection: asyncpg.Connection) -> set[tuple[Any, ...]]:
    return {tuple(row) for row in await connection.fetch(STORED_WEEKS)}


async def _forget_rota(connection: asyncpg.Connection) -> None:
    for statement in FORGET_ROTA:
        await connection.execute(statement)


async def reconcile_run(
    factory: SessionFactory, settings: Settings, label: str, payload: dict[str, Any] | None = None
) -> tuple[dict[str, Any], float]:
    """The job's result, and how long it took (both printed)."""
    started = time.perf_counter()
    execution = await jobs_service.execute(factory, settings, RECONCILE, payload or {})
    elapsed = time.perf_counter() - started
    result = execution.result
    assert result is not None
    rate = f"{result['groups'] / elapsed:8.0f} groups/s" if result["groups"] else " " * 17
    print(
        f"{label:<34} {elapsed:8.2f} s  {rate}  groups={result['groups']} "
        f"weeks_inserted={result['weeks_inserted']} notices={result['notices']}"
    )
    return result, elapsed


async def first_reconciles(factory: SessionFactory, settings: Settings, total: int) -> None:
    """The first reconcile of every group by the job against the statement, in interleaved rounds (the first
    of each warms the caches), the rota emptied before each; whether both wrote the same weeks."""
    samples: tuple[list[float], list[float]] = ([], [])
    connection = await _connect(settings)
    try:
        for run in range(ROUNDS + 1):
            await _forget_rota(connection)
            floor, expected = await _statement(connection)
            await _forget_rota(connection)
            first, elapsed = await reconcile_run(
                factory, settings, f"reconcile job, first ({total:,} groups)"
            )
            assert first["groups"] == total, first
            if run:
                samples[0].append(elapsed)
                samples[1].append(floor)
        stored = await _stored_weeks(connection)
    finally:
        await connection.close()
    comparison = Comparison(
        first, expected, statistics.median(samples[0]), statistics.median(samples[1]), ROUNDS
    )
    figures = f"weeks_inserted={first['weeks_inserted']} notices={first['notices']}"
    comparison.print("reconcile job, first (median)", figures, stored == expected, target=10)


async def bench_rota(settings: Settings) -> None:
    assert settings.database_url
    started = time.perf_counter()
    sites, site_groups, headers = await seed(settings)
    total = SITES * GROUPS_PER_SITE
    print(f"{f'seed {total:,} groups of {MEMBERS}':<34} {time.perf_counter() - started:8.1f} s")
    async with short_lived_sessions(settings.database_url) as factory:
        await first_reconciles(factory, settings, total)
        await _analyze(settings)
        await reconcile_run(factory, settings, "reconcile job, again (nothing due)")
        # A week later every group's horizon has moved on by a week: each stores one more. Timed on a sample
        # (the job's group_ids), to keep the benchmark short; the full run takes total / rate seconds.
        sample = [str(group) for ids in site_groups for group in ids][:LATER_SAMPLE]
        later = utcnow() + timedelta(weeks=1)
        with mock.patch.object(reconcile, "utcnow", return_value=later):
            week, _ = await reconcile_run(
                factory, settings, f"reconcile job, a week on ({len(sample):,})", {"group_ids": sample}
            )
        assert week["weeks_inserted"] == len(sample), week
        async with factory() as session:
            weeks = await session.scalar(select(func.count()).select_from(CaptainWeek))
        print(f"{'captain weeks stored':<34} {weeks:>8,}")

    app = create_app(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", headers=headers) as client:
            site = str(sites[SITES // 2].id)
            response = await client.get("/api/v1/captains/current", params={"site_id": site})
            assert response.status_code == 200, response.text
            assert len(response.json()) == GROUPS_PER_SITE
            report(
                f"captains/current (site, {GROUPS_PER_SITE} groups)",
                await timed(lambda: client.get("/api/v1/captains/current", params={"site_id": site}), CALLS),
            )
            moment = (utcnow() + timedelta(weeks=3)).isoformat()
            groups = itertools.cycle(group for ids in site_groups for group in ids[:2])

            def captain() -> Any:
                return client.get(f"/api/v1/groups/{next(groups)}/captain", params={"at": moment})

            response = await captain()
            assert response.status_code == 200, response.text
            report("groups/{id}/captain?at=", await timed(captain, CALLS))
