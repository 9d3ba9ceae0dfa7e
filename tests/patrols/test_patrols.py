"""Patrols: planning (members named and from a group, the captain as default leader), bad plans refused with
nothing stored, every action from every status, who may start, If-Match, scoping, the list's filters and
pages, and a route patrols refer to refused deletion."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlmodel import col

from tests.world import new_volunteer
from yijing.access import Role
from yijing.db import session_scope
from yijing.groups.models import Group
from yijing.ids import utcnow
from yijing.org.models import Site
from yijing.patrols.models import MemberSource, Patrol, PatrolMember, PatrolStatus
from yijing.patrols.routes.models import PatrolRoute
from yijing.patrols.service import LIFECYCLE, PatrolAction
from yijing.volunteers.models import Volunteer, VolunteerStatus

PATROLS = "/api/v1/patrols"


def tomorrow_evening():
    return utcnow().replace(microsecond=0) + timedelta(days=1)


def plan_body(world, *, hours: float = 4, start=None, **fields) -> dict:
    begin = start or tomorrow_evening()
    return {
        "route_id": str(world.own.route.id),
        "planned_start": begin.isoformat(),
        "planned_end": (begin + timedelta(hours=hours)).isoformat(),
    } | fields


async def add_volunteer(session_factory, world, serial: int, *, site=None, **fields) -> Volunteer:
    """Another active volunteer of the own station (at its site unless ``site`` is given)."""
    async with session_scope(session_factory) as session:
        volunteer = new_volunteer(world.settings, site or world.own.site, serial, **fields)
        session.add(volunteer)
    return volunteer


async def add_site(session_factory, world, name: str = "滨河路商铺区") -> Site:
    async with session_scope(session_factory) as session:
        site = Site(station_id=world.own.station.id, name=name)
        session.add(site)
    return site


async def plan(client, world, role: Role = Role.OFFICER, **fields) -> dict:
    response = await client.post(PATROLS, json=plan_body(world, **fields), headers=world.headers(role))
    assert response.status_code == 201, response.text
    return response.json()


async def patrols_of_route(session_factory, route_id) -> int:
    async with session_factory() as session:
        return int(await session.scalar(select(func.count()).where(col(Patrol.route_id) == route_id)) or 0)


async def audit_actions(client, world, target_id) -> list[str]:
    events = await client.get(
        "/api/v1/audit-events", params={"target_id": str(target_id)}, headers=world.headers(Role.ADMIN)
    )
    return sorted(event["action"] for event in events.json()["items"])


async def test_staff_plan_a_patrol_with_named_and_group_members(client, world, session_factory):
    named = await add_volunteer(session_factory, world, 1001, name="林建国")
    body = plan_body(world, volunteer_ids=[str(named.id)], group_id=str(world.own.group.id))
    created = await client.post(PATROLS, json=body, headers=world.headers(Role.OFFICER))
    assert created.status_code == 201, created.text
    patrol = created.json()
    assert created.headers["location"] == f"{PATROLS}/{patrol['id']}"
    assert created.headers["etag"] == '"1"'
    assert (patrol["station_id"], patrol["site_id"], patrol["route_id"], patrol["group_id"]) == (
        str(world.own.station.id), str(world.own.site.id), str(world.own.route.id), str(world.own.group.id),
    )  # fmt: skip
    assert (patrol["status"], patrol["allowed_actions"], patrol["version"]) == (
        "planned",
        ["start", "cancel"],
        1,
    )
    assert (patrol["started_at"], patrol["ended_at"]) == (None, None)
    members = {member["id"]: (member["name"], member["source"]) for member in patrol["members"]}
    assert members == {
        str(named.id): ("林建国", "named"),
        str(world.own.volunteer.id): (world.own.volunteer.name, "group"),
    }
    # The group's captain for the week of the planned start (its only member) leads by default.
    assert patrol["leader_volunteer_id"] == str(world.own.volunteer.id)
    assert patrol["leader"] == {
        "id": str(world.own.volunteer.id),
        "name": world.own.volunteer.name,
        "source": "group",
    }

    read = await client.get(f"{PATROLS}/{patrol['id']}", headers=world.headers(Role.VOLUNTEER))
    assert read.status_code == 200, read.text
    assert read.headers["etag"] == '"1"'
    assert read.json() == patrol
    assert await audit_actions(client, world, patrol["id"]) == ["patrol.plan"]


async def test_a_named_leader_and_a_patrol_without_a_group(client, world, session_factory):
    named = await add_volunteer(session_factory, world, 1002)
    patrol = await plan(
        client, world, volunteer_ids=[str(named.id), str(named.id)], leader_volunteer_id=str(named.id)
    )
    assert [(member["id"], member["source"]) for member in patrol["members"]] == [(str(named.id), "named")]
    assert patrol["leader"]["id"] == str(named.id)
    # Without a group and without a leader given, the patrol has none.
    leaderless = await plan(client, world, volunteer_ids=[str(named.id)])
    assert (leaderless["leader_volunteer_id"], leaderless["leader"]) == (None, None)
    # A volunteer named and in the group is on the patrol once, as named.
    both = await plan(
        client, world, volunteer_ids=[str(world.own.volunteer.id)], group_id=str(world.own.group.id)
    )
    assert [(member["id"], member["source"]) for member in both["members"]] == [
        (str(world.own.volunteer.id), "named")
    ]


@pytest.mark.parametrize(
    ("case", "status", "field", "code"),
    [
        ("end before start", 422, "body.planned_end", "ends_before_start"),
        ("thirteen hours", 422, "body.planned_end", "too_long"),
        ("unknown volunteer", 422, "body.volunteer_ids", "not_active_volunteer"),
        ("volunteer of another station", 422, "body.volunteer_ids", "not_active_volunteer"),
        ("suspended volunteer", 422, "body.volunteer_ids", "not_active_volunteer"),
        ("group of another site", 422, "body.group_id", "other_site"),
        ("group of another station", 422, "body.group_id", "other_site"),
        ("leader not a member", 422, "body.leader_volunteer_id", "not_a_member"),
        ("no members", 422, "body.volunteer_ids", "no_members"),
        ("too many named", 422, "body.volunteer_ids", None),
        ("retired route", 409, None, "route_retired"),
        ("another station's route", 404, None, "patrol_route_not_found"),
    ],
)
async def test_bad_plans_are_refused_and_store_nothing(
    case, status, field, code, client, world, session_factory
):
    member = [str(world.own.volunteer.id)]
    body = plan_body(world, volunteer_ids=member)
    if case == "end before start":
        body = plan_body(world, hours=-1, volunteer_ids=member)
    elif case == "thirteen hours":
        body = plan_body(world, hours=13, volunteer_ids=member)
    elif case == "unknown volunteer":
        body["volunteer_ids"] = [*member, "0193a6a4-0000-7c3d-8f2a-3b4c5d6e7f80"]
    elif case == "volunteer of another station":
        body["volunteer_ids"] = [*member, str(world.other.volunteer.id)]
    elif case == "suspended volunteer":
        suspended = await add_volunteer(session_factory, world, 1003, status=VolunteerStatus.SUSPENDED)
        body["volunteer_ids"] = [str(suspended.id)]
    elif case == "group of another site":
        site = await add_site(session_factory, world)
        async with session_scope(session_factory) as session:
            group = Group(station_id=world.own.station.id, site_id=site.id, name="商铺1组")
            session.add(group)
        body["group_id"] = str(group.id)
    elif case == "group of another station":
        body["group_id"] = str(world.other.group.id)
    elif case == "leader not a member":
        outsider = await add_volunteer(session_factory, world, 1004)
        body["leader_volunteer_id"] = str(outsider.id)
    elif case == "no members":
        body["volunteer_ids"] = []
    elif case == "too many named":
        body["volunteer_ids"] = member * 51
    elif case == "retired route":
        async with session_scope(session_factory) as session:
            await session.execute(
                update(PatrolRoute)
                .where(col(PatrolRoute.id) == world.own.route.id)
                .values(retired_at=utcnow())
            )
    elif case == "another station's route":
        body["route_id"] = str(world.other.route.id)
    response = await client.post(PATROLS, json=body, headers=world.headers(Role.OFFICER))
    assert response.status_code == status, f"{case}: {response.text}"
    problem = response.json()
    if field is None:
        assert problem["code"] == code, problem
    else:
        assert problem["code"] == "validation_failed", problem
        assert field in [error["field"] for error in problem["errors"]], problem
        if code is not None:
            assert [error["code"] for error in problem["errors"]] == [code], problem
    # Only the world's patrol.
    assert await patrols_of_route(session_factory, world.own.route.id) == 1


async def test_only_staff_plan_patrols(client, world):
    body = plan_body(world, volunteer_ids=[str(world.own.volunteer.id)])
    response = await client.post(PATROLS, json=body, headers=world.headers(Role.VOLUNTEER))
    assert response.status_code == 403


async def patrol_in(session_factory, world, status: PatrolStatus) -> Patrol:
    """A patrol of the own route in ``status``, the world's volunteer its member and leader."""
    start = tomorrow_evening()
    now = utcnow()
    async with session_scope(session_factory) as session:
        patrol = Patrol(
            station_id=world.own.station.id, site_id=world.own.site.id, route_id=world.own.route.id,
            planned_start=start, planned_end=start + timedelta(hours=4), status=status,
            leader_volunteer_id=world.own.volunteer.id,
            started_at=now if status in {PatrolStatus.IN_PROGRESS, PatrolStatus.COMPLETED} else None,
            ended_at=now if status is PatrolStatus.COMPLETED else None,
        )  # fmt: skip
        session.add(patrol)
        await session.flush()
        session.add(PatrolMember(patrol_id=patrol.id, volunteer_id=world.own.volunteer.id))
    return patrol


def action_body(action: PatrolAction) -> dict | None:
    return {"reason": "台风预警，夜市停业"} if action is PatrolAction.CANCEL else None


@pytest.mark.parametrize("action", list(PatrolAction))
async def test_every_action_from_every_status(action, client, world, session_factory):
    sources, target = LIFECYCLE[action]
    headers = world.headers(Role.OFFICER)
    for status in PatrolStatus:
        patrol = await patrol_in(session_factory, world, status)
        url = f"{PATROLS}/{patrol.id}/{action}"
        response = await client.post(url, json=action_body(action), headers=headers | {"If-Match": '"1"'})
        if status in sources:
            assert response.status_code == 200, f"{status} → {action}: {response.text}"
            changed = response.json()
            assert (changed["status"], changed["version"]) == (target, 2)
            assert response.headers["etag"] == '"2"'
            assert changed["allowed_actions"] == [str(name) for name in LIFECYCLE.allowed(target)]
            assert (changed["started_at"] is not None) == (target is not PatrolStatus.CANCELLED)
            assert (changed["ended_at"] is not None) == (target is PatrolStatus.COMPLETED)
            assert changed["cancel_reason"] == (
                "台风预警，夜市停业" if target is PatrolStatus.CANCELLED else None
            )
            assert await audit_actions(client, world, patrol.id) == [f"patrol.{action}"]
        else:
            assert response.status_code == 409, f"{status} → {action}: {response.text}"
            problem = response.json()
            assert problem["code"] == "transition_not_allowed"
            assert problem["current_status"] == status
            assert problem["allowed_actions"] == [str(name) for name in LIFECYCLE.allowed(status)]
            async with session_factory() as session:
                unchanged = await session.get(Patrol, patrol.id)
            assert (unchanged.status, unchanged.version) == (status, 1)


async def test_missed_is_reached_by_no_action():
    assert all(target is not PatrolStatus.MISSED for _, target in LIFECYCLE.values())
    assert LIFECYCLE.allowed(PatrolStatus.MISSED) == []


async def test_cancelling_needs_a_reason_and_staff(client, world):
    url = f"{PATROLS}/{world.own.patrol.id}/cancel"
    no_reason = await client.post(url, json={}, headers=world.headers(Role.OFFICER))
    assert no_reason.status_code == 422
    assert [error["field"] for error in no_reason.json()["errors"]] == ["body.reason"]
    by_member = await client.post(url, json={"reason": "不去了"}, headers=world.headers(Role.VOLUNTEER))
    assert by_member.status_code == 403


async def test_a_member_starts_and_staff_complete(client, world):
    url = f"{PATROLS}/{world.own.patrol.id}"
    started = await client.post(f"{url}/start", headers=world.headers(Role.VOLUNTEER))
    assert started.status_code == 200, started.text
    assert (started.json()["status"], started.json()["allowed_actions"]) == ("in_progress", ["complete"])
    assert started.json()["started_at"] is not None
    done = await client.post(f"{url}/complete", headers=world.headers(Role.ASSISTANT) | {"If-Match": '"2"'})
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["version"]) == ("completed", 3)
    assert done.json()["ended_at"] is not None
    assert await audit_actions(client, world, world.own.patrol.id) == ["patrol.complete", "patrol.start"]


async def test_a_volunteer_who_is_not_a_member_may_read_but_not_start(client, world, session_factory):
    colleague = await add_volunteer(session_factory, world, 1005)
    patrol = await plan(client, world, volunteer_ids=[str(colleague.id)])
    volunteer = world.headers(Role.VOLUNTEER)
    # Their own site's patrol: read, but not theirs to start.
    assert (await client.get(f"{PATROLS}/{patrol['id']}", headers=volunteer)).status_code == 200
    refused = await client.post(f"{PATROLS}/{patrol['id']}/start", headers=volunteer)
    assert refused.status_code == 403, refused.text
    async with session_factory() as session:
        assert (await session.get(Patrol, patrol["id"])).status is PatrolStatus.PLANNED


async def test_a_volunteer_of_another_site_does_not_see_the_patrol(client, world, session_factory):
    colleague = await add_volunteer(session_factory, world, 1006)
    patrol = await plan(client, world, volunteer_ids=[str(colleague.id)])
    site = await add_site(session_factory, world)
    async with session_scope(session_factory) as session:
        await session.execute(
            update(Volunteer).where(col(Volunteer.id) == world.own.volunteer.id).values(site_id=site.id)
        )
    volunteer = world.headers(Role.VOLUNTEER)
    assert (await client.get(f"{PATROLS}/{patrol['id']}", headers=volunteer)).status_code == 404
    assert (await client.post(f"{PATROLS}/{patrol['id']}/start", headers=volunteer)).status_code == 404
    # The patrol they are a member of stays theirs.
    listed = await client.get(PATROLS, headers=volunteer)
    assert [item["id"] for item in listed.json()["items"]] == [str(world.own.patrol.id)]


async def test_another_stations_patrol_is_not_found(client, world):
    url = f"{PATROLS}/{world.other.patrol.id}"
    officer = world.headers(Role.OFFICER)
    assert (await client.get(url, headers=officer)).status_code == 404
    assert (await client.patch(url, json={"leader_volunteer_id": None}, headers=officer)).status_code == 404
    assert (await client.post(f"{url}/start", headers=officer)).status_code == 404
    assert (await client.get(url, headers=world.headers(Role.VOLUNTEER))).status_code == 404
    # A county admin reaches every station.
    assert (await client.get(url, headers=world.headers(Role.ADMIN))).status_code == 200


async def test_changing_a_planned_patrol(client, world, session_factory):
    colleague = await add_volunteer(session_factory, world, 1007)
    patrol = await plan(client, world, volunteer_ids=[str(world.own.volunteer.id), str(colleague.id)])
    url = f"{PATROLS}/{patrol['id']}"
    officer = world.headers(Role.OFFICER)
    later = tomorrow_evening() + timedelta(hours=1)
    body = {
        "planned_start": later.isoformat(),
        "planned_end": (later + timedelta(hours=3)).isoformat(),
        "leader_volunteer_id": str(colleague.id),
    }
    changed = await client.patch(url, json=body, headers=officer | {"If-Match": '"1"'})
    assert changed.status_code == 200, changed.text
    assert changed.headers["etag"] == '"2"'
    assert changed.json()["leader"]["id"] == str(colleague.id)
    assert changed.json()["planned_start"].startswith(later.isoformat()[:19])
    stale = await client.patch(url, json={"leader_volunteer_id": None}, headers=officer | {"If-Match": '"1"'})
    assert stale.status_code == 412
    # Nothing given: nothing changes.
    same = await client.patch(url, json={}, headers=officer)
    assert same.json()["version"] == 2
    outsider = await add_volunteer(session_factory, world, 1008)
    for bad, field in (
        ({"leader_volunteer_id": str(outsider.id)}, "body.leader_volunteer_id"),
        ({"planned_end": later.isoformat()}, "body.planned_end"),
        ({"planned_end": (later + timedelta(hours=12, minutes=1)).isoformat()}, "body.planned_end"),
    ):
        refused = await client.patch(url, json=bad, headers=officer)
        assert refused.status_code == 422, refused.text
        assert [error["field"] for error in refused.json()["errors"]] == [field]
    cleared = await client.patch(
        url, json={"leader_volunteer_id": None}, headers=officer | {"If-Match": '"2"'}
    )
    assert (cleared.json()["leader"], cleared.json()["version"]) == (None, 3)
    assert await audit_actions(client, world, patrol["id"]) == [
        "patrol.plan",
        "patrol.update",
        "patrol.update",
    ]
    events = await client.get(
        "/api/v1/audit-events", params={"action": "patrol.update"}, headers=world.headers(Role.ADMIN)
    )
    leaders = [event["changes"]["leader_volunteer_id"] for event in events.json()["items"]]
    assert sorted(leaders, key=str) == sorted([str(colleague.id), None], key=str)
    assert (await client.patch(url, json={}, headers=world.headers(Role.VOLUNTEER))).status_code == 403

    await client.post(f"{url}/start", headers=officer)
    refused = await client.patch(url, json={"leader_volunteer_id": None}, headers=officer)
    assert refused.status_code == 409
    assert (refused.json()["code"], refused.json()["current_status"]) == ("patrol_not_planned", "in_progress")


async def test_list_filters_and_pages(client, world, session_factory):
    colleague = await add_volunteer(session_factory, world, 1009)
    start = tomorrow_evening()
    early = await plan(client, world, volunteer_ids=[str(colleague.id)], start=start + timedelta(days=1))
    late = await plan(
        client, world, volunteer_ids=[str(colleague.id), str(world.own.volunteer.id)],
        start=start + timedelta(days=2),
    )  # fmt: skip
    await client.post(
        f"{PATROLS}/{late['id']}/cancel", json={"reason": "下雨"}, headers=world.headers(Role.OFFICER)
    )
    own, mine = str(world.own.patrol.id), world.headers(Role.OFFICER)

    async def ids(**params) -> list[str]:
        response = await client.get(PATROLS, params=params, headers=mine)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await ids() == [own, early["id"], late["id"]]
    assert await ids(volunteer_id=str(colleague.id)) == [early["id"], late["id"]]
    assert await ids(volunteer_id=str(world.own.volunteer.id)) == [own, late["id"]]
    assert await ids(status=["planned"]) == [own, early["id"]]
    assert await ids(status=["cancelled", "completed"]) == [late["id"]]
    assert await ids(starts_after=(start + timedelta(hours=12)).isoformat()) == [early["id"], late["id"]]
    assert await ids(starts_before=(start + timedelta(days=1)).isoformat()) == [own]
    assert await ids(site_id=str(world.own.site.id), route_id=str(world.own.route.id)) == [
        own, early["id"], late["id"],
    ]  # fmt: skip
    assert await ids(site_id=str(world.other.site.id)) == []
    # The county admin sees both stations' patrols; staff their own.
    everyone = await client.get(PATROLS, headers=world.headers(Role.ADMIN))
    assert str(world.other.patrol.id) in [item["id"] for item in everyone.json()["items"]]
    assert str(world.other.patrol.id) not in await ids()

    seen, cursor = [], None
    while True:
        params = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(PATROLS, params=params, headers=mine)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [own, early["id"], late["id"]]
    bad = await client.get(PATROLS, params={"status": "lost"}, headers=mine)
    assert bad.status_code == 422


async def test_a_route_patrols_refer_to_cannot_be_deleted(client, world, session_factory):
    url = f"/api/v1/patrol-routes/{world.own.route.id}"
    refused = await client.delete(url, headers=world.headers(Role.OFFICER))
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "route_in_use"
    assert (await client.get(url, headers=world.headers(Role.OFFICER))).status_code == 200
    assert await patrols_of_route(session_factory, world.own.route.id) == 1
    async with session_factory() as session:
        assert (await session.get(PatrolMember, (world.own.patrol.id, world.own.volunteer.id))).source is (
            MemberSource.NAMED
        )
