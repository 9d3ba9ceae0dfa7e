"""Trainings, their attendance and the audit log read lean (columns as the driver gives them, read models
built without validation): the same bytes as the read models validated from the ORM records, and the
attendance of a training out of reach is not found."""

from pydantic import TypeAdapter
from sqlalchemy import select
from sqlmodel import col

from tests.training.test_trainings import TRAININGS, schedule
from yijing.access import Role
from yijing.audit.models import AuditEvent
from yijing.audit.schemas import AuditEventRead
from yijing.training.models import Training, TrainingAttendance, TrainingAudience
from yijing.training.schemas import AttendanceRead, AudienceRead, TrainingRead
from yijing.volunteers.models import Volunteer

ATTENDANCE = TypeAdapter(list[AttendanceRead])


async def validated(session, training_id) -> tuple[TrainingRead, list[AttendanceRead]]:
    """A training and its attendance as validation builds them from the ORM records."""
    training = await session.get(Training, training_id)
    audience = (
        await session.scalars(
            select(TrainingAudience)
            .where(col(TrainingAudience.training_id) == training.id)
            .order_by(col(TrainingAudience.id))
        )
    ).all()
    rows = (
        await session.execute(
            select(TrainingAttendance, col(Volunteer.name))
            .join(Volunteer, col(Volunteer.id) == col(TrainingAttendance.volunteer_id))
            .where(col(TrainingAttendance.training_id) == training.id)
            .order_by(col(Volunteer.name), col(TrainingAttendance.id))
        )
    ).all()
    read = TrainingRead(
        **training.model_dump(exclude={"code_secret"}),
        audience=[AudienceRead.model_validate(entry, from_attributes=True) for entry in audience],
        enrolled=len(rows),
    )
    return read, [AttendanceRead(**row.model_dump(), volunteer_name=name) for row, name in rows]


async def test_a_training_and_its_attendance_read_lean_as_validated(client, world, session_factory):
    online = await schedule(
        client, world, mode="online", place=None, meeting_url="https://meeting.tencent.com/dm/1"
    )
    officer = world.headers(Role.OFFICER)
    for training_id in (online["id"], str(world.own.training.id)):
        async with session_factory() as session:
            training, attendance = await validated(session, training_id)
        got = await client.get(f"{TRAININGS}/{training_id}", headers=officer)
        assert got.content == training.model_dump_json().encode()
        listed = await client.get(f"{TRAININGS}/{training_id}/attendance", headers=officer)
        assert listed.content == ATTENDANCE.dump_json(attendance)
    # The write's answer (from its record) and the read's (lean) are one and the same.
    assert (await client.get(f"{TRAININGS}/{online['id']}", headers=officer)).json() == online


async def test_the_attendance_of_a_training_out_of_reach_is_not_found(client, world):
    for role in (Role.OFFICER, Role.VOLUNTEER):
        other = await client.get(
            f"{TRAININGS}/{world.other.training.id}/attendance", headers=world.headers(role)
        )
        assert (other.status_code, other.json()["code"]) == (404, "training_not_found"), other.text


async def test_the_audit_log_reads_lean_as_validated(client, world, session_factory):
    await schedule(client, world)  # one event more
    page = await client.get("/api/v1/audit-events", headers=world.headers(Role.ADMIN))
    assert page.status_code == 200, page.text
    async with session_factory() as session:
        events = (await session.scalars(select(AuditEvent).order_by(col(AuditEvent.id).desc()))).all()
    items = page.json()["items"]
    assert items
    expected = [
        AuditEventRead.model_validate(event, from_attributes=True).model_dump(mode="json") for event in events
    ]
    assert items == expected[: len(items)]
