"""Liveness, readiness (naming what fails) and metrics."""

from yijing.access import Role
from yijing.embedded import EmbeddedRedis


async def test_healthz_answers_without_dependencies(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "alive"}


async def test_readyz_is_200_when_database_and_redis_answer(client):
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}


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
