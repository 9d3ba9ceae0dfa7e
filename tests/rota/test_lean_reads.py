"""The rota's and groups' reads are lean (columns joined in SQL, read models built without validation): the
paths the other tests do not take."""

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col

from tests.rota.test_swaps import add_member, open_swap, swaps_url
from yijing.access import Role
from yijing.db import session_scope
from yijing.groups.models import GroupMembership
from yijing.ids import utcnow
from yijing.rota.models import CaptainSwap


async def test_a_page_of_swaps_reads_as_each_swap_does(client, world, session_factory, settings):
    member = await add_member(session_factory, settings, world)
    await open_swap(client, world, member)
    officer = world.headers(Role.OFFICER)
    listed, cursor = [], None
    while True:
        params = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(swaps_url(world), params=params, headers=officer)).json()
        listed += page["items"]
        if (cursor := page["next_cursor"]) is None:
            break
    assert [swap["status"] for swap in listed] == ["declined", "open"]  # the world's, then the new one
    for swap in listed:
        response = await client.get(f"/api/v1/captain-swaps/{swap['id']}", headers=member.headers)
        assert response.status_code == 200, response.text
        assert response.json() == swap
    assert listed[1]["from_name"] == world.own.volunteer.name
    assert listed[1]["to_name"] == member.volunteer.name
    assert listed[1]["expires_at"].endswith("+08:00")  # in the station's time zone


async def test_a_lapsed_swap_read_alone_reads_as_expired(client, world, session_factory, settings):
    member = await add_member(session_factory, settings, world)
    _, swap = await open_swap(client, world, member)
    past = (utcnow() - timedelta(minutes=1)).replace(microsecond=0)
    async with session_scope(session_factory) as session:
        await session.execute(
            update(CaptainSwap).where(col(CaptainSwap.id) == swap["id"]).values(expires_at=past)
        )
    response = await client.get(f"/api/v1/captain-swaps/{swap['id']}", headers=member.headers)
    assert response.status_code == 200, response.text
    read = response.json()
    assert read["status"] == "expired"
    assert read["decided_at"] == read["expires_at"]
    assert read | {"status": "open", "decided_at": None, "expires_at": swap["expires_at"]} == swap


async def test_a_volunteer_who_leaves_the_group_no_longer_reads_it(client, world, session_factory, settings):
    member = await add_member(session_factory, settings, world)
    group = f"/api/v1/groups/{world.own.group.id}"
    read = (await client.get(group, headers=member.headers)).json()
    assert read["member_count"] == 2
    assert read == (await client.get(group, headers=world.headers(Role.OFFICER))).json()
    async with session_scope(session_factory) as session:
        await session.execute(
            update(GroupMembership)
            .where(col(GroupMembership.volunteer_id) == member.volunteer.id)
            .values(left_at=utcnow(), left_reason="搬走")
        )
    for path in (group, f"{group}/captain", f"{group}/rota", swaps_url(world)):
        response = await client.get(path, headers=member.headers)
        assert response.status_code == 404, path
        assert response.json()["code"] == "group_not_found"
    response = await client.get(
        f"/api/v1/volunteers/{member.volunteer.id}/unavailability", headers=member.headers
    )
    assert response.status_code == 200  # their own record still
    other = f"/api/v1/volunteers/{world.own.volunteer.id}/unavailability"
    assert (await client.get(other, headers=member.headers)).status_code == 404
