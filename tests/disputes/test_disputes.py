"""Disputes: reports (offline ones stored once), parties' numbers masked and revealed with an audit event,
who sees what, lists and filters, corrections with If-Match, and each station's follow-up period."""

import asyncio
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from tests.world import id_card_number, suspend_volunteer
from yijing.access import Role
from yijing.audit.models import AuditEvent
from yijing.db import session_scope
from yijing.disputes.models import Dispute, DisputeEvent
from yijing.ids import utcnow
from yijing.org.models import Site
from yijing.outbox.models import OutboxMessage

SHANGHAI = ZoneInfo("Asia/Shanghai")
ID_CARD = id_card_number(321)
PARTIES = [
    {"name": "林某", "role": "applicant", "phone": "13912345678", "id_card_number": ID_CARD},
    {"name": "陈某", "role": "respondent"},
]


def dispute_body(world, place: str = "own", **fields) -> dict:
    body = {
        "site_id": str(getattr(world, place).site.id),
        "kind": "parking",
        "source": "resident",
        "address": "滨河路夜市 B 区入口",
        "location": {"latitude": 26.1526, "longitude": 119.1417},
        "account": "两车主因占用卸货车位发生争吵，围观群众十余人",
        "risk_of_violence": True,
        "parties": PARTIES,
    }
    return body | fields


async def report(client, world, role: Role = Role.OFFICER, place: str = "own", **fields) -> dict:
    response = await client.post(
        "/api/v1/disputes", json=dispute_body(world, place, **fields), headers=world.headers(role, place)
    )
    assert response.status_code == 201, response.text
    return response.json()


async def outbox_payloads(session_factory, kind: str) -> list[dict]:
    async with session_factory() as session:
        messages = (await session.scalars(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all()
    payloads = [message.arguments["payload"] for message in messages]
    return [payload for payload in payloads if payload.get("kind") == kind]


async def another_site(session_factory, world) -> Site:
    async with session_scope(session_factory) as session:
        site = Site(station_id=world.own.station.id, name="河滨广场")
        session.add(site)
        await session.flush()
    return site


async def test_an_officer_reports_a_dispute(client, world, session_factory):
    response = await client.post(
        "/api/v1/disputes", json=dispute_body(world), headers=world.headers(Role.OFFICER)
    )
    assert response.status_code == 201, response.text
    dispute = response.json()
    assert response.headers["location"] == f"/api/v1/disputes/{dispute['id']}"
    assert response.headers["etag"] == '"1"'
    assert (dispute["status"], dispute["allowed_actions"]) == ("reported", ["mediate"])
    assert dispute["station_id"] == str(world.own.station.id)
    assert dispute["reporter_id"] == str(world.user(Role.OFFICER).id)
    assert dispute["occurred_at"] == dispute["reported_at"]
    assert dispute["location"] == {"latitude": 26.1526, "longitude": 119.1417}
    assert dispute["party_count"] == 2
    assert dispute["personal_data"] == "masked"
    assert dispute["parties"] == [
        {
            "name": "林某",
            "role": "applicant",
            "phone": "139****5678",
            "id_card_number": ID_CARD[:4] + "*" * 10 + ID_CARD[-4:],
        },
        {"name": "陈某", "role": "respondent", "phone": None, "id_card_number": None},
    ]
    assert dispute["mediators"] == []
    assert (dispute["mediating_at"], dispute["intervention_seconds"], dispute["next_followup_on"]) == (
        None,
        None,
        None,
    )
    events = (
        await client.get(f"/api/v1/disputes/{dispute['id']}/events", headers=world.headers(Role.OFFICER))
    ).json()
    assert [event["action"] for event in events] == ["report"]
    assert events[0]["details"]["kind"] == "parking"
    async with session_factory() as session:
        audited = await session.scalar(select(AuditEvent).where(col(AuditEvent.action) == "dispute.report"))
    assert audited.target_id == dispute["id"]
    assert ID_CARD not in str(audited.changes)
    # The officer reported it: no one else holds a post at the site, so no one is told.
    assert await outbox_payloads(session_factory, "dispute.reported") == []


async def test_a_volunteers_report_reaches_the_sites_officer_without_the_parties(
    client, world, session_factory
):
    dispute = await report(client, world, Role.VOLUNTEER)
    [payload] = await outbox_payloads(session_factory, "dispute.reported")
    assert payload["recipients"] == [str(world.user(Role.OFFICER).id)]
    assert payload["title"] == f"新纠纷：{world.own.site.name}"
    assert payload["body"] == "停车纠纷，有激化风险"
    assert payload["link"] == f"/api/v1/disputes/{dispute['id']}"
    async with session_factory() as session:
        messages = (await session.scalars(select(OutboxMessage))).all()
    recounts = [m.arguments["payload"] for m in messages if m.job_name == "stats.recompute"]
    assert [(payload["source"], payload["days"]) for payload in recounts] == [
        ("disputes", [str(utcnow().astimezone(SHANGHAI).date())])
    ]


async def test_mediators_named_at_the_report(client, world):
    dispute = await report(
        client,
        world,
        mediator_volunteer_ids=[str(world.own.volunteer.id)],
        mediator_user_ids=[str(world.user(Role.OFFICER).id)],
    )
    mediators = {(m["role"], m["volunteer_id"], m["user_id"]) for m in dispute["mediators"]}
    assert mediators == {
        ("volunteer", str(world.own.volunteer.id), str(world.user(Role.VOLUNTEER).id)),
        ("officer", None, str(world.user(Role.OFFICER).id)),
    }


@pytest.mark.parametrize(
    ("named", "field", "code"),
    [
        ({"mediator_volunteer_ids": ["other_volunteer"]}, "body.mediator_volunteer_ids", "unknown_volunteer"),
        ({"mediator_volunteer_ids": [str(uuid.uuid4())]}, "body.mediator_volunteer_ids", "unknown_volunteer"),
        # The assistant holds no post at the site; a volunteer's account is not staff.
        ({"mediator_user_ids": ["assistant"]}, "body.mediator_user_ids", "not_site_staff"),
        ({"mediator_user_ids": ["volunteer"]}, "body.mediator_user_ids", "not_site_staff"),
    ],
)
async def test_mediators_must_be_of_the_station_and_site(named, field, code, client, world):
    ids = {
        "other_volunteer": str(world.other.volunteer.id),
        "assistant": str(world.user(Role.ASSISTANT).id),
        "volunteer": str(world.user(Role.VOLUNTEER).id),
    }
    body = dispute_body(world) | {
        key: [ids.get(value, value) for value in values] for key, values in named.items()
    }
    response = await client.post("/api/v1/disputes", json=body, headers=world.headers(Role.OFFICER))
    assert response.status_code == 422, response.text
    assert [(error["field"], error["code"]) for error in response.json()["errors"]] == [(field, code)]


async def test_a_suspended_volunteer_is_no_mediator(client, world, session_factory):
    await suspend_volunteer(session_factory, world.own.volunteer.id)
    response = await client.post(
        "/api/v1/disputes",
        json=dispute_body(world, mediator_volunteer_ids=[str(world.own.volunteer.id)]),
        headers=world.headers(Role.OFFICER),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "unknown_volunteer"


def _ago(**delta: float) -> str:
    return (utcnow() - timedelta(**delta)).isoformat()


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"reported_at": "45 days ago"}, "body.reported_at", "implausible_time"),
        ({"reported_at": "in an hour"}, "body.reported_at", "implausible_time"),
        ({"reported_at": "2 hours ago", "occurred_at": "1 hour ago"}, "body.occurred_at", "after_report"),
        ({"occurred_at": "in an hour"}, "body.occurred_at", "after_report"),
        ({"party_count": 1}, "body.party_count", "fewer_than_listed"),
        ({"source": "patrol"}, "body.patrol_id", "patrol_missing"),
        ({"patrol_id": "world"}, "body.patrol_id", "patrol_not_allowed"),
    ],
)
async def test_reports_are_checked(fields, field, code, client, world):
    times = {
        "45 days ago": _ago(days=45),
        "in an hour": _ago(hours=-1),
        "2 hours ago": _ago(hours=2),
        "1 hour ago": _ago(hours=1),
        "world": str(world.own.patrol.id),
    }
    body = dispute_body(world, **{key: times.get(value, value) for key, value in fields.items()})
    response = await client.post("/api/v1/disputes", json=body, headers=world.headers(Role.OFFICER))
    assert response.status_code == 422, response.text
    assert [(error["field"], error["code"]) for error in response.json()["errors"]] == [(field, code)]


async def test_reports_are_validated(client, world):
    headers = world.headers(Role.OFFICER)
    for bad in (
        {"kind": "brawl"},
        {"source": "rumour"},
        {"account": "   "},
        {"parties": [{"name": "林某", "phone": "12345"}]},
        {
            "parties": [
                {"name": "林某", "id_card_number": ID_CARD[:-1] + ("0" if ID_CARD[-1] != "0" else "1")}
            ]
        },
        {"party_count": -1},
        {"reported_at": "2026-11-28T21:40:00"},  # no offset
        {"status": "resolved"},
    ):
        response = await client.post("/api/v1/disputes", json=dispute_body(world, **bad), headers=headers)
        assert response.status_code == 422, bad


async def test_an_offline_report_keeps_its_times_and_a_larger_party_count(client, world):
    reported = utcnow().replace(microsecond=0) - timedelta(days=2)
    dispute = await report(
        client,
        world,
        Role.VOLUNTEER,
        reported_at=reported.isoformat(),
        occurred_at=(reported - timedelta(minutes=5)).isoformat(),
        party_count=5,
    )
    assert datetime.fromisoformat(dispute["reported_at"]) == reported
    assert datetime.fromisoformat(dispute["occurred_at"]) == reported - timedelta(minutes=5)
    assert dispute["party_count"] == 5


async def test_a_dispute_met_on_patrol_names_a_patrol_of_its_site(client, world, session_factory):
    patrol = str(world.own.patrol.id)
    dispute = await report(client, world, source="patrol", patrol_id=patrol)
    assert (dispute["source"], dispute["patrol_id"]) == ("patrol", patrol)
    elsewhere = await another_site(session_factory, world)
    body = dispute_body(world, site_id=str(elsewhere.id), source="patrol", patrol_id=patrol)
    response = await client.post("/api/v1/disputes", json=body, headers=world.headers(Role.OFFICER))
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert (error["field"], error["code"]) == ("body.patrol_id", "other_site")
    body = dispute_body(world, source="patrol", patrol_id=str(world.other.patrol.id))
    response = await client.post("/api/v1/disputes", json=body, headers=world.headers(Role.OFFICER))
    assert (response.status_code, response.json()["code"]) == (404, "patrol_not_found")


async def test_volunteers_report_only_while_active(client, world, session_factory):
    await suspend_volunteer(session_factory, world.own.volunteer.id)
    volunteer = world.headers(Role.VOLUNTEER)
    response = await client.post("/api/v1/disputes", json=dispute_body(world), headers=volunteer)
    assert response.status_code == 403
    assert "“暂停”" in response.json()["detail"]
    english = volunteer | {"Accept-Language": "en"}
    response = await client.post("/api/v1/disputes", json=dispute_body(world), headers=english)
    assert "suspended" in response.json()["detail"]
    key = {"X-API-Key": world.api_keys["all"][1]}
    assert (await client.post("/api/v1/disputes", json=dispute_body(world), headers=key)).status_code == 403


async def test_a_site_of_another_station_is_not_found(client, world):
    response = await client.post(
        "/api/v1/disputes", json=dispute_body(world, "other"), headers=world.headers(Role.OFFICER)
    )
    assert (response.status_code, response.json()["code"]) == (404, "site_not_found")


async def test_an_offline_report_sent_again_answers_with_the_stored_case(client, world, session_factory):
    body = dispute_body(world, client_id=str(uuid.uuid4()), reported_at=_ago(minutes=30))
    headers = world.headers(Role.VOLUNTEER)
    first = await client.post("/api/v1/disputes", json=body, headers=headers)
    again = await client.post("/api/v1/disputes", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    taken = await client.post("/api/v1/disputes", json=body, headers=world.headers(Role.OFFICER))
    assert (taken.status_code, taken.json()["code"]) == (409, "client_id_taken")
    async with session_factory() as session:
        stored = await session.scalar(
            select(func.count()).select_from(Dispute).where(col(Dispute.client_id) == body["client_id"])
        )
    assert stored == 1


@pytest.mark.committed  # concurrent transactions need connections of their own
async def test_two_reports_of_one_case_at_once_store_it_once(client, world, session_factory):
    body = dispute_body(world, client_id=str(uuid.uuid4()))
    headers = world.headers(Role.VOLUNTEER)
    responses = await asyncio.gather(
        *(client.post("/api/v1/disputes", json=body, headers=headers) for _ in range(2))
    )
    assert sorted(response.status_code for response in responses) == [200, 201]
    assert len({response.json()["id"] for response in responses}) == 1
    async with session_factory() as session:
        stored = await session.scalar(
            select(func.count()).select_from(Dispute).where(col(Dispute.client_id) == body["client_id"])
        )
        reports = await session.scalar(
            select(func.count())
            .select_from(DisputeEvent)
            .where(
                col(DisputeEvent.dispute_id) == responses[0].json()["id"],
                col(DisputeEvent.action) == "report",
            )
        )
    assert (stored, reports) == (1, 1)


async def test_parties_are_masked_in_lists_and_reads(client, world):
    masked = {
        "name": "林某",
        "role": "applicant",
        "phone": "138****5678",
        "id_card_number": "3501**********" + id_card_number(700)[-4:],
    }
    for role in (Role.VOLUNTEER, Role.OFFICER, Role.ADMIN):
        listed = (await client.get("/api/v1/disputes", headers=world.headers(role))).json()["items"]
        [shown] = [item for item in listed if item["id"] == str(world.own.dispute.id)]
        assert (shown["parties"], shown["personal_data"]) == ([masked], "masked")
        one = (
            await client.get(f"/api/v1/disputes/{world.own.dispute.id}", headers=world.headers(role))
        ).json()
        assert (one["parties"], one["personal_data"]) == ([masked], "masked")


async def test_only_officers_leaders_and_admins_reveal_the_parties_each_read_audited(
    client, world, session_factory
):
    url = f"/api/v1/disputes/{world.own.dispute.id}?reveal=personal_data"
    for role in (Role.VOLUNTEER, Role.ASSISTANT):
        response = await client.get(url, headers=world.headers(role))
        assert response.status_code == 403, role
    for role in (Role.OFFICER, Role.LEADER, Role.ADMIN):
        response = await client.get(url, headers=world.headers(role))
        assert response.status_code == 200, role
        shown = response.json()
        assert shown["personal_data"] == "full"
        assert shown["parties"][0] == {
            "name": "林某",
            "role": "applicant",
            "phone": "13812345678",
            "id_card_number": id_card_number(700),
        }
    async with session_factory() as session:
        reads = (
            await session.scalars(
                select(AuditEvent)
                .where(col(AuditEvent.action) == "dispute.personal_data.read")
                .order_by(col(AuditEvent.id))
            )
        ).all()
    assert [(read.actor_role, read.target_id) for read in reads] == [
        (role, str(world.own.dispute.id)) for role in (Role.OFFICER, Role.LEADER, Role.ADMIN)
    ]
    assert "13812345678" not in str([read.changes for read in reads])


async def test_who_sees_which_dispute(client, world, session_factory):
    elsewhere = await another_site(session_factory, world)
    at_other_site = await report(client, world, site_id=str(elsewhere.id))
    mediated = await report(
        client, world, site_id=str(elsewhere.id), mediator_volunteer_ids=[str(world.own.volunteer.id)]
    )
    mine_elsewhere = await report(client, world, Role.VOLUNTEER, site_id=str(elsewhere.id))
    at_my_site = await report(client, world)
    volunteer = world.headers(Role.VOLUNTEER)
    listed = (await client.get("/api/v1/disputes", headers=volunteer)).json()["items"]
    assert {item["id"] for item in listed} == {
        str(world.own.dispute.id),
        mediated["id"],
        mine_elsewhere["id"],
        at_my_site["id"],
    }
    for path in ("", "/events", "/followups"):
        response = await client.get(f"/api/v1/disputes/{at_other_site['id']}{path}", headers=volunteer)
        assert (response.status_code, response.json()["code"]) == (404, "dispute_not_found"), path
    assert (await client.get(f"/api/v1/disputes/{mediated['id']}", headers=volunteer)).status_code == 200
    staff = (await client.get("/api/v1/disputes", headers=world.headers(Role.ASSISTANT))).json()["items"]
    assert len(staff) == 5
    other = world.headers(Role.OFFICER, "other")
    assert (await client.get(f"/api/v1/disputes/{at_my_site['id']}", headers=other)).status_code == 404
    assert [item["id"] for item in (await client.get("/api/v1/disputes", headers=other)).json()["items"]] == [
        str(world.other.dispute.id)
    ]
    everything = (await client.get("/api/v1/disputes", headers=world.headers(Role.ADMIN))).json()["items"]
    assert len(everything) == 6
    key = {"X-API-Key": world.api_keys["all"][1]}
    assert (await client.get("/api/v1/disputes", headers=key)).status_code == 403


async def test_lists_filter_and_page(client, world):
    officer = world.headers(Role.OFFICER)
    quarrel = await report(client, world, kind="quarrel", source="captain", risk_of_violence=False)
    with_officer = await report(client, world, mediator_user_ids=[str(world.user(Role.OFFICER).id)])
    mediating = await report(client, world)
    response = await client.post(f"/api/v1/disputes/{mediating['id']}/mediate", json={}, headers=officer)
    assert response.status_code == 200, response.text
    resolved = await report(client, world)
    for action, body in (("mediate", {}), ("resolve", {"outcome": "apology"})):
        response = await client.post(
            f"/api/v1/disputes/{resolved['id']}/{action}", json=body, headers=officer
        )
        assert response.status_code == 200, response.text
    due_on = response.json()["next_followup_on"]

    async def ids(**query) -> list[str]:
        response = await client.get("/api/v1/disputes", params=query, headers=officer)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    world_dispute = str(world.own.dispute.id)
    everything = [world_dispute, quarrel["id"], with_officer["id"], mediating["id"], resolved["id"]]
    assert await ids() == everything
    assert await ids(status=["mediating"]) == [mediating["id"]]
    assert await ids(status=["mediating", "resolved"]) == [mediating["id"], resolved["id"]]
    assert await ids(kind="quarrel") == [quarrel["id"]]
    assert await ids(source="captain") == [quarrel["id"]]
    assert await ids(risk_of_violence="false") == [world_dispute, quarrel["id"]]
    # The officer mediates the one named at the report and those they stepped into (holding the post).
    assert await ids(mediator_user_id=str(world.user(Role.OFFICER).id)) == [
        with_officer["id"],
        mediating["id"],
        resolved["id"],
    ]
    assert await ids(mediator_volunteer_id=str(world.own.volunteer.id)) == [world_dispute]
    assert await ids(followup_due_by=due_on) == [resolved["id"]]
    day_before = str(datetime.fromisoformat(due_on).date() - timedelta(days=1))
    assert await ids(followup_due_by=day_before) == []
    assert await ids(site_id=str(world.own.site.id), station_id=str(world.own.station.id)) == everything
    after = datetime.fromisoformat(quarrel["reported_at"]).isoformat()
    assert await ids(reported_after=after) == everything[1:]
    assert await ids(reported_before=after) == [world_dispute]
    assert await ids(updated_after=datetime.fromisoformat(mediating["updated_at"]).isoformat()) == [
        mediating["id"],
        resolved["id"],
    ]
    first = (await client.get("/api/v1/disputes", params={"limit": 3}, headers=officer)).json()
    assert [item["id"] for item in first["items"]] == everything[:3]
    rest = (
        await client.get(
            "/api/v1/disputes", params={"limit": 3, "cursor": first["next_cursor"]}, headers=officer
        )
    ).json()
    assert ([item["id"] for item in rest["items"]], rest["next_cursor"]) == (everything[3:], None)
    for bad in ({"status": "settled"}, {"risk_of_violence": "maybe"}, {"followup_due_by": "tomorrow"}):
        response = await client.get("/api/v1/disputes", params=bad, headers=officer)
        assert response.status_code == 422, bad


async def test_staff_correct_a_dispute_with_if_match(client, world, session_factory):
    dispute = await report(client, world)
    url = f"/api/v1/disputes/{dispute['id']}"
    headers = world.headers(Role.ASSISTANT)
    elsewhere = await another_site(session_factory, world)
    response = await client.patch(
        url,
        json={"kind": "quarrel", "address": None, "site_id": str(elsewhere.id)},
        headers=headers | {"If-Match": '"1"'},
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert (changed["kind"], changed["address"], changed["site_id"]) == ("quarrel", None, str(elsewhere.id))
    assert changed["account"] == dispute["account"]  # not given: unchanged
    assert (response.headers["etag"], changed["version"]) == ('"2"', 2)
    stale = await client.patch(url, json={"kind": "other"}, headers=headers | {"If-Match": '"1"'})
    assert (stale.status_code, stale.json()["current_version"]) == (412, 2)
    events = (await client.get(f"{url}/events", headers=headers)).json()
    assert events[-1]["action"] == "update"
    assert events[-1]["details"]["kind"] == {"from": "parking", "to": "quarrel"}
    assert events[-1]["details"]["address"] == {"from": "滨河路夜市 B 区入口", "to": None}
    assert events[-1]["actor_id"] == str(world.user(Role.ASSISTANT).id)
    async with session_factory() as session:
        audited = await session.scalar(select(AuditEvent).where(col(AuditEvent.action) == "dispute.update"))
    assert audited.changes["kind"] == {"from": "parking", "to": "quarrel"}
    # Nothing changed: no new version, no event.
    same = await client.patch(url, json={"kind": "quarrel"}, headers=headers)
    assert same.headers["etag"] == '"2"'
    assert len((await client.get(f"{url}/events", headers=headers)).json()) == len(events)


async def test_corrections_are_checked(client, world):
    dispute = await report(client, world)
    url = f"/api/v1/disputes/{dispute['id']}"
    officer = world.headers(Role.OFFICER)
    response = await client.patch(url, json={"site_id": str(world.other.site.id)}, headers=officer)
    assert (response.status_code, response.json()["code"]) == (404, "site_not_found")
    later = (datetime.fromisoformat(dispute["reported_at"]) + timedelta(hours=1)).isoformat()
    response = await client.patch(url, json={"occurred_at": later}, headers=officer)
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "after_report"
    response = await client.patch(url, json={"status": "resolved"}, headers=officer)
    assert response.status_code == 422
    response = await client.patch(url, json={"kind": "other"}, headers=world.headers(Role.VOLUNTEER))
    assert response.status_code == 403
    response = await client.patch(url, json={"kind": "other"}, headers=world.headers(Role.OFFICER, "other"))
    assert response.status_code == 404


async def test_stations_set_their_own_followup_period(client, world, session_factory):
    url = f"/api/v1/disputes/settings/{world.own.station.id}"
    shown = (await client.get(url, headers=world.headers(Role.ASSISTANT))).json()
    assert shown == {"station_id": str(world.own.station.id), "followup_days": 7, "default_followup_days": 7}
    assert (await client.get(url, headers=world.headers(Role.VOLUNTEER))).status_code == 403
    response = await client.put(url, json={"followup_days": 10}, headers=world.headers(Role.OFFICER))
    assert response.status_code == 403
    response = await client.put(url, json={"followup_days": 10}, headers=world.headers(Role.LEADER))
    assert response.status_code == 200, response.text
    assert response.json()["followup_days"] == 10
    assert (await client.get(url, headers=world.headers(Role.OFFICER))).json()["followup_days"] == 10
    response = await client.put(url, json={"followup_days": 14}, headers=world.headers(Role.LEADER))
    assert response.json()["followup_days"] == 14
    other_url = f"/api/v1/disputes/settings/{world.other.station.id}"
    assert (await client.get(other_url, headers=world.headers(Role.OFFICER))).status_code == 404
    response = await client.put(other_url, json={"followup_days": 3}, headers=world.headers(Role.LEADER))
    assert response.status_code == 404
    other = (await client.get(other_url, headers=world.headers(Role.ADMIN))).json()
    assert other["followup_days"] == 7
    for bad in (
        {},
        {"followup_days": 0},
        {"followup_days": 91},
        {"followup_days": 1.5},
        {"followup_days": "7"},
    ):
        response = await client.put(url, json=bad, headers=world.headers(Role.LEADER))
        assert response.status_code == 422, bad
    async with session_factory() as session:
        changes = (
            await session.scalars(
                select(col(AuditEvent.changes))
                .where(col(AuditEvent.action) == "dispute.settings.update")
                .order_by(col(AuditEvent.id))
            )
        ).all()
    assert changes == [{"followup_days": 10}, {"followup_days": 14}]
