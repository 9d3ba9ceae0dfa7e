"""Online attendance from a meeting platform's export: the good rows set minutes (a volunteer who joined
twice has the sum), each bad row is reported with its row, column and message, a hostile file is refused
at upload, and only staff of the training's station upload, for an online session under way."""

import itertools
import os
import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import col

from tests import hostile
from tests.world import World, new_volunteer
from yijing.access import Role
from yijing.db import session_scope
from yijing.ids import utcnow
from yijing.jobs import service as jobs
from yijing.jobs.models import JobRun
from yijing.training.jobs import IMPORT_ONLINE_ATTENDANCE
from yijing.training.models import (
    AudienceKind,
    OnlineAttendanceImport,
    Training,
    TrainingAttendance,
    TrainingAudience,
    TrainingMode,
    TrainingStatus,
)
from yijing.volunteers.models import Volunteer

HEADER = "手机号,袖标号,参会时长（分钟）"
_serials = itertools.count(62_000)


def now() -> datetime:
    return utcnow().replace(microsecond=0)


async def online_training(
    session_factory, world: World, enrolled: int, *, mode: TrainingMode = TrainingMode.ONLINE, **fields
) -> tuple[Training, list[tuple[Volunteer, str]]]:
    """An online training of the own station under way (started 30 minutes ago, 100 minutes long), with
    ``enrolled`` new volunteers enrolled (badge numbers TB-<serial>), and one more volunteer of the site not
    enrolled (last of the list). Each volunteer comes with their mobile number."""
    starts_at = now() - timedelta(minutes=30)
    training = Training(
        station_id=world.own.station.id, title="线上法律法规培训", topics=["laws_regulations"], mode=mode,
        starts_at=starts_at, ends_at=starts_at + timedelta(minutes=100),
        place=None if mode is TrainingMode.ONLINE else "甘蔗派出所三楼会议室",
        meeting_url=None if mode is TrainingMode.OFFLINE else "https://meeting.tencent.com/dm/abc123",
        trainer="林警官", code_secret=os.urandom(32), **fields,
    )  # fmt: skip
    serials = [next(_serials) for _ in range(enrolled + 1)]
    volunteers = [
        new_volunteer(world.settings, world.own.site, serial, badge_number=f"TB-{serial}")
        for serial in serials
    ]
    async with session_scope(session_factory) as session:
        session.add_all([training, *volunteers])
        await session.flush()
        for volunteer in volunteers[:enrolled]:
            session.add(
                TrainingAudience(
                    training_id=training.id, kind=AudienceKind.VOLUNTEER, volunteer_id=volunteer.id
                )
            )
            session.add(
                TrainingAttendance(
                    training_id=training.id, volunteer_id=volunteer.id, station_id=world.own.station.id,
                    site_id=world.own.site.id,
                )
            )  # fmt: skip
    return training, [
        (volunteer, f"137{serial:08d}") for volunteer, serial in zip(volunteers, serials, strict=True)
    ]


def csv_file(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode("utf-8-sig")


async def upload(
    client, world: World, training_id, content: bytes, *, role: Role = Role.OFFICER, place="own"
):
    return await client.post(
        f"/api/v1/trainings/{training_id}/online-attendance",
        files={"file": ("参会记录.csv", content, "text/csv")},
        headers=world.headers(role, place),
    )


async def import_file(
    client, world: World, session_factory, settings, training: Training, content: bytes
) -> dict:
    """Upload the file, run its job (as the worker would) and answer the run's result."""
    response = await upload(client, world, training.id, content)
    assert response.status_code == 202, response.text
    run_id = uuid.UUID(response.json()["id"])
    assert response.headers["location"] == f"/api/v1/jobs/{run_id}"
    async with session_factory() as session:
        run = await session.get(JobRun, run_id)
        assert run is not None
        payload = run.payload
    await jobs.execute(session_factory, settings, IMPORT_ONLINE_ATTENDANCE, payload, run_id=run_id)
    job = await client.get(f"/api/v1/jobs/{run_id}", headers=world.headers(Role.OFFICER))
    assert job.json()["status"] == "succeeded", job.json()
    return job.json()["result"]


async def minutes(session_factory, training: Training) -> dict[uuid.UUID, int | None]:
    query = select(col(TrainingAttendance.volunteer_id), col(TrainingAttendance.online_minutes)).where(
        col(TrainingAttendance.training_id) == training.id
    )
    async with session_factory() as session:
        return dict((await session.execute(query)).all())


async def test_good_rows_set_minutes_and_bad_rows_are_reported(client, world, session_factory, settings):
    training, people = await online_training(session_factory, world, 4)
    (by_phone, by_phone_number), (by_badge, _), (twice, twice_number), (too_long, too_long_number) = people[
        :4
    ]
    outsider_number = people[4][1]
    assert by_badge.badge_number is not None
    result = await import_file(
        client, world, session_factory, settings, training,
        csv_file(
            f"{by_phone_number},,80",  # row 2
            f",{by_badge.badge_number.lower()},45",  # 3: by badge, as typed
            f"{twice_number},,30",  # 4
            f"+86 {twice_number},,25.0",  # 5: the same person again (joined twice), as Excel wrote it
            f"{too_long_number},,101",  # 6: more than the session's 100 minutes
            f"{outsider_number},,60",  # 7: a volunteer of the station, not enrolled
            "13900000000,,60",  # 8: nobody's number
            ",,60",  # 9: nobody named
            f"{by_phone_number},,很多",  # 10: minutes not a number
            ",NO-SUCH-BADGE,20",  # 11
            f"{twice_number},,50",  # 12: 30 + 25 + 50 is more than the session
        ),
    )  # fmt: skip
    assert result["outcome"] == "imported_valid_rows"
    assert (result["rows"], result["volunteers"], result["invalid_rows"]) == (11, 3, 7)
    assert [(error["row"], error["column"]) for error in result["errors"]] == [
        (6, "参会时长（分钟）"), (7, "手机号"), (8, "手机号"), (9, "手机号"), (10, "参会时长（分钟）"),
        (11, "袖标号"), (12, "参会时长（分钟）"),
    ]  # fmt: skip
    messages = {error["row"]: error["message"] for error in result["errors"]}
    assert messages[6] == "more minutes than the session's 100"
    assert messages[7] == "the volunteer is not enrolled in this training"
    assert messages[8] == "no volunteer of the station has this number"
    assert messages[9] == "give the mobile number or the badge number"
    assert by_phone_number not in str(result)  # the report names rows, never mobile numbers
    assert await minutes(session_factory, training) == {
        by_phone.id: 80, by_badge.id: 45, twice.id: 55, too_long.id: None
    }  # fmt: skip
    async with session_factory() as session:
        record = (
            await session.scalars(
                select(OnlineAttendanceImport).where(col(OnlineAttendanceImport.training_id) == training.id)
            )
        ).one()
    assert record.content is None  # dropped once read


async def test_a_file_sent_again_replaces_the_minutes(client, world, session_factory, settings):
    training, people = await online_training(session_factory, world, 1)
    (volunteer, number) = people[0]
    await import_file(client, world, session_factory, settings, training, csv_file(f"{number},,30"))
    result = await import_file(client, world, session_factory, settings, training, csv_file(f"{number},,90"))
    assert (result["outcome"], result["errors"]) == ("imported", [])
    assert (await minutes(session_factory, training))[volunteer.id] == 90


async def test_a_hostile_file_is_refused_at_upload_and_nothing_is_stored(client, world, session_factory):
    training, _ = await online_training(session_factory, world, 1)
    for content, reason in ((hostile.zip_bomb(256), "unzipped_too_large"), (b"name,minutes\n", "header")):
        response = await upload(client, world, training.id, content)
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["code"] == "upload_refused"
        assert (problem["errors"][0]["field"], problem["errors"][0]["code"]) == ("body.file", reason)
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(OnlineAttendanceImport)) == 0
        runs = select(func.count()).where(col(JobRun.name) == IMPORT_ONLINE_ATTENDANCE.name)
        assert await session.scalar(runs) == 0


async def test_only_an_online_session_under_way_takes_minutes(client, world, session_factory):
    content = csv_file("13700000000,,30")
    offline, _ = await online_training(session_factory, world, 1, mode=TrainingMode.OFFLINE)
    later, _ = await online_training(session_factory, world, 1)
    async with session_scope(session_factory) as session:
        row = await session.get(Training, later.id)
        assert row is not None
        row.starts_at, row.ends_at = now() + timedelta(hours=1), now() + timedelta(hours=2)
    settled, _ = await online_training(
        session_factory, world, 1, status=TrainingStatus.SETTLED, rule_version=0
    )
    for training in (offline, later, settled):
        response = await upload(client, world, training.id, content)
        assert (response.status_code, response.json()["code"]) == (409, "training_not_open"), training.mode


async def test_staff_of_the_trainings_station_only(client, world, session_factory):
    training, _ = await online_training(session_factory, world, 1)
    content = csv_file("13700000000,,30")
    assert (await upload(client, world, training.id, content, role=Role.VOLUNTEER)).status_code == 403
    other = await upload(client, world, training.id, content, role=Role.OFFICER, place="other")
    assert (other.status_code, other.json()["code"]) == (404, "training_not_found")
    assert (await upload(client, world, uuid.uuid4(), content)).status_code == 404
    assert (await upload(client, world, training.id, content, role=Role.ASSISTANT)).status_code == 202


async def test_the_template(client, world):
    response = await client.get(
        "/api/v1/trainings/online-attendance/template",
        params={"format": "csv"},
        headers=world.headers(Role.OFFICER),
    )
    assert response.status_code == 200
    assert response.content.decode("utf-8-sig").strip() == HEADER
    response = await client.get(
        "/api/v1/trainings/online-attendance/template", headers=world.headers(Role.VOLUNTEER)
    )
    assert response.status_code == 403
