"""Training settlement benchmark: one hybrid session of 5,000 enrolled volunteers (its audience a site) with
mixed evidence — check-ins on time and late, minutes online above and below the share, excuses, nothing —
settled by the real job (enrolment synced, one UPDATE, the training, audit, recount) against one plain SQL
UPDATE computing the same statuses over the same rows through bare asyncpg (target: the job within 1.5×)."""

from __future__ import annotations

import random
import statistics
import time
from collections import Counter
from datetime import date, timedelta
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.common import station_with_sites
from bench.volunteers import _card
from yijing.db import copy_records, session_scope, short_lived_sessions
from yijing.ids import new_id, utcnow
from yijing.jobs import service as jobs_service
from yijing.personal import protector_for
from yijing.settings import Settings
from yijing.training.jobs import SETTLE
from yijing.training.models import AttendanceStatus, AudienceKind, TrainingMode
from yijing.volunteers import repository
from yijing.volunteers.models import Gender, VolunteerSource, VolunteerStatus
from yijing.volunteers.schemas import VolunteerCreate
from yijing.volunteers.service import volunteer_row

VOLUNTEERS = 5_000
LENGTH = timedelta(minutes=90)
ROUNDS = 5  # after a warm-up, the state restored between them; medians reported

# The same statuses the job decides (default rule: 80 % online, late after 10 minutes), by hand.
STATEMENT = """
UPDATE training_attendance a SET
    status = CASE
        WHEN a.status = 'excused' THEN 'excused'
        WHEN t.mode <> 'offline'
            AND a.online_minutes * 6000 >= 80 * extract(epoch FROM t.ends_at - t.starts_at) THEN 'present'
        WHEN t.mode <> 'online' AND a.checked_in_at <= t.starts_at + interval '10 minutes' THEN 'present'
        WHEN t.mode <> 'online' AND a.checked_in_at IS NOT NULL THEN 'late'
        ELSE 'absent' END,
    rule_version = 0, settled_at = now(), updated_at = now()
FROM trainings t
WHERE t.id = a.training_id AND t.status = 'scheduled' AND t.ends_at <= now() - interval '15 minutes'
    AND a.settled_at IS NULL
RETURNING a.status
"""
# Back to before the job: the session (only it: other benchmarks' trainings share the database) not settled,
# nothing queued.
RESTORE = (
    "UPDATE training_attendance SET status = 'pending', rule_version = NULL, settled_at = NULL "
    "WHERE training_id = $1 AND status <> 'excused'",
    "UPDATE training_attendance SET rule_version = NULL, settled_at = NULL WHERE training_id = $1",
    "UPDATE trainings SET status = 'scheduled', rule_version = NULL, settled_at = NULL, version = 1 "
    "WHERE id = $1",
)


def _evidence(rng: random.Random, starts: Any) -> dict[str, Any]:
    """One volunteer's evidence: a fifth late in the room, two fifths on time, a third online (most of
    them long enough), a few excused, the rest nothing."""
    roll = rng.random()
    checked_in = None
    if roll < 0.4:
        checked_in = starts + timedelta(minutes=rng.randint(-10, 10))
    elif roll < 0.6:
        checked_in = starts + timedelta(minutes=rng.randint(11, 60))
    minutes = rng.choice([30, 71, 72, 80, 90]) if rng.random() < 0.35 else None
    excused = rng.random() < 0.05
    return {
        "checked_in_at": checked_in, "checkin_method": "officer" if checked_in else None,
        "online_minutes": minutes,
        "status": AttendanceStatus.EXCUSED if excused else AttendanceStatus.PENDING,
        "excuse_reason": "夜市出摊，已请假" if excused else None,
    }  # fmt: skip


async def seed(settings: Settings) -> tuple[Any, int]:
    """The station, its site of VOLUNTEERS active volunteers, the session (ended an hour ago, its audience
    the site) and its attendance, COPYed in; the session's id and how many rows."""
    assert settings.database_url
    rng = random.Random(17)
    protector = protector_for(settings.personal_data_key)
    ends = utcnow().replace(microsecond=0) - timedelta(hours=1)
    starts = ends - LENGTH
    async with short_lived_sessions(settings.database_url) as factory, session_scope(factory) as session:
        station, [site] = await station_with_sites(session, "结训压测派出所", 1)
        volunteers = []
        for serial in range(VOLUNTEERS):
            data = VolunteerCreate.model_construct(
                name=f"义警{serial}", gender=Gender.FEMALE, phone=f"13{serial:09d}",
                id_card_number=_card(serial), site_id=site.id, source=VolunteerSource.RESIDENT,
                household_name=None, household_address=None, badge_number=None, skills=[],
                joined_on=date(2023, 7, 1), status=VolunteerStatus.ACTIVE, user_id=None,
            )  # fmt: skip
            volunteers.append(volunteer_row(data, station.id, date(2023, 7, 1), protector))
        await repository.insert_new(session, volunteers)
        training_id = new_id()
        await copy_records(
            session, "trainings",
            ["id", "station_id", "title", "topics", "mode", "starts_at", "ends_at", "place", "meeting_url",
             "trainer", "required", "status", "code_secret", "version", "created_at", "updated_at"],
            [(training_id, station.id, "月度培训", '["laws_regulations"]', TrainingMode.HYBRID, starts,
              ends, "派出所三楼会议室", "https://meeting.example/x", "林警官", True, "scheduled", b"s" * 32,
              1, starts, starts)],
        )  # fmt: skip
        await copy_records(
            session, "training_audiences", ["id", "training_id", "kind", "site_id"],
            [(new_id(), training_id, AudienceKind.SITE, site.id)],
        )  # fmt: skip
        rows = []
        for volunteer in volunteers:
            evidence = _evidence(rng, starts)
            rows.append(
                (new_id(), training_id, volunteer["id"], station.id, site.id, evidence["status"],
                 evidence["checked_in_at"], evidence["checkin_method"], evidence["online_minutes"],
                 evidence["excuse_reason"], starts)
            )  # fmt: skip
        await copy_records(
            session, "training_attendance",
            ["id", "training_id", "volunteer_id", "station_id", "site_id", "status", "checked_in_at",
             "checkin_method", "online_minutes", "excuse_reason", "updated_at"],
            rows,
        )  # fmt: skip
    async with short_lived_sessions(settings.database_url) as factory, session_scope(factory) as session:
        for table in ("volunteers", "trainings", "training_audiences", "training_attendance"):
            await session.execute(text(f"ANALYZE {table}"))
    return training_id, len(rows)


async def _connect(settings: Settings) -> asyncpg.Connection:
    assert settings.database_url
    dsn = make_url(settings.database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    return await asyncpg.connect(dsn)


async def _restore(connection: asyncpg.Connection, training_id: Any) -> None:
    for statement in RESTORE:
        await connection.execute(statement, training_id)
    await connection.execute("DELETE FROM outbox_messages")
    await connection.execute("VACUUM ANALYZE trainings, training_attendance")


async def bench_training_settlement(settings: Settings) -> None:
    assert settings.database_url
    started = time.perf_counter()
    training_id, enrolled = await seed(settings)
    seeded = f"seed a session of {enrolled:,} enrolled"
    print(f"{seeded:<34} {time.perf_counter() - started:8.1f} s")
    samples: dict[str, list[float]] = {"job": [], "statement": []}
    by_job: Counter[str] = Counter()
    by_hand: Counter[str] = Counter()
    connection = await _connect(settings)
    try:
        async with short_lived_sessions(settings.database_url) as factory:
            for run in range(ROUNDS + 1):
                transaction = connection.transaction()
                await transaction.start()
                begun = time.perf_counter()
                rows = await connection.fetch(STATEMENT)
                floor = time.perf_counter() - begun
                await transaction.rollback()
                by_hand = Counter(row["status"] for row in rows)
                # Vacuums away the rows it rolled back, which would slow the job.
                await _restore(connection, training_id)
                begun = time.perf_counter()
                execution = await jobs_service.execute(factory, settings, SETTLE, {})
                elapsed = time.perf_counter() - begun
                result = execution.result or {}
                by_job = Counter({key: value for key, value in result.items() if key != "settled"})
                await _restore(connection, training_id)
                if run:  # the first of each warms the caches
                    samples["job"].append(elapsed)
                    samples["statement"].append(floor)
    finally:
        await connection.close()
    job, floor = (statistics.median(samples[name]) for name in ("job", "statement"))
    print(
        f"{'training.settle job':<34} rounds={ROUNDS}  median={job * 1000:7.1f} ms  "
        f"({job / floor:.2f}× the statement; target ≤ 1.5×)  {dict(sorted(by_job.items()))}"
    )
    print(
        f"{'  same rows, one SQL UPDATE':<34} rounds={ROUNDS}  median={floor * 1000:7.1f} ms  "
        f"(asyncpg; same statuses: {'yes' if by_job == by_hand else 'NO'})"
    )
