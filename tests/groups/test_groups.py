"""Groups of ten: creation, auto-assignment, dated membership and moves, and who sees what."""

import itertools

import pytest
from sqlalchemy import select
from sqlmodel import col

from tests.world import new_volunteer
from yijing.access import Role
from yijing.audit.models import AuditEvent
from yijing.db import session_scope
from yijing.groups.models import GroupMembership
from yijing.groups.service import balanced_sizes
from yijing.org.models import Site
from yijing.volunteers.models import VolunteerStatus

_serials = itertools.count(3000)


async def add_volunteers(session_factory, settings, site, count: int, **fields) -> list:
    async with session_scope(session_factory) as session:
        volunteers = []
        for _ in range(count):
            serial = next(_serials)
            volunteer = new_volunteer(settings, site, serial, household_name=f"A区{serial:04d}号", **fields)
            session.add(volunteer)
            volunteers.append(volunteer)
        await session.flush()
    return volunteers


@pytest.mark.parametrize(
    ("count", "sizes"),
    [(0, []), (1, [1]), (10, [10]), (11, [6, 5]), (23, [8, 8, 7]), (30, [10, 10, 10]), (31, [8, 8, 8, 7])],
)
def test_groups_are_balanced_rather_than_leaving_a_stub(count, sizes):
    assert balanced_sizes(count, 10) == sizes


async def test_auto_assign_makes_balanced_groups_in_household_order(client, world, session_factory, settings):
    volunteers = await add_volunteers(session_factory, settings, world.own.site, 23)
    await add_volunteers(session_factory, settings, world.own.site, 2, status=VolunteerStatus.SUSPENDED)
    response = await client.post(
        f"/api/v1/sites/{world.own.site.id}/groups/auto-assign", json={}, headers=world.headers(Role.OFFICER)
    )
    assert response.status_code == 201, response.text
    made = response.json()
    assert (
        made["assigned"] == 23
    )  # the world's volunteer is in a group already; suspended ones are not placed
    assert [group["member_count"] for group in made["groups"]] == [8, 8, 7]
    assert [group["name"] for group in made["groups"]] == ["第2组", "第3组", "第4组"]  # 第1组 exists
    members = await client.get(
        f"/api/v1/groups/{made['groups'][0]['id']}/members", headers=world.headers(Role.OFFICER)
    )
    assert [m["volunteer_id"] for m in members.json()] == [str(v.id) for v in volunteers[:8]]
    # Every new group has its captain at once; a second run finds nobody left to place.
    captain = await client.get(
        f"/api/v1/groups/{made['groups'][2]['id']}/captain", headers=world.headers(Role.OFFICER)
    )
    assert captain.json()["volunteer_id"] == str(volunteers[16].id)
    again = await client.post(
        f"/api/v1/sites/{world.own.site.id}/groups/auto-assign", json={}, headers=world.headers(Role.OFFICER)
    )
    assert again.json() == {"groups": [], "assigned": 0}


async def test_members_join_move_and_leave_with_dates(client, world, session_factory, settings):
    officer = world.headers(Role.OFFICER)
    [volunteer] = await add_volunteers(session_factory, settings, world.own.site, 1)
    other = await client.post(
        "/api/v1/groups", json={"site_id": str(world.own.site.id), "name": "第2组"}, headers=officer
    )
    assert other.status_code == 201, other.text
    second = other.json()["id"]
    first = str(world.own.group.id)
    assert (
        await client.post(
            f"/api/v1/groups/{first}/members", json={"volunteer_id": str(volunteer.id)}, headers=officer
        )
    ).status_code == 201
    response = await client.post(
        f"/api/v1/groups/{first}/members", json={"volunteer_id": str(volunteer.id)}, headers=officer
    )
    assert response.status_code == 409
    assert response.json()["code"] == "already_a_member"
    moved = await client.post(
        f"/api/v1/groups/{second}/members", json={"volunteer_id": str(volunteer.id)}, headers=officer
    )
    assert moved.status_code == 201
    assert moved.json()["member_count"] == 1
    left = await client.post(
        f"/api/v1/groups/{second}/members/{volunteer.id}/leave", json={"reason": "摊位转让"}, headers=officer
    )
    assert left.json()["member_count"] == 0
    async with session_factory() as session:
        history = (
            await session.scalars(
                select(GroupMembership)
                .where(col(GroupMembership.volunteer_id) == volunteer.id)
                .order_by(col(GroupMembership.joined_at))
            )
        ).all()
    assert [(str(m.group_id), m.left_reason) for m in history] == [
        (first, "moved to 第2组"),
        (second, "摊位转让"),
    ]
    assert all(m.left_at is not None and m.left_at >= m.joined_at for m in history)
    response = await client.post(
        f"/api/v1/groups/{second}/members/{volunteer.id}/leave", json={"reason": "again"}, headers=officer
    )
    assert response.status_code == 404


async def test_who_may_join(client, world, session_factory, settings):
    officer = world.headers(Role.OFFICER)
    url = f"/api/v1/groups/{world.own.group.id}/members"
    [suspended] = await add_volunteers(
        session_factory, settings, world.own.site, 1, status=VolunteerStatus.SUSPENDED
    )
    response = await client.post(url, json={"volunteer_id": str(suspended.id)}, headers=officer)
    assert response.status_code == 409
    assert response.json()["code"] == "volunteer_not_active"
    async with session_scope(session_factory) as session:
        elsewhere = Site(station_id=world.own.station.id, name="万家广场")
        session.add(elsewhere)
    [stranger] = await add_volunteers(session_factory, settings, elsewhere, 1)
    response = await client.post(url, json={"volunteer_id": str(stranger.id)}, headers=officer)
    assert response.status_code == 422
    response = await client.post(url, json={"volunteer_id": str(world.other.volunteer.id)}, headers=officer)
    assert response.status_code == 404


async def test_group_names_are_unique_per_site_and_settings_are_checked(client, world):
    officer = world.headers(Role.OFFICER)
    body = {"site_id": str(world.own.site.id), "name": "第1组"}
    response = await client.post("/api/v1/groups", json=body, headers=officer)
    assert response.status_code == 409
    assert response.json()["code"] == "group_name_taken"
    for field, value in (
        ("handoff_time", "24:00"),
        ("handoff_time", "9:00"),
        ("handoff_weekday", 7),
        ("horizon_weeks", 53),
    ):
        response = await client.post(
            "/api/v1/groups", json={**body, "name": "x", field: value}, headers=officer
        )
        assert response.status_code == 422, (field, value)
    created = await client.post(
        "/api/v1/groups",
        json={**body, "name": "夜班组", "handoff_weekday": 4, "handoff_time": "18:30"},
        headers=officer,
    )
    assert created.json()["handoff_time"] == "18:30"
    assert created.json()["handoff_weekday"] == 4
    response = await client.post(
        "/api/v1/groups", json={**body, "site_id": str(world.other.site.id), "name": "y"}, headers=officer
    )
    assert response.status_code == 404


async def test_a_volunteer_sees_only_their_own_group(client, world):
    me = world.headers(Role.VOLUNTEER)
    assert (await client.get(f"/api/v1/groups/{world.own.group.id}", headers=me)).status_code == 200
    assert (await client.get("/api/v1/groups", headers=me)).status_code == 403
    other_group = await client.post(
        "/api/v1/groups",
        json={"site_id": str(world.own.site.id), "name": "第2组"},
        headers=world.headers(Role.OFFICER),
    )
    assert (await client.get(f"/api/v1/groups/{other_group.json()['id']}", headers=me)).status_code == 404
    assert (
        await client.get(f"/api/v1/groups/{other_group.json()['id']}/captain", headers=me)
    ).status_code == 404


async def test_the_captain_of_the_week_sees_members_phones_in_full(client, world, session_factory, settings):
    officer = world.headers(Role.OFFICER)
    [neighbour] = await add_volunteers(session_factory, settings, world.own.site, 1)
    await client.post(
        f"/api/v1/groups/{world.own.group.id}/members",
        json={"volunteer_id": str(neighbour.id)},
        headers=officer,
    )
    captain = (await client.get(f"/api/v1/groups/{world.own.group.id}/captain", headers=officer)).json()
    assert captain["volunteer_id"] == str(world.own.volunteer.id)  # the only member when the week began
    members = await client.get(
        f"/api/v1/groups/{world.own.group.id}/members", headers=world.headers(Role.VOLUNTEER)
    )
    phones = {m["volunteer_id"]: (m["phone"], m["personal_data"]) for m in members.json()}
    assert phones[str(neighbour.id)][1] == "full"
    assert "*" not in phones[str(neighbour.id)][0]
    staff_view = await client.get(f"/api/v1/groups/{world.own.group.id}/members", headers=officer)
    assert {m["personal_data"] for m in staff_view.json()} == {"masked"}
    async with session_factory() as session:
        reads = (
            await session.scalars(
                select(AuditEvent).where(col(AuditEvent.action) == "group.members.contact_read")
            )
        ).all()
    assert [event.actor_id for event in reads] == [world.user(Role.VOLUNTEER).id]


async def test_volunteers_are_listed_by_group(client, world, session_factory, settings):
    outsiders = await add_volunteers(session_factory, settings, world.own.site, 2)
    response = await client.get(
        "/api/v1/volunteers",
        params={"group_id": str(world.own.group.id)},
        headers=world.headers(Role.OFFICER),
    )
    assert [item["id"] for item in response.json()["items"]] == [str(world.own.volunteer.id)]
    assert str(outsiders[0].id) not in response.text
