"""The hazard lifecycle: every action from every status, evidence for elimination, duplicates, referrals,
reopening, If-Match on actions, and the per-site summary that never counts a closed hazard as eliminated."""

import asyncio
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlmodel import col

from tests.world import png
from yijing.access import Role
from yijing.audit.models import AuditEvent
from yijing.db import session_scope
from yijing.hazards.models import Hazard, HazardStatus
from yijing.hazards.service import LIFECYCLE, HazardAction
from yijing.ids import utcnow
from yijing.outbox.models import OutboxMessage

SHANGHAI = ZoneInfo("Asia/Shanghai")


def station_today():
    return utcnow().astimezone(SHANGHAI).date()


def valid_body(action: HazardAction, world) -> dict:
    """A body the action accepts (elimination: another person's inspection note)."""
    return {
        HazardAction.VERIFY: {"note": "现场核实属实"},
        HazardAction.RECTIFY: {
            "responsible_party": "A-017 鱼丸摊",
            "deadline": str(station_today() + timedelta(days=5)),
        },
        HazardAction.ELIMINATE: {"inspection_note": "复查：气罐已移至防护柜"},
        HazardAction.DUPLICATE: {"duplicate_of": str(world.own.hazard.id)},
        HazardAction.DISMISS: {"note": "正常经营用电"},
        HazardAction.REFER: {"agency": "县消防救援大队"},
        HazardAction.REOPEN: {"note": "复查发现问题复现"},
    }[action]


async def hazard_in(session_factory, world, status: HazardStatus, **fields) -> Hazard:
    """A hazard of the own site in ``status``, reported by the site's volunteer."""
    now = utcnow()
    closed = {"closed_at": now} if status not in {"reported", "verified", "rectifying"} else {}
    extra = {
        HazardStatus.ELIMINATED: {"eliminated_at": now},
        HazardStatus.DUPLICATE: {"duplicate_of_id": world.own.hazard.id},
        HazardStatus.REFERRED: {"referred_to": "县住建局"},
    }.get(status, {})
    async with session_scope(session_factory) as session:
        defaults = {"deadline": station_today() + timedelta(days=3), "status": status}
        hazard = Hazard(
            station_id=world.own.station.id, site_id=world.own.site.id, description="电线私拉乱接",
            reporter_id=world.user(Role.VOLUNTEER).id, **(defaults | closed | extra | fields),
        )  # fmt: skip
        session.add(hazard)
    return hazard


@pytest.mark.parametrize("action", list(HazardAction))
async def test_every_action_from_every_status(action, client, world, session_factory):
    sources, target = LIFECYCLE[action]
    headers = world.headers(Role.OFFICER)
    for status in HazardStatus:
        hazard = await hazard_in(session_factory, world, status)
        url = f"/api/v1/hazards/{hazard.id}/{action}"
        response = await client.post(
            url, json=valid_body(action, world), headers=headers | {"If-Match": '"1"'}
        )
        if status in sources:
            assert response.status_code == 200, f"{status} → {action}: {response.text}"
            changed = response.json()
            assert changed["status"] == target
            assert changed["version"] == 2
            assert changed["allowed_actions"] == [str(name) for name in LIFECYCLE.allowed(target)]
            events = (await client.get(f"/api/v1/hazards/{hazard.id}/events", headers=headers)).json()
            assert (events[-1]["action"], events[-1]["from_status"], events[-1]["to_status"]) == (
                action,
                status,
                target,
            )
            assert events[-1]["actor_id"] == str(world.user(Role.OFFICER).id)
        else:
            assert response.status_code == 409, f"{status} → {action}: {response.text}"
            problem = response.json()
            assert problem["code"] == "transition_not_allowed"
            assert problem["current_status"] == status
            assert problem["allowed_actions"] == [str(name) for name in LIFECYCLE.allowed(status)]
            async with session_factory() as session:
                unchanged = await session.get(Hazard, hazard.id)
            assert (unchanged.status, unchanged.version) == (status, 1)


async def test_the_whole_way_from_report_to_elimination(client, world, session_factory):
    hazard = await hazard_in(session_factory, world, HazardStatus.REPORTED)
    url = f"/api/v1/hazards/{hazard.id}"
    officer = world.headers(Role.OFFICER)
    for action, body in (
        ("verify", {"note": "属实"}),
        (
            "rectify",
            {"responsible_party": "B-003 烧烤摊", "deadline": str(station_today() + timedelta(days=2))},
        ),
        ("eliminate", {"inspection_note": "已整改", "note": "复查通过"}),
    ):
        response = await client.post(f"{url}/{action}", json=body, headers=officer)
        assert response.status_code == 200, response.text
    done = response.json()
    assert done["status"] == "eliminated"
    assert done["responsible_party"] == "B-003 烧烤摊"
    assert done["eliminated_at"] == done["closed_at"]
    events = (await client.get(f"{url}/events", headers=world.headers(Role.VOLUNTEER))).json()
    assert [event["action"] for event in events] == ["verify", "rectify", "eliminate"]
    assert events[1]["details"]["responsible_party"] == "B-003 烧烤摊"
    assert events[2]["note"] == "复查通过"
    assert events[2]["details"] == {"inspection_note": "已整改", "after_photo": False}


async def test_elimination_without_evidence_is_refused(client, world, session_factory):
    # Reported by the officer, so the officer's own inspection note is no evidence.
    response = await client.post(
        "/api/v1/hazards",
        json={"site_id": str(world.own.site.id), "category": "fire", "description": "灭火器过期"},
        headers=world.headers(Role.OFFICER),
    )
    hazard = response.json()
    url = f"/api/v1/hazards/{hazard['id']}"
    officer = world.headers(Role.OFFICER)
    await client.post(f"{url}/verify", json={}, headers=officer)
    for body in ({}, {"note": "已整改"}, {"inspection_note": "我自己看过了"}):
        response = await client.post(f"{url}/eliminate", json=body, headers=officer)
        assert response.status_code == 422, body
        assert response.json()["code"] == "evidence_required"
    async with session_factory() as session:
        assert (await session.get(Hazard, hazard["id"])).status == HazardStatus.VERIFIED
    # Someone else's inspection note is evidence…
    response = await client.post(
        f"{url}/eliminate", json={"inspection_note": "复查：已更换"}, headers=world.headers(Role.ASSISTANT)
    )
    assert response.status_code == 200, response.text


async def test_an_after_photo_lets_the_reporter_eliminate(client, world, session_factory):
    response = await client.post(
        "/api/v1/hazards",
        json={"site_id": str(world.own.site.id), "category": "electrical", "description": "插排串接"},
        headers=world.headers(Role.OFFICER),
    )
    url = f"/api/v1/hazards/{response.json()['id']}"
    officer = world.headers(Role.OFFICER)
    await client.post(f"{url}/verify", json={}, headers=officer)
    before = await client.post(
        f"{url}/attachments", files={"file": ("before.png", png(), "image/png")}, headers=officer
    )
    assert before.status_code == 201, before.text
    assert (await client.post(f"{url}/eliminate", json={}, headers=officer)).status_code == 422
    after = await client.post(
        f"{url}/attachments",
        files={"file": ("after.png", png((30, 200, 30)), "image/png")},
        data={"kind": "after"},
        headers=officer,
    )
    assert after.status_code == 201, after.text
    response = await client.post(f"{url}/eliminate", json={}, headers=officer)
    assert response.status_code == 200, response.text
    events = (await client.get(f"{url}/events", headers=officer)).json()
    assert events[-1]["details"] == {"after_photo": True}


async def test_a_duplicate_points_to_the_original(client, world, session_factory):
    officer = world.headers(Role.OFFICER)
    original = await hazard_in(session_factory, world, HazardStatus.VERIFIED)
    first = await hazard_in(session_factory, world, HazardStatus.REPORTED)
    response = await client.post(
        f"/api/v1/hazards/{first.id}/duplicate", json={"duplicate_of": str(original.id)}, headers=officer
    )
    assert response.json()["duplicate_of_id"] == str(original.id)
    # A duplicate of a duplicate points to the original itself: no chains.
    second = await hazard_in(session_factory, world, HazardStatus.REPORTED)
    response = await client.post(
        f"/api/v1/hazards/{second.id}/duplicate", json={"duplicate_of": str(first.id)}, headers=officer
    )
    assert response.json()["duplicate_of_id"] == str(original.id)
    third = await hazard_in(session_factory, world, HazardStatus.REPORTED)
    response = await client.post(
        f"/api/v1/hazards/{third.id}/duplicate", json={"duplicate_of": str(third.id)}, headers=officer
    )
    assert response.status_code == 422
    response = await client.post(
        f"/api/v1/hazards/{third.id}/duplicate",
        json={"duplicate_of": str(world.other.hazard.id)},
        headers=officer,
    )
    assert response.status_code == 404
    # The county admin reaches both stations, yet a duplicate stays within its station.
    response = await client.post(
        f"/api/v1/hazards/{third.id}/duplicate",
        json={"duplicate_of": str(world.other.hazard.id)},
        headers=world.headers(Role.ADMIN),
    )
    assert response.status_code == 404


async def test_closing_without_a_fix_needs_its_reason(client, world, session_factory):
    hazard = await hazard_in(session_factory, world, HazardStatus.REPORTED)
    url = f"/api/v1/hazards/{hazard.id}"
    officer = world.headers(Role.OFFICER)
    assert (await client.post(f"{url}/refer", json={}, headers=officer)).status_code == 422
    assert (await client.post(f"{url}/dismiss", json={}, headers=officer)).status_code == 422
    assert (await client.post(f"{url}/reopen", json={}, headers=officer)).status_code == 422
    response = await client.post(f"{url}/refer", json={"agency": "县消防救援大队"}, headers=officer)
    referred = response.json()
    assert (referred["status"], referred["referred_to"]) == ("referred", "县消防救援大队")
    assert referred["closed_at"] is not None
    assert referred["eliminated_at"] is None


async def test_reopening_starts_again_with_a_fresh_deadline(client, world, session_factory):
    hazard = await hazard_in(
        session_factory, world, HazardStatus.ELIMINATED, deadline=station_today() - timedelta(days=20)
    )
    response = await client.post(
        f"/api/v1/hazards/{hazard.id}/reopen", json={"note": "又堆放杂物"}, headers=world.headers(Role.LEADER)
    )
    reopened = response.json()
    assert reopened["status"] == "reported"
    assert reopened["eliminated_at"] is None
    assert reopened["closed_at"] is None
    assert reopened["overdue"] is False
    assert reopened["deadline"] == str(station_today() + timedelta(days=7))  # medium: a week
    events = (
        await client.get(f"/api/v1/hazards/{hazard.id}/events", headers=world.headers(Role.LEADER))
    ).json()
    assert events[-1]["note"] == "又堆放杂物"
    assert events[-1]["details"]["previous_deadline"] == str(station_today() - timedelta(days=20))


async def test_actions_need_staff_and_a_current_version(client, world, session_factory):
    hazard = await hazard_in(session_factory, world, HazardStatus.REPORTED)
    url = f"/api/v1/hazards/{hazard.id}/verify"
    assert (await client.post(url, json={}, headers=world.headers(Role.VOLUNTEER))).status_code == 403
    assert (await client.post(url, json={}, headers=world.headers(Role.OFFICER, "other"))).status_code == 404
    stale = await client.post(url, json={}, headers=world.headers(Role.OFFICER) | {"If-Match": '"7"'})
    assert stale.status_code == 412
    assert stale.json()["code"] == "version_mismatch"
    response = await client.post(url, json={}, headers=world.headers(Role.OFFICER) | {"If-Match": "*"})
    assert response.status_code == 200
    assert response.headers["etag"] == '"2"'


@pytest.mark.committed  # concurrent transactions need connections of their own
async def test_two_staff_acting_at_once_change_the_hazard_once(client, world, session_factory):
    hazard = await hazard_in(session_factory, world, HazardStatus.REPORTED)
    url = f"/api/v1/hazards/{hazard.id}"
    responses = await asyncio.gather(
        client.post(f"{url}/verify", json={}, headers=world.headers(Role.OFFICER) | {"If-Match": '"1"'}),
        client.post(
            f"{url}/dismiss",
            json={"note": "不是隐患"},
            headers=world.headers(Role.ASSISTANT) | {"If-Match": '"1"'},
        ),
    )
    assert sorted(response.status_code for response in responses) == [200, 412]
    events = (await client.get(f"{url}/events", headers=world.headers(Role.OFFICER))).json()
    assert len(events) == 1


async def test_the_reporter_hears_of_each_step(client, world, session_factory):
    hazard = await hazard_in(session_factory, world, HazardStatus.REPORTED)
    await client.post(
        f"/api/v1/hazards/{hazard.id}/verify", json={"note": "属实"}, headers=world.headers(Role.OFFICER)
    )
    async with session_factory() as session:
        messages = (await session.scalars(select(OutboxMessage))).all()
    payloads = [
        message.arguments["payload"]
        for message in messages
        if message.arguments["payload"].get("kind") == "hazard.status_changed"
    ]
    assert [payload["recipients"] for payload in payloads] == [[str(world.user(Role.VOLUNTEER).id)]]
    assert "属实" in payloads[0]["body"]


async def test_the_summary_counts_eliminated_and_closed_apart(client, world, session_factory):
    now = utcnow()
    for status, count in (
        (HazardStatus.ELIMINATED, 3),
        (HazardStatus.DUPLICATE, 2),
        (HazardStatus.NOT_HAZARD, 1),
        (HazardStatus.REFERRED, 1),
        (HazardStatus.RECTIFYING, 2),
    ):
        for number in range(count):
            # Eliminated after 1, 2 and 3 days: a median of 2.
            fields = {"created_at": now - timedelta(days=number + 1)} if status == "eliminated" else {}
            await hazard_in(session_factory, world, status, **fields)
    await hazard_in(session_factory, world, HazardStatus.VERIFIED, overdue=True)
    # Found 401 days ago and eliminated a day later: not this month's.
    await hazard_in(
        session_factory, world, HazardStatus.ELIMINATED, eliminated_at=now - timedelta(days=400),
        closed_at=now - timedelta(days=400), created_at=now - timedelta(days=401),
    )  # fmt: skip
    response = await client.get(
        "/api/v1/hazards/summary",
        params={"station_id": str(world.own.station.id)},
        headers=world.headers(Role.OFFICER),
    )
    assert response.status_code == 200, response.text
    summary = response.json()
    assert summary["month"] == f"{station_today():%Y-%m}"
    [site] = summary["sites"]
    assert site["site_id"] == str(world.own.site.id)
    # Open: the world's reported one, two rectifying, one verified (overdue).
    assert (site["open"], site["overdue"], site["eliminated"]) == (4, 1, 3)
    assert site["closed_not_fixed"] == {"duplicate": 2, "not_hazard": 1, "referred": 1}
    assert site["median_days_to_eliminate"] == pytest.approx(2.0, abs=0.1)
    last_year = (now - timedelta(days=400)).astimezone(SHANGHAI)
    response = await client.get(
        "/api/v1/hazards/summary",
        params={"month": f"{last_year:%Y-%m}", "site_id": str(world.own.site.id)},
        headers=world.headers(Role.OFFICER),
    )
    [site] = response.json()["sites"]
    assert (site["eliminated"], site["median_days_to_eliminate"]) == (1, 1.0)


async def test_the_summary_stays_within_reach(client, world):
    officer = world.headers(Role.OFFICER)
    sites = (await client.get("/api/v1/hazards/summary", headers=officer)).json()["sites"]
    assert [site["site_id"] for site in sites] == [str(world.own.site.id)]
    response = await client.get(
        "/api/v1/hazards/summary", params={"station_id": str(world.other.station.id)}, headers=officer
    )
    assert response.status_code == 404
    response = await client.get(
        "/api/v1/hazards/summary", params={"site_id": str(world.other.site.id)}, headers=officer
    )
    assert response.status_code == 404
    everything = (await client.get("/api/v1/hazards/summary", headers=world.headers(Role.ADMIN))).json()
    assert len(everything["sites"]) == 2
    key = {"X-API-Key": world.api_keys["stats"][1]}
    keyed = (await client.get("/api/v1/hazards/summary", headers=key)).json()
    assert [site["site_id"] for site in keyed["sites"]] == [str(world.own.site.id)]
    for month in ("2026-13", "2026-1", "november"):
        response = await client.get("/api/v1/hazards/summary", params={"month": month}, headers=officer)
        assert response.status_code == 422, month
    assert (
        await client.get("/api/v1/hazards/summary", headers=world.headers(Role.VOLUNTEER))
    ).status_code == 403


async def test_every_action_is_documented_with_its_sources(client):
    document = (await client.get("/api/v1/openapi.json")).json()
    for action, (sources, _) in LIFECYCLE.items():
        operation = document["paths"][f"/api/v1/hazards/{{hazard_id}}/{action}"]["post"]
        assert operation["operationId"] == f"hazards_{action}"
        assert all(source in operation["description"] for source in sources)


async def test_closed_hazards_are_found_by_status(client, world, session_factory):
    closed = await hazard_in(session_factory, world, HazardStatus.NOT_HAZARD)
    response = await client.get(
        "/api/v1/hazards", params={"status": ["not_hazard", "duplicate"]}, headers=world.headers(Role.OFFICER)
    )
    assert [item["id"] for item in response.json()["items"]] == [str(closed.id)]
    async with session_factory() as session:
        stored = await session.scalar(select(Hazard).where(col(Hazard.id) == closed.id))
    assert stored.closed_at is not None


async def test_an_after_photo_from_before_a_reopen_is_no_evidence(client, world, session_factory):
    response = await client.post(
        "/api/v1/hazards",
        json={"site_id": str(world.own.site.id), "category": "fire", "description": "消防通道堆放杂物"},
        headers=world.headers(Role.OFFICER),
    )
    url = f"/api/v1/hazards/{response.json()['id']}"
    officer = world.headers(Role.OFFICER)
    await client.post(f"{url}/verify", json={}, headers=officer)
    after = {"file": ("after.png", png((30, 200, 30)), "image/png")}
    assert (
        await client.post(f"{url}/attachments", files=after, data={"kind": "after"}, headers=officer)
    ).is_success
    assert (await client.post(f"{url}/eliminate", json={}, headers=officer)).status_code == 200
    await client.post(f"{url}/reopen", json={"note": "杂物又堆回来了"}, headers=officer)
    await client.post(f"{url}/verify", json={}, headers=officer)
    # The old photo shows the old fix: the reporter needs a new one (or someone else's inspection).
    response = await client.post(f"{url}/eliminate", json={}, headers=officer)
    assert response.status_code == 422
    assert response.json()["code"] == "evidence_required"
    again = {"file": ("after2.png", png((30, 210, 30)), "image/png")}
    await client.post(f"{url}/attachments", files=again, data={"kind": "after"}, headers=officer)
    assert (await client.post(f"{url}/eliminate", json={}, headers=officer)).status_code == 200


async def test_duplicates_of_a_duplicate_follow_it_to_its_original(client, world, session_factory):
    officer = world.headers(Role.OFFICER)
    first, second, third = [await hazard_in(session_factory, world, HazardStatus.REPORTED) for _ in range(3)]
    await client.post(
        f"/api/v1/hazards/{second.id}/duplicate", json={"duplicate_of": str(first.id)}, headers=officer
    )
    # Now the first turns out to repeat the third: the second follows it there.
    response = await client.post(
        f"/api/v1/hazards/{first.id}/duplicate", json={"duplicate_of": str(third.id)}, headers=officer
    )
    assert response.status_code == 200, response.text
    async with session_factory() as session:
        assert (await session.get(Hazard, second.id)).duplicate_of_id == third.id
    events = (await client.get(f"/api/v1/hazards/{first.id}/events", headers=officer)).json()
    assert events[-1]["details"]["repointed"] == [str(second.id)]


@pytest.mark.committed  # concurrent transactions need connections of their own
async def test_two_reports_cannot_become_each_others_duplicate(client, world, session_factory):
    officer = world.headers(Role.OFFICER)
    one, other = [await hazard_in(session_factory, world, HazardStatus.REPORTED) for _ in range(2)]
    responses = await asyncio.gather(
        client.post(
            f"/api/v1/hazards/{one.id}/duplicate", json={"duplicate_of": str(other.id)}, headers=officer
        ),
        client.post(
            f"/api/v1/hazards/{other.id}/duplicate", json={"duplicate_of": str(one.id)}, headers=officer
        ),
    )
    assert sorted(response.status_code for response in responses) == [200, 422]
    async with session_factory() as session:
        statuses = {(await session.get(Hazard, hazard.id)).status for hazard in (one, other)}
    assert statuses == {HazardStatus.DUPLICATE, HazardStatus.REPORTED}


async def test_every_change_is_in_the_audit_log(client, world, session_factory):
    hazard = await hazard_in(session_factory, world, HazardStatus.REPORTED)
    officer = world.headers(Role.OFFICER)
    await client.post(f"/api/v1/hazards/{hazard.id}/dismiss", json={"note": "正常用电"}, headers=officer)
    await client.patch(f"/api/v1/hazards/{hazard.id}", json={"severity": "low"}, headers=officer)
    async with session_factory() as session:
        events = (
            await session.scalars(select(AuditEvent).where(col(AuditEvent.target_id) == str(hazard.id)))
        ).all()
    assert [event.action for event in events] == ["hazard.dismiss", "hazard.update"]
    assert events[0].changes["from"] == "reported"
    assert events[0].actor_id == world.user(Role.OFFICER).id
