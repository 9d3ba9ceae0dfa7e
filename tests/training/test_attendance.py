"""Attendance: the session's rotating code (only its own, only now, only within the session), staff checking
volunteers in, minutes online, excused absences, and who sees which rows."""

import uuid
from datetime import timedelta

from sqlalchemy import select, update
from sqlmodel import col

from tests.training.test_trainings import TRAININGS, add_volunteer, audit_actions, schedule
from yijing.access import Role
from yijing.audit.models import AuditEvent
from yijing.db import session_scope
from yijing.ids import utcnow
from yijing.training.models import Training
from yijing.training.service import code_at


async def open_session(client, world, **fields) -> dict:
    """A training of the own site that started five minutes ago: attendance is being taken."""
    return await schedule(client, world, starts_at=utcnow() - timedelta(minutes=5), **fields)


async def code_of(client, world, training_id) -> str:
    response = await client.get(f"{TRAININGS}/{training_id}/code", headers=world.headers(Role.OFFICER))
    assert response.status_code == 200, response.text
    return response.json()["code"]


async def check_in(client, world, training_id, code: str):
    return await client.post(
        f"{TRAININGS}/{training_id}/checkin", json={"code": code}, headers=world.headers(Role.VOLUNTEER)
    )


async def stored(session_factory, training_id) -> Training:
    async with session_factory() as session:
        training = await session.get(Training, uuid.UUID(str(training_id)))
        assert training is not None
        return training


def refused(response, status: int, code: str, field: str | None = None) -> bool:
    """The response is ``status`` with ``code`` (a 422's code is its field error's, on ``field``)."""
    problem = response.json()
    if field is not None:
        return response.status_code == status and [
            (error["field"], error["code"]) for error in problem.get("errors", [])
        ] == [(field, code)]
    return (response.status_code, problem.get("code")) == (status, code)


async def test_a_volunteer_checks_in_with_the_code_shown(client, world):
    training = await open_session(client, world)
    shown = await client.get(f"{TRAININGS}/{training['id']}/code", headers=world.headers(Role.OFFICER))
    assert shown.status_code == 200, shown.text
    code = shown.json()
    assert code["qr_payload"] == f"yijing:training:{training['id']}:{code['code']}"

    response = await check_in(client, world, training["id"], code["code"])

    assert response.status_code == 200, response.text
    row = response.json()
    assert (row["volunteer_id"], row["checkin_method"], row["checked_in_by"]) == (
        str(world.own.volunteer.id), "code", None
    )  # fmt: skip
    assert (row["status"], row["volunteer_name"]) == ("pending", world.own.volunteer.name)
    # Scanned again: the first check-in stands.
    again = await check_in(client, world, training["id"], await code_of(client, world, training["id"]))
    assert again.status_code == 200, again.text
    assert again.json() == row


async def test_a_code_outside_its_session_is_refused(client, world, session_factory):
    coming = world.own.training  # tomorrow
    ended = await schedule(client, world, starts_at=utcnow() - timedelta(hours=2))  # ended an hour ago
    for training_id in (coming.id, ended["id"]):
        training = await stored(session_factory, training_id)
        shown = await client.get(f"{TRAININGS}/{training_id}/code", headers=world.headers(Role.OFFICER))
        assert refused(shown, 409, "training_not_open"), shown.text
        response = await check_in(client, world, training_id, code_at(training, utcnow()))
        assert refused(response, 409, "training_not_open"), response.text


async def test_a_cancelled_sessions_code_is_refused(client, world, session_factory):
    training = await open_session(client, world)
    code = await code_of(client, world, training["id"])
    async with session_scope(session_factory) as session:
        await session.execute(
            update(Training).where(col(Training.id) == uuid.UUID(training["id"]))
            .values(status="cancelled", cancel_reason="改期")
        )  # fmt: skip
    response = await check_in(client, world, training["id"], code)
    assert refused(response, 409, "training_not_open"), response.text


async def test_another_trainings_code_is_refused(client, world):
    training = await open_session(client, world)
    other = await open_session(client, world)

    response = await check_in(client, world, training["id"], await code_of(client, world, other["id"]))

    assert refused(response, 422, "wrong_code", "body.code"), response.text
    rows = await client.get(f"{TRAININGS}/{training['id']}/attendance", headers=world.headers(Role.OFFICER))
    assert [row["checked_in_at"] for row in rows.json()] == [None]


async def test_a_code_two_minutes_old_is_refused(client, world, session_factory):
    training = await open_session(client, world)
    old = code_at(await stored(session_factory, training["id"]), utcnow() - timedelta(minutes=2))

    response = await check_in(client, world, training["id"], old)

    assert refused(response, 422, "wrong_code", "body.code"), response.text


async def test_only_enrolled_volunteers_check_in(client, world, session_factory):
    someone = await add_volunteer(session_factory, world, 831)
    training = await open_session(client, world, audience={"volunteer_ids": [str(someone.id)]})
    response = await check_in(client, world, training["id"], await code_of(client, world, training["id"]))
    assert refused(response, 403, "not_enrolled"), response.text
    other = await check_in(client, world, world.other.training.id, "123456")
    assert other.status_code == 404, other.text


async def test_an_officer_checks_a_volunteer_in(client, world, session_factory):
    training = await open_session(client, world)
    url = f"{TRAININGS}/{training['id']}/attendance/{world.own.volunteer.id}/checkin"

    response = await client.post(url, headers=world.headers(Role.OFFICER))

    assert response.status_code == 200, response.text
    row = response.json()
    assert (row["checkin_method"], row["checked_in_by"]) == ("officer", str(world.user(Role.OFFICER).id))
    assert row["checked_in_at"] is not None
    assert await audit_actions(session_factory, training["id"]) == [
        "training.create", "training.attendance.checkin"
    ]  # fmt: skip
    # The volunteer's own scan afterwards keeps the officer's check-in.
    scanned = await check_in(client, world, training["id"], await code_of(client, world, training["id"]))
    assert scanned.json() == row


async def test_an_officer_checks_in_only_within_the_session_and_only_the_enrolled(
    client, world, session_factory
):
    someone = await add_volunteer(session_factory, world, 832)
    headers = world.headers(Role.OFFICER)
    tomorrow = f"{TRAININGS}/{world.own.training.id}/attendance/{world.own.volunteer.id}/checkin"
    assert refused(await client.post(tomorrow, headers=headers), 409, "training_not_open")
    training = await open_session(client, world, audience={"volunteer_ids": [str(world.own.volunteer.id)]})
    stranger = f"{TRAININGS}/{training['id']}/attendance/{someone.id}/checkin"
    assert refused(await client.post(stranger, headers=headers), 404, "attendance_not_found")


async def test_an_excused_absence_is_recorded(client, world, session_factory):
    training = await schedule(client, world)
    url = f"{TRAININGS}/{training['id']}/attendance/{world.own.volunteer.id}/excuse"

    response = await client.post(
        url, json={"reason": "夜市出摊，已请假"}, headers=world.headers(Role.ASSISTANT)
    )

    assert response.status_code == 200, response.text
    row = response.json()
    assert (row["status"], row["excuse_reason"]) == ("excused", "夜市出摊，已请假")
    async with session_factory() as session:
        event = await session.scalar(
            select(AuditEvent).where(col(AuditEvent.action) == "training.attendance.excuse")
        )
    assert event is not None
    assert event.changes == {
        "volunteer_id": str(world.own.volunteer.id),
        "from": "pending",
        "reason": "(text)",
    }
    listed = await client.get(
        f"{TRAININGS}/{training['id']}/attendance",
        params={"status": "excused"},
        headers=world.headers(Role.OFFICER),
    )
    assert [r["volunteer_id"] for r in listed.json()] == [str(world.own.volunteer.id)]
    someone = await add_volunteer(session_factory, world, 833)
    stranger = f"{TRAININGS}/{training['id']}/attendance/{someone.id}/excuse"
    missing = await client.post(stranger, json={"reason": "请假"}, headers=world.headers(Role.OFFICER))
    assert refused(missing, 404, "attendance_not_found")


async def test_minutes_online_are_set_within_the_session(client, world, session_factory):
    training = await open_session(
        client, world, mode="online", place=None, meeting_url="https://meeting.tencent.com/dm/1"
    )
    url = f"{TRAININGS}/{training['id']}/attendance/{world.own.volunteer.id}/minutes"
    headers = world.headers(Role.OFFICER)

    response = await client.put(url, json={"minutes": 60}, headers=headers)

    assert response.status_code == 200, response.text
    assert response.json()["online_minutes"] == 60
    too_many = await client.put(url, json={"minutes": 61}, headers=headers)
    assert refused(too_many, 422, "more_than_session", "body.minutes"), too_many.text
    offline = f"{TRAININGS}/{world.own.training.id}/attendance/{world.own.volunteer.id}/minutes"
    assert refused(
        await client.put(offline, json={"minutes": 5}, headers=headers), 422, "not_online", "body.minutes"
    )
    async with session_scope(session_factory) as session:
        await session.execute(
            update(Training)
            .where(col(Training.id) == uuid.UUID(training["id"]))
            .values(status="settled", rule_version=0)
        )
    settled = await client.put(url, json={"minutes": 30}, headers=headers)
    assert refused(settled, 409, "training_not_open"), settled.text
    rows = await client.get(f"{TRAININGS}/{training['id']}/attendance", headers=headers)
    assert [row["online_minutes"] for row in rows.json()] == [60]


async def test_volunteers_do_not_take_attendance(client, world):
    training = await open_session(client, world)
    headers = world.headers(Role.VOLUNTEER)
    base = f"{TRAININGS}/{training['id']}"
    assert (await client.get(f"{base}/code", headers=headers)).status_code == 403
    checkin = await client.post(f"{base}/attendance/{world.own.volunteer.id}/checkin", headers=headers)
    assert checkin.status_code == 403
    by_staff = await client.post(
        f"{base}/checkin", json={"code": "123456"}, headers=world.headers(Role.OFFICER)
    )
    assert by_staff.status_code == 403
