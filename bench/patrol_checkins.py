"""Patrol check-in benchmarks, on a station with two months of patrols behind it (57,600 check-ins): an
offline batch of 500 check-ins in one request through the full ASGI stack, against the same 500 rows inserted
by one ``INSERT … SELECT FROM unnest(…)`` and by COPY through bare asyncpg (target: the endpoint within 3× of
the unnest insert); then 64 volunteers on eight patrols, each posting batches of 20 at once (req/s and
latency; in-process ASGI on one event loop, like the other benchmarks, not a uvicorn process)."""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.common import station_with_sites
from bench.rota import _copy
from tests.world import add_user, new_volunteer, sign_in_directly
from yijing.access import Role
from yijing.db import session_scope, short_lived_sessions
from yijing.ids import new_id, utcnow
from yijing.patrols.checkins.models import CheckinReview, PatrolCheckin
from yijing.patrols.checkins.schemas import CheckinBatch
from yijing.patrols.checkins.service import fingerprint, judge
from yijing.patrols.models import MemberSource, Patrol, PatrolMember, PatrolStatus
from yijing.patrols.routes.models import PatrolCheckpoint, PatrolRoute
from yijing.settings import Settings
from yijing_api.main import create_app

BATCH = 500
ROUNDS = 7  # of each, endpoint and floors; medians reported
SITES = 8  # one route and one patrol under way at each
CHECKPOINTS = 10  # per route
MEMBERS = 8  # per patrol: 64 volunteers in all
HISTORY_NIGHTS = 60  # settled patrols before tonight's, one a night at each site
HISTORY_EACH = 15  # check-ins of each member on each: 57,600 in all
CLIENTS = SITES * MEMBERS
SMALL_BATCH = 20
REQUESTS_EACH = 20  # per client: 1,280 requests
# Around the night market's entrance; a route's checkpoints lie about 50 m apart.
ORIGIN = (26.1496, 119.1421)
COLUMNS = (
    "id", "station_id", "patrol_id", "volunteer_id", "client_id", "fingerprint", "checkpoint_id", "code",
    "latitude", "longitude", "accuracy_m", "distance_m", "captured_at", "received_at", "flags", "review",
)  # fmt: skip


class Walk:
    """The seeded patrols: each patrol's route checkpoints, planned shift and members' headers."""

    def __init__(self) -> None:
        self.patrols: list[Patrol] = []
        self.checkpoints: dict[uuid.UUID, list[PatrolCheckpoint]] = {}  # by route
        self.members: list[tuple[Patrol, uuid.UUID, dict[str, str]]] = []  # (patrol, volunteer id, headers)


async def seed(settings: Settings) -> Walk:
    """A station with SITES sites, each with a route of CHECKPOINTS checkpoints and a patrol under way (began
    four hours ago, ends in one) of MEMBERS volunteers, each signed in; and its history: a settled patrol a
    night at each site for HISTORY_NIGHTS nights, with HISTORY_EACH check-ins of each member (so the
    client-id lookups and the unique index work on a station's worth of rows, not an empty table)."""
    assert settings.database_url
    walk = Walk()
    now = utcnow().replace(microsecond=0)
    history: list[dict[str, Any]] = []
    async with short_lived_sessions(settings.database_url) as factory, session_scope(factory) as session:
        station, sites = await station_with_sites(session, "巡防压测派出所", SITES)
        for number, site in enumerate(sites):
            route = PatrolRoute(station_id=station.id, site_id=site.id, name=f"夜市巡防{number}")
            session.add(route)
            await session.flush()
            points = [
                PatrolCheckpoint(
                    station_id=station.id, route_id=route.id, position=position + 1, name=f"点位{position}",
                    latitude=ORIGIN[0] + number * 0.01, longitude=ORIGIN[1] + position * 0.0005,
                    code=f"bench-{number}-{position}-Qx7v",
                )
                for position in range(CHECKPOINTS)
            ]  # fmt: skip
            session.add_all(points)
            walk.checkpoints[route.id] = points
            nights = [now - timedelta(days=night, hours=4) for night in range(HISTORY_NIGHTS, -1, -1)]
            patrols = [
                Patrol(
                    station_id=station.id, site_id=site.id, route_id=route.id, planned_start=start,
                    planned_end=start + timedelta(hours=5), status=PatrolStatus.COMPLETED, started_at=start,
                    ended_at=start + timedelta(hours=5), settled_at=start + timedelta(hours=6),
                )
                for start in nights
            ]  # fmt: skip
            patrol = patrols[-1]  # tonight's, under way
            patrol.status, patrol.ended_at, patrol.settled_at = PatrolStatus.IN_PROGRESS, None, None
            session.add_all(patrols)
            await session.flush()
            walk.patrols.append(patrol)
            for member in range(MEMBERS):
                serial = number * MEMBERS + member
                # Serials of their own: no other benchmark's users or volunteers share them.
                user = await add_user(
                    session, settings, Role.VOLUNTEER, station.id, f"1364{serial:07d}", 4100 + serial
                )
                volunteer = new_volunteer(settings, site, 7_000_000 + serial, user_id=user.id)
                session.add(volunteer)
                await session.flush()
                session.add_all(
                    PatrolMember(patrol_id=each.id, volunteer_id=volunteer.id, source=MemberSource.NAMED)
                    for each in patrols
                )
                token = await sign_in_directly(session, settings, user)
                walk.members.append((patrol, volunteer.id, {"Authorization": f"Bearer {token}"}))
                history.extend(
                    past_checkin(each, volunteer.id, points[scan % CHECKPOINTS], scan)
                    for each in patrols[:-1]
                    for scan in range(HISTORY_EACH)
                )
        await session.flush()
        await _copy(session, PatrolCheckin, history)
    async with short_lived_sessions(settings.database_url) as factory, session_scope(factory) as session:
        for name in ("patrols", "patrol_members", "patrol_checkpoints", "patrol_checkins"):
            await session.execute(text(f"ANALYZE {name}"))
    return walk


def past_checkin(
    patrol: Patrol, volunteer_id: uuid.UUID, point: PatrolCheckpoint, scan: int
) -> dict[str, Any]:
    """A fitting scan of ``point`` on a past patrol, as stored (flags as JSON text: COPY sends it as is)."""
    captured = patrol.planned_start + timedelta(minutes=10 * scan + 1)
    return {
        "id": new_id(), "station_id": patrol.station_id, "patrol_id": patrol.id, "volunteer_id": volunteer_id,
        "client_id": uuid.uuid4(), "fingerprint": "0" * 64, "checkpoint_id": point.id, "code": point.code,
        "latitude": point.latitude, "longitude": point.longitude, "accuracy_m": 8.0, "distance_m": 0.0,
        "captured_at": captured, "received_at": captured, "flags": "{}", "review": "not_needed",
        "reviewed_by": None, "reviewed_at": None, "review_note": None,
    }  # fmt: skip


def checkins(
    rng: random.Random, points: list[PatrolCheckpoint], size: int, start: datetime, step: timedelta
) -> dict[str, Any]:
    """A batch as a device sends it: scans of the route's checkpoints with a little GPS jitter, one in three a
    free point, one in fifty two kilometres off (flagged too far); captured every ``step`` from ``start``."""
    items = []
    for number in range(size):
        point = points[number % len(points)]
        far = 0.02 if number % 50 == 49 else 0.0
        items.append(
            {
                "client_id": str(uuid.uuid4()),
                "code": None if number % 3 == 2 else point.code,
                "location": {
                    "latitude": round(point.latitude + rng.uniform(-1e-4, 1e-4), 7),
                    "longitude": round(point.longitude + far + rng.uniform(-1e-4, 1e-4), 7),
                },
                "accuracy_m": round(rng.uniform(4, 25), 1),
                "captured_at": (start + number * step).isoformat(),
            }
        )
    return {"checkins": items}


def rows_of(
    body: dict[str, Any], patrol: Patrol, volunteer_id: uuid.UUID, points: list[PatrolCheckpoint]
) -> list[tuple[Any, ...]]:
    """The rows the endpoint stores for ``body`` (same columns, same values), as tuples in COLUMNS order."""
    by_code = {point.code: point for point in points}
    received_at = utcnow()
    rows = []
    for item in CheckinBatch.model_validate(body).checkins:
        checkpoint = by_code.get(item.code) if item.code is not None else None
        flags, distance = judge(item, checkpoint, patrol, received_at)
        rows.append(
            (
                new_id(), patrol.station_id, patrol.id, volunteer_id, item.client_id,
                fingerprint(patrol.id, volunteer_id, item), checkpoint.id if checkpoint else None, item.code,
                item.location.latitude, item.location.longitude, item.accuracy_m, distance, item.captured_at,
                received_at, json.dumps({str(flag): why for flag, why in flags.items()}),
                (CheckinReview.PENDING if flags else CheckinReview.NOT_NEEDED).value,
            )
        )  # fmt: skip
    return rows


# One statement, one array per column: what a hand-written bulk insert of the batch would send.
UNNEST = """
INSERT INTO patrol_checkins (id, station_id, patrol_id, volunteer_id, client_id, fingerprint, checkpoint_id,
    code, latitude, longitude, accuracy_m, distance_m, captured_at, received_at, flags, review)
SELECT id, station_id, patrol_id, volunteer_id, client_id, fingerprint, checkpoint_id, code, latitude,
    longitude, accuracy_m, distance_m, captured_at, received_at, flags::jsonb, review
FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::text[], $7::uuid[], $8::text[],
    $9::float8[], $10::float8[], $11::float8[], $12::float8[], $13::timestamptz[], $14::timestamptz[],
    $15::text[], $16::text[])
    AS t(id, station_id, patrol_id, volunteer_id, client_id, fingerprint, checkpoint_id, code, latitude,
    longitude, accuracy_m, distance_m, captured_at, received_at, flags, review)
"""


async def unnest_insert(connection: asyncpg.Connection, rows: list[tuple[Any, ...]]) -> float:
    columns = [list(column) for column in zip(*rows, strict=True)]
    started = time.perf_counter()
    async with connection.transaction():
        await connection.execute(UNNEST, *columns)
    return time.perf_counter() - started


async def copy_insert(connection: asyncpg.Connection, rows: list[tuple[Any, ...]]) -> float:
    started = time.perf_counter()
    async with connection.transaction():
        await connection.copy_records_to_table("patrol_checkins", records=rows, columns=list(COLUMNS))
    return time.perf_counter() - started


async def post_batch(client: httpx.AsyncClient, walk: Walk, body: dict[str, Any]) -> float:
    """The batch posted by the first patrol's first member: 201, every check-in stored."""
    patrol, _, headers = walk.members[0]
    content = json.dumps(body).encode()
    started = time.perf_counter()
    response = await client.post(
        f"/api/v1/patrols/{patrol.id}/checkins",
        content=content,
        headers=headers | {"Content-Type": "application/json"},
    )
    elapsed = time.perf_counter() - started
    assert response.status_code == 201, response.text
    assert response.json()["stored"] == BATCH, response.json()["stored"]
    return elapsed


async def batch_against_floors(
    settings: Settings, client: httpx.AsyncClient, walk: Walk
) -> dict[str, list[float]]:
    """ROUNDS rounds of: a batch through the endpoint, the same rows of another batch (new ids) by one unnest
    INSERT, and by COPY, each committed; interleaved, so that each meets the same table size. A first round
    warms up (imports, pools, prepared statements) and is not counted."""
    assert settings.database_url
    patrol, volunteer_id, _ = walk.members[0]
    points = walk.checkpoints[patrol.route_id]
    rng = random.Random(3)

    def batch() -> dict[str, Any]:
        # Captured every 20 s from the shift's start: 500 span 2 h 47 min, all inside the shift.
        return checkins(
            rng, points, BATCH, patrol.planned_start + timedelta(minutes=1), timedelta(seconds=20)
        )

    samples: dict[str, list[float]] = {"endpoint": [], "unnest": [], "copy": []}
    dsn = make_url(settings.database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        for _ in range(ROUNDS + 1):
            endpoint = await post_batch(client, walk, batch())
            unnested = await unnest_insert(connection, rows_of(batch(), patrol, volunteer_id, points))
            copied = await copy_insert(connection, rows_of(batch(), patrol, volunteer_id, points))
            for name, sample in (("endpoint", endpoint), ("unnest", unnested), ("copy", copied)):
                samples[name].append(sample)
    finally:
        await connection.close()
    return {name: taken[1:] for name, taken in samples.items()}


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


async def concurrent_clients(client: httpx.AsyncClient, walk: Walk) -> tuple[float, list[float]]:
    """CLIENTS members, each posting REQUESTS_EACH batches of SMALL_BATCH to its patrol one after another, all
    at once: (wall time, each request's latency)."""
    rng = random.Random(5)
    latencies: list[float] = []

    async def member(patrol: Patrol, headers: dict[str, str]) -> None:
        points = walk.checkpoints[patrol.route_id]
        for _ in range(REQUESTS_EACH):
            start = patrol.planned_start + timedelta(minutes=rng.uniform(0, 200))
            content = json.dumps(checkins(rng, points, SMALL_BATCH, start, timedelta(seconds=20))).encode()
            started = time.perf_counter()
            response = await client.post(
                f"/api/v1/patrols/{patrol.id}/checkins",
                content=content,
                headers=headers | {"Content-Type": "application/json"},
            )
            latencies.append(time.perf_counter() - started)
            assert response.status_code == 201, response.text

    started = time.perf_counter()
    await asyncio.gather(*(member(patrol, headers) for patrol, _, headers in walk.members))
    return time.perf_counter() - started, latencies


async def bench_patrol_checkins(settings: Settings) -> None:
    assert settings.database_url
    started = time.perf_counter()
    walk = await seed(settings)
    stored = SITES * MEMBERS * HISTORY_NIGHTS * HISTORY_EACH
    print(
        f"{f'seed {SITES} patrols of {MEMBERS}, {stored:,} past':<34} {time.perf_counter() - started:8.1f} s"
    )
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=120) as client:
            samples = await batch_against_floors(settings, client, walk)
            wall, latencies = await concurrent_clients(client, walk)
    median, floor, copy = (statistics.median(samples[name]) for name in ("endpoint", "unnest", "copy"))
    print(
        f"{f'POST checkins, batch of {BATCH}':<34} rounds={ROUNDS}  median={median * 1000:7.1f} ms  "
        f"({median / floor:.1f}× the unnest INSERT; target ≤ 3×)"
    )
    print(
        f"{'  same rows, one INSERT … unnest':<34} rounds={ROUNDS}  median={floor * 1000:7.1f} ms  (asyncpg)"
    )
    print(f"{'  same rows, COPY':<34} rounds={ROUNDS}  median={copy * 1000:7.1f} ms  (asyncpg)")
    requests = len(latencies)
    print(
        f"{f'{CLIENTS} clients × {REQUESTS_EACH} batches of {SMALL_BATCH}':<34} n={requests:>5}  "
        f"{requests / wall:6.0f} req/s  {requests * SMALL_BATCH / wall:7.0f} check-ins/s  "
        f"p50={percentile(latencies, 0.50) * 1000:6.1f} ms  "
        f"p99={percentile(latencies, 0.99) * 1000:6.1f} ms  "
        f"(in-process ASGI, one event loop, pool {settings.database_pool_size}+{settings.database_pool_size})"
    )
