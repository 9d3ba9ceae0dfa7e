"""The rota's reconcile job: idempotent, safe with two workers at once, fills the weeks missed while no
worker ran without advancing twice, keeps local handoff times across DST, and sends each handoff notice
once."""

import asyncio
import itertools
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update
from sqlmodel import col

from tests.world import new_volunteer
from yijing.access import Role
from yijing.db import session_scope
from yijing.groups.models import Group, GroupMembership
from yijing.jobs import service as jobs
from yijing.notifications.models import Notification
from yijing.org.models import Site, Station
from yijing.outbox import service as outbox
from yijing.rota.jobs import RECONCILE
from yijing.rota.models import CaptainNotice, CaptainWeek
from yijing.rota.reconcile import reconcile_group
from yijing.volunteers.models import Volunteer
from yijing_worker.worker import cron_jobs

_serials = itertools.count(5000)


async def make_group(
    session_factory, settings, site, size: int, **settings_fields
) -> tuple[Group, list[Volunteer]]:
    """A group with ``size`` members, not yet planned."""
    async with session_scope(session_factory) as session:
        group = Group(
            station_id=site.station_id, site_id=site.id, name=f"组{next(_serials)}", **settings_fields
        )
        session.add(group)
        volunteers = [new_volunteer(settings, site, next(_serials)) for _ in range(size)]
        session.add_all(volunteers)
        await session.flush()
        joined = datetime(2020, 1, 1, tzinfo=UTC)
        for volunteer in volunteers:
            session.add(GroupMembership(group_id=group.id, volunteer_id=volunteer.id, joined_at=joined))
    return group, volunteers


async def stored(session_factory, group_id) -> list[CaptainWeek]:
    async with session_factory() as session:
        query = (
            select(CaptainWeek)
            .where(col(CaptainWeek.group_id) == group_id)
            .order_by(col(CaptainWeek.week_start))
        )
        return list((await session.scalars(query)).all())


async def reconcile_at(session_factory, group_id, now):
    async with session_scope(session_factory) as session:
        return await reconcile_group(session, group_id, now)


async def test_running_the_job_twice_changes_nothing_the_second_time(session_factory, settings, world):
    group, _ = await make_group(session_factory, settings, world.own.site, 4)
    first = await jobs.execute(session_factory, settings, RECONCILE, {})
    assert first.result is not None
    assert first.result["weeks_inserted"] == 9  # the current week and the eight ahead
    before = [(w.id, w.volunteer_id, w.sequence) for w in await stored(session_factory, group.id)]
    second = await jobs.execute(session_factory, settings, RECONCILE, {})
    assert second.result == {
        "groups": 0,
        "weeks_inserted": 0,
        "weeks_changed": 0,
        "weeks_removed": 0,
        "notices": 0,
    }
    again = await jobs.execute(session_factory, settings, RECONCILE, {"group_ids": [str(group.id)]})
    assert again.result is not None
    assert again.result["weeks_inserted"] == again.result["weeks_changed"] == 0
    assert [(w.id, w.volunteer_id, w.sequence) for w in await stored(session_factory, group.id)] == before


@pytest.mark.committed  # concurrent transactions need connections of their own
async def test_two_workers_at_once_store_one_captain_per_group_week(session_factory, settings, world):
    groups = [(await make_group(session_factory, settings, world.own.site, 3))[0] for _ in range(5)]
    await asyncio.gather(*(jobs.execute(session_factory, settings, RECONCILE, {}) for _ in range(3)))
    async with session_factory() as session:
        query = select(
            col(CaptainWeek.group_id), func.count(), func.count(func.distinct(col(CaptainWeek.week_start)))
        )
        counts = (await session.execute(query.group_by(col(CaptainWeek.group_id)))).all()
    per_group = {group_id: (rows, distinct) for group_id, rows, distinct in counts}
    for group in groups:
        assert per_group[group.id] == (9, 9)


async def test_weeks_missed_while_no_worker_ran_are_filled_in_order(session_factory, settings, world):
    group, volunteers = await make_group(session_factory, settings, world.own.site, 3, horizon_weeks=1)
    monday = datetime(2026, 11, 2, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    await reconcile_at(session_factory, group.id, monday)
    assert len(await stored(session_factory, group.id)) == 2
    # Three weeks without a worker, then a run: every week in between has exactly one captain, in turn.
    outcome = await reconcile_at(session_factory, group.id, monday + timedelta(weeks=3, hours=1))
    weeks = await stored(session_factory, group.id)
    assert [w.week_start.isoformat() for w in weeks] == [
        "2026-11-02",
        "2026-11-09",
        "2026-11-16",
        "2026-11-23",
        "2026-11-30",
    ]
    order = [volunteers.index(next(v for v in volunteers if v.id == w.volunteer_id)) for w in weeks]
    assert order == [0, 1, 2, 0, 1]
    assert outcome.inserted == 3
    # Run again at the same moment: nothing moves.
    repeat = await reconcile_at(session_factory, group.id, monday + timedelta(weeks=3, hours=1))
    assert (repeat.inserted, repeat.changed, repeat.removed) == (0, 0, 0)


async def test_handoffs_in_berlin_keep_local_time_across_dst(session_factory, settings, world):
    async with session_scope(session_factory) as session:
        station = Station(name="Berlin-Mitte", division_code="350121", timezone="Europe/Berlin")
        session.add(station)
        await session.flush()
        site = Site(station_id=station.id, name="Markt")
        session.add(site)
    group, _ = await make_group(
        session_factory, settings, site, 2, handoff_weekday=0, handoff_time=time(9, 0)
    )
    await reconcile_at(session_factory, group.id, datetime(2026, 3, 10, 12, 0, tzinfo=UTC))
    berlin = ZoneInfo("Europe/Berlin")
    weeks = await stored(session_factory, group.id)
    assert len(weeks) == 9
    for week in weeks:
        assert week.starts_at.astimezone(berlin).time() == time(9, 0)
        assert week.starts_at.astimezone(berlin).weekday() == 0
    lengths = {week.week_start.isoformat(): week.ends_at - week.starts_at for week in weeks}
    assert lengths["2026-03-23"] == timedelta(hours=167)  # across the spring change
    assert lengths["2026-03-16"] == timedelta(hours=168)


async def test_handoff_notices_go_out_once_a_day_before_and_at_the_handoff(
    session_factory, settings, world, run_worker, redis
):
    group = world.own.group
    async with session_factory() as session:
        weeks = (
            await session.scalars(
                select(CaptainWeek)
                .where(col(CaptainWeek.group_id) == group.id)
                .order_by(col(CaptainWeek.starts_at))
            )
        ).all()
    upcoming = weeks[1]  # the world's volunteer (with an account) is the only member: every week is theirs
    reminder = await reconcile_at(session_factory, group.id, upcoming.starts_at - timedelta(hours=12))
    assert reminder.notices == 1
    assert (
        await reconcile_at(session_factory, group.id, upcoming.starts_at - timedelta(hours=11))
    ).notices == 0
    handoff = await reconcile_at(session_factory, group.id, upcoming.starts_at + timedelta(hours=1))
    assert handoff.notices == 1
    assert (
        await reconcile_at(session_factory, group.id, upcoming.starts_at + timedelta(hours=2))
    ).notices == 0
    await outbox.relay(session_factory, redis)
    await run_worker()
    async with session_factory() as session:
        kinds = (
            await session.scalars(
                select(col(Notification.kind)).where(
                    col(Notification.recipient_id) == world.user(Role.VOLUNTEER).id
                )
            )
        ).all()
        notices = (
            await session.scalars(
                select(col(CaptainNotice.kind)).where(col(CaptainNotice.week_id) == upcoming.id)
            )
        ).all()
    assert sorted(notices) == ["handoff", "reminder"]
    assert kinds.count("captain.reminder") == 1
    assert kinds.count("captain.handoff") == 1


async def test_a_suspension_is_noticed_by_the_job_and_the_plan_moves_on(
    client, session_factory, settings, world
):
    group, volunteers = await make_group(session_factory, settings, world.own.site, 3)
    await jobs.execute(session_factory, settings, RECONCILE, {})
    suspended = volunteers[1]
    response = await client.post(
        f"/api/v1/volunteers/{suspended.id}/suspend",
        json={"reason": "违规"},
        headers=world.headers(Role.OFFICER),
    )
    assert response.status_code == 200
    result = await jobs.execute(session_factory, settings, RECONCILE, {})
    assert result.result is not None
    assert result.result["groups"] == 1
    now = datetime.now(UTC)
    assert all(
        w.volunteer_id != suspended.id for w in await stored(session_factory, group.id) if w.starts_at > now
    )


async def test_the_job_runs_on_a_real_worker_and_every_minute(
    admin_client, run_worker, session_factory, settings, world
):
    async with session_scope(session_factory) as session:
        await session.execute(update(Group).values(planned_until=None))
    response = await admin_client.post("/api/v1/jobs", json={"name": "rota.reconcile"})
    assert response.status_code == 202, response.text
    await run_worker()
    finished = (await admin_client.get(response.headers["location"])).json()
    assert finished["status"] == "succeeded"
    assert finished["result"]["groups"] == 2  # the world's two groups
    assert "cron:rota.reconcile" in {job.name for job in cron_jobs()}
