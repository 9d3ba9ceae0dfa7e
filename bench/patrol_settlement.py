"""Patrol settlement benchmark: 2,000 walked patrols of five members, 50 check-ins each (100,000 in all, a few
flagged, a few late, a few patrols skipping a checkpoint), plus 100 nobody started, settled by the real job
(statuses, checkpoint results, verified minutes, audit, alerts), against one SQL aggregate computing the same
checkpoint results and minutes over the same rows through bare asyncpg (target: the job within 1.5×)."""

from __future__ import annotations

import json
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from bench.common import station_with_sites
from bench.rota import _copy
from tests.world import add_user, new_volunteer
from yijing.access import Role
from yijing.db import session_scope, short_lived_sessions
from yijing.ids import new_id, utcnow
from yijing.jobs import service as jobs_service
from yijing.patrols.checkins.models import CheckinReview, PatrolCheckin
from yijing.patrols.models import MemberSource, Patrol, PatrolMember, PatrolStatus
from yijing.patrols.routes.models import PatrolCheckpoint, PatrolRoute
from yijing.patrols.settlement.jobs import SETTLE
from yijing.settings import Settings
from yijing.teams.models import Post, TeamAssignment

SITES = 20
WALKED = 100  # per site: 2,000 patrols with check-ins
UNSTARTED = 5  # per site: 100 patrols nobody started (missed)
CHECKPOINTS = 10  # per route
MEMBERS = 5  # per patrol, each scanning the route's checkpoints in turn
SCANS = 10  # per member: 50 check-ins a patrol, 100,000 in all
ROUNDS = 3  # of each, the state restored between them; medians reported
ORIGIN = (26.1496, 119.1421)

# The same checkpoint results and minutes the job stores, for the same patrols, in one statement.
AGGREGATE = """
WITH due AS (
    SELECT id, route_id, planned_start, planned_end FROM patrols
    WHERE settled_at IS NULL AND status <> 'cancelled' AND planned_end < now() - interval '15 minutes'
), counting AS (
    SELECT c.patrol_id, c.volunteer_id, c.checkpoint_id, c.captured_at,
        least(greatest(c.captured_at, d.planned_start), d.planned_end) AS clipped
    FROM patrol_checkins c JOIN due d ON d.id = c.patrol_id
    WHERE c.review IN ('not_needed', 'accepted')
), reached AS (
    SELECT patrol_id, checkpoint_id, min(captured_at) AS first_at, count(*) AS n FROM counting
    GROUP BY patrol_id, checkpoint_id
), verified AS (
    SELECT patrol_id, volunteer_id, count(*) AS n, min(clipped) AS first_at, max(clipped) AS last_at
    FROM counting GROUP BY patrol_id, volunteer_id
), results AS (
    SELECT d.id AS patrol_id, cp.id AS checkpoint_id, r.first_at, coalesce(r.n, 0) AS n,
        CASE WHEN r.first_at IS NULL THEN 'missed' WHEN r.first_at <= d.planned_end THEN 'hit' ELSE 'late' END
            AS outcome
    FROM due d JOIN patrol_checkpoints cp ON cp.route_id = d.route_id
    LEFT JOIN reached r ON r.patrol_id = d.id AND r.checkpoint_id = cp.id
), minutes AS (
    SELECT m.patrol_id, m.volunteer_id, coalesce(v.n, 0) AS n, v.first_at, v.last_at,
        coalesce(floor(extract(epoch FROM v.last_at - v.first_at) / 60), 0)::int AS minutes
    FROM due d JOIN patrol_members m ON m.patrol_id = d.id
    LEFT JOIN verified v ON v.patrol_id = m.patrol_id AND v.volunteer_id = m.volunteer_id
)
"""
# The job's result: computed by one statement, fetched. (Module constants only: no SQL injection.)
COMPUTE = (
    AGGREGATE  # noqa: S608
    + """SELECT patrol_id, checkpoint_id AS target, outcome, first_at, NULL::timestamptz AS last_at, n,
    NULL::int AS minutes FROM results
UNION ALL
SELECT patrol_id, volunteer_id, NULL, first_at, last_at, n, minutes FROM minutes
"""
)
# Computed and stored by one statement (then rolled back): the same writes as the job's, by hand.
STORE = (
    AGGREGATE  # noqa: S608
    + """, stored AS (
    INSERT INTO patrol_checkpoint_results (patrol_id, checkpoint_id, outcome, first_reached_at, checkins)
    SELECT patrol_id, checkpoint_id, outcome, first_at, n FROM results RETURNING 1
), updated AS (
    UPDATE patrol_members m SET verified_minutes = s.minutes, verified_checkins = s.n,
        first_verified_at = s.first_at, last_verified_at = s.last_at
    FROM minutes s WHERE m.patrol_id = s.patrol_id AND m.volunteer_id = s.volunteer_id
        AND (m.verified_minutes, m.verified_checkins, m.first_verified_at, m.last_verified_at)
            IS DISTINCT FROM (s.minutes, s.n, s.first_at, s.last_at)
    RETURNING 1
)
SELECT (SELECT count(*) FROM stored), (SELECT count(*) FROM updated)
"""
)

# Back to before the job: statuses as the members left them, nothing settled, nothing stored.
RESTORE = (
    "UPDATE patrols SET status = 'planned', settled_at = NULL, version = version - 1 WHERE status = 'missed'",
    "UPDATE patrols SET status = 'in_progress', auto_closed = false, ended_at = NULL, settled_at = NULL, "
    "version = version - 1 WHERE auto_closed",
    "UPDATE patrols SET settled_at = NULL WHERE settled_at IS NOT NULL",
    "DELETE FROM patrol_checkpoint_results",
    "UPDATE patrol_members SET verified_minutes = 0, verified_checkins = 0, first_verified_at = NULL, "
    "last_verified_at = NULL",
    "DELETE FROM outbox_messages",
    "VACUUM ANALYZE patrols, patrol_members, patrol_checkpoints, patrol_checkpoint_results, patrol_checkins",
)


def _checkin(
    rng: random.Random, patrol: Patrol, volunteer_id: uuid.UUID, point: PatrolCheckpoint | None, at: datetime
) -> dict[str, Any]:
    flagged = rng.random() < 0.02  # kept pending: counts toward nothing
    return {
        "id": new_id(), "station_id": patrol.station_id, "patrol_id": patrol.id, "volunteer_id": volunteer_id,
        "client_id": uuid.uuid4(), "fingerprint": "0" * 64, "checkpoint_id": point.id if point else None,
        "code": point.code if point else None, "latitude": ORIGIN[0], "longitude": ORIGIN[1],
        "accuracy_m": 8.0, "distance_m": 3.0 if point else None, "captured_at": at, "received_at": at,
        "flags": json.dumps({"too_far": "2,010 m from the checkpoint"} if flagged else {}),
        "review": (CheckinReview.PENDING if flagged else CheckinReview.NOT_NEEDED).value,
        "reviewed_by": None, "reviewed_at": None, "review_note": None,
    }  # fmt: skip


async def seed(settings: Settings) -> None:
    """SITES sites, each with an officer, a route of CHECKPOINTS checkpoints, MEMBERS volunteers and
    WALKED + UNSTARTED past evening patrols (19:00–23:00 in Shanghai, one a day): most completed by their
    members, one in twenty still in progress (the job closes them), the unstarted ones planned."""
    assert settings.database_url
    rng = random.Random(11)
    today = utcnow().date()
    checkins: list[dict[str, Any]] = []
    async with short_lived_sessions(settings.database_url) as factory, session_scope(factory) as session:
        station, sites = await station_with_sites(session, "结算压测派出所", SITES)
        for number, site in enumerate(sites):
            officer = await add_user(
                session, settings, Role.OFFICER, station.id, f"1365{number:07d}", 5100 + number
            )
            session.add(
                TeamAssignment(station_id=station.id, site_id=site.id, user_id=officer.id, post=Post.OFFICER)
            )
            route = PatrolRoute(station_id=station.id, site_id=site.id, name=f"结算巡防{number}")
            session.add(route)
            await session.flush()
            points = [
                PatrolCheckpoint(
                    station_id=station.id, route_id=route.id, position=position + 1, name=f"点位{position}",
                    latitude=ORIGIN[0], longitude=ORIGIN[1] + position * 0.0005,
                    code=f"settle-{number}-{position}-Qx7v",
                )
                for position in range(CHECKPOINTS)
            ]  # fmt: skip
            volunteers = [
                new_volunteer(settings, site, 8_000_000 + number * MEMBERS + m) for m in range(MEMBERS)
            ]
            session.add_all([*points, *volunteers])
            await session.flush()
            patrols: list[Patrol] = []
            for day in range(WALKED + UNSTARTED):
                start = datetime.combine(today - timedelta(days=day + 1), clock(11), tzinfo=UTC)
                walked, under_way = day < WALKED, day % 20 == 7
                patrols.append(
                    Patrol(
                        station_id=station.id, site_id=site.id, route_id=route.id, planned_start=start,
                        planned_end=start + timedelta(hours=4),
                        status=(PatrolStatus.IN_PROGRESS if under_way else PatrolStatus.COMPLETED)
                        if walked else PatrolStatus.PLANNED,
                        started_at=start if walked else None,
                        ended_at=start + timedelta(hours=4) if walked and not under_way else None,
                    )
                )  # fmt: skip
            session.add_all(patrols)
            await session.flush()
            session.add_all(
                PatrolMember(patrol_id=patrol.id, volunteer_id=volunteer.id, source=MemberSource.NAMED)
                for patrol in patrols
                for volunteer in volunteers
            )
            for day, patrol in enumerate(patrols[:WALKED]):
                skipped = day % 33 == 5  # nobody reached checkpoint 8: an alert
                for m, volunteer in enumerate(volunteers):
                    for scan in range(SCANS):
                        target = points[(scan + 2 * m) % CHECKPOINTS]
                        # About every 26 minutes; some members' last scans come after the end (clipped).
                        at = patrol.planned_start + timedelta(minutes=3 + 26 * scan + m + rng.uniform(0, 3))
                        # One scan in four is a free point; so are all of checkpoint 8's on a skipped day.
                        free = scan % 4 == 3 or (skipped and target.position == 8)
                        checkins.append(_checkin(rng, patrol, volunteer.id, None if free else target, at))
        await _copy(session, PatrolCheckin, checkins)
    await _restore(settings)


async def _connect(settings: Settings) -> asyncpg.Connection:
    assert settings.database_url
    dsn = make_url(settings.database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    return await asyncpg.connect(dsn)


async def _restore(settings: Settings) -> None:
    connection = await _connect(settings)
    try:
        for statement in RESTORE:
            await connection.execute(statement)
    finally:
        await connection.close()


async def aggregate(settings: Settings) -> tuple[float, list[asyncpg.Record]]:
    connection = await _connect(settings)
    try:
        started = time.perf_counter()
        rows = await connection.fetch(COMPUTE)
        return time.perf_counter() - started, rows
    finally:
        await connection.close()


async def by_hand(settings: Settings) -> float:
    connection = await _connect(settings)
    try:
        transaction = connection.transaction()
        await transaction.start()
        started = time.perf_counter()
        await connection.fetchrow(STORE)
        elapsed = time.perf_counter() - started
        await transaction.rollback()
        return elapsed
    finally:
        await connection.close()


async def stored(settings: Settings) -> dict[str, int]:
    """What the job stored, as the figures the aggregate's rows give."""
    connection = await _connect(settings)
    try:
        row = await connection.fetchrow(
            "SELECT (SELECT count(*) FILTER (WHERE outcome = 'hit') FROM patrol_checkpoint_results) AS hit, "
            "(SELECT count(*) FILTER (WHERE outcome = 'late') FROM patrol_checkpoint_results) AS late, "
            "(SELECT count(*) FILTER (WHERE outcome = 'missed') FROM patrol_checkpoint_results) AS missed, "
            "(SELECT sum(verified_minutes) FROM patrol_members) AS minutes, "
            "(SELECT sum(verified_checkins) FROM patrol_members) AS checkins"
        )
        assert row is not None
        return dict(row)
    finally:
        await connection.close()


def figures(rows: list[asyncpg.Record]) -> dict[str, int]:
    checkpoints = [row for row in rows if row["outcome"] is not None]
    members = [row for row in rows if row["outcome"] is None]
    return {
        **{
            outcome: sum(row["outcome"] == outcome for row in checkpoints)
            for outcome in ("hit", "late", "missed")
        },
        "minutes": sum(row["minutes"] for row in members),
        "checkins": sum(row["n"] for row in members),
    }


async def bench_patrol_settlement(settings: Settings) -> None:
    assert settings.database_url
    started = time.perf_counter()
    await seed(settings)
    patrols = SITES * (WALKED + UNSTARTED)
    print(f"{f'seed {patrols:,} patrols, {SITES * WALKED * MEMBERS * SCANS:,} check-ins':<34} "
          f"{time.perf_counter() - started:8.1f} s")  # fmt: skip
    samples: dict[str, list[float]] = {"job": [], "aggregate": [], "by hand": []}
    result: dict[str, Any] = {}
    same = True
    async with short_lived_sessions(settings.database_url) as factory:
        for _ in range(ROUNDS):
            elapsed, rows = await aggregate(settings)
            samples["aggregate"].append(elapsed)
            samples["by hand"].append(await by_hand(settings))
            await _restore(settings)  # vacuums away the rows it rolled back, which would slow the job
            begun = time.perf_counter()
            execution = await jobs_service.execute(factory, settings, SETTLE, {})
            samples["job"].append(time.perf_counter() - begun)
            result = execution.result or {}
            same = same and figures(rows) == await stored(settings)
            await _restore(settings)
    job, floor, hand = (statistics.median(samples[name]) for name in ("job", "aggregate", "by hand"))
    print(
        f"{'patrols.settle job':<34} rounds={ROUNDS}  median={job * 1000:7.0f} ms  "
        f"({job / floor:.2f}× the aggregate; target ≤ 1.5×)  settled={result.get('settled')} "
        f"missed={result.get('missed')} auto_closed={result.get('auto_closed')}"
    )
    print(
        f"{'  same rows, one SQL aggregate':<34} rounds={ROUNDS}  median={floor * 1000:7.0f} ms  "
        f"(asyncpg; same figures: {'yes' if same else 'NO'})"
    )
    print(
        f"{'  same rows stored, one statement':<34} rounds={ROUNDS}  median={hand * 1000:7.0f} ms  "
        f"(asyncpg, INSERT results + UPDATE minutes; the job is {job / hand:.2f}× this)"
    )
