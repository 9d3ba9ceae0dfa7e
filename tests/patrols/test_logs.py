"""Patrol logs: typed entries stored once per client_id, hazards reported or linked through the hazards
service, dispute cases opened or linked through the disputes service, photos, and who may write them when."""

import asyncio
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select
from sqlmodel import col

from tests.patrols.test_checkins import plan
from tests.world import World, png
from yijing.access import Role
from yijing.disputes.models import Dispute
from yijing.hazards.models import Hazard
from yijing.ids import utcnow
from yijing.patrols.logs.models import PatrolLog
from yijing.patrols.models import PatrolMember


async def under_way(client, world: World, **planned: object) -> dict:
    """A patrol of the world's volunteer, started an hour into its window."""
    patrol = await plan(client, world, **planned)  # type: ignore[arg-type]
    started = await client.post(f"/api/v1/patrols/{patrol['id']}/start", headers=world.headers(Role.OFFICER))
    assert started.status_code == 200, started.text
    return started.json()


def entry(**fields: object) -> dict:
    """The article's drink-driving persuasion (13 October 2023), happening now."""
    return {
        "client_id": str(uuid.uuid4()),
        "kind": "persuasion",
        "topic": "drink_driving",
        "people": 1,
        "text": "烧烤摊旁一名男子饮酒后准备骑电动车离开，劝导后由家属接回",
        "location": {"latitude": 26.1496, "longitude": 119.1421},
        "occurred_at": utcnow().isoformat(),
    } | fields


async def write(client, world: World, patrol: dict, body: dict, role: Role = Role.VOLUNTEER):
    return await client.post(f"/api/v1/patrols/{patrol['id']}/logs", json=body, headers=world.headers(role))


async def logs_of(session_factory, patrol_id: object) -> int:
    query = select(func.count()).select_from(PatrolLog).where(col(PatrolLog.patrol_id) == patrol_id)
    async with session_factory() as session:
        return int(await session.scalar(query) or 0)


async def test_a_member_writes_an_entry_stored_once(client, world):
    patrol = await under_way(client, world)
    body = entry()
    first = await write(client, world, patrol, body)
    assert first.status_code == 201, first.text
    stored = first.json()
    assert (stored["kind"], stored["topic"], stored["people"]) == ("persuasion", "drink_driving", 1)
    assert stored["volunteer_id"] == str(world.own.volunteer.id)
    assert stored["location"] == body["location"]
    assert first.headers["location"] == f"/api/v1/patrols/{patrol['id']}/logs/{stored['id']}"
    again = await write(client, world, patrol, body)
    assert (again.status_code, again.json()["id"]) == (200, stored["id"])
    reused = await write(client, world, patrol, body | {"text": "另一件事"})
    assert (reused.status_code, reused.json()["code"]) == (409, "client_id_reused")
    listed = await client.get(f"/api/v1/patrols/{patrol['id']}/logs", headers=world.headers(Role.OFFICER))
    assert [item["id"] for item in listed.json()["items"]] == [stored["id"]]
    persuasions = await client.get(
        f"/api/v1/patrols/{patrol['id']}/logs",
        params={"kind": "outreach"},
        headers=world.headers(Role.OFFICER),
    )
    assert persuasions.json()["items"] == []


@pytest.mark.committed  # concurrent transactions need connections of their own
async def test_an_entry_sent_four_times_at_once_is_stored_once(client, world, session_factory):
    patrol = await under_way(client, world)
    body = entry(kind="hazard_found", topic=None, hazard={"category": "fire", "description": "消防通道堵塞"})
    responses = await asyncio.gather(*(write(client, world, patrol, body) for _ in range(4)))
    assert sorted(response.status_code for response in responses) == [200, 200, 200, 201]
    assert len({response.json()["id"] for response in responses}) == 1
    assert await logs_of(session_factory, patrol["id"]) == 1
    async with session_factory() as session:
        reported = await session.scalar(
            select(func.count()).select_from(Hazard).where(col(Hazard.client_id) == body["client_id"])
        )
    assert reported == 1


async def test_a_hazard_found_on_patrol_is_reported_through_the_hazards_service(client, world):
    patrol = await under_way(client, world)
    found = {"category": "fire", "severity": "high", "description": "夜市 B 区消防通道被三轮车堵塞"}
    response = await write(client, world, patrol, entry(kind="hazard_found", topic=None, hazard=found))
    assert response.status_code == 201, response.text
    hazard_id = response.json()["hazard_id"]
    hazard = await client.get(f"/api/v1/hazards/{hazard_id}", headers=world.headers(Role.OFFICER))
    assert hazard.status_code == 200, hazard.text
    shown = hazard.json()
    assert (shown["site_id"], shown["source"], shown["severity"]) == (
        str(world.own.site.id),
        "patrol",
        "high",
    )
    assert (shown["status"], shown["description"]) == ("reported", found["description"])
    # Linking a hazard the caller sees instead of reporting one.
    linked = entry(kind="hazard_found", topic=None, hazard_id=str(world.own.hazard.id))
    response = await write(client, world, patrol, linked)
    assert (response.status_code, response.json()["hazard_id"]) == (201, str(world.own.hazard.id))
    elsewhere = entry(kind="hazard_found", topic=None, hazard_id=str(world.other.hazard.id))
    response = await write(client, world, patrol, elsewhere, role=Role.OFFICER)
    assert response.status_code == 404


QUARREL = {
    "kind": "parking",
    "account": "两车主因占用卸货车位发生争吵",
    "risk_of_violence": True,
    "parties": [{"name": "林某", "role": "applicant", "phone": "13812345678"}, {"name": "陈某"}],
}


async def test_a_dispute_met_on_patrol_opens_its_case_through_the_disputes_service(
    client, world, session_factory
):
    patrol = await under_way(client, world)
    body = entry(kind="dispute", topic=None, people=None, dispute=QUARREL)
    response = await write(client, world, patrol, body)
    assert response.status_code == 201, response.text
    dispute_id = response.json()["dispute_id"]
    case = await client.get(f"/api/v1/disputes/{dispute_id}", headers=world.headers(Role.OFFICER))
    assert case.status_code == 200, case.text
    shown = case.json()
    assert (shown["site_id"], shown["source"], shown["patrol_id"]) == (
        str(world.own.site.id),
        "patrol",
        patrol["id"],
    )
    assert (shown["status"], shown["kind"], shown["risk_of_violence"]) == ("reported", "parking", True)
    assert (shown["client_id"], shown["party_count"]) == (body["client_id"], 2)
    assert [party["phone"] for party in shown["parties"]] == ["138****5678", None]
    # The volunteer who met it is its first mediator.
    assert [mediator["volunteer_id"] for mediator in shown["mediators"]] == [str(world.own.volunteer.id)]
    again = await write(client, world, patrol, body)
    assert (again.status_code, again.json()["dispute_id"]) == (200, dispute_id)
    async with session_factory() as session:
        cases = await session.scalar(
            select(func.count()).select_from(Dispute).where(col(Dispute.client_id) == body["client_id"])
        )
    assert cases == 1


async def test_a_dispute_entry_links_a_case_or_stands_alone(client, world):
    patrol = await under_way(client, world)
    linked = entry(kind="dispute", topic=None, dispute_id=str(world.own.dispute.id))
    response = await write(client, world, patrol, linked)
    assert (response.status_code, response.json()["dispute_id"]) == (201, str(world.own.dispute.id))
    alone = await write(client, world, patrol, entry(kind="dispute", topic=None))
    assert (alone.status_code, alone.json()["dispute_id"]) == (201, None)
    elsewhere = entry(kind="dispute", topic=None, dispute_id=str(world.other.dispute.id))
    response = await write(client, world, patrol, elsewhere, role=Role.OFFICER)
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"topic": None}, "body.topic", "topic_missing"),
        ({"kind": "observation"}, "body.topic", "topic_not_allowed"),
        ({"kind": "hazard_found", "topic": None}, "body.hazard", "hazard_missing"),
        ({"hazard_id": str(uuid.uuid4())}, "body.hazard", "hazard_not_allowed"),
        ({"dispute_id": str(uuid.uuid4())}, "body.dispute", "dispute_not_allowed"),
        ({"kind": "observation", "topic": None, "dispute": QUARREL}, "body.dispute", "dispute_not_allowed"),
        (
            {"kind": "dispute", "topic": None, "dispute": QUARREL, "dispute_id": str(uuid.uuid4())},
            "body.dispute",
            "dispute_twice",
        ),
        ({"occurred_at": (utcnow() + timedelta(hours=1)).isoformat()}, "body.occurred_at", "future_time"),
        ({"occurred_at": (utcnow() - timedelta(hours=3)).isoformat()}, "body.occurred_at", "outside_patrol"),
    ],
)
async def test_entries_that_break_a_rule_are_422_naming_the_field(
    client, world, session_factory, change, field, code
):
    patrol = await under_way(client, world)
    response = await write(client, world, patrol, entry(**change))
    assert response.status_code == 422, response.text
    assert [(error["field"], error["code"]) for error in response.json()["errors"]] == [(field, code)]
    assert await logs_of(session_factory, patrol["id"]) == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"people": -1}, "people"),
        ({"kind": "gossip"}, "kind"),
        ({"text": "  "}, "text"),
        ({"location": {"latitude": 91, "longitude": 119.14}}, "location.latitude"),
        ({"hazard": {"category": "fire", "description": "x", "colour": "red"}}, "hazard.colour"),
        ({"dispute": QUARREL | {"parties": [{"name": "林某", "phone": "12345"}]}}, "dispute.parties.0.phone"),
    ],
)
async def test_bad_input_is_422_naming_the_field(client, world, change, field):
    patrol = await under_way(client, world)
    response = await write(client, world, patrol, entry(**change))
    assert response.status_code == 422, response.text
    assert field in {error["field"].removeprefix("body.") for error in response.json()["errors"]}


async def test_a_log_is_written_once_the_patrol_has_started(client, world):
    planned = await write(client, world, {"id": world.own.patrol.id}, entry())
    assert (planned.status_code, planned.json()["code"]) == (409, "patrol_not_under_way")
    assert planned.json()["current_status"] == "planned"
    patrol = await under_way(client, world)
    completed = await client.post(
        f"/api/v1/patrols/{patrol['id']}/complete", headers=world.headers(Role.VOLUNTEER)
    )
    assert completed.status_code == 200, completed.text
    # Synced after the patrol ended: still within it.
    assert (await write(client, world, patrol, entry())).status_code == 201


async def test_members_and_staff_write_others_do_not(client, world, session_factory):
    patrol = await under_way(client, world)
    by_officer = await write(client, world, patrol, entry(), role=Role.OFFICER)
    assert (by_officer.status_code, by_officer.json()["volunteer_id"]) == (201, None)
    other = await client.post(
        f"/api/v1/patrols/{world.other.patrol.id}/logs", json=entry(), headers=world.headers(Role.VOLUNTEER)
    )
    assert other.status_code == 404
    async with session_factory() as session:  # the volunteer still sees their site's patrol
        await session.execute(delete(PatrolMember).where(col(PatrolMember.patrol_id) == patrol["id"]))
        await session.commit()
    response = await write(client, world, patrol, entry())
    assert (response.status_code, response.json()["code"]) == (403, "not_a_member")
    listed = await client.get(f"/api/v1/patrols/{patrol['id']}/logs", headers=world.headers(Role.VOLUNTEER))
    assert listed.status_code == 200
    assert await logs_of(session_factory, patrol["id"]) == 1


async def test_photos_of_an_entry_are_stored_once_and_served_to_those_who_see_it(client, world):
    patrol = await under_way(client, world)
    log = (await write(client, world, patrol, entry())).json()
    picture = png()
    path = f"/api/v1/patrols/{patrol['id']}/logs/{log['id']}/photos"
    volunteer = world.headers(Role.VOLUNTEER)
    first = await client.post(path, files={"file": ("劝导.png", picture, "image/png")}, headers=volunteer)
    assert first.status_code == 201, first.text
    again = await client.post(path, files={"file": ("again.png", picture, "image/png")}, headers=volunteer)
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])
    download = await client.get(first.json()["href"], headers=world.headers(Role.OFFICER))
    assert (download.status_code, download.content) == (200, picture)
    assert download.headers["content-type"] == "image/png"
    shown = await client.get(f"{path.removesuffix('/photos')}", headers=world.headers(Role.OFFICER))
    assert [photo["id"] for photo in shown.json()["photos"]] == [first.json()["id"]]
    not_a_picture = await client.post(
        path, files={"file": ("x.png", b"not a picture", "image/png")}, headers=volunteer
    )
    assert not_a_picture.status_code == 422
    stranger = await client.get(first.json()["href"], headers=world.headers(Role.OFFICER, place="other"))
    assert stranger.status_code == 404
