"""Jobs on a real arq worker (burst mode) against real Redis and PostgreSQL."""

import asyncio

import asyncpg
import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from tests.db import count_rows
from tests.sample_jobs import COUNTING, SLOW, CountingPayload
from yijing.access import Role
from yijing.db import session_scope
from yijing.jobs import service
from yijing.jobs.models import JobRun, JobStatus
from yijing.jobs.schemas import JobRead
from yijing.outbox import service as outbox
from yijing.outbox.models import OutboxMessage
from yijing.system.jobs import HEARTBEAT
from yijing.system.models import Heartbeat
from yijing_worker import worker as worker_module


async def get_run(session_factory, run_id) -> JobRun:
    async with session_factory() as session:
        run = await session.get(JobRun, run_id)
        assert run is not None
        return run


async def request(session_factory, spec, payload):
    async with session_scope(session_factory) as session:
        return await service.request_run(session, spec, payload)


async def test_job_requested_through_the_api_runs_on_a_real_worker(
    admin_client, redis, run_worker, session_factory
):
    response = await admin_client.post("/api/v1/jobs", json={"name": "system.heartbeat"})
    assert response.status_code == 202, response.text
    run = response.json()
    assert run["status"] == "queued"
    assert response.headers["location"] == f"/api/v1/jobs/{run['id']}"

    worker = await run_worker()
    assert worker.jobs_complete == 1
    assert worker.jobs_failed == 0

    finished = (await admin_client.get(f"/api/v1/jobs/{run['id']}")).json()
    assert finished["status"] == "succeeded"
    assert finished["result"]["recorded"] is True
    assert finished["attempts"] == 1
    assert finished["started_at"]
    assert finished["finished_at"]
    assert await count_rows(session_factory, Heartbeat) == 1


async def test_a_run_is_read_by_its_stations_staff_as_stored(client, world, session_factory, settings):
    """Read lean, a run answers what its record validated as a read model would; out of reach, a 404."""
    async with session_scope(session_factory) as session:
        run = await service.request_run(
            session, COUNTING, CountingPayload(total=2), station_id=world.own.station.id
        )
    await service.execute(session_factory, settings, COUNTING, {"total": 2}, run_id=run.id)
    answer = await client.get(f"/api/v1/jobs/{run.id}", headers=world.headers(Role.OFFICER))
    assert answer.status_code == 200, answer.text
    stored = await get_run(session_factory, run.id)
    validated = JobRead.model_validate(
        stored.model_dump() | {"progress": {"done": stored.progress_done, "total": stored.progress_total}}
    )
    assert answer.content == validated.model_dump_json().encode()
    assert answer.json()["progress"] == {"done": 2, "total": 2}
    assert answer.json()["result"] == {"counted": True}
    other = world.headers(Role.OFFICER, "other")
    assert (await client.get(f"/api/v1/jobs/{run.id}", headers=other)).status_code == 404
    # An operators' run (no station): county admins only.
    operators = f"/api/v1/jobs/{world.job_run_id}"
    assert (await client.get(operators, headers=world.headers(Role.LEADER))).status_code == 404
    assert (await client.get(operators, headers=world.headers(Role.ADMIN))).status_code == 200


async def test_a_job_delivered_twice_has_one_effect(redis, run_worker, session_factory):
    run = await request(session_factory, COUNTING, CountingPayload())
    await outbox.relay(session_factory, redis)
    functions = [worker_module.arq_function(COUNTING)]
    assert (await run_worker(functions=functions)).jobs_complete == 1
    assert (
        await count_rows(session_factory, OutboxMessage) == 2
    )  # the run's message + the one its handler emitted

    # arq may deliver a job again (a worker died after running it): same run, another arq job id.
    await redis.enqueue_job(COUNTING.name, payload={}, run_id=str(run.id), _job_id="redelivered")
    assert (await run_worker(functions=functions)).jobs_complete == 1
    assert await count_rows(session_factory, OutboxMessage) == 2
    finished = await get_run(session_factory, run.id)
    assert finished.status is JobStatus.SUCCEEDED
    assert finished.attempts == 1
    assert finished.progress_done == finished.progress_total == 3


@pytest.mark.committed  # concurrent transactions need connections of their own
async def test_concurrent_deliveries_of_one_run_have_one_effect(settings, session_factory):
    run = await request(session_factory, COUNTING, CountingPayload())
    executions = await asyncio.gather(
        *(service.execute(session_factory, settings, COUNTING, {}, run_id=run.id) for _ in range(3))
    )
    assert sorted(execution.skipped for execution in executions) == [False, True, True]
    assert await count_rows(session_factory, OutboxMessage) == 2


async def test_relaying_a_message_twice_enqueues_it_once(redis, session_factory):
    await request(session_factory, HEARTBEAT, HEARTBEAT.payload_model())
    assert (await outbox.relay(session_factory, redis)).sent == 1
    # A relay that enqueued but died before recording it sends the message again.
    async with session_scope(session_factory) as session:
        message = (await session.scalars(select(OutboxMessage))).one()
        message.relayed_at = None
    assert (await outbox.relay(session_factory, redis)).sent == 1
    assert len(await redis.queued_jobs()) == 1


async def test_a_failing_job_marks_its_run_failed_and_keeps_none_of_its_writes(
    redis, run_worker, session_factory
):
    run = await request(session_factory, COUNTING, CountingPayload(fail_with="value"))
    await outbox.relay(session_factory, redis)
    worker = await run_worker(functions=[worker_module.arq_function(COUNTING)])
    assert worker.jobs_failed == 1
    failed = await get_run(session_factory, run.id)
    assert failed.status is JobStatus.FAILED
    # Clients see the kind of failure; the message (which may quote data) stays in the worker log.
    assert failed.error == "ValueError (details are in the worker log)"
    assert failed.attempts == 1
    assert await count_rows(session_factory, OutboxMessage) == 1  # the handler's emit was rolled back


async def test_a_transient_failure_is_retried_until_the_last_try(
    redis, run_worker, session_factory, monkeypatch
):
    monkeypatch.setattr(worker_module, "RETRY_BACKOFF_SECONDS", 0)
    run = await request(session_factory, COUNTING, CountingPayload(fail_with="connection"))
    await outbox.relay(session_factory, redis)
    worker = await run_worker(functions=[worker_module.arq_function(COUNTING)])
    assert worker.jobs_retried == COUNTING.max_tries - 1
    assert worker.jobs_failed == 1
    failed = await get_run(session_factory, run.id)
    assert failed.status is JobStatus.FAILED
    assert failed.attempts == COUNTING.max_tries
    assert failed.error == "ConnectionError (details are in the worker log)"


async def test_a_job_with_an_invalid_payload_fails_without_retrying(redis, run_worker, session_factory):
    run = await request(session_factory, COUNTING, CountingPayload())
    await redis.enqueue_job(COUNTING.name, payload={"total": "many"}, run_id=str(run.id), _job_id="bad")
    worker = await run_worker(functions=[worker_module.arq_function(COUNTING)])
    assert worker.jobs_failed == 1
    assert worker.jobs_retried == 0
    failed = await get_run(session_factory, run.id)
    assert failed.status is JobStatus.FAILED
    assert "invalid payload" in (failed.error or "")


async def test_cron_triggers_run_through_arq(redis, run_worker, session_factory):
    """The worker's cron table: at startup it relays the outbox and records a heartbeat."""
    await request(session_factory, HEARTBEAT, HEARTBEAT.payload_model())  # pending, never relayed
    worker = await run_worker(cron_jobs=worker_module.cron_jobs())
    assert worker.jobs_failed == 0
    assert worker.jobs_complete >= 2
    async with session_factory() as session:
        pending = await outbox.count_pending(session)
    assert pending == 0
    # One heartbeat, or two when the run straddles a minute boundary.
    assert await count_rows(session_factory, Heartbeat) in (1, 2)


async def test_a_heartbeat_minute_is_recorded_once(session_factory):
    from datetime import UTC, datetime

    from yijing.system import repository

    minute = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
    async with session_scope(session_factory) as session:
        assert await repository.record_heartbeat(session, minute) is True
        assert await repository.record_heartbeat(session, minute) is False
    assert await count_rows(session_factory, Heartbeat) == 1


async def test_a_job_that_times_out_is_marked_failed_not_left_running(redis, run_worker, session_factory):
    run = await request(session_factory, SLOW, CountingPayload())
    await outbox.relay(session_factory, redis)
    worker = await run_worker(functions=[worker_module.arq_function(SLOW)])
    assert worker.jobs_failed == 1
    # The failure is recorded by a shielded write that may still be finishing when a loaded machine's burst
    # worker has returned: given a few seconds, never left running.
    finished = await get_run(session_factory, run.id)
    for _ in range(50):
        if finished.status is not JobStatus.RUNNING:
            break
        await asyncio.sleep(0.1)
        finished = await get_run(session_factory, run.id)
    assert finished.status is JobStatus.FAILED
    assert "cancelled" in (finished.error or "")


class _DriverError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(("sqlstate", "transient"), [("40P01", True), ("40001", True), ("23505", False)])
def test_deadlocks_and_serialisation_failures_are_retried(sqlstate, transient):
    assert service.is_transient(DBAPIError("INSERT …", {}, _DriverError(sqlstate))) is transient


def test_a_database_that_is_starting_up_is_retried_like_one_that_is_down():
    """SQLAlchemy reports "the database system is starting up" as a plain DBAPIError: a restart, not a bug."""
    starting = DBAPIError(None, None, asyncpg.CannotConnectNowError("the database system is starting up"))
    assert service.is_transient(starting)
    assert not service.is_transient(DBAPIError("SELECT …", {}, ValueError("a bug")))
