"""Idempotency-Key on create POSTs: a retry replays the first answer and creates nothing, the key with another
request is refused, keys are per caller, expire and are purged, failures are not kept, two first requests
at once create one record, and the document shows the header on exactly the create operations."""

import asyncio
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlmodel import col

from tests.db import count_rows
from tests.training.test_trainings import TRAININGS, training_body
from tests.world import png
from yijing import idempotency
from yijing.access import Role
from yijing.idempotency import IdempotencyKey
from yijing.ids import utcnow
from yijing.jobs import service as jobs_service
from yijing.jobs.models import JobRun
from yijing.system.jobs import PURGE
from yijing.training.models import Training

HEADER = "Idempotency-Key"


def keyed(world, role: Role = Role.OFFICER, key: str | None = None) -> dict[str, str]:
    return world.headers(role) | {HEADER: key or str(uuid.uuid4())}


async def trainings_titled(session_factory, title: str) -> int:
    async with session_factory() as session:
        query = select(func.count()).select_from(Training).where(col(Training.title) == title)
        return int(await session.scalar(query) or 0)


async def expire_keys(session_factory, world) -> None:
    """Make every stored key a minute older than keys are kept."""
    age = timedelta(hours=world.settings.idempotency_key_hours, minutes=1)
    async with session_factory() as session:
        await session.execute(update(IdempotencyKey).values(created_at=utcnow() - age))
        await session.commit()


async def test_a_retry_replays_the_first_answer_and_creates_nothing(client, world, session_factory):
    body, headers = training_body(world, title="重试的培训"), keyed(world)
    first = await client.post(TRAININGS, json=body, headers=headers)
    again = await client.post(TRAININGS, json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201), first.text
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    for name in ("Location", "ETag", "Content-Type"):
        assert again.headers[name] == first.headers[name]
    assert await trainings_titled(session_factory, "重试的培训") == 1
    assert await count_rows(session_factory, IdempotencyKey) == 1


async def test_a_create_without_a_key_is_not_replayed(client, world, session_factory):
    body = training_body(world, title="无键的培训")
    for _ in range(2):
        response = await client.post(TRAININGS, json=body, headers=world.headers(Role.OFFICER))
        assert response.status_code == 201
    assert await trainings_titled(session_factory, "无键的培训") == 2
    assert await count_rows(session_factory, IdempotencyKey) == 0


@pytest.mark.parametrize(
    ("change", "query"),
    [({"title": "另一个培训"}, ""), ({}, "?source=retry")],
    ids=["another body", "another query"],
)
async def test_the_key_with_another_request_is_refused(client, world, session_factory, change, query):
    headers = keyed(world)
    first = await client.post(TRAININGS, json=training_body(world, title="第一个培训"), headers=headers)
    assert first.status_code == 201
    other = training_body(world, title="第一个培训") | change
    response = await client.post(TRAININGS + query, json=other, headers=headers)
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "idempotency_key_reused"
    assert [error["field"] for error in problem["errors"]] == [f"header.{HEADER}"]
    assert await trainings_titled(session_factory, "第一个培训") == 1
    assert await trainings_titled(session_factory, "另一个培训") == 0


async def test_an_upload_is_fingerprinted_by_its_fields_and_file(client, world):
    """A form's body is read before the key is checked: its fields and file count, not the multipart
    boundary a retry draws afresh."""
    address, headers = f"/api/v1/hazards/{world.own.hazard.id}/attachments", keyed(world)
    photo = png((10, 20, 30))  # not the world's own photo of the hazard
    first = await client.post(address, files={"file": ("a.png", photo, "image/png")}, headers=headers)
    again = await client.post(address, files={"file": ("a.png", photo, "image/png")}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201), first.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    other = await client.post(
        address, files={"file": ("a.png", png((0, 90, 0)), "image/png")}, headers=headers
    )
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"


async def test_another_caller_with_the_same_key_gets_its_own_answer(client, world, session_factory):
    key, body = str(uuid.uuid4()), training_body(world, title="两人的培训")
    officers = await client.post(TRAININGS, json=body, headers=keyed(world, Role.OFFICER, key))
    leaders = await client.post(TRAININGS, json=body, headers=keyed(world, Role.LEADER, key))
    assert (officers.status_code, leaders.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in leaders.headers
    assert officers.json()["id"] != leaders.json()["id"]
    assert await trainings_titled(session_factory, "两人的培训") == 2


async def test_an_expired_key_is_not_replayed_and_is_purged(client, world, session_factory):
    body, headers = training_body(world, title="过期的培训"), keyed(world)
    first = await client.post(TRAININGS, json=body, headers=headers)
    await expire_keys(session_factory, world)
    again = await client.post(TRAININGS, json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in again.headers
    assert again.json()["id"] != first.json()["id"]
    assert await trainings_titled(session_factory, "过期的培训") == 2
    # The key now replays the second answer; once that is old too, the nightly purge removes it.
    replay = await client.post(TRAININGS, json=body, headers=headers)
    assert replay.json()["id"] == again.json()["id"]
    execution = await jobs_service.execute(session_factory, world.settings, PURGE, {})
    assert execution.result is not None
    assert execution.result["idempotency_keys_deleted"] == 0
    await expire_keys(session_factory, world)
    execution = await jobs_service.execute(session_factory, world.settings, PURGE, {})
    assert execution.result is not None
    assert execution.result["idempotency_keys_deleted"] == 1
    assert await count_rows(session_factory, IdempotencyKey) == 0


async def test_a_failed_request_is_not_kept_and_the_key_can_be_sent_again(client, world, session_factory):
    key = str(uuid.uuid4())
    bad = training_body(world, title="")
    refused = await client.post(TRAININGS, json=bad, headers=keyed(world, key=key))
    forbidden = await client.post(
        TRAININGS, json=training_body(world), headers=keyed(world, Role.VOLUNTEER, key)
    )
    assert (refused.status_code, forbidden.status_code) == (422, 403)
    assert await count_rows(session_factory, IdempotencyKey) == 0
    fixed = await client.post(
        TRAININGS, json=training_body(world, title="改好的培训"), headers=keyed(world, key=key)
    )
    assert fixed.status_code == 201
    assert "Idempotent-Replayed" not in fixed.headers
    assert await count_rows(session_factory, IdempotencyKey) == 1


@pytest.mark.parametrize("key", ["", "x" * 129, "has space", "a,b", "a/b"])
async def test_a_bad_key_is_refused_naming_the_header(client, world, session_factory, key):
    response = await client.post(
        TRAININGS,
        json=training_body(world, title="坏键的培训"),
        headers=keyed(world, key=key) | {HEADER: key},
    )
    assert response.status_code == 422
    assert f"header.{HEADER}" in [error["field"] for error in response.json()["errors"]]
    assert await trainings_titled(session_factory, "坏键的培训") == 0


@pytest.mark.parametrize("key", ["a", "x" * 128, "retry.1_2:3-4", "0b6f1c1e-2f7a-4c7e-9a56-3f1d2b9c8e70"])
async def test_keys_of_the_documented_form_are_taken(client, world, key):
    response = await client.post(TRAININGS, json=training_body(world), headers=keyed(world, key=key))
    assert response.status_code == 201


async def test_the_header_is_documented_on_create_posts_only(client):
    document = (await client.get("/api/v1/openapi.json")).json()
    keyed_operations = {
        operation["operationId"]
        for item in document["paths"].values()
        for operation in item.values()
        if any(parameter["name"] == HEADER for parameter in operation.get("parameters", []))
    }
    assert {
        "volunteers_create",
        "hazards_report",
        "trainings_create",
        "disputes_report",
        "jobs_create",  # a job started (202) is something created too
        "volunteers_import",
        "incidents_import",
    } <= keyed_operations
    for operation_id in ("volunteers_list", "trainings_update", "hazards_verify", "auth_token"):
        assert operation_id not in keyed_operations
    create = document["paths"]["/api/v1/trainings"]["post"]
    assert {"409", "422"} <= create["responses"].keys()


async def test_a_job_started_again_with_its_key_is_started_once(client, world, session_factory):
    headers, runs = keyed(world, Role.ADMIN), await count_rows(session_factory, JobRun)
    first = await client.post("/api/v1/jobs", json={"name": "system.heartbeat"}, headers=headers)
    again = await client.post("/api/v1/jobs", json={"name": "system.heartbeat"}, headers=headers)
    assert (first.status_code, again.status_code) == (202, 202), first.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Location"] == first.headers["Location"]
    assert await count_rows(session_factory, JobRun) == runs + 1


@pytest.mark.committed  # two transactions at once need connections of their own
async def test_two_first_requests_at_once_create_one_record(client, world, session_factory):
    officer = world.user(Role.OFFICER)
    key = str(uuid.uuid4())
    body = training_body(world, title="同时的培训")
    # While another transaction holds the key, a request with it is told to come back, and runs nothing.
    async with session_factory() as holder:
        assert await idempotency.try_lock(holder, officer.id, key)
        busy = await client.post(TRAININGS, json=body, headers=keyed(world, key=key))
        await holder.rollback()
    assert busy.status_code == 409
    assert busy.json()["code"] == "idempotency_key_in_progress"
    assert int(busy.headers["Retry-After"]) >= 1
    assert await trainings_titled(session_factory, "同时的培训") == 0
    responses = await asyncio.gather(
        *(client.post(TRAININGS, json=body, headers=keyed(world, key=key)) for _ in range(4))
    )
    statuses = [response.status_code for response in responses]
    assert set(statuses) <= {201, 409}, statuses
    assert 201 in statuses
    assert len({response.json()["id"] for response in responses if response.status_code == 201}) == 1
    assert await trainings_titled(session_factory, "同时的培训") == 1
    assert await count_rows(session_factory, IdempotencyKey) == 1
