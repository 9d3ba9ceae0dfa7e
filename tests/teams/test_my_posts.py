"""The posts a person holds now, in `GET /api/v1/me` and `GET /api/v1/me/posts`: how an officer or assistant
finds their sites (an account's `site_ids` are something else)."""

from datetime import timedelta

import pytest
from sqlalchemy import update

from tests.teams.test_teams import assign, staff, team_url
from yijing.access import Role
from yijing.db import session_scope
from yijing.ids import utcnow
from yijing.org.models import Site
from yijing.teams.models import TeamAssignment


async def my_posts(client, headers: dict[str, str]) -> list[dict]:
    """The caller's posts by both routes, which must agree."""
    alone = await client.get("/api/v1/me/posts", headers=headers)
    assert alone.status_code == 200, alone.text
    me = await client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200, me.text
    assert me.json()["posts"] == alone.json()
    return alone.json()


async def test_an_officer_sees_the_site_of_their_post(client, world):
    officer = world.headers(Role.OFFICER)
    [post] = await my_posts(client, officer)
    assert post == {
        "assignment_id": str(world.own.assignment.id),
        "site_id": str(world.own.site.id),
        "site_name": "own night market",
        "station_id": str(world.own.station.id),
        "post": "officer",
        "starts_at": post["starts_at"],
    }
    assert post["starts_at"] is not None
    me = (await client.get("/api/v1/me", headers=officer)).json()
    assert me["site_ids"] == []  # no sites given to the account: the post is what links it to its site
    changed = await client.patch("/api/v1/me", json={"name": "林警官"}, headers=officer)
    assert changed.status_code == 200, changed.text
    assert changed.json()["posts"] == [post]


async def test_an_ended_post_is_not_shown(client, world):
    response = await client.post(
        f"{team_url(world)}/assignments/{world.own.assignment.id}/end",
        json={"reason": "调往万家广场"},
        headers=world.headers(Role.LEADER),
    )
    assert response.status_code == 200, response.text
    assert await my_posts(client, world.headers(Role.OFFICER)) == []


async def test_a_post_with_an_end_still_ahead_is_held_until_then(client, world, session_factory):
    async def ending(at):
        async with session_scope(session_factory) as session:
            await session.execute(
                update(TeamAssignment).where(TeamAssignment.id == world.own.assignment.id).values(ends_at=at)
            )

    await ending(utcnow() + timedelta(days=1))
    assert [post["site_id"] for post in await my_posts(client, world.headers(Role.OFFICER))] == [
        str(world.own.site.id)
    ]
    await ending(utcnow())  # a moment before the request
    assert await my_posts(client, world.headers(Role.OFFICER)) == []


async def test_an_assistant_sees_their_post(client, world):
    assert await my_posts(client, world.headers(Role.ASSISTANT)) == []
    response = await assign(client, world, world.user(Role.ASSISTANT), "assistant", role=Role.OFFICER)
    assert response.status_code == 201, response.text
    [post] = await my_posts(client, world.headers(Role.ASSISTANT))
    assert post["assignment_id"] == response.json()["id"]
    assert (post["site_id"], post["site_name"], post["post"]) == (
        str(world.own.site.id),
        "own night market",
        "assistant",
    )
    assert post["starts_at"] == response.json()["starts_at"]


@pytest.mark.parametrize("role", [Role.VOLUNTEER, Role.LEADER, Role.ADMIN])
async def test_accounts_without_posts_have_none(client, world, role):
    assert await my_posts(client, world.headers(role)) == []


async def test_posts_at_two_sites_come_by_site_name(client, world, session_factory):
    # Made after the world's site, so neither creation nor the post's start puts it first: its name does.
    async with session_scope(session_factory) as session:
        plaza = Site(station_id=world.own.station.id, name="central plaza")
        session.add(plaza)
    response = await client.post(
        f"/api/v1/sites/{plaza.id}/team/assignments",
        json={"user_id": str(world.user(Role.OFFICER).id), "post": "officer"},
        headers=world.headers(Role.LEADER),
    )
    assert response.status_code == 201, response.text
    posts = await my_posts(client, world.headers(Role.OFFICER))
    assert [(post["site_name"], post["post"]) for post in posts] == [
        ("central plaza", "officer"),
        ("own night market", "officer"),
    ]


async def test_nobody_sees_anothers_posts(client, world, session_factory, settings):
    colleague = await staff(session_factory, settings, world, Role.ASSISTANT)
    assert (await assign(client, world, colleague, "assistant", role=Role.OFFICER)).status_code == 201
    own = await my_posts(client, world.headers(Role.OFFICER))
    other = await my_posts(client, world.headers(Role.OFFICER, "other"))
    assert [post["assignment_id"] for post in own] == [str(world.own.assignment.id)]
    assert [post["assignment_id"] for post in other] == [str(world.other.assignment.id)]
    assert other[0]["site_name"] == "other night market"


async def test_posts_need_a_signed_in_user(client, world):
    assert (await client.get("/api/v1/me/posts")).status_code == 401
    bad_token = {"Authorization": "Bearer not-a-token"}
    assert (await client.get("/api/v1/me/posts", headers=bad_token)).status_code == 401
    # An API key is no person: it holds no posts and may not ask for any.
    response = await client.get("/api/v1/me/posts", headers={"X-API-Key": world.api_keys["all"][1]})
    assert response.status_code == 403


async def test_the_document_describes_posts_apart_from_site_ids(client):
    document = (await client.get("/api/v1/openapi.json")).json()
    operation = document["paths"]["/api/v1/me/posts"]["get"]
    assert operation["operationId"] == "me_posts_list"
    assert operation["tags"] == ["me"]
    listed = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert listed["type"] == "array"
    assert listed["items"] == {"$ref": "#/components/schemas/HeldPost"}
    schemas = document["components"]["schemas"]
    assert "posts" in schemas["MeRead"]["required"]
    assert "Not the posts held" in schemas["UserRead"]["properties"]["site_ids"]["description"]
