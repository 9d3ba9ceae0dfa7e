"""Patrols as statistics sources: settled patrols (held, missed, verified minutes, checkpoint visits) and
patrol logs' safety persuasion and outreach, readable through the stats API like every other figure."""

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.patrols.test_logs import entry, under_way, write
from tests.stats.test_stats import settle
from tests.world import World
from yijing.access import Role
from yijing.db import session_scope
from yijing.ids import station_today, utcnow
from yijing.jobs import service as jobs
from yijing.patrols.logs.models import LogKind, LogTopic, PatrolLog
from yijing.patrols.models import (
    CheckpointOutcome,
    Patrol,
    PatrolCheckpointResult,
    PatrolMember,
    PatrolStatus,
)
from yijing.patrols.settlement.jobs import SETTLE

# 13 October 2023, 19:00 in Shanghai: the evening of the article's drink-driving persuasion.
EVENING = datetime(2023, 10, 13, 11, 0, tzinfo=UTC)


async def settled_patrol(
    session,
    world: World,
    status: PatrolStatus,
    minutes: int,
    outcomes: list[CheckpointOutcome],
    start: datetime = EVENING,
) -> Patrol:
    """A patrol of that evening on the world's route, settled as the worker would have."""
    assert world.own.route is not None
    assert world.own.volunteer is not None
    assert world.own.checkpoint is not None
    patrol = Patrol(
        station_id=world.own.station.id, site_id=world.own.site.id, route_id=world.own.route.id,
        planned_start=start, planned_end=start + timedelta(hours=4), status=status,
        settled_at=start + timedelta(hours=5),
    )  # fmt: skip
    session.add(patrol)
    await session.flush()
    session.add(
        PatrolMember(patrol_id=patrol.id, volunteer_id=world.own.volunteer.id, verified_minutes=minutes)
    )
    for outcome in outcomes:  # one checkpoint in the world's route: results of further ones need their own
        session.add(
            PatrolCheckpointResult(
                patrol_id=patrol.id, checkpoint_id=world.own.checkpoint.id, outcome=outcome
            )
        )
    await session.flush()
    return patrol


async def overview(client, world: World, period: str) -> dict[str, int | None]:
    response = await client.get(
        "/api/v1/stats/overview", params={"period": period}, headers=world.headers(Role.OFFICER)
    )
    assert response.status_code == 200, response.text
    return {figure["metric"]: figure["value"] for figure in response.json()["figures"]}


async def test_settled_patrols_and_persuasions_are_counted(
    client, world, session_factory, settings, redis, run_worker
):
    async with session_scope(session_factory) as session:
        held = await settled_patrol(session, world, PatrolStatus.COMPLETED, 225, [CheckpointOutcome.HIT])
        await settled_patrol(session, world, PatrolStatus.MISSED, 0, [CheckpointOutcome.MISSED])
        for topic in (LogTopic.DRINK_DRIVING, LogTopic.DRINK_DRIVING, LogTopic.FIRE_SAFETY):
            session.add(
                PatrolLog(
                    station_id=world.own.station.id, patrol_id=held.id, client_id=uuid.uuid4(),
                    fingerprint="0" * 64, author_id=world.own.users[Role.VOLUNTEER].id,
                    kind=LogKind.PERSUASION, topic=topic, text="劝导",
                    occurred_at=EVENING + timedelta(hours=2),
                )
            )  # fmt: skip
        # An unsettled patrol counts toward nothing yet.
        unsettled = await settled_patrol(session, world, PatrolStatus.COMPLETED, 60, [CheckpointOutcome.HIT])
        unsettled.settled_at = None
    await settle(session_factory, settings, redis, run_worker)
    figures = await overview(client, world, "2023-10")
    assert (figures["patrols_held"], figures["patrols_missed"], figures["patrol_minutes"]) == (1, 1, 225)
    assert (figures["checkpoint_visits"], figures["checkpoints_covered"]) == (2, 1)
    assert (figures["persuasions"], figures["outreach"]) == (3, 0)
    params = {
        "metric": "persuasions",
        "dimension": "topic:drink_driving",
        "from": "2023-10-01",
        "to": "2023-10-31",
    }
    series = await client.get("/api/v1/stats/series", params=params, headers=world.headers(Role.OFFICER))
    assert series.status_code == 200, series.text
    assert sum(point["value"] or 0 for point in series.json()["points"]) == 2
    as_csv = await client.get(
        "/api/v1/stats/series/export", params=params | {"format": "csv"}, headers=world.headers(Role.OFFICER)
    )
    assert as_csv.status_code == 200
    assert "persuasions" in as_csv.text


async def test_a_persuasion_written_on_patrol_is_recounted_at_once(
    client, world, session_factory, settings, redis, run_worker
):
    patrol = await under_way(client, world)
    outreach = entry(kind="outreach", topic="leaflets", people=40, text="发放反诈宣传单")
    assert (await write(client, world, patrol, outreach)).status_code == 201
    await settle(session_factory, settings, redis, run_worker, check=False)  # only the recount it queued
    this_month = station_today(world.own.station.timezone).strftime("%Y-%m")
    assert (await overview(client, world, this_month))["outreach"] == 1


async def test_a_patrol_settled_by_the_worker_is_recounted_at_once(
    client, world, session_factory, settings, redis, run_worker
):
    two_days_ago = utcnow().replace(microsecond=0) - timedelta(days=2)
    async with session_scope(session_factory) as session:
        patrol = await settled_patrol(session, world, PatrolStatus.IN_PROGRESS, 0, [], start=two_days_ago)
        patrol.settled_at = None  # due: the worker settles it (auto-closed)
    await jobs.execute(session_factory, settings, SETTLE, {})
    await settle(session_factory, settings, redis, run_worker, check=False)  # only the recount it queued
    day = two_days_ago.astimezone(ZoneInfo(world.own.station.timezone))
    figures = await overview(client, world, day.strftime("%Y-%m"))
    assert (figures["patrols_held"], figures["checkpoint_visits"]) == (
        1,
        1,
    )  # the route's one checkpoint, missed
