"""The end-of-month reminder: in the last week of the station's month only, each site's staff hear how many
of its active volunteers have not trained, once per site and month however often or concurrently it runs;
a site where everyone trained hears nothing."""

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, select
from sqlmodel import col

from tests.world import World
from yijing.access import Role
from yijing.db import session_scope
from yijing.notifications.jobs import DELIVER
from yijing.notifications.models import Notification
from yijing.outbox.models import OutboxMessage
from yijing.training.models import (
    AttendanceStatus,
    Training,
    TrainingAttendance,
    TrainingMode,
    TrainingStatus,
)
from yijing.training.reminders import dedupe_key, remind
from yijing.volunteers.models import Volunteer, VolunteerStatus
from yijing_worker.worker import cron_jobs

# 25 October 2023, 00:00 in Shanghai: the first moment of October's last seven days there.
LAST_WEEK = datetime(2023, 10, 24, 16, tzinfo=UTC)
OCTOBER = date(2023, 10, 1)


async def run(session_factory, now: datetime) -> int:
    async with session_scope(session_factory) as session:
        return await remind(session, now)


async def notices(session_factory) -> list[dict[str, Any]]:
    """The reminders queued (their outbox messages), each as its payload."""
    async with session_factory() as session:
        query = select(OutboxMessage).where(col(OutboxMessage.job_name) == DELIVER.name)
        payloads = [message.arguments["payload"] for message in (await session.scalars(query)).all()]
    return [payload for payload in payloads if payload["kind"] == "training.untrained"]


async def active_volunteers(session_factory, world: World, place: str) -> list[Volunteer]:
    site = (world.own if place == "own" else world.other).site
    async with session_factory() as session:
        query = select(Volunteer).where(
            col(Volunteer.site_id) == site.id, col(Volunteer.status) == VolunteerStatus.ACTIVE
        )
        return list((await session.scalars(query)).all())


async def train_everyone(session_factory, world: World) -> None:
    """A settled October training the own site's active volunteers all attended."""
    volunteers = await active_volunteers(session_factory, world, "own")
    held = Training(
        station_id=world.own.station.id, title="十月培训", topics=["order_maintenance"],
        mode=TrainingMode.ONLINE, starts_at=LAST_WEEK - timedelta(days=10),
        ends_at=LAST_WEEK - timedelta(days=10, hours=-1), meeting_url="https://meeting.tencent.com/dm/x",
        trainer="林警官", status=TrainingStatus.SETTLED, rule_version=0, code_secret=b"s" * 32,
    )  # fmt: skip
    async with session_scope(session_factory) as session:
        session.add(held)
        await session.flush()
        session.add_all(
            TrainingAttendance(
                training_id=held.id,
                volunteer_id=volunteer.id,
                station_id=volunteer.station_id,
                site_id=volunteer.site_id,
                status=AttendanceStatus.PRESENT,
                online_minutes=60,
            )
            for volunteer in volunteers
        )


async def test_each_sites_staff_hear_how_many_have_not_trained(session_factory, world):
    assert await run(session_factory, LAST_WEEK) == 2
    told = {notice["dedupe_key"]: notice for notice in await notices(session_factory)}
    assert set(told) == {dedupe_key(place.site.id, OCTOBER) for place in (world.own, world.other)}
    for name, place in (("own", world.own), ("other", world.other)):
        notice = told[dedupe_key(place.site.id, OCTOBER)]
        count = len(await active_volunteers(session_factory, world, name))
        assert count > 0
        assert notice["recipients"] == [str(world.user(Role.OFFICER, name).id)]  # the site's officer
        assert notice["title"] == "本月培训尚未完成"
        assert notice["body"] == f"{place.site.name}：本月还有 {count} 名义警未参加培训"
        assert notice["link"] == f"/api/v1/trainings/compliance?month=2023-10&site_id={place.site.id}"


async def test_only_in_the_months_last_week(session_factory, world):
    # 24 October, 23:59 in Shanghai (8 days left), and 1 November, 00:00 (a new month's first week).
    for now in (LAST_WEEK - timedelta(minutes=1), datetime(2023, 10, 31, 16, tzinfo=UTC)):
        assert await run(session_factory, now) == 0, now
    assert await notices(session_factory) == []
    # 31 October, 23:59: still October's last week.
    assert await run(session_factory, datetime(2023, 10, 31, 15, 59, tzinfo=UTC)) == 2


async def test_once_per_site_and_month(session_factory, world):
    assert await run(session_factory, LAST_WEEK) == 2
    assert await run(session_factory, LAST_WEEK + timedelta(days=3)) == 0
    assert len(await notices(session_factory)) == 2
    # Delivered, and its outbox message since purged: the inbox still says it was sent.
    own_key = dedupe_key(world.own.site.id, OCTOBER)
    async with session_scope(session_factory) as session:
        await session.execute(delete(OutboxMessage).where(col(OutboxMessage.job_name) == DELIVER.name))
        session.add(
            Notification(
                recipient_id=world.user(Role.OFFICER).id,
                kind="training.untrained",
                title="本月培训尚未完成",
                body="…",
                dedupe_key=own_key,
            )
        )
    assert await run(session_factory, LAST_WEEK + timedelta(days=4)) == 1
    assert [notice["dedupe_key"] for notice in await notices(session_factory)] == [
        dedupe_key(world.other.site.id, OCTOBER)
    ]
    # November's last week is a month of its own.
    assert await run(session_factory, datetime(2023, 11, 25, tzinfo=UTC)) == 2


async def test_a_site_where_everyone_trained_hears_nothing(session_factory, world):
    await train_everyone(session_factory, world)
    assert await run(session_factory, LAST_WEEK) == 1
    [notice] = await notices(session_factory)
    assert notice["dedupe_key"] == dedupe_key(world.other.site.id, OCTOBER)


@pytest.mark.committed  # concurrent transactions need connections of their own
async def test_runs_at_once_queue_each_notice_once(session_factory, world):
    results = await asyncio.gather(*(run(session_factory, LAST_WEEK) for _ in range(3)))
    assert sorted(results) == [0, 0, 2]
    async with session_factory() as session:
        queued = await session.scalar(
            select(func.count()).where(
                col(OutboxMessage.job_name) == DELIVER.name,
                OutboxMessage.arguments["payload"]["kind"].astext == "training.untrained",
            )
        )
    assert queued == 2


def test_the_worker_reminds_every_morning():
    [job] = [job for job in cron_jobs() if job.name == "cron:training.compliance_reminders"]
    assert (job.hour, job.minute) == (1, 30)
