"""The rota's reconcile job: idempotent, safe with two workers at once, fills the weeks missed while no
worker ran without advancing twice, keeps local handoff times across DST, and sends each handoff notice
once. It plans its groups in batches, each in one transaction with the same statements whatever its size:
a group planned in a batch gets the weeks it would get alone; a group another transaction holds is
reconciled once it is free."""

import asyncio
import itertools
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, event, func, select, update
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
from yijing.rota.models import CaptainNotice, CaptainSource, CaptainWeek, Unavailability
from yijing.rota.reconcile import reconcile_group
from yijing.volunteers.models import Volunteer, VolunteerStatus
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
        # The world's volunteer (with an account) is the only member: every week is theirs.
        upcoming = weeks[1]
        # Within a day of its handoff, planning the world sent its reminder already: as if it had not.
        await session.execute(delete(CaptainNotice).where(col(CaptainNotice.week_id) == upcoming.id))
        await session.commit()
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


async def unsettle(session_factory, group: Group, volunteers: list[Volunteer], now: datetime) -> None:
    """Inputs changed behind the rota's back, so that only the next reconcile acts on them: the second member
    left, the fourth is suspended, the first cannot serve in the third week, the fourth week was swapped to
    the third member (still serving: it stands) and the sixth given to the one who left (it must move)."""
    weeks = await stored(session_factory, group.id)
    async with session_scope(session_factory) as session:
        await session.execute(
            update(GroupMembership)
            .where(
                col(GroupMembership.group_id) == group.id,
                col(GroupMembership.volunteer_id) == volunteers[1].id,
            )
            .values(left_at=now - timedelta(minutes=1))
        )
        await session.execute(
            update(Volunteer)
            .where(col(Volunteer.id) == volunteers[3].id)
            .values(status=VolunteerStatus.SUSPENDED)
        )
        first_day = weeks[2].week_start
        session.add(
            Unavailability(
                volunteer_id=volunteers[0].id,
                station_id=group.station_id,
                starts_on=first_day,
                ends_on=first_day + timedelta(days=6),
                reason="出差",
            )
        )
        for week, volunteer, source in (
            (weeks[3], volunteers[2], "swap"),
            (weeks[5], volunteers[1], "override"),
        ):
            await session.execute(
                update(CaptainWeek)
                .where(col(CaptainWeek.id) == week.id)
                .values(volunteer_id=volunteer.id, source=source, reason="约定")
            )


def pattern(weeks: list[CaptainWeek], volunteers: list[Volunteer]) -> list[tuple]:
    """The weeks with each volunteer as their place in the group, so that two groups of the same shape
    compare."""
    place = {volunteer.id: index for index, volunteer in enumerate(volunteers)}
    return [
        (w.week_start, place[w.volunteer_id], place[w.rotation_volunteer_id], w.source, w.reason, w.sequence)
        for w in weeks
    ]


async def test_a_group_planned_in_a_batch_gets_the_weeks_it_would_get_alone(session_factory, settings, world):
    # Two groups of the same shape, and a third in the batch with nothing to change.
    batched, batched_members = await make_group(session_factory, settings, world.own.site, 5)
    alone, alone_members = await make_group(session_factory, settings, world.own.site, 5)
    quiet, _ = await make_group(session_factory, settings, world.own.site, 3)
    await jobs.execute(session_factory, settings, RECONCILE, {})
    quiet_before = await stored(session_factory, quiet.id)
    now = datetime.now(UTC)
    await unsettle(session_factory, batched, batched_members, now)
    await unsettle(session_factory, alone, alone_members, now)

    run = await jobs.execute(
        session_factory, settings, RECONCILE, {"group_ids": [str(batched.id), str(quiet.id)]}
    )
    single = await reconcile_at(session_factory, alone.id, now)

    weeks = await stored(session_factory, batched.id)
    assert pattern(weeks, batched_members) == pattern(await stored(session_factory, alone.id), alone_members)
    assert run.result is not None
    assert single is not None
    assert (run.result["groups"], run.result["weeks_changed"], run.result["weeks_inserted"]) == (
        2,
        single.changed,
        single.inserted,
    )
    assert single.changed > 0
    unstarted = [w for w in weeks if w.starts_at > now]
    # The leaver and the suspended member captain nothing to come; the swap to a serving member stands; the
    # week given to the leaver is the rota's again, saying why.
    assert not {batched_members[1].id, batched_members[3].id} & {w.volunteer_id for w in unstarted}
    assert (weeks[3].volunteer_id, weeks[3].source) == (batched_members[2].id, CaptainSource.SWAP)
    assert weeks[5].source is CaptainSource.ROTATION
    assert weeks[5].reason == "the chosen captain left the group or cannot serve"
    assert weeks[2].volunteer_id != batched_members[0].id
    quiet_after = await stored(session_factory, quiet.id)
    assert [(w.id, w.volunteer_id, w.sequence) for w in quiet_after] == [
        (w.id, w.volunteer_id, w.sequence) for w in quiet_before
    ]
    again = await jobs.execute(
        session_factory, settings, RECONCILE, {"group_ids": [str(batched.id), str(quiet.id)]}
    )
    assert again.result is not None
    assert (
        again.result["weeks_inserted"] == again.result["weeks_changed"] == again.result["weeks_removed"] == 0
    )


async def test_the_jobs_statements_do_not_grow_with_its_groups(session_factory, settings, world, engine):
    """Each batch reads and writes all its groups at once: a dozen statements whether it plans one group or
    ten."""

    async def statements_to_plan(count: int) -> int:
        groups = [(await make_group(session_factory, settings, world.own.site, 3))[0] for _ in range(count)]
        sent: list[str] = []

        def statement(_connection, _cursor, query, *_) -> None:
            sent.append(query)

        event.listen(engine.sync_engine, "before_cursor_execute", statement)
        try:
            run = await jobs.execute(
                session_factory, settings, RECONCILE, {"group_ids": [str(group.id) for group in groups]}
            )
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", statement)
        assert run.result is not None
        assert run.result["weeks_inserted"] == 9 * count
        return len(sent)

    one = await statements_to_plan(1)
    assert 0 < one == await statements_to_plan(10)


@pytest.mark.committed  # the lock is held by a transaction of its own
async def test_a_group_another_transaction_holds_is_reconciled_once_it_is_free(
    session_factory, settings, world
):
    groups = [(await make_group(session_factory, settings, world.own.site, 3))[0] for _ in range(3)]
    held = groups[1]
    async with session_scope(session_factory) as holder:
        await holder.execute(select(Group).where(col(Group.id) == held.id).with_for_update())
        run = asyncio.create_task(
            jobs.execute(session_factory, settings, RECONCILE, {"group_ids": [str(g.id) for g in groups]})
        )
        # The batch plans the others meanwhile, and waits for the held one only after committing them.
        for _ in range(200):
            if len(await stored(session_factory, groups[2].id)) == 9:
                break
            await asyncio.sleep(0.05)
        assert len(await stored(session_factory, groups[0].id)) == 9
        assert await stored(session_factory, held.id) == []
        assert not run.done()
    result = (await run).result
    assert result is not None
    assert (result["groups"], result["weeks_inserted"]) == (3, 27)
    assert len(await stored(session_factory, held.id)) == 9
