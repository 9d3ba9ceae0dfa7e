"""The captain rota through the API: who is captain, planned weeks, overrides, unavailability, re-planning
when members come and go, and what members are told."""

import itertools
from datetime import date, timedelta

from sqlalchemy import select
from sqlmodel import col

from tests.world import new_volunteer
from yijing.access import Role
from yijing.db import session_scope
from yijing.groups.models import GroupMembership
from yijing.ids import utcnow
from yijing.rota.models import CaptainWeek
from yijing.rota.reconcile import reconcile_group

_serials = itertools.count(4000)


async def members_joined_now(session_factory, settings, world, count: int) -> list:
    """Volunteers added to the world's group (as the API would, then re-planned)."""
    async with session_scope(session_factory) as session:
        volunteers = [new_volunteer(settings, world.own.site, next(_serials)) for _ in range(count)]
        session.add_all(volunteers)
        await session.flush()
        for volunteer in volunteers:
            session.add(GroupMembership(group_id=world.own.group.id, volunteer_id=volunteer.id))
        await session.flush()
        await reconcile_group(session, world.own.group.id, utcnow())
    return volunteers


def rota_url(world) -> str:
    return f"/api/v1/groups/{world.own.group.id}/rota"


async def planned(client, world) -> list[str]:
    """Captains of the weeks that have not started, in order."""
    weeks = (await client.get(rota_url(world), headers=world.headers(Role.OFFICER))).json()
    return [week["volunteer_id"] for week in weeks if not week["started"]]


async def test_the_captain_now_and_next_with_offsets(client, world, session_factory, settings):
    [second] = await members_joined_now(session_factory, settings, world, 1)
    response = await client.get(
        f"/api/v1/groups/{world.own.group.id}/captain", headers=world.headers(Role.VOLUNTEER)
    )
    assert response.status_code == 200, response.text
    captain = response.json()
    assert captain["volunteer_id"] == str(world.own.volunteer.id)
    assert captain["starts_at"].endswith("+08:00")
    assert captain["source"] == "rotation"
    assert captain["next"]["volunteer_id"] == str(second.id)
    assert captain["next"]["starts_at"] == captain["ends_at"]
    later = await client.get(
        f"/api/v1/groups/{world.own.group.id}/captain",
        params={"at": captain["next"]["starts_at"]},
        headers=world.headers(Role.VOLUNTEER),
    )
    assert later.json()["volunteer_id"] == str(second.id)
    too_early = await client.get(
        f"/api/v1/groups/{world.own.group.id}/captain",
        params={"at": "2020-01-01T00:00:00+08:00"},
        headers=world.headers(Role.VOLUNTEER),
    )
    assert too_early.status_code == 404


async def test_the_rota_rotates_and_a_newcomer_reshuffles_nobody(client, world, session_factory, settings):
    first = str(world.own.volunteer.id)
    [second, third] = [str(v.id) for v in await members_joined_now(session_factory, settings, world, 2)]
    plan = await planned(client, world)
    assert len(plan) == 8  # the default horizon
    assert plan[:6] == [second, third, first, second, third, first]
    [newcomer] = [str(v.id) for v in await members_joined_now(session_factory, settings, world, 1)]
    after = await planned(client, world)
    # Never had a turn: after the members still waiting for their first, before anyone's second.
    assert after[:4] == [second, third, newcomer, first]
    assert [who for who in after if who != newcomer] == plan[: len(after) - after.count(newcomer)]


async def test_a_leaver_drops_out_and_is_told(client, world, session_factory, settings, run_worker):
    [second, third] = await members_joined_now(session_factory, settings, world, 2)
    # The world's volunteer (with an account) leaves; their planned weeks go to the others.
    response = await client.post(
        f"/api/v1/groups/{world.own.group.id}/members/{world.own.volunteer.id}/leave",
        json={"reason": "外出务工"},
        headers=world.headers(Role.OFFICER),
    )
    assert response.status_code == 200, response.text
    assert set(await planned(client, world)) == {str(second.id), str(third.id)}
    await run_worker()
    inbox = (await client.get("/api/v1/me/notifications", headers=world.headers(Role.VOLUNTEER))).json()[
        "items"
    ]
    cancelled = [note for note in inbox if note["kind"] == "captain.plan_changed"]
    assert cancelled
    assert all(note["title"] == "您的义警队长值班已取消" for note in cancelled)


async def test_an_override_changes_one_week_and_not_the_queue(client, world, session_factory, settings):
    [_second, third] = await members_joined_now(session_factory, settings, world, 2)
    weeks = (await client.get(rota_url(world), headers=world.headers(Role.OFFICER))).json()
    upcoming = [week for week in weeks if not week["started"]]
    target = upcoming[0]
    url = f"/api/v1/groups/{world.own.group.id}/weeks/{target['week_start']}/override"
    body = {"volunteer_id": str(third.id), "reason": "夜市活动周需熟手"}
    assert (await client.post(url, json=body, headers=world.headers(Role.ASSISTANT))).status_code == 403
    response = await client.post(url, json=body, headers=world.headers(Role.OFFICER))
    assert response.status_code == 200, response.text
    week = response.json()
    assert (week["volunteer_id"], week["source"], week["reason"]) == (
        str(third.id),
        "override",
        body["reason"],
    )
    assert week["rotation_volunteer_id"] == target["volunteer_id"]
    assert week["sequence"] == target["sequence"] + 1
    after = [
        w
        for w in (await client.get(rota_url(world), headers=world.headers(Role.OFFICER))).json()
        if not w["started"]
    ]
    assert [w["volunteer_id"] for w in after[1:]] == [w["volunteer_id"] for w in upcoming[1:]]
    # Refusals: a started week, a non-member, an unknown week.
    started = next(w for w in weeks if w["started"])
    response = await client.post(
        f"/api/v1/groups/{world.own.group.id}/weeks/{started['week_start']}/override",
        json=body,
        headers=world.headers(Role.OFFICER),
    )
    assert response.status_code == 409
    assert response.json()["code"] == "captain_week_started"
    stranger = {"volunteer_id": str(world.other.volunteer.id), "reason": "x"}
    assert (await client.post(url, json=stranger, headers=world.headers(Role.OFFICER))).status_code == 422
    unknown = f"/api/v1/groups/{world.own.group.id}/weeks/2099-01-05/override"
    assert (await client.post(unknown, json=body, headers=world.headers(Role.OFFICER))).status_code == 404


async def test_unavailability_defers_a_turn_and_removing_it_restores_it(
    client, world, session_factory, settings
):
    [_second, _third] = await members_joined_now(session_factory, settings, world, 2)
    before = await planned(client, world)
    weeks = [
        w
        for w in (await client.get(rota_url(world), headers=world.headers(Role.OFFICER))).json()
        if not w["started"]
    ]
    away = {
        "starts_on": weeks[0]["week_start"],
        "ends_on": str(date.fromisoformat(weeks[0]["week_start"]) + timedelta(days=6)),
        "reason": "回老家",
    }
    url = f"/api/v1/volunteers/{before[0]}/unavailability"
    response = await client.post(url, json=away, headers=world.headers(Role.OFFICER))
    assert response.status_code == 201, response.text
    after = await planned(client, world)
    assert after[0] != before[0]
    assert after[1] == before[0]  # keeps their place: serves at the next free week
    assert [r["id"] for r in (await client.get(url, headers=world.headers(Role.OFFICER))).json()] == [
        response.json()["id"]
    ]
    removed = await client.delete(f"{url}/{response.json()['id']}", headers=world.headers(Role.OFFICER))
    assert removed.status_code == 204
    assert (
        await client.delete(f"{url}/{response.json()['id']}", headers=world.headers(Role.OFFICER))
    ).status_code == 204
    assert await planned(client, world) == before


async def test_a_volunteer_marks_only_their_own_unavailability(client, world):
    me = world.headers(Role.VOLUNTEER)
    body = {"starts_on": "2099-01-01", "ends_on": "2099-01-03", "reason": "出差"}
    own = await client.post(
        f"/api/v1/volunteers/{world.own.volunteer.id}/unavailability", json=body, headers=me
    )
    assert own.status_code == 201, own.text
    other = await client.post(
        f"/api/v1/volunteers/{world.other.volunteer.id}/unavailability", json=body, headers=me
    )
    assert other.status_code == 404
    for bad in (
        {**body, "ends_on": "2098-12-01"},
        {**body, "starts_on": "2020-01-01", "ends_on": "2020-01-02"},
    ):
        response = await client.post(
            f"/api/v1/volunteers/{world.own.volunteer.id}/unavailability", json=bad, headers=me
        )
        assert response.status_code == 422


async def test_current_captains_of_a_site(client, world, session_factory, settings):
    response = await client.get(
        "/api/v1/captains/current",
        params={"site_id": str(world.own.site.id)},
        headers=world.headers(Role.ASSISTANT),
    )
    assert response.status_code == 200
    [current] = response.json()
    assert (current["group_id"], current["volunteer_id"]) == (
        str(world.own.group.id),
        str(world.own.volunteer.id),
    )
    other = await client.get(
        "/api/v1/captains/current",
        params={"site_id": str(world.other.site.id)},
        headers=world.headers(Role.ASSISTANT),
    )
    assert other.json() == []
    everywhere = await client.get("/api/v1/captains/current", headers=world.headers(Role.ADMIN))
    assert len(everywhere.json()) == 2


async def test_fairness_counts_served_and_planned_weeks(client, world, session_factory, settings):
    await members_joined_now(session_factory, settings, world, 1)
    report = (
        await client.get(
            f"/api/v1/groups/{world.own.group.id}/fairness", headers=world.headers(Role.VOLUNTEER)
        )
    ).json()
    by_id = {row["volunteer_id"]: row for row in report}
    mine = by_id[str(world.own.volunteer.id)]
    assert (mine["served"], mine["covered_for_others"], mine["member"]) == (1, 0, True)
    assert sum(row["planned"] for row in report) == 8


async def test_stored_weeks_never_change_once_started(client, world, session_factory, settings):
    async with session_factory() as session:
        started = (
            await session.scalars(
                select(CaptainWeek).where(
                    col(CaptainWeek.group_id) == world.own.group.id, col(CaptainWeek.starts_at) <= utcnow()
                )
            )
        ).all()
    assert len(started) == 1
    await members_joined_now(session_factory, settings, world, 3)
    async with session_factory() as session:
        again = await session.get(CaptainWeek, started[0].id)
    assert (again.volunteer_id, again.sequence) == (started[0].volunteer_id, started[0].sequence)


async def test_my_captain_weeks(client, world, session_factory, settings):
    await members_joined_now(session_factory, settings, world, 1)
    mine = (await client.get("/api/v1/me/captain-weeks", headers=world.headers(Role.VOLUNTEER))).json()
    assert mine[0]["group_id"] == str(world.own.group.id)
    assert mine[0]["volunteer_id"] == str(world.own.volunteer.id)
    assert len(mine) == 5  # this week, then every other week of the eight ahead
    assert (await client.get("/api/v1/me/captain-weeks", headers=world.headers(Role.OFFICER))).json() == []


async def test_a_shorter_horizon_drops_planned_weeks_and_a_stale_version_is_412(client, world):
    url = f"/api/v1/groups/{world.own.group.id}"
    officer = world.headers(Role.OFFICER)
    stale = await client.patch(url, json={"horizon_weeks": 2}, headers=officer | {"If-Match": '"9"'})
    assert stale.status_code == 412
    assert len(await planned(client, world)) == 8
    response = await client.patch(url, json={"horizon_weeks": 2}, headers=officer | {"If-Match": '"1"'})
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"2"'
    assert len(await planned(client, world)) == 2
