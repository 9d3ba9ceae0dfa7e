"""Settlement: after the window closes a patrol nobody started is missed and one under way closed, each
checkpoint's outcome and each member's verified minutes stored — once, however often or concurrently the
job runs; flagged check-ins count only once accepted (then the patrol is settled again); coverage reads,
live and settled, and the month's summary per site."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlmodel import col

from tests.patrols.test_checkins import FAR_AWAY, plan, scan, send
from tests.world import World
from yijing.access import Role
from yijing.audit.models import AuditEvent
from yijing.db import session_scope
from yijing.ids import utcnow
from yijing.jobs import service as jobs
from yijing.notifications.models import Notification
from yijing.outbox import service as outbox
from yijing.outbox.models import OutboxMessage
from yijing.patrols.models import SHIFT_GRACE, Patrol, PatrolCheckpointResult, PatrolMember
from yijing.patrols.routes.models import PatrolCheckpoint
from yijing.patrols.settlement.jobs import RESETTLE, SETTLE
from yijing_worker.worker import cron_jobs

PATROLS = "/api/v1/patrols"
SUMMARY = f"{PATROLS}/coverage-summary"


def ago(hours: float) -> datetime:
    return utcnow().replace(microsecond=0) - timedelta(hours=hours)


async def add_checkpoints(session_factory, world: World, *names: str) -> list[PatrolCheckpoint]:
    """More checkpoints on the world's route, after its entrance (each about 50 m further east)."""
    assert world.own.route is not None
    assert world.own.checkpoint is not None
    entrance = world.own.checkpoint
    added = [
        PatrolCheckpoint(
            station_id=world.own.station.id, route_id=world.own.route.id, position=number, name=name,
            latitude=entrance.latitude, longitude=entrance.longitude + 0.0005 * number,
            code=f"cp{number}-{uuid.uuid4().hex[:12]}",
        )
        for number, name in enumerate(names, start=2)
    ]  # fmt: skip
    async with session_scope(session_factory) as session:
        session.add_all(added)
    return added


def at(checkpoint: PatrolCheckpoint, captured_at: datetime, **fields: object) -> dict:
    """A scan of ``checkpoint`` where it stands, captured at ``captured_at``."""
    return {
        "client_id": str(uuid.uuid4()),
        "code": checkpoint.code,
        "location": {"latitude": checkpoint.latitude, "longitude": checkpoint.longitude},
        "accuracy_m": 5.0,
        "captured_at": captured_at.isoformat(),
    } | fields


async def act(client, world: World, patrol: dict, action: str, **body: object) -> dict:
    response = await client.post(
        f"{PATROLS}/{patrol['id']}/{action}", json=body or None, headers=world.headers(Role.OFFICER)
    )
    assert response.status_code == 200, response.text
    return response.json()


async def settle(session_factory, settings) -> dict:
    execution = await jobs.execute(session_factory, settings, SETTLE, {})
    assert execution.result is not None
    return execution.result


async def stored_patrol(session_factory, patrol: dict) -> Patrol:
    async with session_factory() as session:
        stored = await session.get(Patrol, uuid.UUID(patrol["id"]))
    assert stored is not None
    return stored


async def results(session_factory, patrol: dict) -> list[tuple[str, str, datetime | None, int]]:
    """The stored checkpoint results as (checkpoint, outcome, first reached, check-ins), in route order."""
    query = (
        select(
            col(PatrolCheckpoint.name),
            col(PatrolCheckpointResult.outcome),
            col(PatrolCheckpointResult.first_reached_at),
            col(PatrolCheckpointResult.checkins),
        )
        .join(PatrolCheckpoint, col(PatrolCheckpoint.id) == col(PatrolCheckpointResult.checkpoint_id))
        .where(col(PatrolCheckpointResult.patrol_id) == patrol["id"])
        .order_by(col(PatrolCheckpoint.position))
    )
    async with session_factory() as session:
        return [
            (name, str(outcome), first, count) for name, outcome, first, count in await session.execute(query)
        ]


async def member(session_factory, world: World, patrol: dict) -> PatrolMember:
    assert world.own.volunteer is not None
    async with session_factory() as session:
        stored = await session.get(PatrolMember, (uuid.UUID(patrol["id"]), world.own.volunteer.id))
    assert stored is not None
    return stored


async def audit_actions(session_factory, target_id) -> list[str]:
    query = select(col(AuditEvent.action)).where(col(AuditEvent.target_id) == str(target_id))
    async with session_factory() as session:
        return sorted((await session.scalars(query)).all())


async def notices(session_factory, kind: str | None = None) -> list[dict]:
    """The notification payloads queued in the outbox (of one kind, if given)."""
    query = select(OutboxMessage).where(col(OutboxMessage.job_name) == "notifications.deliver")
    async with session_factory() as session:
        payloads = [message.arguments["payload"] for message in await session.scalars(query)]
    return [payload for payload in payloads if kind is None or payload["kind"] == kind]


async def test_after_the_window_a_patrol_nobody_started_is_missed_and_alerts_once(
    client, world, session_factory, settings
):
    cold = await plan(client, world, start=ago(6))
    walked = await plan(client, world, start=ago(6))
    [barbecue] = await add_checkpoints(session_factory, world, "烧烤一条街")
    await act(client, world, walked, "start")
    reached = datetime.fromisoformat(walked["planned_start"]) + timedelta(hours=1)
    sent = await send(client, world, walked, scan(world, captured_at=reached.isoformat()))
    assert sent.status_code == 201, sent.text
    await act(client, world, walked, "complete")
    under_way = await plan(client, world)  # its window is still open: not due

    assert await settle(session_factory, settings) == {"settled": 2, "missed": 1, "auto_closed": 0}
    assert (await stored_patrol(session_factory, cold)).status == "missed"
    assert [outcome for _, outcome, _, _ in await results(session_factory, cold)] == ["missed", "missed"]
    assert await results(session_factory, walked) == [
        ("入口", "hit", reached, 1),
        ("烧烤一条街", "missed", None, 0),
    ]
    assert (await stored_patrol(session_factory, walked)).status == "completed"
    assert (await stored_patrol(session_factory, under_way)).settled_at is None

    # A second run finds nothing due and changes nothing.
    before = [await results(session_factory, patrol) for patrol in (cold, walked)]
    assert await settle(session_factory, settings) == {"settled": 0, "missed": 0, "auto_closed": 0}
    assert [await results(session_factory, patrol) for patrol in (cold, walked)] == before
    assert await audit_actions(session_factory, cold["id"]) == ["patrol.miss", "patrol.plan"]
    # The site's officer hears once of each: the missed patrol, the missed checkpoint.
    [missed] = await notices(session_factory, "patrol.missed")
    assert missed["recipients"] == [str(world.user(Role.OFFICER).id)]
    assert missed["dedupe_key"] == f"patrol.missed:{cold['id']}"
    [skipped] = await notices(session_factory, "patrol.checkpoints_missed")
    assert skipped["link"] == f"/api/v1/patrols/{walked['id']}/coverage"
    assert barbecue.name in skipped["body"]
    assert "1/2" in skipped["body"]


async def test_an_unfinished_patrol_is_closed_when_its_window_closes(
    client, world, session_factory, settings
):
    patrol = await plan(client, world, start=ago(5))
    await act(client, world, patrol, "start")
    assert await settle(session_factory, settings) == {"settled": 1, "missed": 0, "auto_closed": 1}
    closed = await stored_patrol(session_factory, patrol)
    assert (closed.status, closed.auto_closed) == ("completed", True)
    assert closed.ended_at == closed.planned_end + SHIFT_GRACE
    assert closed.version == 3  # planned, started, closed: a client holding the started one reads it again
    assert await audit_actions(session_factory, patrol["id"]) == [
        "patrol.auto_complete",
        "patrol.plan",
        "patrol.start",
    ]


async def test_a_patrol_is_due_only_after_the_grace(client, world, session_factory, settings):
    ended = await plan(client, world, start=ago(4.1))  # ended six minutes ago: still within the grace
    assert await settle(session_factory, settings) == {"settled": 0, "missed": 0, "auto_closed": 0}
    assert (await stored_patrol(session_factory, ended)).status == "planned"


async def test_a_cancelled_patrol_is_not_settled(client, world, session_factory, settings):
    patrol = await plan(client, world, start=utcnow() + timedelta(hours=1))
    await act(client, world, patrol, "cancel", reason="台风预警，夜市停业")
    async with session_scope(session_factory) as session:  # its window then passed
        await session.execute(
            update(Patrol)
            .where(col(Patrol.id) == patrol["id"])
            .values(planned_start=ago(6), planned_end=ago(2))
        )
    assert await settle(session_factory, settings) == {"settled": 0, "missed": 0, "auto_closed": 0}
    stored = await stored_patrol(session_factory, patrol)
    assert (stored.status, stored.settled_at) == ("cancelled", None)
    assert await results(session_factory, patrol) == []
    assert await notices(session_factory) == []


async def test_minutes_are_clipped_to_the_window_and_late_scans_are_late(
    client, world, session_factory, settings
):
    start = ago(6)
    end = start + timedelta(hours=4)
    patrol = await plan(client, world, start=start)
    [barbecue, bridge] = await add_checkpoints(session_factory, world, "烧烤一条街", "滨河桥")
    assert world.own.checkpoint is not None
    early = at(world.own.checkpoint, start - timedelta(minutes=10))  # within the grace: not flagged
    middle = at(barbecue, start + timedelta(minutes=90))
    late = at(bridge, end + timedelta(minutes=10))
    response = await send(client, world, patrol, early, middle, late)
    assert [item["flags"] for item in response.json()["items"]] == [[], [], []]
    await settle(session_factory, settings)
    assert await results(session_factory, patrol) == [
        ("入口", "hit", start - timedelta(minutes=10), 1),
        ("烧烤一条街", "hit", start + timedelta(minutes=90), 1),
        ("滨河桥", "late", end + timedelta(minutes=10), 1),
    ]
    minutes = await member(session_factory, world, patrol)
    assert (minutes.first_verified_at, minutes.last_verified_at) == (start, end)
    assert (minutes.verified_minutes, minutes.verified_checkins) == (240, 3)


async def test_one_check_in_makes_no_minutes(client, world, session_factory, settings):
    patrol = await plan(client, world, start=ago(6))
    reached = datetime.fromisoformat(patrol["planned_start"]) + timedelta(hours=1)
    await send(client, world, patrol, scan(world, captured_at=reached.isoformat()))
    await settle(session_factory, settings)
    minutes = await member(session_factory, world, patrol)
    assert (minutes.verified_minutes, minutes.verified_checkins) == (0, 1)
    assert minutes.first_verified_at == minutes.last_verified_at == reached


async def test_a_flagged_check_in_counts_once_accepted_and_the_patrol_is_settled_again(
    client, world, session_factory, settings
):
    start = ago(6)
    patrol = await plan(client, world, start=start)
    [barbecue] = await add_checkpoints(session_factory, world, "烧烤一条街")
    assert world.own.checkpoint is not None
    fitting = at(world.own.checkpoint, start + timedelta(minutes=5))
    far = at(barbecue, start + timedelta(minutes=125), location=FAR_AWAY)
    rejected = at(barbecue, start + timedelta(minutes=200), location=FAR_AWAY)
    items = (await send(client, world, patrol, fitting, far, rejected)).json()["items"]
    assert [item["review"] for item in items] == ["not_needed", "pending", "pending"]
    await settle(session_factory, settings)
    assert [outcome for _, outcome, _, _ in await results(session_factory, patrol)] == ["hit", "missed"]
    assert (await member(session_factory, world, patrol)).verified_minutes == 0

    review = f"{PATROLS}/{patrol['id']}/checkins/{{}}/review"
    rejection = await client.post(
        review.format(items[2]["id"]), json={"decision": "reject"}, headers=world.headers(Role.OFFICER)
    )
    assert rejection.status_code == 200, rejection.text
    async with session_factory() as session:  # rejected, it counts no more than pending: nothing to redo
        query = select(func.count()).where(col(OutboxMessage.job_name) == RESETTLE.name)
        assert await session.scalar(query) == 0
    accepted = await client.post(
        review.format(items[1]["id"]),
        json={"decision": "accept", "note": "信号漂移，已电话核实"},
        headers=world.headers(Role.OFFICER),
    )
    assert accepted.status_code == 200, accepted.text
    async with session_factory() as session:
        [message] = (
            await session.scalars(select(OutboxMessage).where(col(OutboxMessage.job_name) == RESETTLE.name))
        ).all()
    assert message.arguments["payload"] == {"patrol_id": patrol["id"]}
    for _ in range(2):  # delivered twice: the same rows
        await jobs.execute(session_factory, settings, RESETTLE, message.arguments["payload"])
        assert await results(session_factory, patrol) == [
            ("入口", "hit", start + timedelta(minutes=5), 1),
            ("烧烤一条街", "hit", start + timedelta(minutes=125), 1),
        ]
        minutes = await member(session_factory, world, patrol)
        assert (minutes.verified_minutes, minutes.verified_checkins) == (120, 2)
    # Nobody started it: still missed, audited and told once.
    assert (await stored_patrol(session_factory, patrol)).status == "missed"
    assert await audit_actions(session_factory, patrol["id"]) == ["patrol.miss", "patrol.plan"]
    assert len(await notices(session_factory, "patrol.missed")) == 1


async def test_an_acceptance_before_settling_queues_nothing(client, world, session_factory):
    patrol = await plan(client, world)
    [flagged] = (await send(client, world, patrol, scan(world, location=FAR_AWAY))).json()["items"]
    accepted = await client.post(
        f"{PATROLS}/{patrol['id']}/checkins/{flagged['id']}/review",
        json={"decision": "accept"},
        headers=world.headers(Role.OFFICER),
    )
    assert accepted.status_code == 200, accepted.text
    async with session_factory() as session:
        query = select(func.count()).where(col(OutboxMessage.job_name) == RESETTLE.name)
        assert await session.scalar(query) == 0


async def test_coverage_is_live_until_settled_then_stored(client, world, session_factory, settings):
    [barbecue] = await add_checkpoints(session_factory, world, "烧烤一条街")
    under_way = await plan(client, world)  # began an hour ago
    await send(client, world, under_way, scan(world))
    live = await client.get(f"{PATROLS}/{under_way['id']}/coverage", headers=world.headers(Role.VOLUNTEER))
    assert live.status_code == 200, live.text
    body = live.json()
    assert body["settled_at"] is None
    assert [(row["name"], row["outcome"], row["checkins"]) for row in body["checkpoints"]] == [
        ("入口", "hit", 1),
        ("烧烤一条街", "not_yet", 0),
    ]
    assert world.own.volunteer is not None
    assert [(row["name"], row["verified_checkins"]) for row in body["members"]] == [
        (world.own.volunteer.name, 1)
    ]

    closed = await plan(client, world, start=ago(6))
    start = datetime.fromisoformat(closed["planned_start"])
    await send(
        client,
        world,
        closed,
        scan(world, captured_at=(start + timedelta(minutes=3)).isoformat()),
        scan(world, captured_at=(start + timedelta(minutes=64)).isoformat()),
    )
    path = f"{PATROLS}/{closed['id']}/coverage"
    before = (await client.get(path, headers=world.headers(Role.OFFICER))).json()
    assert [row["outcome"] for row in before["checkpoints"]] == [
        "hit",
        "missed",
    ]  # closed: not "not yet"
    await settle(session_factory, settings)
    after = (await client.get(path, headers=world.headers(Role.OFFICER))).json()
    assert after["settled_at"] is not None
    assert after["status"] == "missed"
    assert after["checkpoints"] == before["checkpoints"]
    assert after["members"] == before["members"]
    assert after["members"][0]["verified_minutes"] == 61
    assert after["checkpoints"][1]["checkpoint_id"] == str(barbecue.id)
    assert datetime.fromisoformat(after["window_closes_at"]) == start + timedelta(hours=4) + SHIFT_GRACE


async def test_another_stations_patrol_coverage_is_not_found(client, world):
    assert world.other.patrol is not None
    response = await client.get(
        f"{PATROLS}/{world.other.patrol.id}/coverage", headers=world.headers(Role.OFFICER)
    )
    assert (response.status_code, response.json()["code"]) == (404, "patrol_not_found")
    missing = await client.get(f"{PATROLS}/{uuid.uuid4()}/coverage", headers=world.headers(Role.VOLUNTEER))
    assert missing.status_code == 404


async def test_the_summary_counts_the_months_rows(client, world, session_factory, settings):
    # October 2023 in Shanghai: from 2023-09-30 16:00 UTC to 2023-10-31 16:00 UTC; 19:00 there.
    october = datetime(2023, 10, 13, 11, tzinfo=UTC)
    walked = await plan(client, world, start=october)
    await add_checkpoints(session_factory, world, "烧烤一条街")
    await act(client, world, walked, "start")
    await send(
        client,
        world,
        walked,
        scan(world, captured_at=(october + timedelta(minutes=2)).isoformat()),
        scan(world, captured_at=(october + timedelta(minutes=92)).isoformat()),
    )
    await plan(client, world, start=october + timedelta(days=1))  # nobody starts it: missed
    cancelled = await plan(client, world, start=october + timedelta(days=2))
    await act(client, world, cancelled, "cancel", reason="台风预警，夜市停业")
    # 1 November, 00:30 in Shanghai: November's, though still 31 October in UTC.
    await plan(client, world, start=datetime(2023, 10, 31, 16, 30, tzinfo=UTC))
    await settle(session_factory, settings)

    response = await client.get(SUMMARY, params={"month": "2023-10"}, headers=world.headers(Role.OFFICER))
    assert response.status_code == 200, response.text
    [site] = response.json()["sites"]  # an officer reaches the own station's one site
    assert site["site_id"] == str(world.own.site.id)
    assert site["patrols"] == {"planned": 3, "completed": 1, "missed": 1, "cancelled": 1}
    async with session_factory() as session:
        month_ids = select(col(Patrol.id)).where(
            col(Patrol.site_id) == world.own.site.id,
            col(Patrol.planned_start) >= datetime(2023, 9, 30, 16, tzinfo=UTC),
            col(Patrol.planned_start) < datetime(2023, 10, 31, 16, tzinfo=UTC),
        )
        outcomes = dict(
            (
                await session.execute(
                    select(col(PatrolCheckpointResult.outcome), func.count())
                    .where(col(PatrolCheckpointResult.patrol_id).in_(month_ids))
                    .group_by(col(PatrolCheckpointResult.outcome))
                )
            ).all()
        )
        minutes = await session.scalar(
            select(func.sum(col(PatrolMember.verified_minutes))).where(
                col(PatrolMember.patrol_id).in_(month_ids)
            )
        )
    assert site["checkpoints"] == {
        "hit": outcomes.get("hit", 0),
        "late": outcomes.get("late", 0),
        "missed": outcomes.get("missed", 0),
    }
    assert site["checkpoints"] == {"hit": 1, "late": 0, "missed": 3}
    assert site["coverage_percent"] == 25.0
    assert site["verified_minutes"] == minutes == 90

    november = await client.get(SUMMARY, params={"month": "2023-11"}, headers=world.headers(Role.ADMIN))
    by_site = {row["site_id"]: row for row in november.json()["sites"]}
    assert set(by_site) == {str(world.own.site.id), str(world.other.site.id)}  # an admin reaches both
    assert by_site[str(world.own.site.id)]["patrols"]["planned"] == 1
    assert by_site[str(world.other.site.id)]["coverage_percent"] is None
    one = await client.get(
        SUMMARY,
        params={"month": "2023-10", "site_id": str(world.own.site.id)},
        headers=world.headers(Role.ADMIN),
    )
    assert [row["site_id"] for row in one.json()["sites"]] == [str(world.own.site.id)]


async def test_the_summary_is_for_staff_and_their_sites(client, world):
    volunteer = await client.get(SUMMARY, params={"month": "2023-10"}, headers=world.headers(Role.VOLUNTEER))
    assert volunteer.status_code == 403
    other = await client.get(
        SUMMARY,
        params={"month": "2023-10", "site_id": str(world.other.site.id)},
        headers=world.headers(Role.OFFICER),
    )
    assert (other.status_code, other.json()["code"]) == (404, "site_not_found")
    for month in ("2023-13", "2023-1", None):
        bad = await client.get(
            SUMMARY, params={"month": month} if month else {}, headers=world.headers(Role.ASSISTANT)
        )
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["field"] == "query.month"


@pytest.mark.committed  # concurrent transactions need connections of their own
async def test_workers_racing_settle_each_patrol_once(
    client, world, session_factory, settings, redis, run_worker
):
    await add_checkpoints(session_factory, world, "烧烤一条街")
    due = [await plan(client, world, start=ago(6 + number)) for number in range(12)]
    for patrol in due[:4]:
        await act(client, world, patrol, "start")
    runs = await asyncio.gather(*(jobs.execute(session_factory, settings, SETTLE, {}) for _ in range(3)))
    totals = [run.result or {} for run in runs]
    assert sum(total["settled"] for total in totals) == 12
    assert sum(total["auto_closed"] for total in totals) == 4
    assert (await settle(session_factory, settings))["settled"] == 0
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(PatrolCheckpointResult)) == 24
        settled = await session.scalar(select(func.count()).where(col(Patrol.settled_at).is_not(None)))
        assert settled == 12  # the world's own patrols are tomorrow's
    for patrol in due:
        actions = await audit_actions(session_factory, patrol["id"])
        assert len([action for action in actions if action in ("patrol.miss", "patrol.auto_complete")]) == 1
    # Delivered by the worker (the outbox relayed twice): each alert reaches the officer once.
    await outbox.relay(session_factory, redis)
    await outbox.relay(session_factory, redis)
    await run_worker()
    async with session_factory() as session:
        kinds = (
            await session.scalars(
                select(col(Notification.kind)).where(
                    col(Notification.recipient_id) == world.user(Role.OFFICER).id
                )
            )
        ).all()
    assert sorted(kind for kind in kinds if kind.startswith("patrol.")) == (
        ["patrol.checkpoints_missed"] * 4 + ["patrol.missed"] * 8
    )


def test_the_worker_settles_every_five_minutes():
    [job] = [job for job in cron_jobs() if job.name == f"cron:{SETTLE.name}"]
    assert job.minute == set(range(0, 60, 5))
    assert job.run_at_startup
