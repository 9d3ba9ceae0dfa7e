"""With Redis refusing connections or hung: sign-in lockouts and API-key limits keep holding, and no
request waits out Redis's socket timeout (nor a queue of them)."""

import asyncio
import time

import pytest
from sqlalchemy import select
from sqlmodel import col

from tests.db import count_rows
from tests.hazards.test_hazards import hazard_body
from tests.outages import REFUSING_REDIS_URL, hung
from tests.world import PASSWORD, make_api_key
from yijing.access import ApiScope, Role
from yijing.embedded import EmbeddedRedis
from yijing.identity.models import ApiKeyUsage
from yijing.outbox import service as outbox
from yijing.outbox.models import OutboxMessage
from yijing.redis import arq_redis

# A bound the issue demands: a hung Redis costs a request at most a few hundred milliseconds (the request
# deadline is 0.25 s, once per breaker cool-down). Measured on a two-core machine, idle to heavily loaded:
# the first write 0.35-0.8 s (its own work, the deadline, recording the failure), the others 0.01-0.15 s,
# a sign-in 0.2-0.8 s (Argon2). Asserted against 2 s so that load cannot fail it; the code before took
# 5.4 s for the first write (the socket timeout), and the attack measured 44.9 s for a sign-in.
QUICK_SECONDS = 2.0


async def sign_in(client, phone, password=PASSWORD):
    return await client.post("/api/v1/auth/token", data={"username": phone, "password": password})


@pytest.fixture
async def redis_down_client(make_client, settings):
    return await make_client(settings.model_copy(update={"redis_url": REFUSING_REDIS_URL}))


async def test_wrong_guesses_while_redis_is_down_still_lock_the_number(redis_down_client, world):
    phone = world.phones[world.user(Role.OFFICER).id]
    for _ in range(world.settings.login_max_failures):
        assert (await sign_in(redis_down_client, phone, "not the password")).status_code == 401
    locked = await sign_in(redis_down_client, phone)
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) >= world.settings.login_lockout_minutes * 60 - 5


@pytest.mark.committed  # concurrent transactions need connections of their own
async def test_parallel_guesses_while_redis_is_down_cannot_slip_past_the_lock(redis_down_client, world):
    phone = world.phones[world.user(Role.OFFICER).id]
    limit = world.settings.login_max_failures
    responses = await asyncio.gather(
        *(sign_in(redis_down_client, phone, "not the password") for _ in range(limit + 5))
    )
    statuses = [response.status_code for response in responses]
    assert statuses.count(401) == limit
    assert statuses.count(429) == 5


async def test_api_key_limits_hold_while_redis_is_down(redis_down_client, world, session_factory):
    _, key = await make_api_key(session_factory, world.settings, [ApiScope.STATS_READ], None, rate_limit=3)
    headers = {"X-API-Key": key}
    # A request that fails (404, rolled back) still counts.
    missing = await redis_down_client.get(
        "/api/v1/stations/00000000-0000-7000-8000-000000000001", headers=headers
    )
    assert missing.status_code == 404
    statuses = [
        (await redis_down_client.get("/api/v1/stations", headers=headers)).status_code for _ in range(3)
    ]
    assert statuses == [200, 200, 429]
    limited = await redis_down_client.get("/api/v1/stations", headers=headers)
    assert limited.status_code == 429
    assert 0 < int(limited.headers["retry-after"]) <= 60


async def test_api_key_requests_are_counted_in_redis_alone_while_it_is_up(client, world, session_factory):
    headers = {"X-API-Key": world.api_keys["stats"][1]}
    for _ in range(3):
        assert (await client.get("/api/v1/stations", headers=headers)).status_code == 200
    assert await count_rows(session_factory, ApiKeyUsage) == 0


async def test_a_hung_redis_neither_stalls_writes_nor_sign_ins_and_the_jobs_go_out_later(
    make_client, settings, session_factory, tmp_path, world
):
    """The attack: Redis paused (SIGSTOP), eight writes that emit jobs, then a sign-in. Each write's
    after-response relay (run inside the request by httpx's ASGI transport, so it is timed with it) costs
    at most the request deadline, and once the breaker is open nothing; the sign-in does not need Redis."""
    server = EmbeddedRedis(tmp_path / "redis")
    server.start()
    try:
        client = await make_client(settings.model_copy(update={"redis_url": server.url}))
        officer = world.headers(Role.OFFICER)
        # Warm up (connections, first-use costs) while Redis answers: this write's job goes out at once.
        response = await client.post("/api/v1/hazards", json=hazard_body(world), headers=officer)
        assert response.status_code == 201, response.text
        async with session_factory() as session:
            assert await outbox.count_pending(session) == 0
        with hung(server):
            writes = []
            for _ in range(8):
                started = time.monotonic()
                response = await client.post("/api/v1/hazards", json=hazard_body(world), headers=officer)
                writes.append(time.monotonic() - started)
                assert response.status_code == 201, response.text
            started = time.monotonic()
            signed_in = await sign_in(client, world.phones[world.user(Role.LEADER).id])
            sign_in_seconds = time.monotonic() - started
            started = time.monotonic()
            ready = await client.get("/readyz")
            readyz_seconds = time.monotonic() - started
            print(f"writes: {', '.join(f'{s:.3f}' for s in writes)} s; sign-in {sign_in_seconds:.3f} s; "
                  f"readyz {readyz_seconds:.3f} s")  # fmt: skip
        assert max(writes) < QUICK_SECONDS
        assert signed_in.status_code == 200
        assert sign_in_seconds < QUICK_SECONDS
        assert ready.status_code == 503
        assert ready.json()["checks"]["redis"] == "failing"
        assert readyz_seconds < QUICK_SECONDS

        # Redis is back: the worker's periodic relay sends every message the API could not.
        async with session_factory() as session:
            pending = (
                await session.scalars(
                    select(col(OutboxMessage.id)).where(col(OutboxMessage.relayed_at).is_(None))
                )
            ).all()
        assert len(pending) >= 8
        redis = arq_redis(server.url)
        try:
            relayed = await outbox.relay(session_factory, redis)
            assert (relayed.sent, relayed.failed) == (len(pending), 0)
            queued = {job.job_id for job in await redis.queued_jobs()}
            assert queued >= {str(id_) for id_ in pending}
        finally:
            await redis.aclose()
    finally:
        server.stop()
