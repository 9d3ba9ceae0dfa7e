"""Every error is an RFC 9457 problem document: framework errors, validation, domain errors, crashes."""

import uuid

import pytest
from fastapi import FastAPI

from yijing.access import Role
from yijing.errors import Conflict

PROBLEM = "application/problem+json"


def assert_problem(response, status, code):
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"urn:yijing:problem:{code}"
    assert body["title"]
    assert body["instance"] == response.request.url.path
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def test_unknown_path_is_a_404_problem(client):
    assert_problem(await client.get("/api/v1/nowhere"), 404, "not_found")


async def test_unknown_record_is_a_404_problem_naming_it(admin_client):
    run_id = uuid.uuid4()
    body = assert_problem(await admin_client.get(f"/api/v1/jobs/{run_id}"), 404, "job_run_not_found")
    assert str(run_id) in body["detail"]


async def test_wrong_method_is_a_405_problem_with_allow(admin_client):
    response = await admin_client.delete("/api/v1/jobs")
    assert_problem(response, 405, "method_not_allowed")
    assert "POST" in response.headers["allow"]


async def test_malformed_uuid_is_a_422_problem_with_field_errors(admin_client):
    body = assert_problem(await admin_client.get("/api/v1/jobs/not-a-uuid"), 422, "validation_failed")
    assert body["errors"][0]["field"] == "path.job_id"
    assert body["errors"][0]["code"] == "uuid_parsing"


async def test_malformed_json_is_a_422_problem(admin_client):
    response = await admin_client.post(
        "/api/v1/jobs", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"][0]["code"] == "json_invalid"


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"name": "no.such.job"}, "body", "union_tag_invalid"),
        (
            {"name": "system.purge", "payload": {"outbox_retention_days": False}},
            "outbox_retention_days",
            "value_error",
        ),
        (
            {"name": "system.purge", "payload": {"outbox_retention_days": "7"}},
            "outbox_retention_days",
            "value_error",
        ),
        (
            {"name": "system.purge", "payload": {"outbox_retention_days": 7.5}},
            "outbox_retention_days",
            "int_from_float",
        ),
        (
            {"name": "system.purge", "payload": {"outbox_retention_days": 0}},
            "outbox_retention_days",
            "greater_than_equal",
        ),
        ({"name": "system.heartbeat", "payload": {"unknown": 1}}, "unknown", "extra_forbidden"),
        ({"name": "system.heartbeat", "extra": 1}, "extra", "extra_forbidden"),
    ],
)
async def test_invalid_body_is_a_422_problem_naming_the_field(admin_client, body, field, code):
    problem = assert_problem(await admin_client.post("/api/v1/jobs", json=body), 422, "validation_failed")
    assert any(error["field"].endswith(field) and error["code"] == code for error in problem["errors"]), (
        problem
    )


async def test_a_whole_number_written_as_a_float_is_an_integer(admin_client):
    """JSON Schema's "integer" includes 7.0; the API agrees with its own document."""
    body = {"name": "system.purge", "payload": {"outbox_retention_days": 7.0}}
    assert (await admin_client.post("/api/v1/jobs", json=body)).status_code == 202


async def test_titles_follow_accept_language(client):
    chinese = await client.get("/api/v1/nowhere")
    english = await client.get("/api/v1/nowhere", headers={"accept-language": "en-GB,en;q=0.9,zh;q=0.5"})
    weighted = await client.get("/api/v1/nowhere", headers={"accept-language": "en;q=0.2, zh-CN;q=0.8"})
    assert chinese.json()["title"] == "未找到"
    assert english.json()["title"] == "Not found"
    assert weighted.json()["title"] == "未找到"


def _crashing_routes(app: FastAPI) -> None:
    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    @app.get("/conflict")
    async def conflict() -> None:
        raise Conflict("already there", zh="已经存在", existing_id="abc")


async def test_unhandled_exception_is_a_500_problem_without_internals(make_client):
    client = await make_client(customise=_crashing_routes)
    response = await client.get("/boom")
    body = assert_problem(response, 500, "internal_error")
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    assert "请求编号" in body["detail"]


async def test_domain_error_carries_its_status_code_and_extra_members(make_client):
    client = await make_client(customise=_crashing_routes)
    body = assert_problem(await client.get("/conflict"), 409, "conflict")
    assert body["detail"] == "已经存在"
    assert body["existing_id"] == "abc"


async def test_oversize_body_is_a_413_problem(make_client, settings, world):
    client = await make_client(
        settings.model_copy(update={"max_body_bytes": 1000}), headers=world.headers(Role.ADMIN)
    )
    big = {"name": "system.heartbeat", "payload": {}, "padding": "x" * 2000}
    assert_problem(await client.post("/api/v1/jobs", json=big), 413, "payload_too_large")


async def test_oversize_chunked_body_is_a_413_problem(make_client, settings, world):
    client = await make_client(
        settings.model_copy(update={"max_body_bytes": 1000}), headers=world.headers(Role.ADMIN)
    )

    async def chunks():
        for _ in range(10):
            yield b"x" * 200

    response = await client.post(
        "/api/v1/jobs", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_problem(response, 413, "payload_too_large")


async def test_request_id_is_generated_or_echoed(client):
    generated = await client.get("/healthz")
    assert len(generated.headers["x-request-id"]) == 32
    echoed = await client.get("/healthz", headers={"x-request-id": "app-retry-0001"})
    assert echoed.headers["x-request-id"] == "app-retry-0001"
    # Something unsafe to log is replaced, not echoed.
    replaced = await client.get("/healthz", headers={"x-request-id": "bad id\twith spaces"})
    assert replaced.headers["x-request-id"] != "bad id\twith spaces"


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("GET", "/api/v1/audit-events?target_id=a%00b", None),
        ("POST", "/api/v1/jobs", '{"name": "system.purge\\u0000"}'),
    ],
)
async def test_text_with_a_nul_character_is_422(admin_client, method, url, body):
    headers = {"content-type": "application/json"} if body else {}
    response = await admin_client.request(method, url, content=body, headers=headers)
    assert_problem(response, 422, "validation_failed")
    assert "NUL" in response.json()["detail"]


@pytest.mark.parametrize("name", ["100%00 夜市", "a\\u0000b", "\\\\\\u0000"])
async def test_text_that_only_looks_like_a_nul_escape_is_accepted(admin_client, world, name):
    body = {"station_id": str(world.own.station.id), "name": name}
    response = await admin_client.post("/api/v1/sites", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["name"] == name


async def test_an_escaped_nul_after_escaped_backslashes_is_still_found(admin_client, world):
    station = world.own.station.id
    body = '{"station_id": "' + str(station) + '", "name": "a\\\\\\u0000"}'  # a, an escaped \\, a NUL
    response = await admin_client.post(
        "/api/v1/sites", content=body, headers={"content-type": "application/json"}
    )
    assert_problem(response, 422, "validation_failed")


async def test_a_single_value_parameter_given_twice_is_422(admin_client):
    response = await admin_client.get("/api/v1/users?limit=5&limit=6")
    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"][0]["field"] == "query.limit"


@pytest.mark.parametrize("limit", ["2.0", "true", "0", "201"])
async def test_page_size_must_be_a_whole_number_in_range(admin_client, limit):
    assert_problem(await admin_client.get(f"/api/v1/users?limit={limit}"), 422, "validation_failed")
