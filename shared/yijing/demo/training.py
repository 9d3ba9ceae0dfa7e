"""The monthly trainings the article asks of every volunteer (每月至少参训一次): one a month at each site
since it joined the pilot, in the room, online or both, on the five topics in turn, settled."""

from __future__ import annotations

import json
import random
import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from yijing.db import copy_records
from yijing.demo.context import TIMEZONE, DemoContext, opening
from yijing.ids import new_id, utcnow
from yijing.training.models import (
    AttendanceStatus,
    AudienceKind,
    CheckinMethod,
    TrainingMode,
    TrainingStatus,
    TrainingTopic,
)
from yijing.training.schemas import TOPIC_LABELS_ZH
from yijing.volunteers.models import Volunteer, VolunteerStatus

TOPICS = [topic for topic in TrainingTopic if topic is not TrainingTopic.OTHER]
MODES = (TrainingMode.OFFLINE, TrainingMode.ONLINE, TrainingMode.HYBRID)
MINUTES = 90
ROOM = "甘蔗派出所三楼会议室"
MEETING = "https://meeting.tencent.com/dm/ganzhe{number:04d}"
EXCUSES = ("夜市出摊，已请假", "外出务工", "家中有事", "身体不适")


async def load(demo: DemoContext) -> int:
    """Each site's trainings from its opening month to the last one already over, every active volunteer
    who had joined by then enrolled, about nine in ten present or late and a few excused. From a random
    source of this step's own."""
    rng = random.Random(2027)  # noqa: S311 - invented attendance, the same every time
    now = utcnow()
    query = select(col(Volunteer.id), col(Volunteer.site_id), col(Volunteer.joined_on)).where(
        col(Volunteer.station_id) == demo.station.id, col(Volunteer.status) == VolunteerStatus.ACTIVE
    )
    volunteers = (await demo.session.execute(query)).all()
    trainings: list[dict[str, Any]] = []
    audiences: list[dict[str, Any]] = []
    attendance: list[dict[str, Any]] = []
    for index, site in enumerate(demo.sites):
        opened = opening(index).date()
        for number, starts_at in enumerate(_sessions(index, opened, now)):
            mode = MODES[(number + index) % len(MODES)]
            topic = TOPICS[(number + index) % len(TOPICS)]
            training = _training(demo, rng, site.name, number, starts_at, mode, topic)
            trainings.append(training)
            audiences.append(
                {"id": new_id(), "training_id": training["id"], "kind": AudienceKind.SITE, "site_id": site.id,
                 "group_id": None, "volunteer_id": None}
            )  # fmt: skip
            share = rng.uniform(0.85, 0.95)  # present or late at this session
            attendance.extend(
                _attendance(demo, rng, training, volunteer_id, site.id, share)
                for volunteer_id, site_id, joined_on in volunteers
                if site_id == site.id and joined_on <= starts_at.date()
            )
    # COPY: many times faster than INSERT for these tens of thousands of rows (topics as JSON text).
    for table, rows in (
        ("trainings", trainings),
        ("training_audiences", audiences),
        ("training_attendance", attendance),
    ):
        columns = list(rows[0])
        records = [
            tuple(json.dumps(row[name]) if name == "topics" else row[name] for name in columns)
            for row in rows
        ]
        await copy_records(demo.session, table, columns, records)
    return len(trainings)


def _sessions(index: int, opened: date, now: datetime) -> list[datetime]:
    """A site's monthly session starts (19:30, a day of its own in each month) since it opened, up to the
    last one already over."""
    starts: list[datetime] = []
    month = opened.replace(day=1)
    while True:
        day = max(month.replace(day=18 + 2 * index), opened + timedelta(days=1))
        starts_at = datetime.combine(day, time(19, 30), TIMEZONE)
        if starts_at + timedelta(minutes=MINUTES) > now:
            return starts
        starts.append(starts_at)
        month = (month + timedelta(days=32)).replace(day=1)


def _training(
    demo: DemoContext,
    rng: random.Random,
    site_name: str,
    number: int,
    starts_at: datetime,
    mode: TrainingMode,
    topic: TrainingTopic,
) -> dict[str, Any]:
    ends_at = starts_at + timedelta(minutes=MINUTES)
    settled_at = ends_at + timedelta(minutes=20)
    created_at = starts_at - timedelta(days=7)
    return {
        "id": new_id(), "station_id": demo.station.id,
        "title": f"{site_name}{starts_at.month}月义警培训：{TOPIC_LABELS_ZH[topic]}", "topics": [topic.value],
        "mode": mode, "starts_at": starts_at, "ends_at": ends_at,
        "place": None if mode is TrainingMode.ONLINE else ROOM,
        "meeting_url": None if mode is TrainingMode.OFFLINE else MEETING.format(number=number),
        "trainer": rng.choice(("林警官", "陈警官", "王教导员")), "required": True,
        "status": TrainingStatus.SETTLED, "cancel_reason": None, "cancelled_at": None, "rule_version": 0,
        "settled_at": settled_at, "code_secret": rng.randbytes(32), "created_by": None, "version": 2,
        "created_at": created_at, "updated_at": settled_at,
    }  # fmt: skip


def _attendance(
    demo: DemoContext,
    rng: random.Random,
    training: dict[str, Any],
    volunteer_id: uuid.UUID,
    site_id: uuid.UUID,
    share: float,
) -> dict[str, Any]:
    """One volunteer's evidence and the status the default rules (late after 10 minutes, present online
    from 80 % of the minutes) give it."""
    starts_at: datetime = training["starts_at"]
    mode: TrainingMode = training["mode"]
    online = mode is TrainingMode.ONLINE or (mode is TrainingMode.HYBRID and rng.random() < 0.4)
    draw = rng.random()
    checked_in_at = minutes = excuse = None
    if draw < share:
        if online:
            status, minutes = AttendanceStatus.PRESENT, rng.randint(72, MINUTES)
        else:
            late = rng.random() < 0.08
            status = AttendanceStatus.LATE if late else AttendanceStatus.PRESENT
            checked_in_at = starts_at + timedelta(
                minutes=rng.randint(11, 35) if late else rng.randint(-20, 9)
            )
    elif draw < share + 0.03:
        status, excuse = AttendanceStatus.EXCUSED, rng.choice(EXCUSES)
    else:
        status = AttendanceStatus.ABSENT
        minutes = rng.randint(5, 60) if online and rng.random() < 0.5 else None  # left early
    return {
        "id": new_id(), "training_id": training["id"], "volunteer_id": volunteer_id,
        "station_id": demo.station.id, "site_id": site_id, "status": status, "checked_in_at": checked_in_at,
        "checkin_method": None if checked_in_at is None else rng.choice(list(CheckinMethod)),
        "checked_in_by": None, "online_minutes": minutes, "excuse_reason": excuse, "excused_by": None,
        "rule_version": 0, "settled_at": training["settled_at"], "updated_at": training["settled_at"],
    }  # fmt: skip
