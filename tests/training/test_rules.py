"""Attendance rules: version 0 (the defaults) until a station leader sets one; each change a new version,
audited; staff read them, only leaders and county admins change them, and only for stations they reach."""

from datetime import timedelta

from sqlalchemy import select
from sqlmodel import col

from tests.world import World
from yijing.access import Role
from yijing.audit.models import AuditEvent
from yijing.db import session_scope
from yijing.ids import utcnow
from yijing.training.models import AttendanceRule
from yijing.training.rules import DEFAULT_RULE, rule_at

RULES = "/api/v1/trainings/rules"


def url(world: World, place: str = "own") -> str:
    return f"{RULES}/{(world.own if place == 'own' else world.other).station.id}"


async def test_the_defaults_hold_until_a_version_is_set(client, world):
    for role in (Role.ASSISTANT, Role.OFFICER, Role.LEADER, Role.ADMIN):
        response = await client.get(url(world), headers=world.headers(role))
        assert response.status_code == 200, response.text
        assert response.json() == {
            "station_id": str(world.own.station.id), "version": 0, "online_present_percent": 80,
            "late_after_minutes": 10, "created_at": None,
        }  # fmt: skip
    assert (DEFAULT_RULE.version, DEFAULT_RULE.online_present_percent, DEFAULT_RULE.late_after_minutes) == (
        0, 80, 10,
    )  # fmt: skip


async def test_each_change_is_a_new_version(client, world, session_factory):
    first = await client.put(
        url(world),
        json={"online_present_percent": 75, "late_after_minutes": 15},
        headers=world.headers(Role.LEADER),
    )
    assert first.status_code == 200, first.text
    assert (first.json()["version"], first.json()["online_present_percent"]) == (1, 75)
    second = await client.put(
        url(world),
        json={"online_present_percent": 90, "late_after_minutes": 5},
        headers=world.headers(Role.ADMIN),
    )
    assert second.status_code == 200, second.text
    assert second.json()["version"] == 2
    current = (await client.get(url(world), headers=world.headers(Role.OFFICER))).json()
    assert current == second.json()
    assert (current["online_present_percent"], current["late_after_minutes"]) == (90, 5)
    async with session_factory() as session:
        versions = await session.scalars(
            select(col(AttendanceRule.version))
            .where(col(AttendanceRule.station_id) == world.own.station.id)
            .order_by(col(AttendanceRule.version))
        )
        assert list(versions) == [1, 2]
        events = (
            await session.scalars(
                select(AuditEvent)
                .where(col(AuditEvent.action) == "training.attendance_rules.update")
                .order_by(col(AuditEvent.occurred_at))
            )
        ).all()
    assert [event.changes for event in events] == [
        {"version": 1, "online_present_percent": 75, "late_after_minutes": 15},
        {"version": 2, "online_present_percent": 90, "late_after_minutes": 5},
    ]
    assert events[0].actor_id == world.user(Role.LEADER).id
    # The other station keeps its defaults.
    other = await client.get(url(world, "other"), headers=world.headers(Role.ADMIN))
    assert other.json()["version"] == 0


async def test_the_rule_in_force_at_an_instant(session_factory, world):
    now = utcnow()
    station_id = world.own.station.id
    async with session_scope(session_factory) as session:
        for version, percent, late, days in ((1, 60, 5, 2), (2, 70, 20, 1)):
            session.add(
                AttendanceRule(
                    station_id=station_id, version=version, online_present_percent=percent,
                    late_after_minutes=late, created_at=now - timedelta(days=days),
                )
            )  # fmt: skip
    async with session_factory() as session:
        assert await rule_at(session, station_id, now - timedelta(days=3)) == DEFAULT_RULE
        at_first = await rule_at(session, station_id, now - timedelta(days=2))  # from its instant on
        assert (at_first.version, at_first.online_present_percent, at_first.late_after_minutes) == (1, 60, 5)
        assert (await rule_at(session, station_id, now - timedelta(hours=30))).version == 1
        assert (await rule_at(session, station_id, now)).version == 2
        assert await rule_at(session, world.other.station.id, now) == DEFAULT_RULE


async def test_who_may_read_and_change_the_rules(client, world):
    body = {"online_present_percent": 80, "late_after_minutes": 10}
    for role in (Role.VOLUNTEER,):
        assert (await client.get(url(world), headers=world.headers(role))).status_code == 403
    for role in (Role.VOLUNTEER, Role.ASSISTANT, Role.OFFICER):
        response = await client.put(url(world), json=body, headers=world.headers(role))
        assert response.status_code == 403, role
    # Another station's rules do not exist for a station's staff.
    for method in ("get", "put"):
        response = await client.request(
            method, url(world, "other"), json=body, headers=world.headers(Role.LEADER)
        )
        assert (response.status_code, response.json()["code"]) == (404, "station_not_found")
    assert (
        await client.put(url(world, "other"), json=body, headers=world.headers(Role.ADMIN))
    ).status_code == 200


async def test_rules_out_of_range_are_refused(client, world, session_factory):
    bad_bodies = [
        ({"online_present_percent": 0, "late_after_minutes": 10}, "body.online_present_percent"),
        ({"online_present_percent": 101, "late_after_minutes": 10}, "body.online_present_percent"),
        ({"online_present_percent": 80, "late_after_minutes": 241}, "body.late_after_minutes"),
        ({"online_present_percent": 80, "late_after_minutes": -1}, "body.late_after_minutes"),
        ({"online_present_percent": 80.5, "late_after_minutes": 10}, "body.online_present_percent"),
        ({"online_present_percent": 80}, "body.late_after_minutes"),
        ({"online_present_percent": 80, "late_after_minutes": 10, "version": 7}, "body.version"),
    ]
    for body, field in bad_bodies:
        response = await client.put(url(world), json=body, headers=world.headers(Role.LEADER))
        assert response.status_code == 422, body
        assert response.json()["errors"][0]["field"] == field, response.json()
    async with session_factory() as session:
        assert (await session.scalars(select(AttendanceRule))).all() == []
