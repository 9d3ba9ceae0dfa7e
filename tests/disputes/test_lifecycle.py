"""The mediation lifecycle: every action from every status, what resolving, escalating and failing need,
who carries a mediation on, the clocks, reopening, If-Match on actions, and what the history, the audit log
and the reporter's inbox keep of each step."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from sqlmodel import col

from tests.disputes.test_disputes import outbox_payloads, report
from yijing.access import Role
from yijing.audit.models import AuditEvent
from yijing.db import session_scope
from yijing.disputes.models import Dispute, DisputeMediator, DisputeStatus
from yijing.disputes.service import LIFECYCLE, DisputeAction
from yijing.ids import utcnow
from yijing.org.models import Site
from yijing.outbox.models import OutboxMessage
from yijing.volunteers.models import Volunteer

SHANGHAI = ZoneInfo("Asia/Shanghai")


def station_today():
    return utcnow().astimezone(SHANGHAI).date()


VALID_BODIES = {
    DisputeAction.MEDIATE: {"note": "到场分开双方"},
    DisputeAction.RESOLVE: {"outcome": "settled_on_spot", "note": "双方握手言和"},
    DisputeAction.ESCALATE: {"escalated_to": "police_case", "reference": "闽侯甘蔗 2023-1013-07"},
    DisputeAction.FAIL: {"reason": "一方拒绝调解，已告知诉讼途径"},
    DisputeAction.REOPEN: {"note": "双方再次发生争执"},
}


async def dispute_in(session_factory, world, status: DisputeStatus, **fields) -> Dispute:
    """A dispute of the own site in ``status`` (with what that status needs), reported an hour ago by the
    site's volunteer."""
    now = utcnow()
    reported = now - timedelta(hours=1)
    mediated = {"mediating_at": reported + timedelta(minutes=5), "intervention_seconds": 300}
    by_status = {
        DisputeStatus.REPORTED: {},
        DisputeStatus.MEDIATING: mediated,
        DisputeStatus.RESOLVED: mediated
        | {"outcome": "apology", "resolved_at": now, "resolution_seconds": 3600, "closed_at": now},
        DisputeStatus.ESCALATED: mediated
        | {"escalated_to": "court", "escalation_reference": "(2023)闽0121民初1号", "closed_at": now},
        DisputeStatus.FAILED: mediated | {"failure_reason": "一方离开现场", "closed_at": now},
    }
    async with session_scope(session_factory) as session:
        dispute = Dispute(
            station_id=world.own.station.id, site_id=world.own.site.id, account="邻里因噪音发生口角",
            occurred_at=reported, reported_at=reported, status=status,
            **({"reporter_id": world.user(Role.VOLUNTEER).id} | by_status[status] | fields),
        )  # fmt: skip
        session.add(dispute)
    return dispute


async def act(client, world, dispute_id, action: str, body: dict | None = None, role: Role = Role.OFFICER):
    return await client.post(
        f"/api/v1/disputes/{dispute_id}/{action}",
        json=VALID_BODIES[DisputeAction(action)] if body is None else body,
        headers=world.headers(role),
    )


@pytest.mark.parametrize("action", list(DisputeAction))
async def test_every_action_from_every_status(action, client, world, session_factory):
    sources, target = LIFECYCLE[action]
    headers = world.headers(Role.OFFICER)
    for status in DisputeStatus:
        dispute = await dispute_in(session_factory, world, status)
        response = await client.post(
            f"/api/v1/disputes/{dispute.id}/{action}",
            json=VALID_BODIES[action],
            headers=headers | {"If-Match": '"1"'},
        )
        if status in sources:
            assert response.status_code == 200, f"{status} → {action}: {response.text}"
            changed = response.json()
            assert (changed["status"], changed["version"]) == (target, 2)
            assert response.headers["etag"] == '"2"'
            assert changed["allowed_actions"] == [str(name) for name in LIFECYCLE.allowed(target)]
            assert (changed["closed_at"] is None) == (target is DisputeStatus.MEDIATING)
            events = (await client.get(f"/api/v1/disputes/{dispute.id}/events", headers=headers)).json()
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
                unchanged = await session.get(Dispute, dispute.id)
            assert (unchanged.status, unchanged.version) == (status, 1)


async def test_from_report_to_resolution_the_clocks_are_kept(client, world):
    reported = utcnow().replace(microsecond=0) - timedelta(minutes=8)
    dispute = await report(client, world, Role.VOLUNTEER, reported_at=reported.isoformat())
    # The volunteer steps in: they become its mediator, and the time to first intervention stops.
    response = await act(client, world, dispute["id"], "mediate", {"note": "到场劝开"}, Role.VOLUNTEER)
    assert response.status_code == 200, response.text
    mediating = response.json()
    mediating_at = datetime.fromisoformat(mediating["mediating_at"])
    assert mediating["intervention_seconds"] == int((mediating_at - reported).total_seconds())
    assert 8 * 60 <= mediating["intervention_seconds"] < 10 * 60
    assert [(m["role"], m["volunteer_id"], m["user_id"]) for m in mediating["mediators"]] == [
        ("volunteer", str(world.own.volunteer.id), str(world.user(Role.VOLUNTEER).id))
    ]
    agreement = {"outcome": "written_agreement", "agreement_text": "错峰使用卸货车位", "note": "签订协议"}
    response = await act(client, world, dispute["id"], "resolve", agreement, Role.VOLUNTEER)
    assert response.status_code == 200, response.text
    resolved = response.json()
    resolved_at = datetime.fromisoformat(resolved["resolved_at"])
    assert resolved["resolution_seconds"] == int((resolved_at - reported).total_seconds())
    assert resolved["resolution_seconds"] >= resolved["intervention_seconds"]
    assert (resolved["outcome"], resolved["agreement_text"]) == ("written_agreement", "错峰使用卸货车位")
    assert resolved["closed_at"] == resolved["resolved_at"]
    assert resolved["mediating_at"] == mediating["mediating_at"]
    assert resolved["next_followup_on"] == str(resolved_at.astimezone(SHANGHAI).date() + timedelta(days=7))
    events = (
        await client.get(f"/api/v1/disputes/{dispute['id']}/events", headers=world.headers(Role.OFFICER))
    ).json()
    assert [event["action"] for event in events] == ["report", "mediate", "resolve"]
    assert events[1]["note"] == "到场劝开"
    assert events[2]["details"] == {
        "outcome": "written_agreement",
        "agreement_text": "错峰使用卸货车位",
        "followup_due_on": resolved["next_followup_on"],
    }


async def test_a_compensation_keeps_its_amount(client, world, session_factory):
    dispute = await dispute_in(session_factory, world, DisputeStatus.MEDIATING)
    response = await act(
        client, world, dispute.id, "resolve", {"outcome": "compensation", "compensation_amount": "200.50"}
    )
    assert response.status_code == 200, response.text
    assert Decimal(response.json()["compensation_amount"]) == Decimal("200.50")


@pytest.mark.parametrize(
    ("action", "body", "errors"),
    [
        ("resolve", {}, [("body.outcome", "missing")]),
        ("resolve", {"outcome": "written_agreement"}, [("body.agreement_text", "agreement_missing")]),
        ("resolve", {"outcome": "compensation"}, [("body.compensation_amount", "amount_missing")]),
        (
            "resolve",
            {"outcome": "apology", "agreement_text": "道歉"},
            [("body.agreement_text", "agreement_not_allowed")],
        ),
        (
            "resolve",
            {"outcome": "settled_on_spot", "compensation_amount": "50"},
            [("body.compensation_amount", "amount_not_allowed")],
        ),
        (
            "resolve",
            {"outcome": "compensation", "compensation_amount": "0"},
            [("body.compensation_amount", "greater_than")],
        ),
        ("escalate", {}, [("body.escalated_to", "missing"), ("body.reference", "missing")]),
        ("escalate", {"escalated_to": "court"}, [("body.reference", "missing")]),
        ("escalate", {"reference": "A-1"}, [("body.escalated_to", "missing")]),
        ("fail", {}, [("body.reason", "missing")]),
        ("reopen", {}, [("body.note", "missing")]),
    ],
)
async def test_closing_needs_what_it_names(action, body, errors, client, world, session_factory):
    status = DisputeStatus.RESOLVED if action == "reopen" else DisputeStatus.MEDIATING
    dispute = await dispute_in(session_factory, world, status)
    response = await act(client, world, dispute.id, action, body)
    assert response.status_code == 422, response.text
    assert [(error["field"], error["code"]) for error in response.json()["errors"]] == errors
    async with session_factory() as session:
        unchanged = await session.get(Dispute, dispute.id)
    assert (unchanged.status, unchanged.version) == (status, 1)


async def test_only_mediators_and_staff_carry_a_mediation_on(client, world, session_factory):
    dispute = await dispute_in(session_factory, world, DisputeStatus.MEDIATING)
    # The volunteer sees it (their site's) but does not mediate it.
    assert (
        await client.get(f"/api/v1/disputes/{dispute.id}", headers=world.headers(Role.VOLUNTEER))
    ).status_code == 200
    for action in ("resolve", "escalate", "fail"):
        response = await act(client, world, dispute.id, action, role=Role.VOLUNTEER)
        assert (response.status_code, response.json()["code"]) == (403, "not_a_mediator"), action
    async with session_scope(session_factory) as session:
        session.add(DisputeMediator(dispute_id=dispute.id, volunteer_id=world.own.volunteer.id))
    response = await act(client, world, dispute.id, "fail", role=Role.VOLUNTEER)
    assert response.status_code == 200, response.text
    # Reopening is for staff alone, mediator or not; so are corrections.
    response = await act(client, world, dispute.id, "reopen", role=Role.VOLUNTEER)
    assert response.status_code == 403
    response = await client.patch(
        f"/api/v1/disputes/{dispute.id}", json={"kind": "quarrel"}, headers=world.headers(Role.VOLUNTEER)
    )
    assert response.status_code == 403
    # Staff carry on any dispute of their station without mediating it; another station's is not found.
    assert (await act(client, world, dispute.id, "reopen", role=Role.ASSISTANT)).status_code == 200
    response = await act(client, world, dispute.id, "resolve", role=Role.ASSISTANT)
    assert response.status_code == 200, response.text
    other = await client.post(
        f"/api/v1/disputes/{dispute.id}/mediate", json={}, headers=world.headers(Role.OFFICER, "other")
    )
    assert (other.status_code, other.json()["code"]) == (404, "dispute_not_found")


async def test_who_becomes_a_mediator_on_stepping_in(client, world, session_factory):
    # The officer holds the site's officer post: a mediator as officer, with the volunteer named.
    first = await dispute_in(session_factory, world, DisputeStatus.REPORTED)
    body = {"mediator_volunteer_ids": [str(world.own.volunteer.id)]}
    response = await act(client, world, first.id, "mediate", body)
    assert response.status_code == 200, response.text
    assert {(m["role"], m["volunteer_id"], m["user_id"]) for m in response.json()["mediators"]} == {
        ("officer", None, str(world.user(Role.OFFICER).id)),
        ("volunteer", str(world.own.volunteer.id), str(world.user(Role.VOLUNTEER).id)),
    }
    # A leader, and an assistant of no post at the site, step in without becoming mediators.
    for role in (Role.LEADER, Role.ASSISTANT):
        dispute = await dispute_in(session_factory, world, DisputeStatus.REPORTED)
        response = await act(client, world, dispute.id, "mediate", {}, role)
        assert (response.status_code, response.json()["mediators"]) == (200, []), role
    dispute = await dispute_in(session_factory, world, DisputeStatus.REPORTED)
    response = await act(
        client, world, dispute.id, "mediate", {"mediator_volunteer_ids": [str(world.other.volunteer.id)]}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "unknown_volunteer"


async def test_a_volunteer_steps_in_only_at_their_site_or_as_a_mediator(client, world, session_factory):
    # A case of their site reported by the officer: they see it and step in.
    dispute = await dispute_in(
        session_factory, world, DisputeStatus.REPORTED, reporter_id=world.user(Role.OFFICER).id
    )
    assert (await act(client, world, dispute.id, "mediate", role=Role.VOLUNTEER)).status_code == 200
    # Their volunteer record moved to another site: they no longer reach the site's cases they do not
    # mediate, and step into none of them.
    other = await dispute_in(
        session_factory, world, DisputeStatus.REPORTED, reporter_id=world.user(Role.OFFICER).id
    )
    async with session_scope(session_factory) as session:
        site = Site(station_id=world.own.station.id, name="河滨广场")
        session.add(site)
        await session.flush()
        await session.execute(
            update(Volunteer).where(col(Volunteer.id) == world.own.volunteer.id).values(site_id=site.id)
        )
    response = await act(client, world, other.id, "mediate", role=Role.VOLUNTEER)
    assert (response.status_code, response.json()["code"]) == (404, "dispute_not_found")
    # The world's dispute they mediate stays theirs to step into.
    response = await act(client, world, world.own.dispute.id, "mediate", role=Role.VOLUNTEER)
    assert response.status_code == 200, response.text


async def test_reopening_clears_the_closing_and_cancels_the_visit(client, world, session_factory):
    dispute = await dispute_in(session_factory, world, DisputeStatus.MEDIATING)
    resolved = (
        await act(
            client, world, dispute.id, "resolve", {"outcome": "compensation", "compensation_amount": "80"}
        )
    ).json()
    assert resolved["next_followup_on"] is not None
    response = await act(client, world, dispute.id, "reopen", {"note": "又吵起来了"}, Role.LEADER)
    assert response.status_code == 200, response.text
    reopened = response.json()
    assert reopened["status"] == "mediating"
    for field in (
        "outcome",
        "compensation_amount",
        "resolved_at",
        "resolution_seconds",
        "closed_at",
        "next_followup_on",
    ):
        assert reopened[field] is None, field
    # The first intervention stays the first.
    assert (reopened["mediating_at"], reopened["intervention_seconds"]) == (resolved["mediating_at"], 300)
    followups = (
        await client.get(f"/api/v1/disputes/{dispute.id}/followups", headers=world.headers(Role.LEADER))
    ).json()
    assert followups == []
    events = (
        await client.get(f"/api/v1/disputes/{dispute.id}/events", headers=world.headers(Role.LEADER))
    ).json()
    assert events[-1]["note"] == "又吵起来了"
    assert events[-1]["details"]["previous_outcome"] == "compensation"
    # Resolved again: a new visit, and a new clock to resolution.
    again = (await act(client, world, dispute.id, "resolve", {"outcome": "apology"})).json()
    assert again["next_followup_on"] is not None
    assert again["resolution_seconds"] >= resolved["resolution_seconds"]


async def test_actions_honour_if_match(client, world, session_factory):
    dispute = await dispute_in(session_factory, world, DisputeStatus.REPORTED)
    url = f"/api/v1/disputes/{dispute.id}/mediate"
    stale = await client.post(url, json={}, headers=world.headers(Role.OFFICER) | {"If-Match": '"7"'})
    assert (stale.status_code, stale.json()["code"]) == (412, "version_mismatch")
    response = await client.post(url, json={}, headers=world.headers(Role.OFFICER) | {"If-Match": "*"})
    assert (response.status_code, response.headers["etag"]) == (200, '"2"')


async def test_the_reporter_hears_of_each_step_without_the_parties(client, world, session_factory):
    dispute = await dispute_in(session_factory, world, DisputeStatus.REPORTED)
    await act(client, world, dispute.id, "mediate")
    await act(client, world, dispute.id, "fail")
    payloads = await outbox_payloads(session_factory, "dispute.status_changed")
    assert [(payload["recipients"], payload["title"], payload["body"]) for payload in payloads] == [
        ([str(world.user(Role.VOLUNTEER).id)], "您报告的纠纷有新进展", "其他纠纷：调解中"),
        ([str(world.user(Role.VOLUNTEER).id)], "您报告的纠纷有新进展", "其他纠纷：调解未成"),
    ]
    # The reporter acting themselves is told nothing.
    mine = await dispute_in(session_factory, world, DisputeStatus.REPORTED)
    await act(client, world, mine.id, "mediate", {}, Role.VOLUNTEER)
    assert len(await outbox_payloads(session_factory, "dispute.status_changed")) == 2


async def test_each_step_is_audited_and_recounted(client, world, session_factory):
    dispute = await dispute_in(session_factory, world, DisputeStatus.MEDIATING)
    await act(client, world, dispute.id, "escalate")
    async with session_factory() as session:
        audited = (
            await session.scalars(select(AuditEvent).where(col(AuditEvent.target_id) == str(dispute.id)))
        ).all()
        messages = (await session.scalars(select(OutboxMessage))).all()
    assert [(event.action, event.changes) for event in audited] == [
        (
            "dispute.escalate",
            {
                "from": "mediating",
                "to": "escalated",
                "escalated_to": "police_case",
                "reference": "闽侯甘蔗 2023-1013-07",
            },
        )
    ]
    recounts = [m.arguments["payload"] for m in messages if m.job_name == "stats.recompute"]
    assert [(payload["source"], payload["days"]) for payload in recounts] == [
        ("disputes", [str(station_today())])
    ]


async def test_every_action_is_documented_with_its_sources(client):
    document = (await client.get("/api/v1/openapi.json")).json()
    for action, (sources, _) in LIFECYCLE.items():
        operation = document["paths"][f"/api/v1/disputes/{{dispute_id}}/{action}"]["post"]
        assert operation["operationId"] == f"disputes_{action}"
        assert all(source in operation["description"] for source in sources)


async def test_a_reopen_recounts_the_day_the_dispute_had_closed(client, world, session_factory):
    closed = utcnow() - timedelta(days=3)
    dispute = await dispute_in(
        session_factory, world, DisputeStatus.RESOLVED, resolved_at=closed, closed_at=closed
    )
    response = await act(client, world, dispute.id, "reopen")
    assert response.status_code == 200, response.text
    async with session_factory() as session:
        messages = (await session.scalars(select(OutboxMessage))).all()
    recounts = [m.arguments["payload"] for m in messages if m.job_name == "stats.recompute"]
    assert [(payload["source"], sorted(payload["days"])) for payload in recounts] == [
        ("disputes", sorted({str(closed.astimezone(SHANGHAI).date()), str(station_today())}))
    ]


async def test_the_audit_log_keeps_no_free_text_of_a_case(client, world, session_factory):
    """The account and an agreement may name the parties: the audit log says they were given, the
    dispute's own history keeps them."""
    dispute = await dispute_in(session_factory, world, DisputeStatus.MEDIATING)
    agreement = "林某赔偿陈某车门划痕修理费，双方不再追究"
    resolved = await act(
        client, world, dispute.id, "resolve", {"outcome": "written_agreement", "agreement_text": agreement}
    )
    assert resolved.status_code == 200, resolved.text
    account = "林某与陈某因车位争执，林某划伤陈某车门"
    corrected = await client.patch(
        f"/api/v1/disputes/{dispute.id}", json={"account": account}, headers=world.headers(Role.OFFICER)
    )
    assert corrected.status_code == 200, corrected.text
    async with session_factory() as session:
        audited = (
            await session.scalars(select(AuditEvent).where(col(AuditEvent.target_id) == str(dispute.id)))
        ).all()
    changes = {event.action: event.changes for event in audited}
    assert changes["dispute.resolve"]["agreement_text"] == "(text)"
    assert changes["dispute.update"] == {"account": "(text)"}
    assert all("林某" not in str(event.changes) for event in audited)
    history = (
        await client.get(f"/api/v1/disputes/{dispute.id}/events", headers=world.headers(Role.OFFICER))
    ).json()
    assert history[-2]["details"]["agreement_text"] == agreement
    assert history[-1]["details"]["account"]["to"] == account


async def test_a_volunteer_no_longer_active_loses_the_cases_they_mediated(client, world, session_factory):
    reporter = world.user(Role.OFFICER).id
    dispute = await dispute_in(session_factory, world, DisputeStatus.MEDIATING, reporter_id=reporter)
    async with session_scope(session_factory) as session:
        session.add(
            DisputeMediator(
                dispute_id=dispute.id,
                volunteer_id=world.own.volunteer.id,
                user_id=world.user(Role.VOLUNTEER).id,
            )
        )
    url = f"/api/v1/disputes/{dispute.id}"
    assert (await client.get(url, headers=world.headers(Role.VOLUNTEER))).status_code == 200
    async with session_scope(session_factory) as session:
        await session.execute(
            update(Volunteer).where(col(Volunteer.id) == world.own.volunteer.id).values(status="suspended")
        )
    assert (await client.get(url, headers=world.headers(Role.VOLUNTEER))).status_code == 404
    response = await act(client, world, dispute.id, "resolve", role=Role.VOLUNTEER)
    assert response.status_code == 404
