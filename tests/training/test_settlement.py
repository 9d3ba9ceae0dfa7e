"""Settling sessions: each volunteer's status from the evidence by the rule version in force when the
session ended (online at 80 % present, a check-in late after 10 minutes, excused kept, hybrid the better of
both, no evidence absent), recorded with the version; once, however often or concurrently the job runs,
and never again when the rules change."""

import asyncio
import itertools
import os
import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from tests.world import World, new_volunteer
from yijing.access import SYSTEM
from yijing.audit.models import AuditEvent
from yijing.db import session_scope
from yijing.ids import utcnow
from yijing.jobs import service as jobs
from yijing.outbox.models import OutboxMessage
from yijing.training.jobs import SETTLE
from yijing.training.models import (
    AttendanceRule,
    AudienceKind,
    CheckinMethod,
    Training,
    TrainingAttendance,
    TrainingAudience,
    TrainingMode,
    TrainingStatus,
)
from yijing.training.rules import rule_at, set_rules
from yijing.training.schemas import AttendanceRulesUpdate
from yijing.training.service import SESSION_GRACE
from yijing_worker.worker import cron_jobs

# 100 minutes: 80 % of it is exactly 80 minutes.
LENGTH = timedelta(minutes=100)
_serials = itertools.count(61_000)


def ago(**delta: float) -> datetime:
    return utcnow().replace(microsecond=0) - timedelta(**delta)


async def session_of(
    session_factory, world: World, mode: TrainingMode, evidence: list[dict], *, ended: datetime | None = None
) -> tuple[Training, list[uuid.UUID]]:
    """A scheduled training of the own station that ended (an hour ago unless told), its audience the
    volunteers made for it, one per entry of ``evidence`` (an attendance row's fields), in that order."""
    ends_at = ended or ago(hours=1)
    training = Training(
        station_id=world.own.station.id, title="义警月度培训", topics=["laws_regulations"], mode=mode,
        starts_at=ends_at - LENGTH, ends_at=ends_at,
        place=None if mode is TrainingMode.ONLINE else "甘蔗派出所三楼会议室",
        meeting_url=None if mode is TrainingMode.OFFLINE else "https://meeting.tencent.com/dm/abc123",
        trainer="林警官", code_secret=os.urandom(32),
    )  # fmt: skip
    volunteers = [new_volunteer(world.settings, world.own.site, next(_serials)) for _ in evidence]
    async with session_scope(session_factory) as session:
        session.add_all([training, *volunteers])
        await session.flush()
        for volunteer, fields in zip(volunteers, evidence, strict=True):
            if "checked_in_at" in fields:
                fields = {"checkin_method": CheckinMethod.OFFICER} | fields
            session.add(
                TrainingAudience(
                    training_id=training.id, kind=AudienceKind.VOLUNTEER, volunteer_id=volunteer.id
                )
            )
            session.add(
                TrainingAttendance(
                    training_id=training.id, volunteer_id=volunteer.id, station_id=world.own.station.id,
                    site_id=world.own.site.id, **fields,
                )
            )  # fmt: skip
    return training, [volunteer.id for volunteer in volunteers]


async def settle(session_factory, settings) -> dict:
    execution = await jobs.execute(session_factory, settings, SETTLE, {})
    assert execution.result is not None
    return execution.result


async def attendance(session_factory, training: Training) -> dict[uuid.UUID, TrainingAttendance]:
    query = select(TrainingAttendance).where(col(TrainingAttendance.training_id) == training.id)
    async with session_factory() as session:
        return {row.volunteer_id: row for row in (await session.scalars(query)).all()}


async def statuses(session_factory, training: Training, volunteers: list[uuid.UUID]) -> list[str]:
    rows = await attendance(session_factory, training)
    return [str(rows[volunteer].status) for volunteer in volunteers]


async def stored(session_factory, training: Training) -> Training:
    async with session_factory() as session:
        row = await session.get(Training, training.id)
    assert row is not None
    return row


async def test_online_minutes_at_80_percent_are_present_and_just_below_absent(
    session_factory, world, settings
):
    training, volunteers = await session_of(
        session_factory, world, TrainingMode.ONLINE,
        [{"online_minutes": 80}, {"online_minutes": 79}, {"online_minutes": 100}, {}, {"online_minutes": 0}],
    )  # fmt: skip
    assert await settle(session_factory, settings) == {"settled": 1, "present": 2, "absent": 3}
    assert await statuses(session_factory, training, volunteers) == [
        "present", "absent", "present", "absent", "absent"
    ]  # fmt: skip
    settled = await stored(session_factory, training)
    assert (settled.status, settled.rule_version, settled.version) == (TrainingStatus.SETTLED, 0, 2)
    assert settled.settled_at is not None
    rows = await attendance(session_factory, training)
    assert {(row.rule_version, row.settled_at) for row in rows.values()} == {(0, settled.settled_at)}


async def test_a_check_in_is_late_after_ten_minutes(session_factory, world, settings):
    ends_at = ago(hours=1)
    starts_at = ends_at - LENGTH
    training, volunteers = await session_of(
        session_factory, world, TrainingMode.OFFLINE,
        [
            {"checked_in_at": starts_at - timedelta(minutes=5)},
            {"checked_in_at": starts_at + timedelta(minutes=10)},  # exactly 10 minutes: present
            {"checked_in_at": starts_at + timedelta(minutes=10, seconds=1)},
            {"checked_in_at": ends_at - timedelta(minutes=1)},
            {"online_minutes": 100},  # minutes online do not count for a session in the room
            {},
        ],
        ended=ends_at,
    )  # fmt: skip
    await settle(session_factory, settings)
    assert await statuses(session_factory, training, volunteers) == [
        "present", "present", "late", "late", "absent", "absent"
    ]  # fmt: skip


async def test_an_excused_volunteer_stays_excused(session_factory, world, settings):
    training, volunteers = await session_of(
        session_factory, world, TrainingMode.HYBRID,
        [
            {"status": "excused", "excuse_reason": "夜市出摊，已请假"},
            {"status": "excused", "excuse_reason": "家中有事", "online_minutes": 100},
            {},
        ],
    )  # fmt: skip
    await settle(session_factory, settings)
    assert await statuses(session_factory, training, volunteers) == ["excused", "excused", "absent"]
    rows = await attendance(session_factory, training)
    assert {row.rule_version for row in rows.values()} == {0}
    assert rows[volunteers[0]].excuse_reason == "夜市出摊，已请假"


async def test_a_hybrid_session_takes_the_better_of_both(session_factory, world, settings):
    starts_at = ago(hours=1) - LENGTH
    late = starts_at + timedelta(minutes=30)
    training, volunteers = await session_of(
        session_factory, world, TrainingMode.HYBRID,
        [
            {"checked_in_at": late, "online_minutes": 80},  # late in the room, enough online: present
            {"checked_in_at": late, "online_minutes": 10},  # late in the room, too little online: late
            {"checked_in_at": starts_at, "online_minutes": 0},  # on time in the room: present
            {"online_minutes": 90},
            {"online_minutes": 79},
            {},
        ],
        ended=starts_at + LENGTH,
    )  # fmt: skip
    await settle(session_factory, settings)
    assert await statuses(session_factory, training, volunteers) == [
        "present", "late", "present", "present", "absent", "absent"
    ]  # fmt: skip


async def test_settling_twice_changes_nothing(session_factory, world, settings):
    training, _ = await session_of(
        session_factory,
        world,
        TrainingMode.HYBRID,
        [{"online_minutes": 90}, {"checked_in_at": ago(hours=2)}, {}],
    )
    await settle(session_factory, settings)
    first = {key: row.model_dump() for key, row in (await attendance(session_factory, training)).items()}
    settled = (await stored(session_factory, training)).model_dump()
    recounts = await trainings_recounts(session_factory, world)
    assert recounts == 1
    assert await settle(session_factory, settings) == {"settled": 0}
    assert {
        key: row.model_dump() for key, row in (await attendance(session_factory, training)).items()
    } == first
    assert (await stored(session_factory, training)).model_dump() == settled
    assert await trainings_recounts(session_factory, world) == recounts
    async with session_factory() as session:
        actions = await session.scalars(
            select(col(AuditEvent.action)).where(col(AuditEvent.target_id) == str(training.id))
        )
        assert list(actions) == ["training.settle"]


async def trainings_recounts(session_factory, world: World) -> int:
    """The statistics' recounts of the own station's trainings asked for."""
    payload = col(OutboxMessage.arguments)["payload"]
    query = select(func.count()).where(
        col(OutboxMessage.job_name) == "stats.recompute",
        payload["source"].astext == "trainings",
        payload["station_id"].astext == str(world.own.station.id),
    )
    async with session_factory() as session:
        return int(await session.scalar(query) or 0)


async def test_a_session_is_settled_only_once_its_grace_has_passed(session_factory, world, settings):
    open_one, _ = await session_of(
        session_factory, world, TrainingMode.OFFLINE, [{}], ended=ago(minutes=SESSION_GRACE.seconds / 60 - 1)
    )
    cancelled, _ = await session_of(session_factory, world, TrainingMode.OFFLINE, [{}])
    async with session_scope(session_factory) as session:
        row = await session.get(Training, cancelled.id)
        assert row is not None
        row.status, row.cancel_reason = TrainingStatus.CANCELLED, "台风预警"
    assert await settle(session_factory, settings) == {"settled": 0}
    assert (await stored(session_factory, open_one)).status is TrainingStatus.SCHEDULED
    assert (await stored(session_factory, cancelled)).status is TrainingStatus.CANCELLED
    assert await statuses(session_factory, open_one, list(await attendance(session_factory, open_one))) == [
        "pending"
    ]


async def test_volunteers_who_joined_the_audience_are_enrolled_and_settled(session_factory, world, settings):
    training, volunteers = await session_of(session_factory, world, TrainingMode.OFFLINE, [{}])
    async with session_scope(session_factory) as session:
        session.add(
            TrainingAudience(training_id=training.id, kind=AudienceKind.SITE, site_id=world.own.site.id)
        )
    await settle(session_factory, settings)
    rows = await attendance(session_factory, training)
    assert world.own.volunteer is not None
    assert {volunteers[0], world.own.volunteer.id} <= set(rows)
    assert rows[world.own.volunteer.id].status == "absent"
    assert rows[world.own.volunteer.id].rule_version == 0


async def test_the_rule_in_force_when_the_session_ended_settles_it(session_factory, world, settings):
    station_id = world.own.station.id
    async with session_scope(session_factory) as session:
        session.add(
            AttendanceRule(
                station_id=station_id, version=1, online_present_percent=50, late_after_minutes=30,
                created_at=ago(hours=3),
            )
        )  # fmt: skip
    evidence = [{"online_minutes": 60}]
    before, before_volunteers = await session_of(
        session_factory, world, TrainingMode.ONLINE, evidence, ended=ago(hours=4)
    )
    after, after_volunteers = await session_of(
        session_factory, world, TrainingMode.ONLINE, evidence, ended=ago(hours=1)
    )
    await settle(session_factory, settings)
    assert await statuses(session_factory, before, before_volunteers) == ["absent"]  # 60 % < 80 %
    assert await statuses(session_factory, after, after_volunteers) == ["present"]  # 60 % >= 50 %
    assert (await stored(session_factory, before)).rule_version == 0
    assert (await stored(session_factory, after)).rule_version == 1
    assert {row.rule_version for row in (await attendance(session_factory, after)).values()} == {1}

    # A new version now changes neither settled session, even settled again.
    async with session_scope(session_factory) as session:
        await set_rules(
            session,
            SYSTEM,
            station_id,
            AttendanceRulesUpdate(online_present_percent=100, late_after_minutes=0),
        )
    assert await settle(session_factory, settings) == {"settled": 0}
    assert await statuses(session_factory, after, after_volunteers) == ["present"]
    assert (await stored(session_factory, after)).rule_version == 1
    async with session_factory() as session:
        assert (await rule_at(session, station_id, ago(hours=2))).version == 1
        assert (await rule_at(session, station_id, utcnow())).version == 2


@pytest.mark.committed  # concurrent transactions need connections of their own
async def test_workers_racing_settle_each_session_once(session_factory, world, settings):
    trainings = [
        (
            await session_of(
                session_factory,
                world,
                TrainingMode.HYBRID,
                [{"online_minutes": 80}, {}],
                ended=ago(hours=1 + n),
            )
        )[0]
        for n in range(6)
    ]
    runs = await asyncio.gather(*(jobs.execute(session_factory, settings, SETTLE, {}) for _ in range(3)))
    totals = [run.result or {} for run in runs]
    assert sum(total["settled"] for total in totals) == 6
    assert sum(total.get("present", 0) for total in totals) == 6
    assert sum(total.get("absent", 0) for total in totals) == 6
    assert await settle(session_factory, settings) == {"settled": 0}
    async with session_factory() as session:
        for training in trainings:
            actions = await session.scalars(
                select(col(AuditEvent.action)).where(col(AuditEvent.target_id) == str(training.id))
            )
            assert list(actions) == ["training.settle"]


def test_the_worker_settles_every_five_minutes():
    [job] = [job for job in cron_jobs() if job.name == f"cron:{SETTLE.name}"]
    assert job.minute == set(range(0, 60, 5))
    assert job.run_at_startup
