"""A database that cannot be reached (stopped, restarting, a socket gone) is a retryable 503 problem, never a
500; tests/faults/test_postgres_restart.py restarts a real server under reads."""

import asyncpg
import pytest

from yijing.access import Role

UNREACHABLE = {
    "refused-port": "postgresql+asyncpg://postgres@127.0.0.1:1/yijing",
    "missing-socket": "postgresql+asyncpg://postgres@/yijing?host=/nonexistent/yijing",
}


@pytest.mark.parametrize("url", UNREACHABLE.values(), ids=UNREACHABLE.keys())
async def test_an_unreachable_database_is_a_503_with_retry_after(make_client, settings, world, url):
    client = await make_client(
        settings.model_copy(update={"database_url": url}), headers=world.headers(Role.OFFICER)
    )
    response = await client.get("/api/v1/volunteers")
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "5"
    assert response.json()["code"] == "service_unavailable"
    assert (await client.get("/healthz")).status_code == 200


async def test_every_operation_documents_the_503(client):
    document = (await client.get("/api/v1/openapi.json")).json()
    operations = [operation for path in document["paths"].values() for operation in path.values()]
    assert operations
    assert all("503" in operation["responses"] for operation in operations)


async def _end_connections_of(engine) -> int:
    """What a server restart does to the pool: every connection to the test's database ended by the server
    (asked on a connection of its own, outside the pool)."""
    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(url)
    try:
        return await connection.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await connection.close()


@pytest.mark.committed  # real connections of the pool, as the server sees them
async def test_reads_and_writes_outlive_connections_the_server_ended(client, world, engine):
    """Reads take pooled connections unchecked (no round trip) and are retried once on a new connection when
    theirs turns out dead; writes check theirs first. Either way, the first request after a restart works."""
    officer = world.headers(Role.OFFICER)
    admin = world.headers(Role.ADMIN)
    assert (await client.get("/api/v1/volunteers", headers=officer)).status_code == 200
    assert await _end_connections_of(engine) >= 1
    read = await client.get("/api/v1/volunteers", headers=officer)
    assert read.status_code == 200, read.text

    assert (await client.get("/api/v1/me", headers=admin)).status_code == 200
    assert await _end_connections_of(engine) >= 1
    write = await client.post("/api/v1/jobs", json={"name": "system.heartbeat"}, headers=admin)
    assert write.status_code == 202, write.text
    assert (await client.get(f"/api/v1/jobs/{write.json()['id']}", headers=admin)).status_code == 200
