"""Hazards: reports (offline ones stored once), who sees what, lists and filters, corrections with If-Match,
and each station's rectification periods."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select, update
from sqlmodel import col

from tests.world import suspend_volunteer
from yijing.access import Role
from yijing.audit.models import AuditEvent
from yijing.db import session_scope
from yijing.hazards.models import Hazard, HazardEvent
from yijing.ids import utcnow
from yijing.notifications.models import Notification
from yijing.org.models import Site
from yijing.outbox import service as outbox
from yijing.rota.models import CaptainWeek
from yijing.volunteers.models import Volunteer

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Problem details are Chinese by default; English where a test reads the English text.
ENGLISH = {"Accept-Language": "en"}


def today() -> datetime:
    return utcnow().astimezone(SHANGHAI)


def hazard_body(world, place: str = "own", **fields) -> dict:
    body = {
        "site_id": str(getattr(world, place).site.id),
        "category": "fire",
        "severity": "high",
        "description": "A 区 17 号摊位液化气罐紧挨油锅",
        "location": {"latitude": 26.1526, "longitude": 119.1417},
        "address": "滨河路夜市 A 区 17 号",
        "responsible_party": "A-017 鱼丸摊",
    }
    return body | fields


async def report(client, world, role: Role = Role.OFFICER, place: str = "own", **fields) -> dict:
    response = await client.post(
        "/api/v1/hazards", json=hazard_body(world, place, **fields), headers=world.headers(role, place)
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_an_officer_reports_a_hazard_with_a_deadline_by_severity(client, world, session_factory):
    response = await client.post(
        "/api/v1/hazards", json=hazard_body(world), headers=world.headers(Role.OFFICER)
    )
    assert response.status_code == 201, response.text
    hazard = response.json()
    assert response.headers["location"] == f"/api/v1/hazards/{hazard['id']}"
    assert response.headers["etag"] == '"1"'
    assert hazard["status"] == "reported"
    assert hazard["station_id"] == str(world.own.station.id)
    assert hazard["reporter_id"] == str(world.user(Role.OFFICER).id)
    assert hazard["reporter_role"] == "officer"
    assert hazard["reporter_volunteer_id"] is None
    # High severity: three days by default, counted in the station's time zone.
    assert hazard["deadline"] == str(today().date() + timedelta(days=3))
    assert hazard["overdue"] is False
    assert hazard["location"] == {"latitude": 26.1526, "longitude": 119.1417}
    assert hazard["allowed_actions"] == ["verify", "duplicate", "dismiss", "refer"]
    events = (
        await client.get(f"/api/v1/hazards/{hazard['id']}/events", headers=world.headers(Role.OFFICER))
    ).json()
    assert [event["action"] for event in events] == ["report"]
    assert events[0]["actor_id"] == str(world.user(Role.OFFICER).id)
    assert events[0]["details"]["severity"] == "high"


async def test_a_volunteers_report_reaches_the_sites_officer(
    client, world, session_factory, redis, run_worker
):
    hazard = await report(client, world, Role.VOLUNTEER)
    assert hazard["reporter_volunteer_id"] == str(world.own.volunteer.id)
    await outbox.relay(session_factory, redis)
    await run_worker()
    async with session_factory() as session:
        notices = (
            await session.scalars(select(Notification).where(col(Notification.kind) == "hazard.reported"))
        ).all()
    assert [notice.recipient_id for notice in notices] == [world.user(Role.OFFICER).id]
    assert notices[0].link == f"/api/v1/hazards/{hazard['id']}"


async def test_a_volunteer_reports_as_captain_during_their_week_only(client, world, session_factory):
    # The world's volunteer is the only member of their group, so captain this week.
    hazard = await report(client, world, Role.VOLUNTEER)
    assert hazard["reporter_role"] == "captain"
    async with session_scope(session_factory) as session:
        await session.execute(delete(CaptainWeek).where(col(CaptainWeek.group_id) == world.own.group.id))
    hazard = await report(client, world, Role.VOLUNTEER)
    assert hazard["reporter_role"] == "volunteer"


async def test_volunteers_report_only_while_active_and_linked(client, world, session_factory):
    headers = world.headers(Role.VOLUNTEER)
    await suspend_volunteer(session_factory, world.own.volunteer.id)
    response = await client.post("/api/v1/hazards", json=hazard_body(world), headers=headers)
    assert response.status_code == 403
    assert "“暂停”" in response.json()["detail"]
    response = await client.post("/api/v1/hazards", json=hazard_body(world), headers=headers | ENGLISH)
    assert "suspended" in response.json()["detail"]
    async with session_scope(session_factory) as session:
        await session.execute(
            update(Volunteer).where(col(Volunteer.id) == world.own.volunteer.id).values(user_id=None)
        )
    response = await client.post("/api/v1/hazards", json=hazard_body(world), headers=headers | ENGLISH)
    assert response.status_code == 403
    assert "not linked" in response.json()["detail"]


async def test_only_staff_set_a_deadline_and_never_in_the_past(client, world):
    tomorrow = str(today().date() + timedelta(days=1))
    response = await client.post(
        "/api/v1/hazards", json=hazard_body(world, deadline=tomorrow), headers=world.headers(Role.VOLUNTEER)
    )
    assert response.status_code == 403
    hazard = await report(client, world, deadline=tomorrow)
    assert hazard["deadline"] == tomorrow
    yesterday = str(today().date() - timedelta(days=1))
    response = await client.post(
        "/api/v1/hazards", json=hazard_body(world, deadline=yesterday), headers=world.headers(Role.OFFICER)
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.deadline"


async def test_a_capture_time_in_the_future_is_refused(client, world):
    ahead = (utcnow() + timedelta(hours=1)).isoformat()
    response = await client.post(
        "/api/v1/hazards", json=hazard_body(world, captured_at=ahead), headers=world.headers(Role.OFFICER)
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.captured_at"


async def test_a_site_of_another_station_is_not_found(client, world):
    response = await client.post(
        "/api/v1/hazards", json=hazard_body(world, "other"), headers=world.headers(Role.OFFICER)
    )
    assert response.status_code == 404
    assert response.json()["code"] == "site_not_found"


@pytest.mark.committed  # concurrent transactions need connections of their own
async def test_an_offline_report_sent_twice_is_stored_once(client, world, session_factory):
    client_id = str(uuid.uuid4())
    captured = datetime(2026, 11, 28, 21, 40, tzinfo=SHANGHAI).isoformat()
    body = hazard_body(world, client_id=client_id, captured_at=captured)
    headers = world.headers(Role.VOLUNTEER)
    first = await client.post("/api/v1/hazards", json=body, headers=headers)
    second = await client.post("/api/v1/hazards", json=body, headers=headers)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert datetime.fromisoformat(first.json()["captured_at"]) == datetime.fromisoformat(captured)
    # The same report sent from two connections at once: still one.
    racing = hazard_body(world, client_id=str(uuid.uuid4()))
    responses = await asyncio.gather(
        *(client.post("/api/v1/hazards", json=racing, headers=headers) for _ in range(4))
    )
    assert sorted(response.status_code for response in responses) == [200, 200, 200, 201]
    assert len({response.json()["id"] for response in responses}) == 1
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Hazard)) == 2 + 2  # the world's two too
        reports = await session.scalar(
            select(func.count()).select_from(HazardEvent).where(col(HazardEvent.action) == "report")
        )
    assert reports == 2


async def test_another_reporters_client_id_is_a_conflict(client, world):
    body = hazard_body(world, client_id=str(uuid.uuid4()))
    await client.post("/api/v1/hazards", json=body, headers=world.headers(Role.VOLUNTEER))
    response = await client.post("/api/v1/hazards", json=body, headers=world.headers(Role.OFFICER))
    assert response.status_code == 409
    assert response.json()["code"] == "client_id_taken"


async def test_volunteers_see_their_sites_hazards_and_their_own_reports(client, world, session_factory):
    async with session_scope(session_factory) as session:
        elsewhere = Site(station_id=world.own.station.id, name="河滨广场")
        session.add(elsewhere)
        await session.flush()
    at_other_site = await report(client, world, site_id=str(elsewhere.id))
    mine_elsewhere = await report(client, world, Role.VOLUNTEER, site_id=str(elsewhere.id))
    at_my_site = await report(client, world)
    headers = world.headers(Role.VOLUNTEER)
    listed = (await client.get("/api/v1/hazards", headers=headers)).json()["items"]
    seen = {item["id"] for item in listed}
    assert seen == {str(world.own.hazard.id), mine_elsewhere["id"], at_my_site["id"]}
    response = await client.get(f"/api/v1/hazards/{at_other_site['id']}", headers=headers)
    assert response.status_code == 404
    response = await client.get(f"/api/v1/hazards/{at_other_site['id']}/events", headers=headers)
    assert response.status_code == 404
    # Staff see every hazard of their station; another station's officer none of them.
    staff = (await client.get("/api/v1/hazards", headers=world.headers(Role.ASSISTANT))).json()["items"]
    assert len(staff) == 4
    other = world.headers(Role.OFFICER, "other")
    assert (await client.get(f"/api/v1/hazards/{at_my_site['id']}", headers=other)).status_code == 404
    admin = (await client.get("/api/v1/hazards", headers=world.headers(Role.ADMIN))).json()["items"]
    assert len(admin) == 5


async def test_lists_filter_and_page(client, world, session_factory):
    headers = world.headers(Role.OFFICER)
    low = await report(client, world, severity="low", category="traffic")
    critical = await report(client, world, Role.VOLUNTEER, severity="critical", category="electrical")
    verified = await report(client, world, severity="medium")
    assert (
        await client.post(f"/api/v1/hazards/{verified['id']}/verify", json={}, headers=headers)
    ).status_code == 200
    async with session_scope(session_factory) as session:
        await session.execute(update(Hazard).where(col(Hazard.id) == low["id"]).values(overdue=True))

    async def ids(**query) -> list[str]:
        response = await client.get("/api/v1/hazards", params=query, headers=headers)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    world_hazard = str(world.own.hazard.id)
    assert await ids() == [world_hazard, low["id"], critical["id"], verified["id"]]
    assert await ids(status=["verified"]) == [verified["id"]]
    assert await ids(status=["reported", "verified"]) == [
        world_hazard,
        low["id"],
        critical["id"],
        verified["id"],
    ]
    assert await ids(category="traffic") == [low["id"]]
    assert await ids(severity="critical") == [critical["id"]]
    assert await ids(overdue="true") == [low["id"]]
    assert await ids(reporter_id=str(world.user(Role.VOLUNTEER).id)) == [world_hazard, critical["id"]]
    assert await ids(site_id=str(world.own.site.id), station_id=str(world.own.station.id)) == await ids()
    after = datetime.fromisoformat(low["created_at"])
    assert await ids(reported_after=after.isoformat()) == [low["id"], critical["id"], verified["id"]]
    assert await ids(reported_before=after.isoformat()) == [world_hazard]
    # Verified after the critical one was reported: the only one changed since.
    assert await ids(updated_after=datetime.fromisoformat(critical["updated_at"]).isoformat()) == [
        verified["id"]
    ]
    first = await client.get("/api/v1/hazards", params={"limit": 3}, headers=headers)
    page = first.json()
    assert len(page["items"]) == 3
    rest = await client.get(
        "/api/v1/hazards", params={"limit": 3, "cursor": page["next_cursor"]}, headers=headers
    )
    assert [item["id"] for item in rest.json()["items"]] == [verified["id"]]
    assert rest.json()["next_cursor"] is None
    response = await client.get("/api/v1/hazards", params={"overdue": "yes"}, headers=headers)
    assert response.status_code == 422
    response = await client.get("/api/v1/hazards", params={"status": "fixed"}, headers=headers)
    assert response.status_code == 422
    # A valid ISO string whose UTC time lies before year 1 (found by the fuzzer: it was a 500).
    response = await client.get(
        "/api/v1/hazards", params={"updated_after": "0001-01-01T00:04:01+02:01"}, headers=headers
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.updated_after"


async def test_staff_correct_a_report_with_if_match(client, world, session_factory):
    hazard = await report(client, world)
    url = f"/api/v1/hazards/{hazard['id']}"
    headers = world.headers(Role.ASSISTANT)
    later = str(today().date() + timedelta(days=10))
    response = await client.patch(
        url,
        json={"severity": "critical", "deadline": later, "address": None},
        headers=headers | {"If-Match": '"1"'},
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert (changed["severity"], changed["deadline"], changed["address"]) == ("critical", later, None)
    assert changed["description"] == hazard["description"]  # not given: unchanged
    assert response.headers["etag"] == '"2"'
    stale = await client.patch(url, json={"severity": "low"}, headers=headers | {"If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 2
    events = (await client.get(f"{url}/events", headers=headers)).json()
    assert events[-1]["action"] == "update"
    assert events[-1]["details"]["severity"] == {"from": "high", "to": "critical"}
    assert events[-1]["details"]["address"] == {"from": "滨河路夜市 A 区 17 号", "to": None}
    assert events[-1]["actor_id"] == str(world.user(Role.ASSISTANT).id)
    # Nothing changed: no new version, no event.
    same = await client.patch(url, json={"severity": "critical"}, headers=headers)
    assert same.headers["etag"] == '"2"'
    assert len((await client.get(f"{url}/events", headers=headers)).json()) == len(events)


async def test_corrections_are_checked(client, world):
    hazard = await report(client, world)
    url = f"/api/v1/hazards/{hazard['id']}"
    headers = world.headers(Role.OFFICER)
    response = await client.patch(url, json={"site_id": str(world.other.site.id)}, headers=headers)
    assert response.status_code == 404
    yesterday = str(today().date() - timedelta(days=1))
    response = await client.patch(url, json={"deadline": yesterday}, headers=headers)
    assert response.status_code == 422
    response = await client.patch(url, json={"status": "eliminated"}, headers=headers)
    assert response.status_code == 422
    response = await client.patch(url, json={"severity": "low"}, headers=world.headers(Role.VOLUNTEER))
    assert response.status_code == 403
    response = await client.patch(url, json={"severity": "low"}, headers=world.headers(Role.OFFICER, "other"))
    assert response.status_code == 404


async def test_a_later_deadline_clears_the_overdue_flag(client, world, session_factory):
    hazard = await report(client, world)
    async with session_scope(session_factory) as session:
        await session.execute(update(Hazard).where(col(Hazard.id) == hazard["id"]).values(overdue=True))
    later = str(today().date() + timedelta(days=2))
    response = await client.patch(
        f"/api/v1/hazards/{hazard['id']}", json={"deadline": later}, headers=world.headers(Role.OFFICER)
    )
    assert response.json()["overdue"] is False


async def test_stations_set_their_own_rectification_periods(client, world, session_factory):
    url = f"/api/v1/hazards/deadline-rules/{world.own.station.id}"
    rules = (await client.get(url, headers=world.headers(Role.OFFICER))).json()
    assert rules["days"] == {"low": 30, "medium": 7, "high": 3, "critical": 1}
    assert rules["defaults"] == rules["days"]
    response = await client.put(url, json={"days": {"high": 2}}, headers=world.headers(Role.OFFICER))
    assert response.status_code == 403
    response = await client.put(
        url, json={"days": {"high": 2, "low": 14}}, headers=world.headers(Role.LEADER)
    )
    assert response.status_code == 200, response.text
    assert response.json()["days"] == {"low": 14, "medium": 7, "high": 2, "critical": 1}
    hazard = await report(client, world)
    assert hazard["deadline"] == str(today().date() + timedelta(days=2))
    # Another station keeps the defaults, and is out of this leader's reach.
    other = await report(client, world, place="other")
    assert other["deadline"] == str(today().date() + timedelta(days=3))
    other_url = f"/api/v1/hazards/deadline-rules/{world.other.station.id}"
    response = await client.put(other_url, json={"days": {"high": 9}}, headers=world.headers(Role.LEADER))
    assert response.status_code == 404
    bad_rules: list[dict] = [
        {"days": {}},
        {"days": {"high": 0}},
        {"days": {"urgent": 2}},
        {"days": {"high": 1.5}},
    ]
    for bad in bad_rules:
        response = await client.put(url, json=bad, headers=world.headers(Role.LEADER))
        assert response.status_code == 422, bad
    async with session_factory() as session:
        event = await session.scalar(
            select(AuditEvent).where(col(AuditEvent.action) == "hazard.deadline_rules.update")
        )
    assert event.changes == {"high": 2, "low": 14}


async def test_reports_are_validated(client, world):
    headers = world.headers(Role.OFFICER)
    for bad in (
        {"category": "arson"},
        {"severity": "urgent"},
        {"description": "   "},
        {"location": {"latitude": 91, "longitude": 0}},
        {"client_id": "not-a-uuid"},
        {"captured_at": "2026-11-28T21:40:00"},  # no offset
        {"unknown": 1},
    ):
        response = await client.post("/api/v1/hazards", json=hazard_body(world, **bad), headers=headers)
        assert response.status_code == 422, bad


async def test_an_incident_report_time_keeps_its_offset(client, world):
    captured = datetime(2026, 11, 28, 13, 40, tzinfo=UTC)
    hazard = await report(client, world, captured_at=captured.isoformat())
    assert datetime.fromisoformat(hazard["captured_at"]) == captured


async def test_an_offline_capture_time_more_than_a_month_old_is_refused(client, world):
    long_ago = (utcnow() - timedelta(days=45)).isoformat()
    response = await client.post(
        "/api/v1/hazards",
        json=hazard_body(world, captured_at=long_ago),
        headers=world.headers(Role.VOLUNTEER),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "implausible_time"


async def test_a_suspended_volunteer_no_longer_follows_their_sites_hazards(client, world, session_factory):
    url = f"/api/v1/hazards/{world.own.hazard.id}"
    # The world's hazard is the volunteer's own report: another one at their site shows the site rule.
    at_site = await report(client, world)
    headers = world.headers(Role.VOLUNTEER)
    assert (await client.get(f"/api/v1/hazards/{at_site['id']}", headers=headers)).status_code == 200
    await suspend_volunteer(session_factory, world.own.volunteer.id)
    assert (await client.get(f"/api/v1/hazards/{at_site['id']}", headers=headers)).status_code == 404
    assert (await client.get(url, headers=headers)).status_code == 200  # their own report stays theirs
