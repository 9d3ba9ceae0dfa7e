"""Request bodies are bounded before they are parsed: JSON bodies have a limit of their own, below the
uploads', and the incident batch one sized for its 1,000 records. The memory and time this saves are measured
against a live server in tests/platform/test_live_limits.py."""

import json

from tests.platform.test_problems import assert_problem
from tests.world import make_api_key
from yijing.access import ApiScope
from yijing.incidents.schemas import MAX_BATCH, MAX_BATCH_BYTES
from yijing_api.middleware import JSON_BODY_LIMIT

JSON = {"content-type": "application/json"}
# The problems are read in English: the limits they name are what is checked.
ENGLISH = {"accept-language": "en"}


async def writer(world, session_factory, settings) -> dict[str, str]:
    _, key = await make_api_key(session_factory, settings, [ApiScope.INCIDENTS_WRITE], [world.own.station.id])
    return {"X-API-Key": key} | ENGLISH


def empty_objects(count: int) -> bytes:
    return b'{"source_system":"jq110","incidents":[' + b",".join([b"{}"] * count) + b"]}"


def longest_record(world, serial: int) -> dict:
    """A record with every field as long as it may be."""
    return {
        "source_ref": f"{serial:064d}",
        "station_id": str(world.own.station.id),
        "site_id": str(world.own.site.id),
        "occurred_at": "2023-10-05T12:00:00.123456+08:00",
        "class_code": "illegal_crime",
        "tags": ["floating_population", "porn_gambling", "telecom_fraud", "minors"],
    }


async def test_a_batch_over_its_limit_is_refused_before_it_is_read(client, world, session_factory, settings):
    headers = await writer(world, session_factory, settings) | JSON
    # Three million empty records: 9 MB, within the service's 10 MB limit but not the batch's.
    body = empty_objects(3_000_000)
    response = await client.post("/api/v1/incidents", content=body, headers=headers)
    problem = assert_problem(response, 413, "payload_too_large")
    assert problem["detail"] == f"The request body exceeds the limit of {MAX_BATCH_BYTES} bytes."

    # Sent in chunks without a length, it is cut off once the limit is passed.
    sent = 0

    async def chunks():
        nonlocal sent
        for start in range(0, len(body), 65536):
            sent += 65536
            yield body[start : start + 65536]

    response = await client.post("/api/v1/incidents", content=chunks(), headers=headers)
    assert_problem(response, 413, "payload_too_large")
    assert sent <= MAX_BATCH_BYTES + 2 * 65536


async def test_the_largest_batch_body_allowed_is_refused_by_counting_its_records(
    client, world, session_factory, settings
):
    headers = await writer(world, session_factory, settings) | JSON
    count = (MAX_BATCH_BYTES - len(empty_objects(0))) // 3  # "{}," each
    body = empty_objects(count)
    assert len(body) <= MAX_BATCH_BYTES
    response = await client.post("/api/v1/incidents", content=body, headers=headers)
    problem = assert_problem(response, 422, "validation_failed")
    # One error: the records were counted, none of them validated.
    assert problem["errors"] == [
        {
            "field": "body.incidents",
            "message": f"List should have at most {MAX_BATCH} items after validation, not {count}",
            "code": "too_long",
        }
    ]


async def test_a_batch_of_1001_records_is_refused_naming_the_limit(client, world, session_factory, settings):
    headers = await writer(world, session_factory, settings)
    records = [longest_record(world, serial) for serial in range(MAX_BATCH + 1)]
    response = await client.post(
        "/api/v1/incidents", json={"source_system": "jq110", "incidents": records}, headers=headers
    )
    problem = assert_problem(response, 422, "validation_failed")
    assert problem["errors"] == [
        {
            "field": "body.incidents",
            "message": "List should have at most 1000 items after validation, not 1001",
            "code": "too_long",
        }
    ]


async def test_a_batch_of_1000_records_at_their_longest_is_stored(client, world, session_factory, settings):
    headers = await writer(world, session_factory, settings) | JSON
    records = [longest_record(world, serial) for serial in range(MAX_BATCH)]
    # Indented as a person would write it: more than any other JSON body may be.
    body = json.dumps({"source_system": "jq110", "incidents": records}, indent=4).encode()
    assert JSON_BODY_LIMIT < len(body) <= MAX_BATCH_BYTES
    response = await client.post("/api/v1/incidents", content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["created"] == MAX_BATCH


async def test_json_bodies_have_a_limit_of_their_own(admin_client):
    padding = "x" * JSON_BODY_LIMIT
    response = await admin_client.post(
        "/api/v1/jobs", json={"name": "system.heartbeat", "padding": padding}, headers=ENGLISH
    )
    problem = assert_problem(response, 413, "payload_too_large")
    assert problem["detail"] == f"The request body exceeds the limit of {JSON_BODY_LIMIT} bytes."
    # Uploads keep the service's limit: the same body as a file is read, and refused for what it is.
    upload = await admin_client.post(
        "/api/v1/incidents/imports", files={"file": ("incidents.csv", padding.encode(), "text/csv")}
    )
    assert upload.status_code == 422, upload.text


async def test_the_batch_limit_is_in_the_openapi_document(client):
    document = (await client.get("/api/v1/openapi.json")).json()
    operation = document["paths"]["/api/v1/incidents"]["post"]
    assert operation["x-max-body-bytes"] == MAX_BATCH_BYTES
    assert f"{MAX_BATCH_BYTES:,} bytes" in operation["description"]
