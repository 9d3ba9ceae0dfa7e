"""Liveness, readiness (naming what fails) and metrics."""

import pytest

from yijing.access import Role
from yijing.embedded import EmbeddedRedis


def headers_but_request_id(response) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name != "x-request-id"}


async def test_healthz_answers_without_dependencies(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "alive"}


async def test_readyz_is_200_when_database_and_redis_answer(client):
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}


@pytest.mark.parametrize("probe", ["/healthz", "/readyz"])
async def test_a_probe_answers_head_as_get_without_the_body(client, probe):
    got = await client.get(probe)
    head = await client.head(probe)
    assert head.status_code == got.status_code == 200
    assert head.content == b""
    # Content-Length included: HEAD describes the body GET sends.
    assert headers_but_request_id(head) == headers_but_request_id(got)
    assert int(head.headers["content-length"]) == len(got.content) > 0


async def test_head_on_a_probe_stays_out_of_the_openapi_document(client):
    paths = (await client.get("/api/v1/openapi.json")).json()["paths"]
    assert list(paths["/healthz"]) == ["get"]
    assert list(paths["/readyz"]) == ["get"]


async def test_readyz_names_a_stopped_redis(make_client, settings, tmp_path):
    redis_server = EmbeddedRedis(tmp_path / "redis")
    redis_server.start()
    client = await make_client(settings.model_copy(update={"redis_url": redis_server.url}))
    assert (await client.get("/readyz")).status_code == 200

    redis_server.stop()
    response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "not_ready"
    assert body["checks"] == {"database": "ok", "redis": "failing"}
    assert "redis" in body["detail"]

    redis_server.start()
    assert (await client.get("/readyz")).status_code == 200
    redis_server.stop()


async def test_readyz_names_an_unreachable_database(make_client, settings):
    # A server that is not there: nothing listens on port 1.
    stopped = "postgresql+asyncpg://postgres@127.0.0.1:1/yijing"
    client = await make_client(settings.model_copy(update={"database_url": stopped}))
    response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "failing", "redis": "ok"}


async def test_metrics_count_requests_by_route(client, world):
    await client.get("/healthz")
    await client.get("/api/v1/nowhere/at/all")
    text = (await client.get("/metrics", headers=world.headers(Role.ADMIN))).text
    assert 'yijing_http_requests_total{method="GET",route="system_health",status="200"}' in text
    # Unmatched paths share one label, so a scanner cannot blow up the metric's cardinality.
    assert 'route="<unmatched>"' in text
    assert "/api/v1/nowhere/at/all" not in text
    assert "yijing_http_request_duration_seconds_bucket" in text


@pytest.mark.parametrize(
    ("key", "status"),
    [("all", 200), ("stats", 403)],  # "stats" lacks metrics:read
)
async def test_metrics_take_an_api_key_as_x_api_key_or_as_bearer_token(client, world, key, status):
    secret = world.api_keys[key][1]
    for headers in ({"X-API-Key": secret}, {"Authorization": f"Bearer {secret}"}):
        response = await client.get("/metrics", headers=headers)
        assert response.status_code == status, headers
        if status == 200:
            assert "yijing_http_requests_total" in response.text
        else:
            assert "metrics:read" in response.json()["detail"]


@pytest.mark.parametrize(
    "credentials",
    ["yj_000000000000_not-the-secret", "not-a-key-nor-a-token"],
    ids=["unknown-key", "garbage"],
)
async def test_metrics_refuse_a_wrong_bearer_credential(client, world, credentials):
    response = await client.get("/metrics", headers={"Authorization": f"Bearer {credentials}"})
    assert response.status_code == 401


async def test_metrics_refuse_a_forged_secret_of_a_real_key_as_bearer(client, world):
    marker, prefix, _secret = world.api_keys["all"][1].split("_", 2)
    forged = f"{marker}_{prefix}_wrong"
    response = await client.get("/metrics", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401


async def test_metrics_take_an_admin_bearer_token_and_refuse_other_roles(client, world):
    assert (await client.get("/metrics", headers=world.headers(Role.ADMIN))).status_code == 200
    assert (await client.get("/metrics", headers=world.headers(Role.LEADER))).status_code == 403


async def test_only_metrics_take_an_api_key_as_bearer_token(client, world):
    secret = world.api_keys["stats"][1]
    assert (await client.get("/api/v1/stations", headers={"X-API-Key": secret})).status_code == 200
    as_bearer = await client.get("/api/v1/stations", headers={"Authorization": f"Bearer {secret}"})
    assert as_bearer.status_code == 401
