"""Patrol reads: a patrol's track in capture order (codes for staff only), a volunteer's patrols with the
minutes the worker settled (set directly here: settling is the worker's), a site's calendar by local day, and
who may read each."""

import uuid
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from tests.world import World, new_volunteer
from yijing.access import Role
from yijing.db import session_scope
from yijing.org.models import Site
from yijing.patrols.checkins.models import CheckinReview, PatrolCheckin
from yijing.patrols.models import MemberSource, Patrol, PatrolMember, PatrolStatus
from yijing.patrols.routes.models import PatrolCheckpoint

PATROLS = "/api/v1/patrols"
CALENDAR = f"{PATROLS}/calendar"
# The world's stations keep Asia/Shanghai time (UTC+8, no DST).
SHANGHAI = "+08:00"


def at(text: str) -> datetime:
    """An instant given in the station's local time."""
    return datetime.fromisoformat(text + SHANGHAI)


async def add_patrol(
    session_factory,
    world: World,
    start: datetime,
    hours: float = 4,
    *,
    members: dict[uuid.UUID, dict] | None = None,
    leader: uuid.UUID | None = None,
    **fields,
) -> Patrol:
    """A patrol on the own route, its members given with their (settled) membership fields: the world's
    volunteer by default."""
    assert world.own.route is not None
    assert world.own.volunteer is not None
    members = {world.own.volunteer.id: {}} if members is None else members
    values: dict[str, Any] = {
        "station_id": world.own.station.id, "site_id": world.own.site.id, "route_id": world.own.route.id,
        "planned_start": start, "planned_end": start + timedelta(hours=hours), "leader_volunteer_id": leader,
    } | fields  # fmt: skip
    async with session_scope(session_factory) as session:
        patrol = Patrol(**values)
        session.add(patrol)
        await session.flush()
        session.add_all(
            PatrolMember(patrol_id=patrol.id, volunteer_id=volunteer_id, **membership)
            for volunteer_id, membership in members.items()
        )
    return patrol


async def add_checkin(
    session_factory, world: World, patrol_id, captured_at: datetime, **fields
) -> PatrolCheckin:
    """The world's volunteer's scan of the own checkpoint, captured at ``captured_at``."""
    assert world.own.volunteer is not None
    assert world.own.checkpoint is not None
    checkpoint = world.own.checkpoint
    values: dict[str, Any] = {
        "checkpoint_id": checkpoint.id, "code": checkpoint.code, "latitude": checkpoint.latitude,
        "longitude": checkpoint.longitude, "distance_m": 0.0,
    } | fields  # fmt: skip
    async with session_scope(session_factory) as session:
        checkin = PatrolCheckin(
            station_id=world.own.station.id, patrol_id=patrol_id, volunteer_id=world.own.volunteer.id,
            client_id=uuid.uuid4(), fingerprint="1" * 64, accuracy_m=5, captured_at=captured_at,
            received_at=captured_at + timedelta(minutes=30), **values,
        )  # fmt: skip
        session.add(checkin)
    return checkin


# A patrol's read


async def test_a_patrol_shows_its_plan_and_settlement(client, world, session_factory):
    read = await client.get(f"{PATROLS}/{world.own.patrol.id}", headers=world.headers(Role.OFFICER))
    assert read.status_code == 200, read.text
    patrol = read.json()
    assert (patrol["plan_id"], patrol["plan_day"], patrol["auto_closed"], patrol["settled_at"]) == (
        None, None, False, None,
    )  # fmt: skip
    settled = await add_patrol(
        session_factory, world, at("2025-03-01T19:00"), status=PatrolStatus.COMPLETED, auto_closed=True,
        settled_at=at("2025-03-01T23:40"),
    )  # fmt: skip
    patrol = (await client.get(f"{PATROLS}/{settled.id}", headers=world.headers(Role.OFFICER))).json()
    assert (patrol["auto_closed"], patrol["settled_at"]) == (True, "2025-03-01T15:40:00Z")


# The track


async def test_the_track_is_in_capture_order_with_names_and_codes_for_staff_only(
    client, world, session_factory
):
    patrol = await add_patrol(session_factory, world, at("2025-03-01T19:00"), status=PatrolStatus.COMPLETED)
    assert world.own.route is not None
    async with session_scope(session_factory) as session:
        elsewhere = PatrolCheckpoint(
            station_id=world.own.station.id, route_id=world.own.route.id, position=2, name="烧烤区",
            latitude=26.1497, longitude=119.1417, radius_m=40, code="bbq-stall-77",
        )  # fmt: skip
        session.add(elsewhere)
    # Stored out of capture order (as an offline batch arrives late); two captured at the same second.
    late = await add_checkin(session_factory, world, patrol.id, at("2025-03-01T20:30"))
    early = await add_checkin(
        session_factory, world, patrol.id, at("2025-03-01T19:05"), checkpoint_id=elsewhere.id,
        code=elsewhere.code,
    )  # fmt: skip
    free_point = await add_checkin(
        session_factory, world, patrol.id, at("2025-03-01T20:30"), checkpoint_id=None, code=None,
        distance_m=None, flags={"outside_shift": "captured outside the shift"}, review=CheckinReview.PENDING,
    )  # fmt: skip
    order = [early.id, *sorted([late.id, free_point.id])]

    url = f"{PATROLS}/{patrol.id}/track"
    first = await client.get(url, params={"limit": 2}, headers=world.headers(Role.VOLUNTEER))
    assert first.status_code == 200, first.text
    assert first.json()["next_cursor"]
    second = await client.get(
        url, params={"limit": 2, "cursor": first.json()["next_cursor"]}, headers=world.headers(Role.VOLUNTEER)
    )
    assert second.json()["next_cursor"] is None
    points = first.json()["items"] + second.json()["items"]
    assert [point["id"] for point in points] == [str(checkin_id) for checkin_id in order]
    by_id = {point["id"]: point for point in points}

    scanned = by_id[str(early.id)]
    assert scanned["volunteer_name"] == world.own.volunteer.name
    assert scanned["checkpoint"] == {
        "id": str(elsewhere.id), "route_id": str(world.own.route.id), "name": "烧烤区", "position": 2,
        "location": {"latitude": 26.1497, "longitude": 119.1417}, "radius_m": 40,
    }  # fmt: skip
    assert (scanned["code"], scanned["flags"], scanned["review"], scanned["counts"]) == (
        None, [], "not_needed", True,
    )  # fmt: skip
    loose = by_id[str(free_point.id)]
    assert (loose["checkpoint"], loose["review"], loose["counts"]) == (None, "pending", False)
    assert loose["flags"] == [{"flag": "outside_shift", "reason": "captured outside the shift"}]

    staff = await client.get(url, headers=world.headers(Role.ASSISTANT))
    codes = {point["id"]: point["code"] for point in staff.json()["items"]}
    assert codes == {
        str(early.id): "bbq-stall-77",
        str(late.id): world.own.checkpoint.code,
        str(free_point.id): None,
    }


async def test_the_track_is_read_by_whoever_sees_the_patrol(client, world, session_factory):
    other = f"{PATROLS}/{world.other.patrol.id}/track"
    for role in (Role.VOLUNTEER, Role.OFFICER, Role.LEADER):
        response = await client.get(other, headers=world.headers(role))
        assert (response.status_code, response.json()["code"]) == (404, "patrol_not_found"), role
    # A patrol of another site of the station, without the volunteer: out of the volunteer's reach.
    async with session_scope(session_factory) as session:
        site = Site(station_id=world.own.station.id, name="滨河路商铺区")
        session.add(site)
    elsewhere = await add_patrol(session_factory, world, at("2025-03-01T19:00"), members={}, site_id=site.id)
    response = await client.get(f"{PATROLS}/{elsewhere.id}/track", headers=world.headers(Role.VOLUNTEER))
    assert response.status_code == 404
    assert (
        await client.get(f"{PATROLS}/{elsewhere.id}/track", headers=world.headers(Role.OFFICER))
    ).status_code == 200
    # Machine clients read no patrols; a cursor this API never issued is refused.
    own = f"{PATROLS}/{world.own.patrol.id}/track"
    assert (await client.get(own, headers={"X-API-Key": world.api_keys["all"][1]})).status_code == 403
    bad = await client.get(own, params={"cursor": "!"}, headers=world.headers(Role.OFFICER))
    assert bad.status_code == 422
    assert [error["field"] for error in bad.json()["errors"]] == ["query.cursor"]


# A volunteer's patrols


async def history_world(session_factory, world: World) -> dict[str, Patrol]:
    """Besides the world's patrol tomorrow (the volunteer leads it, not settled): a settled patrol in March
    and one in February, and a missed one in March that the worker settled with nothing verified."""
    volunteer = world.own.volunteer
    assert volunteer is not None
    settled = {
        "verified_minutes": 185, "verified_checkins": 7, "first_verified_at": at("2025-03-01T19:10"),
        "last_verified_at": at("2025-03-01T22:15"),
    }  # fmt: skip
    return {
        "march": await add_patrol(
            session_factory, world, at("2025-03-01T19:00"), status=PatrolStatus.COMPLETED,
            settled_at=at("2025-03-01T23:30"),
            members={volunteer.id: settled | {"source": MemberSource.GROUP}},
        ),
        "missed": await add_patrol(
            session_factory, world, at("2025-03-20T19:00"), status=PatrolStatus.MISSED,
            settled_at=at("2025-03-20T23:30"),
        ),
        "february": await add_patrol(
            session_factory, world, at("2025-02-10T19:00"), status=PatrolStatus.COMPLETED,
            settled_at=at("2025-02-10T23:30"), leader=volunteer.id,
            members={volunteer.id: {"verified_minutes": 60, "verified_checkins": 2}},
        ),
    }  # fmt: skip


async def test_a_volunteers_patrols_newest_first_with_settled_minutes(client, world, session_factory):
    patrols = await history_world(session_factory, world)
    url = f"/api/v1/volunteers/{world.own.volunteer.id}/patrols"
    first = await client.get(url, params={"limit": 2}, headers=world.headers(Role.OFFICER))
    assert first.status_code == 200, first.text
    second = await client.get(
        url, params={"limit": 2, "cursor": first.json()["next_cursor"]}, headers=world.headers(Role.OFFICER)
    )
    assert second.json()["next_cursor"] is None
    items = first.json()["items"] + second.json()["items"]
    expected = [world.own.patrol.id, patrols["missed"].id, patrols["march"].id, patrols["february"].id]
    assert [item["id"] for item in items] == [str(patrol_id) for patrol_id in expected]
    # The total covers every page alike.
    assert first.json()["verified_minutes_total"] == second.json()["verified_minutes_total"] == 245

    upcoming, missed, march, february = items
    # Not settled yet: nothing verified.
    assert (upcoming["settled_at"], upcoming["verified_minutes"], upcoming["first_verified_at"]) == (
        None,
        0,
        None,
    )
    assert (upcoming["is_leader"], upcoming["status"]) == (True, "planned")
    assert (missed["status"], missed["verified_minutes"], missed["settled_at"]) == (
        "missed",
        0,
        "2025-03-20T15:30:00Z",
    )
    assert march == {
        "id": str(patrols["march"].id), "site_id": str(world.own.site.id), "site_name": world.own.site.name,
        "route_id": str(world.own.route.id), "route_name": world.own.route.name,
        "planned_start": "2025-03-01T11:00:00Z", "planned_end": "2025-03-01T15:00:00Z", "status": "completed",
        "is_leader": False, "source": "group", "settled_at": "2025-03-01T15:30:00Z", "verified_minutes": 185,
        "verified_checkins": 7, "first_verified_at": "2025-03-01T11:10:00Z",
        "last_verified_at": "2025-03-01T14:15:00Z",
    }  # fmt: skip
    assert (february["is_leader"], february["verified_minutes"]) == (True, 60)

    # The volunteer reads the same through /me.
    mine = await client.get("/api/v1/me/patrols", headers=world.headers(Role.VOLUNTEER))
    assert mine.status_code == 200, mine.text
    assert mine.json()["items"] == items
    assert mine.json()["verified_minutes_total"] == 245


@pytest.mark.parametrize(
    ("params", "expected", "total"),
    [
        # Days in the station's time zone, both included: March's two patrols.
        ({"from": "2025-03-01", "to": "2025-03-31"}, ["missed", "march"], 185),
        ({"from": "2025-03-02"}, ["tomorrow", "missed"], 0),
        ({"to": "2025-02-28"}, ["february"], 60),
        ({"status": ["completed", "missed"], "from": "2025-03-01"}, ["missed", "march"], 185),
        ({"status": "completed"}, ["march", "february"], 245),
        # A range that ends before it starts matches nothing.
        ({"from": "2025-03-31", "to": "2025-03-01"}, [], 0),
    ],
)
async def test_a_volunteers_patrols_filtered(params, expected, total, client, world, session_factory):
    patrols = {"tomorrow": world.own.patrol, **await history_world(session_factory, world)}
    response = await client.get("/api/v1/me/patrols", params=params, headers=world.headers(Role.VOLUNTEER))
    assert response.status_code == 200, response.text
    assert [item["id"] for item in response.json()["items"]] == [str(patrols[name].id) for name in expected]
    assert response.json()["verified_minutes_total"] == total


async def test_who_reads_a_volunteers_patrols(client, world):
    own = f"/api/v1/volunteers/{world.own.volunteer.id}/patrols"
    # Volunteers read their own through /me only, as every other volunteer record.
    assert (await client.get(own, headers=world.headers(Role.VOLUNTEER))).status_code == 403
    assert (await client.get(own, headers={"X-API-Key": world.api_keys["all"][1]})).status_code == 403
    other = await client.get(
        f"/api/v1/volunteers/{world.other.volunteer.id}/patrols", headers=world.headers(Role.OFFICER)
    )
    assert (other.status_code, other.json()["code"]) == (404, "volunteer_not_found")
    admin = await client.get(
        f"/api/v1/volunteers/{world.other.volunteer.id}/patrols", headers=world.headers(Role.ADMIN)
    )
    assert [item["id"] for item in admin.json()["items"]] == [str(world.other.patrol.id)]
    # An account linked to no volunteer record has no patrols of its own.
    unlinked = await client.get("/api/v1/me/patrols", headers=world.headers(Role.OFFICER))
    assert (unlinked.status_code, unlinked.json()["code"]) == (404, "volunteer_not_found")
    bad = await client.get(
        "/api/v1/me/patrols", params={"from": "1 March"}, headers=world.headers(Role.VOLUNTEER)
    )
    assert bad.status_code == 422
    assert [error["field"] for error in bad.json()["errors"]] == ["query.from"]


# A site's calendar


async def test_the_calendar_by_local_day(client, world, session_factory):
    volunteer = world.own.volunteer
    async with session_scope(session_factory) as session:
        second = new_volunteer(world.settings, world.own.site, 1201, name="林建国")
        session.add(second)
    # Across midnight: on the day it starts.
    late = await add_patrol(
        session_factory, world, at("2025-03-10T22:00"), members={volunteer.id: {}, second.id: {}},
        leader=volunteer.id,
    )  # fmt: skip
    # Half past midnight local is still the 10th in UTC: on the 11th.
    small_hours = await add_patrol(
        session_factory,
        world,
        at("2025-03-11T00:30"),
        2,
        members={second.id: {}},
        status=PatrolStatus.CANCELLED,
    )
    # The day after the range: left out.
    await add_patrol(session_factory, world, at("2025-03-13T00:00"))
    params = {"site_id": str(world.own.site.id), "from": "2025-03-10", "to": "2025-03-12"}
    for role in (Role.VOLUNTEER, Role.ASSISTANT, Role.ADMIN):
        response = await client.get(CALENDAR, params=params, headers=world.headers(role))
        assert response.status_code == 200, f"{role}: {response.text}"
    calendar = response.json()
    assert (calendar["site_id"], calendar["time_zone"]) == (str(world.own.site.id), "Asia/Shanghai")
    days = {day["day"]: day["patrols"] for day in calendar["days"]}
    assert list(days) == ["2025-03-10", "2025-03-11", "2025-03-12"]
    assert days["2025-03-10"] == [
        {
            "id": str(late.id), "route_id": str(world.own.route.id), "route_name": world.own.route.name,
            "planned_start": "2025-03-10T22:00:00+08:00", "planned_end": "2025-03-11T02:00:00+08:00",
            "status": "planned", "leader_volunteer_id": str(volunteer.id), "leader_name": volunteer.name,
            "member_count": 2,
        }
    ]  # fmt: skip
    [after_midnight] = days["2025-03-11"]
    assert (after_midnight["id"], after_midnight["status"], after_midnight["leader_name"]) == (
        str(small_hours.id), "cancelled", None,
    )  # fmt: skip
    assert after_midnight["member_count"] == 1
    assert days["2025-03-12"] == []


@pytest.mark.parametrize(
    ("first", "last", "code"),
    [("2025-03-01", "2025-05-02", "range_too_long"), ("2025-03-10", "2025-03-09", "range_reversed")],
)
async def test_a_calendar_range_out_of_bounds_is_refused(first, last, code, client, world):
    params = {"site_id": str(world.own.site.id), "from": first, "to": last}
    response = await client.get(CALENDAR, params=params, headers=world.headers(Role.OFFICER))
    assert response.status_code == 422, response.text
    assert [(error["field"], error["code"]) for error in response.json()["errors"]] == [("query.to", code)]
    # 62 days, both ends included, are fine.
    longest = params | {"from": "2025-03-01", "to": str(date(2025, 3, 1) + timedelta(days=61))}
    assert (
        await client.get(CALENDAR, params=longest, headers=world.headers(Role.OFFICER))
    ).status_code == 200


async def test_who_reads_a_sites_calendar(client, world, session_factory):
    params = {"from": "2025-03-10", "to": "2025-03-12"}
    other = params | {"site_id": str(world.other.site.id)}
    for role in (Role.VOLUNTEER, Role.OFFICER):
        response = await client.get(CALENDAR, params=other, headers=world.headers(role))
        assert (response.status_code, response.json()["code"]) == (404, "site_not_found"), role
    # Another site of the volunteer's own station: seen, but not the volunteer's to read.
    async with session_scope(session_factory) as session:
        site = Site(station_id=world.own.station.id, name="滨河路商铺区")
        session.add(site)
    elsewhere = params | {"site_id": str(site.id)}
    assert (
        await client.get(CALENDAR, params=elsewhere, headers=world.headers(Role.VOLUNTEER))
    ).status_code == 403
    assert (
        await client.get(CALENDAR, params=elsewhere, headers=world.headers(Role.OFFICER))
    ).status_code == 200
    own = params | {"site_id": str(world.own.site.id)}
    assert (
        await client.get(CALENDAR, params=own, headers={"X-API-Key": world.api_keys["all"][1]})
    ).status_code == 403
    missing = await client.get(CALENDAR, params=params, headers=world.headers(Role.OFFICER))
    assert missing.status_code == 422
    assert [error["field"] for error in missing.json()["errors"]] == ["query.site_id"]
