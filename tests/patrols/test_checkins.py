"""Check-ins: offline batches stored once, records that do not fit kept but flagged, staff review."""

import asyncio
import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from tests.world import World
from yijing.access import Role
from yijing.ids import utcnow
from yijing.patrols.checkins.models import CheckinNote, PatrolCheckin

# About 2 km west of the world's checkpoint (26.1496 N, 119.1421 E).
FAR_AWAY = {"latitude": 26.1496, "longitude": 119.1221}


async def plan(client, world: World, *, start: datetime | None = None, hours: int = 4) -> dict:
    """A patrol on the world's route, its volunteer the one member, now under way unless told otherwise."""
    assert world.own.route is not None
    assert world.own.volunteer is not None
    begins = start or utcnow().replace(microsecond=0) - timedelta(hours=1)
    body = {
        "route_id": str(world.own.route.id),
        "planned_start": begins.isoformat(),
        "planned_end": (begins + timedelta(hours=hours)).isoformat(),
        "volunteer_ids": [str(world.own.volunteer.id)],
    }
    response = await client.post("/api/v1/patrols", json=body, headers=world.headers(Role.OFFICER))
    assert response.status_code == 201, response.text
    return response.json()


def scan(world: World, **fields: object) -> dict:
    """A scan of the world's checkpoint where it stands, captured now."""
    assert world.own.checkpoint is not None
    checkpoint = world.own.checkpoint
    return {
        "client_id": str(uuid.uuid4()),
        "code": checkpoint.code,
        "location": {"latitude": checkpoint.latitude, "longitude": checkpoint.longitude},
        "accuracy_m": 6.5,
        "captured_at": utcnow().isoformat(),
    } | fields


async def send(client, world: World, patrol: dict, *checkins: dict, role: Role = Role.VOLUNTEER):
    return await client.post(
        f"/api/v1/patrols/{patrol['id']}/checkins",
        json={"checkins": list(checkins)},
        headers=world.headers(role),
    )


async def stored_count(session_factory, patrol: dict) -> int:
    """The patrol's check-ins in the database (the world's own patrols have some too)."""
    query = (
        select(func.count()).select_from(PatrolCheckin).where(col(PatrolCheckin.patrol_id) == patrol["id"])
    )
    async with session_factory() as session:
        return int(await session.scalar(query) or 0)


async def test_a_member_checks_in_at_a_checkpoint(client, world):
    patrol = await plan(client, world)
    response = await send(client, world, patrol, scan(world))
    assert response.status_code == 201, response.text
    [checkin] = response.json()["items"]
    assert response.json()["stored"] == 1
    assert checkin["flags"] == []
    assert (checkin["review"], checkin["counts"]) == ("not_needed", True)
    assert checkin["checkpoint_id"] == str(world.own.checkpoint.id)
    assert checkin["distance_m"] == pytest.approx(0, abs=0.01)
    assert checkin["code"] is None  # a volunteer is not shown codes
    listed = await client.get(f"/api/v1/patrols/{patrol['id']}/checkins", headers=world.headers(Role.OFFICER))
    assert [item["id"] for item in listed.json()["items"]] == [checkin["id"]]
    assert listed.json()["items"][0]["code"] == world.own.checkpoint.code


async def test_the_same_batch_sent_again_is_stored_once(client, world, session_factory):
    patrol = await plan(client, world)
    batch = [scan(world) for _ in range(3)]
    first = await send(client, world, patrol, *batch)
    again = await send(client, world, patrol, *batch)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["stored"] == 0
    assert [item["id"] for item in again.json()["items"]] == [item["id"] for item in first.json()["items"]]
    # One new among the stored ones: only it is new.
    more = await send(client, world, patrol, *batch, scan(world))
    assert (more.status_code, more.json()["stored"], len(more.json()["items"])) == (201, 1, 4)
    assert await stored_count(session_factory, patrol) == 4


@pytest.mark.committed  # concurrent transactions need connections of their own
async def test_a_batch_sent_four_times_at_once_is_stored_once(client, world, session_factory):
    patrol = await plan(client, world)
    batch = [scan(world) for _ in range(20)]
    responses = await asyncio.gather(*(send(client, world, patrol, *batch) for _ in range(4)))
    assert all(response.status_code in (200, 201) for response in responses), [r.text for r in responses]
    assert sum(response.json()["stored"] for response in responses) == 20
    assert len({tuple(item["id"] for item in response.json()["items"]) for response in responses}) == 1
    assert await stored_count(session_factory, patrol) == 20


async def test_a_client_id_reused_for_another_check_in_is_a_conflict(client, world, session_factory):
    patrol = await plan(client, world)
    first = scan(world)
    assert (await send(client, world, patrol, first)).status_code == 201
    changed = first | {"accuracy_m": 50}
    response = await send(client, world, patrol, scan(world), changed)
    assert response.status_code == 409
    assert response.json()["code"] == "client_id_reused"
    assert response.json()["client_ids"] == [first["client_id"]]
    assert await stored_count(session_factory, patrol) == 1  # the batch's new check-in was not stored either
    twice = scan(world)
    response = await send(client, world, patrol, twice, twice | {"accuracy_m": 9})
    assert (response.status_code, response.json()["code"]) == (409, "client_id_reused")


async def test_a_check_in_2_km_from_its_checkpoint_is_flagged_with_the_distance(client, world):
    patrol = await plan(client, world)
    response = await send(client, world, patrol, scan(world, location=FAR_AWAY))
    [checkin] = response.json()["items"]
    assert [flag["flag"] for flag in checkin["flags"]] == ["too_far"]
    assert 1900 < checkin["distance_m"] < 2100
    assert f"{checkin['distance_m']:.0f} m" in checkin["flags"][0]["reason"]
    assert (checkin["review"], checkin["counts"]) == ("pending", False)


async def test_a_fix_whose_accuracy_covers_the_distance_is_not_flagged(client, world):
    patrol = await plan(client, world)
    # About 50 m away: outside the 30 m radius, inside it with a fix accurate to 25 m.
    nearby = {"latitude": 26.1496, "longitude": 119.1426}
    response = await send(client, world, patrol, scan(world, location=nearby, accuracy_m=25))
    [checkin] = response.json()["items"]
    assert checkin["flags"] == [], checkin
    response = await send(client, world, patrol, scan(world, location=nearby, accuracy_m=5))
    assert [flag["flag"] for flag in response.json()["items"][0]["flags"]] == ["too_far"]


async def test_codes_of_another_route_and_of_no_checkpoint_are_flagged(client, world):
    patrol = await plan(client, world)
    officer = world.headers(Role.OFFICER)
    body = {"site_id": str(world.own.site.id), "name": "夜市东环线"}
    other = (await client.post("/api/v1/patrol-routes", json=body, headers=officer)).json()
    point = {"name": "东口", "location": {"latitude": 26.1496, "longitude": 119.1421}, "code": "east-gate-01"}
    added = await client.post(f"/api/v1/patrol-routes/{other['id']}/checkpoints", json=point, headers=officer)
    assert added.status_code == 201, added.text
    response = await send(
        client, world, patrol, scan(world, code="east-gate-01"), scan(world, code="no-such-tag")
    )
    flags = [[flag["flag"] for flag in item["flags"]] for item in response.json()["items"]]
    assert flags == [["other_route"], ["unknown_code"]]
    assert response.json()["items"][1]["checkpoint_id"] is None


async def test_times_outside_the_shift_and_in_the_future_are_flagged(client, world):
    patrol = await plan(client, world, start=utcnow() - timedelta(hours=1), hours=5)
    late = utcnow() + timedelta(hours=3, minutes=30)  # within the shift, but ahead of the server's clock
    before = utcnow() - timedelta(hours=1, minutes=20)  # 20 minutes before the shift: beyond the grace
    grace = utcnow() - timedelta(hours=1, minutes=10)  # 10 minutes before it: within the grace
    response = await send(
        client, world, patrol,
        scan(world, captured_at=late.isoformat()), scan(world, captured_at=before.isoformat()),
        scan(world, captured_at=grace.isoformat()),
    )  # fmt: skip
    flags = [[flag["flag"] for flag in item["flags"]] for item in response.json()["items"]]
    assert flags == [["future_capture"], ["outside_shift"], []]
    assert "device's clock" in response.json()["items"][0]["flags"][0]["reason"]


async def test_only_members_check_in(client, world, session_factory):
    patrol = await plan(client, world)
    response = await send(client, world, patrol, scan(world), role=Role.OFFICER)
    assert (response.status_code, response.json()["code"]) == (403, "not_a_member")
    other = await client.post(
        f"/api/v1/patrols/{world.other.patrol.id}/checkins",
        json={"checkins": [scan(world)]},
        headers=world.headers(Role.VOLUNTEER),
    )
    assert other.status_code == 404
    assert await stored_count(session_factory, patrol) == 0


async def test_a_cancelled_patrol_takes_no_check_ins(client, world):
    patrol = await plan(client, world, start=utcnow() + timedelta(hours=2))
    cancelled = await client.post(
        f"/api/v1/patrols/{patrol['id']}/cancel", json={"reason": "暴雨"}, headers=world.headers(Role.OFFICER)
    )
    assert cancelled.status_code == 200, cancelled.text
    response = await send(client, world, patrol, scan(world))
    assert (response.status_code, response.json()["code"]) == (409, "patrol_cancelled")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"location": {"latitude": 91, "longitude": 119.14}}, "location.latitude"),
        ({"accuracy_m": -1}, "accuracy_m"),
        ({"captured_at": "2023-10-13 20:41"}, "captured_at"),
        ({"code": "short"}, "code"),
    ],
)
async def test_bad_input_is_422_naming_the_field_and_nothing_is_stored(
    client, world, session_factory, change, field
):
    patrol = await plan(client, world)
    response = await send(client, world, patrol, scan(world), scan(world, **change))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == f"body.checkins.1.{field}"
    assert await stored_count(session_factory, patrol) == 0


async def test_a_batch_of_1001_is_refused(client, world, session_factory):
    patrol = await plan(client, world)
    response = await send(client, world, patrol, *(scan(world) for _ in range(1001)))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.checkins"
    assert await stored_count(session_factory, patrol) == 0


async def test_staff_accept_or_reject_a_flagged_check_in_once(client, world):
    patrol = await plan(client, world)
    items = (await send(client, world, patrol, scan(world, location=FAR_AWAY), scan(world))).json()["items"]
    flagged, fitting = items
    url = f"/api/v1/patrols/{patrol['id']}/checkins"
    decision = {"decision": "accept", "note": "信号差，已电话核实"}
    refused = await client.post(
        f"{url}/{flagged['id']}/review", json=decision, headers=world.headers(Role.VOLUNTEER)
    )
    assert refused.status_code == 403
    accepted = await client.post(
        f"{url}/{flagged['id']}/review", json=decision, headers=world.headers(Role.OFFICER)
    )
    assert accepted.status_code == 200, accepted.text
    assert (accepted.json()["review"], accepted.json()["counts"]) == ("accepted", True)
    assert accepted.json()["reviewed_by"] == str(world.user(Role.OFFICER).id)
    for checkin in (flagged, fitting):  # decided already; never flagged
        again = await client.post(
            f"{url}/{checkin['id']}/review", json={"decision": "reject"}, headers=world.headers(Role.OFFICER)
        )
        assert (again.status_code, again.json()["code"]) == (409, "checkin_not_pending")
    pending = await client.get(url, params={"review": "pending"}, headers=world.headers(Role.OFFICER))
    assert pending.json()["items"] == []
    audit = await client.get(
        "/api/v1/audit-events", params={"target_id": flagged["id"]}, headers=world.headers(Role.ADMIN)
    )
    assert [event["action"] for event in audit.json()["items"]] == ["patrol_checkin.accept"]


async def test_a_check_in_is_annotated_by_its_member_and_staff(client, world, session_factory):
    patrol = await plan(client, world)
    [checkin] = (await send(client, world, patrol, scan(world, location=FAR_AWAY))).json()["items"]
    path = f"/api/v1/patrols/{patrol['id']}/checkins/{checkin['id']}/notes"
    mine = await client.post(path, json={"text": "此处信号差"}, headers=world.headers(Role.VOLUNTEER))
    assert mine.status_code == 201, mine.text
    staff = await client.post(path, json={"text": "已电话核实"}, headers=world.headers(Role.OFFICER))
    assert staff.status_code == 201, staff.text
    listed = await client.get(path, headers=world.headers(Role.VOLUNTEER))
    assert [note["text"] for note in listed.json()] == ["此处信号差", "已电话核实"]
    assert listed.json()[0]["author_id"] == str(world.own.users[Role.VOLUNTEER].id)
    # The check-in itself is unchanged.
    [stored] = (
        await client.get(f"/api/v1/patrols/{patrol['id']}/checkins", headers=world.headers(Role.OFFICER))
    ).json()["items"]
    assert stored["review"] == "pending"
    blank = await client.post(path, json={"text": "  "}, headers=world.headers(Role.OFFICER))
    assert blank.status_code == 422
    stranger = await client.post(path, json={"text": "x"}, headers=world.headers(Role.OFFICER, place="other"))
    assert stranger.status_code == 404


async def test_a_member_annotates_only_their_own_check_ins(client, world, session_factory):
    assert world.own.patrol is not None
    assert world.other.volunteer is not None
    async with session_factory() as session:  # another volunteer's check-in on the world's patrol
        checkin = PatrolCheckin(
            station_id=world.own.station.id, patrol_id=world.own.patrol.id,
            volunteer_id=world.other.volunteer.id, client_id=uuid.uuid4(), fingerprint="1" * 64,
            latitude=26.1496, longitude=119.1421, accuracy_m=5,
        )  # fmt: skip
        session.add(checkin)
        await session.commit()
    path = f"/api/v1/patrols/{world.own.patrol.id}/checkins/{checkin.id}/notes"
    response = await client.post(path, json={"text": "不是我的"}, headers=world.headers(Role.VOLUNTEER))
    assert response.status_code == 403


async def test_a_check_in_takes_at_most_50_notes(client, world, session_factory):
    assert world.own.checkin is not None
    author = world.own.users[Role.OFFICER].id
    async with session_factory() as session:
        session.add_all(
            CheckinNote(checkin_id=world.own.checkin.id, author_id=author, text=f"{n}") for n in range(50)
        )
        await session.commit()
    path = f"/api/v1/patrols/{world.own.patrol.id}/checkins/{world.own.checkin.id}/notes"
    response = await client.post(path, json={"text": "第 51 条"}, headers=world.headers(Role.OFFICER))
    assert (response.status_code, response.json()["code"]) == (409, "too_many_notes")
