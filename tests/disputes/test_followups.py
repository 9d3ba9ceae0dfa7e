"""Follow-up visits (回访): scheduled on resolution after the station's period, recorded once by a mediator
or staff with If-Match, a relapse reopening the dispute, and the visit's time checked."""

from datetime import datetime, timedelta

import pytest

from tests.disputes.test_lifecycle import SHANGHAI, act, dispute_in
from yijing.access import Role
from yijing.disputes.models import DisputeStatus
from yijing.ids import utcnow


async def resolved(client, world, session_factory, **fields) -> dict:
    """A dispute of the own site resolved just now by the officer, the site's volunteer its mediator."""
    dispute = await dispute_in(session_factory, world, DisputeStatus.REPORTED, **fields)
    body = {"mediator_volunteer_ids": [str(world.own.volunteer.id)]}
    assert (await act(client, world, dispute.id, "mediate", body)).status_code == 200
    response = await act(client, world, dispute.id, "resolve")
    assert response.status_code == 200, response.text
    return response.json()


def due_after(dispute: dict, days: int) -> str:
    resolved_on = datetime.fromisoformat(dispute["resolved_at"]).astimezone(SHANGHAI).date()
    return str(resolved_on + timedelta(days=days))


async def visits(client, world, dispute_id) -> list[dict]:
    response = await client.get(
        f"/api/v1/disputes/{dispute_id}/followups", headers=world.headers(Role.OFFICER)
    )
    assert response.status_code == 200, response.text
    return response.json()


async def record(
    client, world, dispute_id, body: dict, role: Role = Role.VOLUNTEER, place: str = "own", if_match=None
):
    headers = world.headers(role, place) | ({"If-Match": if_match} if if_match else {})
    return await client.post(f"/api/v1/disputes/{dispute_id}/followups", json=body, headers=headers)


async def test_a_resolution_schedules_a_visit_after_a_week_by_default(client, world, session_factory):
    dispute = await resolved(client, world, session_factory)
    assert dispute["next_followup_on"] == due_after(dispute, 7)
    [visit] = await visits(client, world, dispute["id"])
    assert (visit["dispute_id"], visit["due_on"], visit["outcome"], visit["visited_at"]) == (
        dispute["id"],
        due_after(dispute, 7),
        None,
        None,
    )
    assert (visit["reminded_at"], visit["overdue"]) == (None, False)


async def test_the_stations_period_applies_to_visits_scheduled_from_then_on(client, world, session_factory):
    before = await resolved(client, world, session_factory)
    url = f"/api/v1/disputes/settings/{world.own.station.id}"
    response = await client.put(url, json={"followup_days": 3}, headers=world.headers(Role.LEADER))
    assert response.status_code == 200, response.text
    after = await resolved(client, world, session_factory)
    assert after["next_followup_on"] == due_after(after, 3)
    [kept] = await visits(client, world, before["id"])
    assert kept["due_on"] == due_after(before, 7)


@pytest.mark.parametrize("outcome", ["holding", "unreachable"])
async def test_a_mediator_records_the_visit_once(outcome, client, world, session_factory):
    dispute = await resolved(client, world, session_factory)
    visited_at = (utcnow() + timedelta(seconds=1)).replace(microsecond=0)  # not before the resolution
    body = {"outcome": outcome, "note": "双方已按协议履行", "visited_at": visited_at.isoformat()}
    response = await record(client, world, dispute["id"], body, if_match=f'"{dispute["version"]}"')
    assert response.status_code == 201, response.text
    assert response.headers["etag"] == f'"{dispute["version"] + 1}"'
    visit = response.json()
    assert (visit["outcome"], visit["note"], visit["visited_by"]) == (
        outcome,
        "双方已按协议履行",
        str(world.user(Role.VOLUNTEER).id),
    )
    assert datetime.fromisoformat(visit["visited_at"]) == visited_at
    shown = (
        await client.get(f"/api/v1/disputes/{dispute['id']}", headers=world.headers(Role.OFFICER))
    ).json()
    assert (shown["status"], shown["version"], shown["next_followup_on"]) == (
        "resolved",
        dispute["version"] + 1,
        None,
    )
    events = (
        await client.get(f"/api/v1/disputes/{dispute['id']}/events", headers=world.headers(Role.OFFICER))
    ).json()
    assert (events[-1]["action"], events[-1]["note"], events[-1]["details"]["outcome"]) == (
        "followup",
        "双方已按协议履行",
        outcome,
    )
    assert events[-1]["details"]["followup"] == visit["id"]
    again = await record(client, world, dispute["id"], {"outcome": "holding"})
    assert (again.status_code, again.json()["code"]) == (409, "no_followup_due")
    assert [item["id"] for item in await visits(client, world, dispute["id"])] == [visit["id"]]


async def test_a_relapse_reopens_the_dispute(client, world, session_factory):
    dispute = await resolved(client, world, session_factory)
    response = await record(client, world, dispute["id"], {"outcome": "relapsed", "note": "又因车位吵起来"})
    assert response.status_code == 201, response.text
    visit = response.json()
    shown = (
        await client.get(f"/api/v1/disputes/{dispute['id']}", headers=world.headers(Role.OFFICER))
    ).json()
    assert (shown["status"], shown["outcome"], shown["closed_at"], shown["next_followup_on"]) == (
        "mediating",
        None,
        None,
        None,
    )
    assert response.headers["etag"] == f'"{shown["version"]}"'
    events = (
        await client.get(f"/api/v1/disputes/{dispute['id']}/events", headers=world.headers(Role.OFFICER))
    ).json()
    assert [(event["action"], event["from_status"], event["to_status"]) for event in events[-2:]] == [
        ("followup", None, None),
        ("reopen", "resolved", "mediating"),
    ]
    assert events[-1]["details"]["followup"] == visit["id"]
    # The visit stays recorded; resolved again, the dispute has a new one to make.
    again = (await act(client, world, dispute["id"], "resolve")).json()
    assert [item["outcome"] for item in await visits(client, world, dispute["id"])] == ["relapsed", None]
    assert again["next_followup_on"] == due_after(again, 7)


@pytest.mark.parametrize(
    ("visited_at", "code"),
    [("in an hour", "future_time"), ("before the resolution", "before_resolution")],
)
async def test_the_visits_time_is_checked(visited_at, code, client, world, session_factory):
    dispute = await resolved(client, world, session_factory)
    moments = {
        "in an hour": utcnow() + timedelta(hours=1),
        "before the resolution": datetime.fromisoformat(dispute["resolved_at"]) - timedelta(minutes=1),
    }
    body = {"outcome": "holding", "visited_at": moments[visited_at].isoformat()}
    response = await record(client, world, dispute["id"], body)
    assert response.status_code == 422
    assert [(error["field"], error["code"]) for error in response.json()["errors"]] == [
        ("body.visited_at", code)
    ]
    [visit] = await visits(client, world, dispute["id"])
    assert visit["outcome"] is None


async def test_who_records_a_visit(client, world, session_factory):
    # Resolved by the officer alone: the site's volunteer sees it but does not mediate it.
    dispute = await dispute_in(session_factory, world, DisputeStatus.MEDIATING)
    resolution = (await act(client, world, dispute.id, "resolve")).json()
    response = await record(client, world, dispute.id, {"outcome": "holding"})
    assert (response.status_code, response.json()["code"]) == (403, "not_a_mediator")
    response = await record(client, world, dispute.id, {"outcome": "holding"}, Role.OFFICER, if_match='"1"')
    assert (response.status_code, response.json()["current_version"]) == (412, resolution["version"])
    response = await record(client, world, dispute.id, {"outcome": "holding"}, Role.OFFICER, "other")
    assert (response.status_code, response.json()["code"]) == (404, "dispute_not_found")
    response = await record(client, world, dispute.id, {"outcome": "fine"}, Role.OFFICER)
    assert response.status_code == 422
    response = await record(client, world, dispute.id, {"outcome": "holding"}, Role.ASSISTANT)
    assert response.status_code == 201, response.text


async def test_no_visit_is_due_before_a_resolution(client, world):
    response = await record(client, world, world.own.dispute.id, {"outcome": "holding"})
    assert (response.status_code, response.json()["code"]) == (409, "no_followup_due")
