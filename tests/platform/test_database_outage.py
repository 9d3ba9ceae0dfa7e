"""A database that cannot be reached (stopped, restarting, a socket gone) is a retryable 503 problem, never a
500; tests/faults/test_postgres_restart.py restarts a real server under reads."""

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
