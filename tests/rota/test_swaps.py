"""Captain swaps: a captain asks another member to take their week, who accepts or declines; the captain may
cancel; staff act for either side. A swap changes who serves, never whose turn it was, and lapses at the
week's handoff."""

import asyncio
import itertools
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlmodel import col

from tests.world import add_user, new_volunteer, sign_in_directly
from yijing.access import Role
from yijing.audit.models import AuditEvent
from yijing.db import session_scope
from yijing.groups.models import GroupMembership
from yijing.ids import utcnow
from yijing.rota.models import CaptainSwap, SwapStatus
from yijing.rota.reconcile import reconcile_group
from yijing.volunteers.models import Volunteer

_serials = itertools.count(5000)


@dataclass
class Member:
    volunteer: Volunteer
    headers: dict[str, str]  # signed in as the member's linked volunteer account


async def add_member(session_factory, settings, world, *, group: bool = True) -> Member:
    """Another volunteer at the world's own site, with a linked account, in the group (unless not)."""
    serial = next(_serials)
    async with session_scope(session_factory) as session:
        user = await add_user(
            session, settings, Role.VOLUNTEER, world.own.station.id, f"1365{serial:07d}", serial
        )
        volunteer = new_volunteer(settings, world.own.site, serial, user_id=user.id)
        session.add(volunteer)
        await session.flush()
        if group:
            session.add(GroupMembership(group_id=world.own.group.id, volunteer_id=volunteer.id))
            await session.flush()
            await reconcile_group(session, world.own.group.id, utcnow())
        token = await sign_in_directly(session, settings, user)
    return Member(volunteer, {"Authorization": f"Bearer {token}"})


def swaps_url(world, place: str = "own") -> str:
    return f"/api/v1/groups/{getattr(world, place).group.id}/swaps"


async def rota(client, world) -> list[dict]:
    response = await client.get(
        f"/api/v1/groups/{world.own.group.id}/rota", headers=world.headers(Role.OFFICER)
    )
    assert response.status_code == 200, response.text
    return response.json()


async def captains_week(client, world, volunteer_id) -> dict:
    """The first week that has not started with this captain."""
    return next(
        w for w in await rota(client, world) if not w["started"] and w["volunteer_id"] == str(volunteer_id)
    )


async def ask(client, world, week: dict, to, role: Role = Role.VOLUNTEER, reason: str = "那周要回老家"):
    body = {"week_start": week["week_start"], "to_volunteer_id": str(to), "reason": reason}
    return await client.post(swaps_url(world), json=body, headers=world.headers(role))


async def open_swap(client, world, member: Member) -> tuple[dict, dict]:
    """The world's volunteer asks ``member`` to take their next week: (the week, the swap)."""
    week = await captains_week(client, world, world.own.volunteer.id)
    response = await ask(client, world, week, member.volunteer.id)
    assert response.status_code == 201, response.text
    return week, response.json()


async def act(client, swap: dict, action: str, headers: dict[str, str], body: dict | None = None):
    return await client.post(f"/api/v1/captain-swaps/{swap['id']}/{action}", json=body, headers=headers)


async def inbox(client, headers: dict[str, str]) -> list[dict]:
    return (await client.get("/api/v1/me/notifications", headers=headers)).json()["items"]


async def test_a_captain_asks_a_member_who_accepts(client, world, session_factory, settings, run_worker):
    member = await add_member(session_factory, settings, world)
    week = await captains_week(client, world, world.own.volunteer.id)
    response = await ask(client, world, week, member.volunteer.id)
    assert response.status_code == 201, response.text
    swap = response.json()
    assert response.headers["location"] == f"/api/v1/captain-swaps/{swap['id']}"
    assert swap["status"] == "open"
    assert swap["week_id"] == week["id"]
    assert swap["week_start"] == week["week_start"]
    assert swap["from_volunteer_id"] == str(world.own.volunteer.id)
    assert swap["to_volunteer_id"] == str(member.volunteer.id)
    assert swap["to_name"] == member.volunteer.name
    assert swap["expires_at"] == week["starts_at"]
    assert swap["requested_by"] == str(world.user(Role.VOLUNTEER).id)

    await run_worker()
    [asked] = [
        note for note in await inbox(client, member.headers) if note["kind"] == "captain.swap_requested"
    ]
    assert asked["link"] == f"/api/v1/captain-swaps/{swap['id']}"
    assert "那周要回老家" in asked["body"]

    listed = await client.get(swaps_url(world), headers=member.headers)
    assert [item["id"] for item in listed.json()["items"]] == [str(world.own.swap.id), swap["id"]]
    assert (await client.get(swaps_url(world), params={"status": "open"}, headers=member.headers)).json()[
        "items"
    ] == [swap]

    response = await act(client, swap, "accept", member.headers, {"note": "没问题"})
    assert response.status_code == 200, response.text
    accepted = response.json()
    assert accepted["status"] == "accepted"
    assert accepted["decided_at"] is not None
    [changed] = [w for w in await rota(client, world) if w["id"] == week["id"]]
    assert changed["volunteer_id"] == str(member.volunteer.id)
    assert changed["source"] == "swap"
    assert changed["reason"] == "那周要回老家"
    assert changed["sequence"] == week["sequence"] + 1
    assert changed["rotation_volunteer_id"] == week["rotation_volunteer_id"]

    await run_worker()
    captain_notes = await inbox(client, world.headers(Role.VOLUNTEER))
    assert any(n["kind"] == "captain.plan_changed" and "取消" in n["title"] for n in captain_notes)
    member_notes = await inbox(client, member.headers)
    assert any(n["kind"] == "captain.plan_changed" and "安排" in n["title"] for n in member_notes)
    async with session_factory() as session:
        actions = (
            await session.scalars(
                select(col(AuditEvent.action)).where(col(AuditEvent.target_id) == swap["id"])
            )
        ).all()
    assert sorted(actions) == ["captain.swap.accept", "captain.swap.request"]


async def test_the_fairness_report_counts_no_swap_of_a_week_to_come(client, world, session_factory, settings):
    member = await add_member(session_factory, settings, world)
    url = f"/api/v1/groups/{world.own.group.id}/fairness"
    before = {
        row["volunteer_id"]: row
        for row in (await client.get(url, headers=world.headers(Role.OFFICER))).json()
    }
    week = await captains_week(client, world, world.own.volunteer.id)
    # Staff may ask for the captain.
    response = await ask(client, world, week, member.volunteer.id, role=Role.ASSISTANT)
    assert response.status_code == 201, response.text
    assert response.json()["requested_by"] == str(world.user(Role.ASSISTANT).id)
    assert (await act(client, response.json(), "accept", member.headers)).status_code == 200
    after = {
        row["volunteer_id"]: row
        for row in (await client.get(url, headers=world.headers(Role.OFFICER))).json()
    }
    captain, other = str(world.own.volunteer.id), str(member.volunteer.id)
    for volunteer in (captain, other):
        for count in ("served", "covered_for_others", "swapped_out", "overridden_out"):
            assert after[volunteer][count] == before[volunteer][count], (volunteer, count)
    assert after[captain]["planned"] == before[captain]["planned"] - 1
    assert after[other]["planned"] == before[other]["planned"] + 1


async def test_the_member_asked_declines_and_the_captain_keeps_the_week(
    client, world, session_factory, settings, run_worker
):
    member = await add_member(session_factory, settings, world)
    week, swap = await open_swap(client, world, member)
    response = await act(client, swap, "decline", member.headers, {"note": "那周我也不在"})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "declined"
    [unchanged] = [w for w in await rota(client, world) if w["id"] == week["id"]]
    assert unchanged == week
    await run_worker()
    [told] = [
        n for n in await inbox(client, world.headers(Role.VOLUNTEER)) if n["kind"] == "captain.swap_declined"
    ]
    assert "那周我也不在" in told["body"]
    # Declined: the week may be offered again.
    assert (await ask(client, world, week, member.volunteer.id)).status_code == 201


async def test_the_captain_cancels_and_a_decided_swap_is_final(
    client, world, session_factory, settings, run_worker
):
    member = await add_member(session_factory, settings, world)
    week, swap = await open_swap(client, world, member)
    response = await act(client, swap, "cancel", world.headers(Role.VOLUNTEER))
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    await run_worker()
    assert any(n["kind"] == "captain.swap_cancelled" for n in await inbox(client, member.headers))
    for action, headers in (("accept", member.headers), ("decline", member.headers), ("cancel", None)):
        response = await act(client, swap, action, headers or world.headers(Role.OFFICER))
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "swap_not_open"
        assert response.json()["swap_status"] == "cancelled"
    [unchanged] = [w for w in await rota(client, world) if w["id"] == week["id"]]
    assert unchanged["volunteer_id"] == str(world.own.volunteer.id)


async def test_what_a_captain_may_not_ask_for(client, world, session_factory, settings):
    member = await add_member(session_factory, settings, world)
    outsider = await add_member(session_factory, settings, world, group=False)
    weeks = await rota(client, world)
    [current] = [w for w in weeks if w["started"] and w["volunteer_id"] == str(world.own.volunteer.id)][-1:]
    response = await ask(client, world, current, member.volunteer.id)
    assert response.status_code == 409
    assert response.json()["code"] == "captain_week_started"

    week = await captains_week(client, world, world.own.volunteer.id)
    response = await ask(client, world, week, outsider.volunteer.id)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.to_volunteer_id"
    assert response.json()["errors"][0]["code"] == "not_member"
    response = await ask(client, world, week, world.own.volunteer.id)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.to_volunteer_id"
    # Only the week's captain (or staff) asks: the other member sees the rota but may not.
    body = {"week_start": week["week_start"], "to_volunteer_id": str(member.volunteer.id), "reason": "想换"}
    response = await client.post(swaps_url(world), json=body, headers=member.headers)
    assert response.status_code == 403
    assert response.json()["code"] == "swap_not_yours"
    # A week not in the rota.
    far = dict(week, week_start="2020-01-06")
    assert (await ask(client, world, far, member.volunteer.id)).status_code == 404

    first = await ask(client, world, week, member.volunteer.id)
    assert first.status_code == 201
    second = await ask(client, world, week, member.volunteer.id, role=Role.OFFICER)
    assert second.status_code == 409
    assert second.json()["code"] == "swap_already_open"
    assert second.json()["existing_swap_id"] == first.json()["id"]


async def test_only_the_member_asked_accepts_or_declines_and_only_the_captain_cancels(
    client, world, session_factory, settings
):
    member = await add_member(session_factory, settings, world)
    bystander = await add_member(session_factory, settings, world)
    _, swap = await open_swap(client, world, member)
    captain = world.headers(Role.VOLUNTEER)
    for action, headers in (
        ("accept", captain),
        ("accept", bystander.headers),
        ("decline", captain),
        ("decline", bystander.headers),
        ("cancel", member.headers),
        ("cancel", bystander.headers),
    ):
        response = await act(client, swap, action, headers)
        assert response.status_code == 403, (action, response.text)
        assert response.json()["code"] == "swap_not_yours"
    # All of them may read it.
    for headers in (captain, member.headers, bystander.headers):
        response = await client.get(f"/api/v1/captain-swaps/{swap['id']}", headers=headers)
        assert response.status_code == 200
        assert response.json()["status"] == "open"


async def test_an_officer_accepts_for_the_member(client, world, session_factory, settings):
    member = await add_member(session_factory, settings, world)
    week, swap = await open_swap(client, world, member)
    response = await act(client, swap, "accept", world.headers(Role.OFFICER))
    assert response.status_code == 200, response.text
    assert response.json()["decided_by"] == str(world.user(Role.OFFICER).id)
    [changed] = [w for w in await rota(client, world) if w["id"] == week["id"]]
    assert changed["volunteer_id"] == str(member.volunteer.id)
    assert changed["source"] == "swap"


async def test_a_swap_lapses_at_the_weeks_handoff(client, world, session_factory, settings):
    member = await add_member(session_factory, settings, world)
    week, swap = await open_swap(client, world, member)
    past = utcnow() - timedelta(minutes=1)
    async with session_scope(session_factory) as session:
        await session.execute(
            update(CaptainSwap).where(col(CaptainSwap.id) == swap["id"]).values(expires_at=past)
        )
    response = await act(client, swap, "accept", member.headers)
    assert response.status_code == 409
    assert response.json()["code"] == "swap_expired"
    async with session_factory() as session:
        assert (await session.get(CaptainSwap, swap["id"])).status is SwapStatus.EXPIRED  # the mark is kept
    response = await client.get(f"/api/v1/captain-swaps/{swap['id']}", headers=member.headers)
    assert response.json()["status"] == "expired"
    [unchanged] = [w for w in await rota(client, world) if w["id"] == week["id"]]
    assert unchanged["volunteer_id"] == str(world.own.volunteer.id)

    # A read shows a lapsed swap as expired too, before anyone acts on it.
    again = await ask(client, world, week, member.volunteer.id)
    assert again.status_code == 201, again.text
    async with session_scope(session_factory) as session:
        await session.execute(
            update(CaptainSwap).where(col(CaptainSwap.id) == again.json()["id"]).values(expires_at=past)
        )
    listed = (await client.get(swaps_url(world), params={"status": "expired"}, headers=member.headers)).json()
    assert [item["id"] for item in listed["items"]] == [swap["id"], again.json()["id"]]
    response = await act(client, again.json(), "cancel", world.headers(Role.OFFICER))
    assert response.status_code == 409
    assert response.json()["code"] == "swap_not_open"


async def test_another_stations_group_and_swaps_are_not_found(client, world, session_factory, settings):
    member = await add_member(session_factory, settings, world)
    week, swap = await open_swap(client, world, member)
    for role in (Role.VOLUNTEER, Role.OFFICER, Role.LEADER):
        headers = world.headers(role, "other")
        assert (await client.get(swaps_url(world), headers=headers)).status_code == 404
        body = {"week_start": week["week_start"], "to_volunteer_id": str(member.volunteer.id), "reason": "x"}
        assert (await client.post(swaps_url(world), json=body, headers=headers)).status_code == 404
        assert (await client.get(f"/api/v1/captain-swaps/{swap['id']}", headers=headers)).status_code == 404
        for action in ("accept", "decline", "cancel"):
            response = await act(client, swap, action, headers)
            assert response.status_code == 404, (role, action, response.text)
            assert response.json()["code"] == "captain_swap_not_found"
    # A volunteer of the station outside the group does not reach its swaps either.
    outsider = await add_member(session_factory, settings, world, group=False)
    assert (await client.get(swaps_url(world), headers=outsider.headers)).status_code == 404
    assert (await act(client, swap, "accept", outsider.headers)).status_code == 404
    # The county admin reaches every station's.
    response = await client.get(swaps_url(world, "other"), headers=world.headers(Role.ADMIN))
    assert [item["id"] for item in response.json()["items"]] == [str(world.other.swap.id)]
    assert (await act(client, swap, "accept", world.headers(Role.ADMIN))).status_code == 200


@pytest.mark.committed  # concurrent transactions need connections of their own
async def test_two_accepts_at_once_take_the_week_once(client, world, session_factory, settings):
    member = await add_member(session_factory, settings, world)
    week, swap = await open_swap(client, world, member)
    responses = await asyncio.gather(
        act(client, swap, "accept", member.headers), act(client, swap, "accept", world.headers(Role.OFFICER))
    )
    assert sorted(r.status_code for r in responses) == [200, 409]
    [refused] = [r for r in responses if r.status_code == 409]
    assert refused.json()["code"] == "swap_not_open"
    [changed] = [w for w in await rota(client, world) if w["id"] == week["id"]]
    assert changed["sequence"] == week["sequence"] + 1
    assert changed["volunteer_id"] == str(member.volunteer.id)
