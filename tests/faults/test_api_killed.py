"""``kill -9`` of the API while phones send hazard reports, each with its own ``client_id``: after a restart
the phones send everything again. Nothing acknowledged is lost, nothing is stored twice, and every report's
follow-up jobs run once."""

import asyncio

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import col

from tests.faults.stack import alive, follow_up, followed_up, hazard_report, kill, wait_for
from yijing.access import Role
from yijing.db import short_lived_sessions
from yijing.hazards.models import Hazard

pytestmark = pytest.mark.faults

WRITERS = 4
ACKNOWLEDGED_BEFORE_KILL = 100
REPORTS_PER_WRITER = 2_000  # bounds each writer if the kill never comes
WRITES_WITHIN_SECONDS = 60.0
FOLLOW_UP_SECONDS = 45.0


async def stored_copies(stack, client_ids) -> dict[str, int]:
    """How many hazards of the station carry each client id."""
    station_id = stack.world.own.station.id
    async with short_lived_sessions(stack.database_url) as factory, factory() as session:
        rows = await session.execute(
            select(col(Hazard.client_id), func.count())
            .where(col(Hazard.station_id) == station_id, col(Hazard.client_id).in_(client_ids))
            .group_by(col(Hazard.client_id))
        )
        return {str(client_id): count for client_id, count in rows.all()}


async def test_a_killed_api_loses_no_acknowledged_report_and_stores_none_twice(make_stack, figures):
    stack = await make_stack()
    world = stack.world
    stack.start_worker()
    headers = world.headers(Role.ASSISTANT)  # the site's officer is notified of each report
    sent: dict[str, dict[str, str]] = {}  # client id -> body, recorded before it is sent
    acknowledged: dict[str, str] = {}  # client id -> the hazard id the API answered
    unexpected: list[str] = []
    api = stack.start_api()

    async def writer(client: httpx.AsyncClient) -> None:
        for _ in range(REPORTS_PER_WRITER):
            body = hazard_report(world)
            sent[body["client_id"]] = body
            try:
                response = await client.post("/api/v1/hazards", json=body, headers=headers)
            except httpx.TransportError:
                return  # the API died under this request: not acknowledged
            if response.status_code != 201:
                unexpected.append(f"{response.status_code}: {response.text[:300]}")
                return
            acknowledged[body["client_id"]] = response.json()["id"]
            if len(acknowledged) == ACKNOWLEDGED_BEFORE_KILL:
                # kill -9 at once, without a turn of the event loop: the other writers' reports are in
                # flight, and this one's answer has only just arrived.
                kill(api)

    async with httpx.AsyncClient(base_url=stack.base, timeout=30) as client:
        writers = asyncio.gather(*(writer(client) for _ in range(WRITERS)))
        await asyncio.wait_for(writers, WRITES_WITHIN_SECONDS)
    assert unexpected == [], "a report was refused before the kill"
    figures("reports acknowledged before kill -9", len(acknowledged))
    figures("reports in flight at kill -9 (sent, never answered)", len(sent) - len(acknowledged))
    assert len(sent) > len(acknowledged), "no report was in flight when the API was killed"

    stack.start_api()
    answers: dict[str, httpx.Response] = {}
    async with httpx.AsyncClient(base_url=stack.base, timeout=30) as client:
        for client_id, body in sent.items():
            answers[client_id] = await client.post("/api/v1/hazards", json=body, headers=headers)
    statuses = {client_id: response.status_code for client_id, response in answers.items()}
    in_flight_stored = sum(
        1 for client_id, status in statuses.items() if client_id not in acknowledged and status == 200
    )
    figures("in-flight reports the dead API had stored (resend answered 200)", in_flight_stored)
    figures("in-flight reports it had not (resend answered 201)", list(statuses.values()).count(201))

    # Every acknowledged report is there, under the id the API gave, and sending it again stored nothing.
    assert {client_id: statuses[client_id] for client_id in acknowledged} == dict.fromkeys(acknowledged, 200)
    assert {client_id: answers[client_id].json()["id"] for client_id in acknowledged} == acknowledged
    assert set(statuses.values()) <= {200, 201}, [r.text for r in answers.values() if r.status_code >= 300]
    # Each report sent is stored exactly once.
    assert await stored_copies(stack, list(sent)) == dict.fromkeys(sent, 1)

    # Each report's follow-up jobs (the officer's notification, the statistics recount) ran, the ones the
    # dead API had not relayed included, and none twice.
    drained = await wait_for(lambda: followed_up(stack), FOLLOW_UP_SECONDS)
    outcome = await follow_up(stack)
    figures("seconds until every follow-up job had run", drained if drained is not None else "never")
    assert alive(stack.worker)
    assert outcome.complete, outcome
    assert outcome.reported == len(sent)
