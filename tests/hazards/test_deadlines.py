"""The hazard deadline job: flags open hazards past their deadline (in each station's own time zone) and
reminds of deadlines near, once each however often or concurrently it runs."""

import asyncio
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update
from sqlmodel import col

from yijing.access import Role
from yijing.db import session_scope
from yijing.hazards.jobs import DEADLINES
from yijing.hazards.models import Hazard, HazardEvent, HazardStatus
from yijing.ids import utcnow
from yijing.jobs import service as jobs
from yijing.notifications.models import Notification
from yijing.org.models import Station
from yijing.outbox import service as outbox
from yijing_worker.worker import cron_jobs


def local_today(timezone: str):
    return utcnow().astimezone(ZoneInfo(timezone)).date()


async def add_hazard(
    session_factory, place, *, days_left: int, status=HazardStatus.RECTIFYING, reported_days_ago: int = 10
) -> Hazard:
    """A hazard of the place's site whose deadline is ``days_left`` days from the station's today."""
    async with session_scope(session_factory) as session:
        station = await session.get(Station, place.station.id)
        assert station is not None
        hazard = Hazard(
            station_id=place.station.id, site_id=place.site.id, description="消防通道堆放杂物",
            reporter_id=place.users[Role.VOLUNTEER].id, status=status,
            deadline=local_today(station.timezone) + timedelta(days=days_left),
            created_at=utcnow() - timedelta(days=reported_days_ago),
            closed_at=None if status in {"reported", "verified", "rectifying"} else utcnow(),
            eliminated_at=utcnow() if status == "eliminated" else None,
        )  # fmt: skip
        session.add(hazard)
    return hazard


async def events_of(session_factory, action: str) -> list[HazardEvent]:
    async with session_factory() as session:
        query = select(HazardEvent).where(col(HazardEvent.action) == action)
        return list((await session.scalars(query)).all())


async def test_past_deadlines_are_flagged_once(session_factory, settings, world, redis, run_worker):
    late = await add_hazard(session_factory, world.own, days_left=-1)
    due_today = await add_hazard(session_factory, world.own, days_left=0)
    fixed_late = await add_hazard(session_factory, world.own, days_left=-5, status=HazardStatus.ELIMINATED)
    first = await jobs.execute(session_factory, settings, DEADLINES, {})
    assert first.result == {"overdue": 1, "reminded": 1}
    async with session_factory() as session:
        flagged = {hazard.id: hazard for hazard in (await session.scalars(select(Hazard))).all()}
    assert flagged[late.id].overdue is True
    assert flagged[late.id].version == 2  # a client holding version 1 must read it again
    assert flagged[due_today.id].overdue is False
    assert flagged[fixed_late.id].overdue is False
    second = await jobs.execute(session_factory, settings, DEADLINES, {})
    assert second.result == {"overdue": 0, "reminded": 0}
    [overdue_event] = await events_of(session_factory, "overdue")
    assert overdue_event.hazard_id == late.id
    assert overdue_event.actor_id is None
    # The reporter and the site's officer hear of it once, however often the job runs.
    await outbox.relay(session_factory, redis)
    await run_worker()
    async with session_factory() as session:
        notices = (
            await session.scalars(select(Notification).where(col(Notification.kind) == "hazard.overdue"))
        ).all()
    assert sorted(notice.recipient_id for notice in notices) == sorted(
        [world.user(Role.VOLUNTEER).id, world.user(Role.OFFICER).id]
    )


@pytest.mark.committed  # concurrent transactions need connections of their own
async def test_concurrent_runs_flag_and_remind_each_hazard_once(session_factory, settings, world):
    hazards = [await add_hazard(session_factory, world.own, days_left=-2) for _ in range(5)]
    hazards += [await add_hazard(session_factory, world.own, days_left=1) for _ in range(5)]
    runs = await asyncio.gather(*(jobs.execute(session_factory, settings, DEADLINES, {}) for _ in range(3)))
    results = [run.result or {} for run in runs]
    assert sum(result["overdue"] for result in results) == 5
    assert sum(result["reminded"] for result in results) == 5
    assert len(await events_of(session_factory, "overdue")) == 5
    assert len(await events_of(session_factory, "remind")) == 5


async def test_each_station_counts_days_in_its_own_time_zone(session_factory, settings, world):
    # Samoa's day starts 18 hours after Kiritimati's: "yesterday" there is not "yesterday" here.
    async with session_scope(session_factory) as session:
        await session.execute(
            update(Station)
            .where(col(Station.id) == world.own.station.id)
            .values(timezone="Pacific/Kiritimati")
        )
        await session.execute(
            update(Station)
            .where(col(Station.id) == world.other.station.id)
            .values(timezone="Pacific/Pago_Pago")
        )
    east_late = await add_hazard(session_factory, world.own, days_left=-1)
    east_due = await add_hazard(session_factory, world.own, days_left=0)
    west_late = await add_hazard(session_factory, world.other, days_left=-1)
    west_due = await add_hazard(session_factory, world.other, days_left=0)
    await jobs.execute(session_factory, settings, DEADLINES, {})
    async with session_factory() as session:
        overdue = set((await session.scalars(select(col(Hazard.id)).where(col(Hazard.overdue)))).all())
    assert overdue == {east_late.id, west_late.id}
    assert not overdue & {east_due.id, west_due.id}


async def test_a_new_deadline_earns_a_new_reminder(session_factory, settings, world, client):
    hazard = await add_hazard(session_factory, world.own, days_left=1)
    await jobs.execute(session_factory, settings, DEADLINES, {})
    later = str(local_today("Asia/Shanghai") + timedelta(days=1))
    # Staff move the deadline (here: to the same day again, a no-op, then a day later and back).
    response = await client.patch(
        f"/api/v1/hazards/{hazard.id}", json={"deadline": later}, headers=world.headers(Role.OFFICER)
    )
    assert response.status_code == 200
    rerun = await jobs.execute(session_factory, settings, DEADLINES, {})
    assert rerun.result == {"overdue": 0, "reminded": 0}
    day_after = str(local_today("Asia/Shanghai") + timedelta(days=2))
    await client.patch(
        f"/api/v1/hazards/{hazard.id}", json={"deadline": day_after}, headers=world.headers(Role.OFFICER)
    )
    far = await jobs.execute(session_factory, settings, DEADLINES, {})
    assert far.result == {"overdue": 0, "reminded": 0}  # two days off: not yet
    await client.patch(
        f"/api/v1/hazards/{hazard.id}", json={"deadline": later}, headers=world.headers(Role.OFFICER)
    )
    # The deadline is the one already reminded of: no second reminder for it.
    assert (await jobs.execute(session_factory, settings, DEADLINES, {})).result == {
        "overdue": 0,
        "reminded": 0,
    }
    async with session_factory() as session:
        reminders = await session.scalar(
            select(func.count()).select_from(HazardEvent).where(col(HazardEvent.action) == "remind")
        )
    assert reminders == 1


async def test_an_eliminated_hazard_is_no_longer_overdue(session_factory, settings, world, client):
    hazard = await add_hazard(session_factory, world.own, days_left=-3)
    await jobs.execute(session_factory, settings, DEADLINES, {})
    response = await client.post(
        f"/api/v1/hazards/{hazard.id}/eliminate",
        json={"inspection_note": "复查：通道已清空"},
        headers=world.headers(Role.OFFICER),
    )
    assert response.status_code == 200, response.text
    assert response.json()["overdue"] is False
    listed = await client.get(
        "/api/v1/hazards", params={"overdue": "true"}, headers=world.headers(Role.OFFICER)
    )
    assert listed.json()["items"] == []


def test_the_worker_runs_the_check_every_hour():
    [job] = [job for job in cron_jobs() if job.name == "cron:hazards.deadlines"]
    assert job.minute == 5
    assert job.hour is None


async def test_a_hazard_reported_close_to_its_deadline_is_not_reminded(session_factory, settings, world):
    # A critical hazard's day to fix starts at once: its team was told when it was reported.
    await add_hazard(session_factory, world.own, days_left=1, reported_days_ago=0)
    assert (await jobs.execute(session_factory, settings, DEADLINES, {})).result == {
        "overdue": 0,
        "reminded": 0,
    }
