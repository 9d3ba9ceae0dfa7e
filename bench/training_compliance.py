"""Training compliance benchmark: 10,000 volunteers over 10 sites, each site's two trainings a month for six
months with every volunteer's attendance. The month's compliance through the service (each site's
volunteers, trained and rate) against one plain SQL statement grouping the same rows through bare asyncpg
(target: within 1.5×); and the volunteers' file rows (all 10,000) against the same rows by hand."""

from __future__ import annotations

import random
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.common import compare, station_with_sites
from bench.volunteers import _card
from yijing.access import SYSTEM
from yijing.db import copy_records, session_scope, short_lived_sessions
from yijing.ids import new_id
from yijing.personal import protector_for
from yijing.settings import Settings
from yijing.training import compliance
from yijing.training.models import AttendanceStatus, TrainingMode, TrainingStatus
from yijing.training.schemas import ComplianceFilters
from yijing.volunteers import repository
from yijing.volunteers.models import Gender, VolunteerSource, VolunteerStatus
from yijing.volunteers.schemas import VolunteerCreate
from yijing.volunteers.service import volunteer_row

VOLUNTEERS = 10_000
SITES = 10
MONTHS = 6
RUNS = 30  # after a warm-up; medians reported
SHANGHAI = ZoneInfo("Asia/Shanghai")
MONTH = date(2024, 3, 1)  # the month read: the last of those seeded

# The month's figures in one statement, as one would write it by hand for one station, the month's bounds in
# Shanghai given as instants. The baseline.
ATTENDED = """
    SELECT ta.volunteer_id, count(*) FILTER (WHERE ta.status IN ('present', 'late')) AS attended,
           count(*) FILTER (WHERE ta.status = 'excused') AS excused
    FROM training_attendance ta JOIN trainings t ON t.id = ta.training_id
    WHERE t.station_id = $1 AND t.status = 'settled' AND t.required AND t.starts_at >= $2 AND t.starts_at < $3
    GROUP BY ta.volunteer_id
"""
STATEMENT = f"""
SELECT s.id AS site_id, s.name AS site_name, count(v.id) AS volunteers,
       count(v.id) FILTER (WHERE a.attended > 0) AS trained
FROM sites s
LEFT JOIN volunteers v ON v.site_id = s.id AND v.status = 'active' AND v.joined_on < $4
LEFT JOIN ({ATTENDED}) a ON a.volunteer_id = v.id
WHERE s.station_id = $1
GROUP BY s.id, s.name
ORDER BY s.name, s.id
"""  # noqa: S608 — built from the constant above, no input
ROWS_STATEMENT = f"""
SELECT v.id AS volunteer_id, v.name AS volunteer_name, s.id AS site_id, s.name AS site_name,
       coalesce(a.attended, 0) > 0 AS trained, coalesce(a.attended, 0) AS trainings_attended,
       coalesce(a.excused, 0) AS excused
FROM volunteers v JOIN sites s ON s.id = v.site_id
LEFT JOIN ({ATTENDED}) a ON a.volunteer_id = v.id
WHERE v.station_id = $1 AND v.status = 'active' AND v.joined_on < $4
ORDER BY s.name, s.id, v.name, v.id
"""  # noqa: S608 — built from the constant above, no input


async def seed(settings: Settings) -> Any:
    """The station (Asia/Shanghai), its sites, volunteers, trainings and attendance, COPYed in; its id."""
    assert settings.database_url
    rng = random.Random(16)
    protector = protector_for(settings.personal_data_key)
    async with short_lived_sessions(settings.database_url) as factory, session_scope(factory) as session:
        station, sites = await station_with_sites(session, "培训压测派出所", SITES)
        volunteers = []
        for serial in range(VOLUNTEERS):
            data = VolunteerCreate.model_construct(
                name=f"义警{serial}", gender=Gender.FEMALE, phone=f"13{serial:09d}",
                id_card_number=_card(serial), site_id=sites[serial % SITES].id,
                source=VolunteerSource.RESIDENT, household_name=None, household_address=None,
                badge_number=None, skills=[], joined_on=date(2023, 7, 1), status=VolunteerStatus.ACTIVE,
                user_id=None,
            )  # fmt: skip
            volunteers.append(volunteer_row(data, station.id, date(2023, 7, 1), protector))
        await repository.insert_new(session, volunteers)
        trainings: list[tuple[Any, ...]] = []
        attendance: list[tuple[Any, ...]] = []
        for month in range(MONTHS):
            first = (MONTH - timedelta(days=31 * (MONTHS - 1 - month))).replace(day=1)
            for index, site in enumerate(sites):
                for day in (8 + index, 20 + index % 8):
                    starts = datetime.combine(first.replace(day=day), clock(19, 30), SHANGHAI)
                    training_id = new_id()
                    trainings.append(
                        (training_id, station.id, "月度培训", '["laws_regulations"]', TrainingMode.ONLINE,
                         starts, starts + timedelta(minutes=90), "https://meeting.example/x", "林警官", True,
                         TrainingStatus.SETTLED, 0, starts + timedelta(hours=2), b"s" * 32, 1, starts, starts)
                    )  # fmt: skip
                    for volunteer in volunteers[index::SITES]:
                        roll = rng.random()
                        status = (
                            AttendanceStatus.PRESENT if roll < 0.6
                            else AttendanceStatus.EXCUSED if roll < 0.65
                            else AttendanceStatus.ABSENT
                        )  # fmt: skip
                        attendance.append(
                            (new_id(), training_id, volunteer["id"], station.id, site.id, status,
                             "请假" if status is AttendanceStatus.EXCUSED else None, 0, starts, starts)
                        )  # fmt: skip
        await copy_records(
            session, "trainings",
            ["id", "station_id", "title", "topics", "mode", "starts_at", "ends_at", "meeting_url", "trainer",
             "required", "status", "rule_version", "settled_at", "code_secret", "version", "created_at",
             "updated_at"],
            trainings,
        )  # fmt: skip
        await copy_records(
            session, "training_attendance",
            ["id", "training_id", "volunteer_id", "station_id", "site_id", "status", "excuse_reason",
             "rule_version", "settled_at", "updated_at"],
            attendance,
        )  # fmt: skip
    async with short_lived_sessions(settings.database_url) as factory, session_scope(factory) as session:
        for table in ("sites", "volunteers", "trainings", "training_attendance"):
            await session.execute(text(f"ANALYZE {table}"))
    return station.id, len(attendance)


async def bench_training_compliance(settings: Settings) -> None:
    assert settings.database_url
    started = time.perf_counter()
    station_id, rows_made = await seed(settings)
    print(f"{'seed ' + format(rows_made, ',') + ' attendances':<34} {time.perf_counter() - started:8.1f} s")
    following = compliance.next_month(MONTH)
    bounds = (
        datetime.combine(MONTH, clock(), SHANGHAI).astimezone(UTC),
        datetime.combine(following, clock(), SHANGHAI).astimezone(UTC),
    )
    dsn = make_url(settings.database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    asked = ComplianceFilters(month=f"{MONTH:%Y-%m}", station_id=station_id)
    try:
        async with short_lived_sessions(settings.database_url) as factory, factory() as session:
            report = await compare(
                lambda: compliance.compliance(session, SYSTEM, asked),
                lambda: connection.fetch(STATEMENT, station_id, *bounds, following),
                RUNS,
            )
            same = [site.model_dump(exclude={"rate"}) for site in report.service.sites] == [
                dict(row) for row in report.statement
            ]
            trained = f"{report.service.trained}/{report.service.volunteers}"
            report.print(f"training compliance {MONTH:%Y-%m}", f"trained={trained}", same)
            table = await compare(
                lambda: compliance.volunteer_table(session, SYSTEM, asked),
                lambda: connection.fetch(ROWS_STATEMENT, station_id, *bounds, following),
                RUNS,
            )
            same = table.service[1] == [dict(row) for row in table.statement]
            table.print("  the volunteers' file rows", f"rows={len(table.service[1]):,}", same, target=None)
    finally:
        await connection.close()
