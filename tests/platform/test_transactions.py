"""One transaction per request; follow-up jobs leave through the outbox only when it commits."""

from fastapi import FastAPI
from sqlalchemy import select

from tests.db import count_rows
from yijing.access import Role
from yijing.embedded import EmbeddedRedis
from yijing.errors import Conflict
from yijing.jobs import service
from yijing.jobs.models import JobRun
from yijing.outbox import service as outbox
from yijing.outbox.models import OutboxMessage
from yijing.redis import arq_redis
from yijing.system.jobs import HEARTBEAT
from yijing.system.service import HeartbeatPayload
from yijing_api.deps import SessionDep
from yijing_worker import worker as worker_module


def _failing_writes(app: FastAPI) -> None:
    @app.post("/write-then-crash")
    async def write_then_crash(session: SessionDep) -> None:
        await service.request_run(session, HEARTBEAT, HeartbeatPayload())
        raise RuntimeError("crash after the write")

    @app.post("/write-then-refuse")
    async def write_then_refuse(session: SessionDep) -> None:
        await service.request_run(session, HEARTBEAT, HeartbeatPayload())
        raise Conflict("refused after the write", zh="写入后被拒绝")


async def test_a_failing_handler_rolls_back_its_writes_and_emits_nothing(make_client, session_factory, redis):
    client = await make_client(customise=_failing_writes)
    assert (await client.post("/write-then-crash")).status_code == 500
    assert (await client.post("/write-then-refuse")).status_code == 409
    assert await count_rows(session_factory, JobRun) == 0
    assert await count_rows(session_factory, OutboxMessage) == 0
    assert await redis.queued_jobs() == []


async def test_a_committed_write_is_relayed_right_after_the_response(admin_client, session_factory, redis):
    assert (await admin_client.post("/api/v1/jobs", json={"name": "system.heartbeat"})).status_code == 202
    async with session_factory() as session:
        assert await outbox.count_pending(session) == 0
    assert len(await redis.queued_jobs()) == 1


async def test_with_redis_down_a_write_succeeds_and_its_job_runs_once_redis_is_back(
    make_client, settings, session_factory, run_worker, tmp_path, world
):
    redis_server = EmbeddedRedis(tmp_path / "redis")
    redis_server.start()
    client = await make_client(
        settings.model_copy(update={"redis_url": redis_server.url}), headers=world.headers(Role.ADMIN)
    )
    redis_server.stop()

    response = await client.post("/api/v1/jobs", json={"name": "system.heartbeat"})
    assert response.status_code == 202, response.text
    run_id = response.json()["id"]
    async with session_factory() as session:
        message = (await session.scalars(select(OutboxMessage))).one()
    assert message.relayed_at is None
    assert message.relay_attempts == 1
    assert message.last_error

    redis_server.start()
    try:
        # The worker's periodic relay sends what the API could not.
        redis_client = arq_redis(redis_server.url)
        relayed = await worker_module.relay_outbox(
            {"session_factory": session_factory, "redis": redis_client}
        )
        await redis_client.aclose()
        assert relayed == {"sent": 1, "failed": 0}
        worker = await run_worker(redis_server.url)
        assert worker.jobs_complete == 1
    finally:
        redis_server.stop()
    finished = (await client.get(f"/api/v1/jobs/{run_id}")).json()
    assert finished["status"] == "succeeded"
