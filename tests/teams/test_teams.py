"""The 1+2+N team of a site: one officer and up to two assistants at a time, dated posts, gaps."""

import asyncio
import itertools

import pytest

from tests.world import add_user
from yijing.access import Role
from yijing.db import session_scope

_serials = itertools.count(200)


async def staff(session_factory, settings, world, role: Role, place: str = "own"):
    """Another officer or assistant account of a station."""
    serial = next(_serials)
    async with session_scope(session_factory) as session:
        return await add_user(
            session, settings, role, getattr(world, place).station.id, f"1371{serial:07d}", serial
        )


def team_url(world, place: str = "own") -> str:
    return f"/api/v1/sites/{getattr(world, place).site.id}/team"


async def assign(client, world, user, post: str, role: Role = Role.LEADER, place: str = "own"):
    return await client.post(
        f"{team_url(world, place)}/assignments",
        json={"user_id": str(user.id), "post": post},
        headers=world.headers(role, place),
    )


async def test_the_team_shows_its_members_volunteers_and_gaps(client, world):
    response = await client.get(team_url(world), headers=world.headers(Role.VOLUNTEER))
    assert response.status_code == 200, response.text
    team = response.json()
    assert team["officer"]["user_id"] == str(world.user(Role.OFFICER).id)
    assert team["officer"]["name"] == world.user(Role.OFFICER).name
    assert team["assistants"] == []
    assert team["gaps"] == [{"post": "assistant", "missing": 2}]
    assert team["complete"] is False
    assert team["volunteers"]["serving"] == 1
    assert team["volunteers"]["by_status"] == {"applied": 0, "active": 1, "suspended": 0, "retired": 0}


async def test_an_officer_fills_the_two_assistant_posts_and_no_more(client, world, session_factory, settings):
    second = await staff(session_factory, settings, world, Role.ASSISTANT)
    third = await staff(session_factory, settings, world, Role.ASSISTANT)
    for user in (world.user(Role.ASSISTANT), second):
        response = await assign(client, world, user, "assistant", role=Role.OFFICER)
        assert response.status_code == 201, response.text
    team = (await client.get(team_url(world), headers=world.headers(Role.OFFICER))).json()
    assert [member["user_id"] for member in team["assistants"]] == [
        str(world.user(Role.ASSISTANT).id),
        str(second.id),
    ]
    assert team["gaps"] == []
    assert team["complete"] is True
    response = await assign(client, world, third, "assistant", role=Role.OFFICER)
    assert response.status_code == 409
    problem = response.json()
    assert problem["code"] == "team_post_filled"
    assert {holder["user_id"] for holder in problem["holders"]} == {
        str(world.user(Role.ASSISTANT).id),
        str(second.id),
    }


async def test_a_second_officer_is_refused_until_the_first_leaves_and_past_teams_remain(
    client, world, session_factory, settings
):
    newcomer = await staff(session_factory, settings, world, Role.OFFICER)
    response = await assign(client, world, newcomer, "officer")
    assert response.status_code == 409
    problem = response.json()
    assert problem["code"] == "team_post_filled"
    assert problem["holders"][0]["user_id"] == str(world.user(Role.OFFICER).id)
    assert world.user(Role.OFFICER).name in problem["detail"]

    before = (await client.get(team_url(world), headers=world.headers(Role.LEADER))).json()["at"]
    end_url = f"{team_url(world)}/assignments/{world.own.assignment.id}/end"
    response = await client.post(end_url, json={"reason": "调往万家广场"}, headers=world.headers(Role.LEADER))
    assert response.status_code == 200, response.text
    assert response.json()["ends_at"] is not None
    assert response.json()["end_reason"] == "调往万家广场"
    vacant = (await client.get(team_url(world), headers=world.headers(Role.LEADER))).json()
    assert vacant["officer"] is None
    assert {"post": "officer", "missing": 1} in vacant["gaps"]
    response = await assign(client, world, newcomer, "officer")
    assert response.status_code == 201, response.text

    # The team as it was before the change, and the whole history.
    past = await client.get(team_url(world), params={"at": before}, headers=world.headers(Role.LEADER))
    assert past.json()["officer"]["user_id"] == str(world.user(Role.OFFICER).id)
    now = (await client.get(team_url(world), headers=world.headers(Role.LEADER))).json()
    assert now["officer"]["user_id"] == str(newcomer.id)
    history = await client.get(
        f"{team_url(world)}/assignments",
        params={"include_ended": "true"},
        headers=world.headers(Role.ASSISTANT),
    )
    assert [item["user_id"] for item in history.json()["items"]] == [
        str(world.user(Role.OFFICER).id),
        str(newcomer.id),
    ]
    open_only = await client.get(f"{team_url(world)}/assignments", headers=world.headers(Role.ASSISTANT))
    assert [item["user_id"] for item in open_only.json()["items"]] == [str(newcomer.id)]
    # Ending it again is refused.
    response = await client.post(end_url, json={"reason": "again"}, headers=world.headers(Role.LEADER))
    assert response.status_code == 409
    assert response.json()["code"] == "team_assignment_ended"


@pytest.mark.committed  # concurrent transactions need connections of their own
async def test_two_officers_assigned_at_once_get_one_post(client, world, session_factory, settings):
    response = await client.post(
        f"{team_url(world)}/assignments/{world.own.assignment.id}/end",
        json={"reason": "退休"},
        headers=world.headers(Role.LEADER),
    )
    assert response.status_code == 200
    rivals = [await staff(session_factory, settings, world, Role.OFFICER) for _ in range(2)]
    responses = await asyncio.gather(*(assign(client, world, user, "officer") for user in rivals))
    assert sorted(response.status_code for response in responses) == [201, 409]


async def test_who_may_be_placed_and_by_whom(client, world, session_factory, settings):
    newcomer = await staff(session_factory, settings, world, Role.OFFICER)
    # An officer places assistants, not officers.
    response = await assign(client, world, newcomer, "officer", role=Role.OFFICER)
    assert response.status_code == 403
    assert response.json()["code"] == "team_post_not_grantable"
    response = await client.post(
        f"{team_url(world)}/assignments/{world.own.assignment.id}/end",
        json={"reason": "x"},
        headers=world.headers(Role.OFFICER),
    )
    assert response.status_code == 403
    # Only an account of the post's role, of the site's station.
    response = await assign(client, world, world.user(Role.VOLUNTEER), "assistant")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.user_id"
    response = await assign(client, world, world.other.users[Role.ASSISTANT], "assistant")
    assert response.status_code == 404
    # Nobody holds two posts at one site.
    assert (await assign(client, world, world.user(Role.ASSISTANT), "assistant")).status_code == 201
    response = await assign(client, world, world.user(Role.ASSISTANT), "assistant")
    assert response.status_code == 409
    assert response.json()["code"] == "already_on_team"


async def test_another_stations_team_is_404(client, world, session_factory, settings):
    their_assistant = await staff(session_factory, settings, world, Role.ASSISTANT, "other")
    assert (
        await client.get(team_url(world, "other"), headers=world.headers(Role.OFFICER))
    ).status_code == 404
    response = await client.post(
        f"{team_url(world, 'other')}/assignments",
        json={"user_id": str(their_assistant.id), "post": "assistant"},
        headers=world.headers(Role.LEADER),
    )
    assert response.status_code == 404
    # Another site's assignment named under this site's path is not found either.
    response = await client.post(
        f"{team_url(world)}/assignments/{world.other.assignment.id}/end",
        json={"reason": "x"},
        headers=world.headers(Role.ADMIN),
    )
    assert response.status_code == 404
    assert response.json()["code"] == "team_assignment_not_found"
