"""Settling a session (出勤认定): once a training has ended and its grace has passed, the worker enrols
whoever joined its audience meanwhile, then decides every enrolled volunteer's status from the evidence by the
station's rule version in force when the session ended, in one statement, and records the version used. A
settled session is never settled again, so a later rule changes nothing."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, case, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.access import SYSTEM
from yijing.audit import service as audit
from yijing.db import session_scope
from yijing.ids import utcnow
from yijing.jobs.registry import JobContext, JobPayload, JsonDict
from yijing.training import repository, service
from yijing.training.models import (
    AttendanceStatus,
    Training,
    TrainingAttendance,
    TrainingMode,
    TrainingStatus,
)
from yijing.training.rules import Rule, rule_at


class SettlePayload(JobPayload):
    pass


def settled_status(training: Training, rule: Rule) -> ColumnElement[str]:
    """An attendance row's status by the evidence, in SQL with the rule's numbers as parameters: excused
    stays; online minutes at the rule's share of the session or more are present; a check-in up to
    ``late_after_minutes`` after the start (exactly then included) is present, later late; a hybrid
    session takes the better of the two; no evidence is absent."""
    attendance = TrainingAttendance
    whens: list[tuple[ColumnElement[bool], ColumnElement[str]]] = [
        (col(attendance.status) == AttendanceStatus.EXCUSED, literal(AttendanceStatus.EXCUSED.value))
    ]
    if training.mode is not TrainingMode.OFFLINE:
        # minutes * 100 >= percent * session minutes, in whole seconds so that no rounding decides.
        seconds = int((training.ends_at - training.starts_at).total_seconds())
        enough = col(attendance.online_minutes) * 6000 >= literal(rule.online_present_percent * seconds)
        whens.append((enough, literal(AttendanceStatus.PRESENT.value)))
    if training.mode is not TrainingMode.ONLINE:
        late_from = training.starts_at + timedelta(minutes=rule.late_after_minutes)
        whens.append((col(attendance.checked_in_at) <= late_from, literal(AttendanceStatus.PRESENT.value)))
        whens.append((col(attendance.checked_in_at).is_not(None), literal(AttendanceStatus.LATE.value)))
    return case(*whens, else_=literal(AttendanceStatus.ABSENT.value))


async def take_due(session: AsyncSession, now: datetime) -> Training | None:
    """The scheduled training that ended longest ago (grace passed) that no other transaction holds,
    locked: another worker settling at the same time takes another one."""
    query = (
        select(Training)
        .where(
            col(Training.status) == TrainingStatus.SCHEDULED,
            col(Training.ends_at) <= now - service.SESSION_GRACE,
        )
        .order_by(col(Training.ends_at))
        .limit(1)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(query)).first()


async def settle_training(session: AsyncSession, training: Training, now: datetime) -> Counter[str]:
    """Settle the locked ``training``: every attendance row not settled yet, by one UPDATE, then the
    training itself. Returns how many rows took each status."""
    await repository.sync_enrolment(session, training)
    rule = await rule_at(session, training.station_id, training.ends_at)
    settled = (
        update(TrainingAttendance)
        .where(
            col(TrainingAttendance.training_id) == training.id,
            col(TrainingAttendance.settled_at).is_(None),
        )
        .values(
            status=settled_status(training, rule), rule_version=rule.version, settled_at=now, updated_at=now
        )
        .returning(col(TrainingAttendance.status))
        .cte("settled")
    )
    # Counted where they are written: thousands of rows need not travel back to be counted.
    by_status = select(settled.c.status, func.count()).group_by(settled.c.status)
    counts = Counter({str(status): count for status, count in (await session.execute(by_status)).all()})
    training.status = TrainingStatus.SETTLED
    training.rule_version = rule.version
    training.settled_at = now
    training.version += 1  # a client holding the training as it was must read it again
    training.updated_at = now
    await session.flush()
    await service.recount(session, training)
    await audit.record(
        session, SYSTEM, "training.settle", target_type="training", target_id=training.id,
        station_id=training.station_id, changes={"rule_version": rule.version, **counts},
    )  # fmt: skip
    return counts


async def settle_due(context: JobContext, payload: SettlePayload) -> JsonDict:
    """The sweep: every due training, one per transaction, until none is left that no one else holds."""
    totals: Counter[str] = Counter()
    settled = 0
    while True:
        async with session_scope(context.session_factory) as session:
            training = await take_due(session, utcnow())
            if training is None:
                return {"settled": settled, **totals}
            totals += await settle_training(session, training, utcnow())
        settled += 1
