"""Disputes are read lean (their columns as the driver gives them, the read models built without validation):
what a list, a read, the history and the visits answer is what the ORM records validated answered, and a
page's parties and mediators, read for the whole page at once, are each dispute's own."""

from typing import Any

from sqlalchemy import select
from sqlmodel import col

from tests.disputes.test_disputes import report
from tests.disputes.test_lifecycle import act
from tests.world import suspend_volunteer
from yijing.access import Role
from yijing.disputes.models import Dispute, DisputeEvent, DisputeFollowup, DisputeMediator, DisputeParty
from yijing.disputes.schemas import DisputeEventRead, DisputeRead, FollowupRead, MediatorRead, PartyRead
from yijing.disputes.service import LIFECYCLE
from yijing.org.schemas import Location

DISPUTES = "/api/v1/disputes"


async def _validated(session, dispute: Dispute) -> dict:
    """The dispute's read model as it was built before lean reads: from its ORM records, validated."""
    parties = await session.scalars(
        select(DisputeParty)
        .where(col(DisputeParty.dispute_id) == dispute.id)
        .order_by(col(DisputeParty.position))
    )
    mediators = await session.scalars(
        select(DisputeMediator)
        .where(col(DisputeMediator.dispute_id) == dispute.id)
        .order_by(col(DisputeMediator.added_at), col(DisputeMediator.id))
    )
    pending = await session.scalar(
        select(col(DisputeFollowup.due_on)).where(
            col(DisputeFollowup.dispute_id) == dispute.id, col(DisputeFollowup.outcome).is_(None)
        )
    )
    location = None
    if dispute.latitude is not None and dispute.longitude is not None:
        location = Location(latitude=dispute.latitude, longitude=dispute.longitude)
    model = DisputeRead(
        **dispute.model_dump(exclude={"latitude", "longitude"}),
        location=location,
        parties=[
            PartyRead(name=p.name, role=p.role, phone=p.phone_masked, id_card_number=p.id_card_masked)
            for p in parties
        ],
        personal_data="masked",
        mediators=[MediatorRead.model_validate(m, from_attributes=True) for m in mediators],
        allowed_actions=[str(action) for action in LIFECYCLE.allowed(dispute.status)],
        next_followup_on=pending,
    )
    return model.model_dump(mode="json")


async def test_lean_reads_answer_what_the_validated_records_did(client, world, session_factory):
    officer = world.headers(Role.OFFICER)
    mediated: dict[str, Any] = {"mediator_volunteer_ids": [str(world.own.volunteer.id)]}
    compensated = await report(client, world, **mediated)
    agreed = await report(client, world, location=None, parties=[])
    escalated = await report(client, world, mediator_user_ids=[str(world.user(Role.OFFICER).id)])
    steps: list[tuple[dict, str, dict]] = [
        (compensated, "mediate", {}),
        (compensated, "resolve", {"outcome": "compensation", "compensation_amount": "200.5"}),
        (agreed, "mediate", {}),
        (agreed, "resolve", {"outcome": "written_agreement", "agreement_text": "错峰使用卸货车位"}),
        (escalated, "mediate", mediated),
        (escalated, "escalate", {"escalated_to": "court", "reference": "(2023)闽0121民初1号"}),
    ]
    for dispute, action, body in steps:
        assert (await act(client, world, dispute["id"], action, body)).status_code == 200
    visit = {"outcome": "holding", "note": "双方已按协议履行"}
    response = await client.post(f"{DISPUTES}/{agreed['id']}/followups", json=visit, headers=officer)
    assert response.status_code == 201, response.text

    listed = (await client.get(DISPUTES, headers=officer)).json()["items"]
    assert len(listed) == 4
    async with session_factory() as session:
        for item in listed:
            dispute = await session.get(Dispute, item["id"])
            assert dispute is not None
            assert item == await _validated(session, dispute)
            one = await client.get(f"{DISPUTES}/{dispute.id}", headers=officer)
            assert (one.json(), one.headers["etag"]) == (item, f'"{dispute.version}"')
            events = await session.scalars(
                select(DisputeEvent)
                .where(col(DisputeEvent.dispute_id) == dispute.id)
                .order_by(col(DisputeEvent.occurred_at), col(DisputeEvent.id))
            )
            history = (await client.get(f"{DISPUTES}/{dispute.id}/events", headers=officer)).json()
            assert history == [
                DisputeEventRead.model_validate(event, from_attributes=True).model_dump(mode="json")
                for event in events
            ]
            followups = await session.scalars(
                select(DisputeFollowup)
                .where(col(DisputeFollowup.dispute_id) == dispute.id)
                .order_by(col(DisputeFollowup.id))
            )
            visits = (await client.get(f"{DISPUTES}/{dispute.id}/followups", headers=officer)).json()
            assert visits == [
                FollowupRead.model_validate(followup, from_attributes=True).model_dump(mode="json")
                for followup in followups
            ]
    [shown] = [item for item in listed if item["id"] == compensated["id"]]
    # As stored: to the fen.
    assert (shown["compensation_amount"], shown["outcome"]) == ("200.50", "compensation")


async def test_a_pages_parties_and_mediators_are_each_disputes_own(client, world):
    officer = world.headers(Role.OFFICER)
    officer_id = str(world.user(Role.OFFICER).id)
    bodies: list[dict[str, Any]] = [
        {"parties": [{"name": "甲一", "role": "applicant"}, {"name": "甲二", "role": "respondent"}]},
        {"parties": [], "mediator_user_ids": [officer_id]},
        {"parties": [{"name": "丙一"}], "mediator_volunteer_ids": [str(world.own.volunteer.id)]},
        {
            "parties": [{"name": "丁一"}, {"name": "丁二"}, {"name": "丁三"}],
            "mediator_user_ids": [officer_id],
        },
    ]
    reported = [await report(client, world, **body) for body in bodies]
    pages, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(DISPUTES, params=params, headers=officer)).json()
        pages.append([item["id"] for item in page["items"]])
        for item in page["items"]:
            # The single read (its children read for one dispute) shows the same.
            assert item == (await client.get(f"{DISPUTES}/{item['id']}", headers=officer)).json()
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == [
        [str(world.own.dispute.id), reported[0]["id"]],
        [reported[1]["id"], reported[2]["id"]],
        [reported[3]["id"]],
    ]
    items = (await client.get(DISPUTES, headers=officer)).json()["items"]
    listed = {item["id"]: item for item in items}
    for dispute, body in zip(reported, bodies, strict=True):
        item = listed[dispute["id"]]
        assert [party["name"] for party in item["parties"]] == [party["name"] for party in body["parties"]]
        assert [(m["volunteer_id"], m["user_id"]) for m in item["mediators"]] == [
            (m["volunteer_id"], m["user_id"]) for m in dispute["mediators"]
        ]
        assert item == dispute


async def test_a_suspended_volunteer_reads_the_history_of_their_own_reports_only(
    client, world, session_factory
):
    """Suspended, a volunteer keeps their own reports (the world's dispute) but not their site's others."""
    assert world.own.dispute is not None
    own_report = world.own.dispute.id
    officers = (await report(client, world))["id"]
    volunteer = world.headers(Role.VOLUNTEER)
    for dispute_id in (own_report, officers):
        for path in ("/events", "/followups"):
            response = await client.get(f"{DISPUTES}/{dispute_id}{path}", headers=volunteer)
            assert response.status_code == 200, (dispute_id, path)
    await suspend_volunteer(session_factory, world.own.volunteer.id)
    for path in ("/events", "/followups"):
        response = await client.get(f"{DISPUTES}/{own_report}{path}", headers=volunteer)
        assert response.status_code == 200, path
        response = await client.get(f"{DISPUTES}/{officers}{path}", headers=volunteer)
        assert (response.status_code, response.json()["code"]) == (404, "dispute_not_found"), path


async def test_revealing_another_stations_dispute_is_not_found_not_forbidden(client, world):
    """Reach is decided first: whether the role may reveal is never said of a dispute out of reach."""
    assert world.other.dispute is not None
    url = f"{DISPUTES}/{world.other.dispute.id}?reveal=personal_data"
    for role in (Role.OFFICER, Role.LEADER, Role.VOLUNTEER, Role.ASSISTANT):
        response = await client.get(url, headers=world.headers(role))
        assert (response.status_code, response.json()["code"]) == (404, "dispute_not_found"), role
