"""The worker rides out Redis outages by itself, and says so on its own probes. Each test that stops Redis has
one of its own (an embedded redis-server, started again on the same socket) beside the test run's database."""

import asyncio
import json
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from arq.constants import in_progress_key_prefix

from tests.faults.stack import wait_for
from tests.live import environment_without_yijing_settings, free_port
from yijing.db import SessionFactory, session_scope
from yijing.embedded import EmbeddedRedis
from yijing.jobs import service as jobs_service
from yijing.jobs.models import JobRun, JobStatus
from yijing.outbox import service as outbox
from yijing.redis import arq_redis
from yijing.system.jobs import HEARTBEAT
from yijing.system.service import HeartbeatPayload
from yijing_worker import worker as jobs
from yijing_worker.runner import running

# Committed for real: the worker is a process of its own, which sees only committed rows.
pytestmark = pytest.mark.committed

# Short pauses between reconnection attempts (by default 0.5 s doubling to 10 s): each test takes seconds.
FAST = {"first_reconnect_delay": 0.05, "max_reconnect_delay": 0.2, "poll_delay": 0.05}
# arq's own start-up retries Redis 5 times a second apart, then exits (`arq yijing_worker.settings.
# WorkerSettings` did, after about 5 s): a test of a worker started without Redis keeps it down longer.
BEYOND_ARQS_START_RETRIES_SECONDS = 6.5


@pytest.fixture
def own_redis(tmp_path) -> Iterator[EmbeddedRedis]:
    """A redis-server of this test's own, not started yet."""
    server = EmbeddedRedis(tmp_path / "redis")
    yield server
    server.stop()


@pytest.fixture
async def probe() -> AsyncIterator[tuple[int, httpx.AsyncClient]]:
    """A free port for the worker's health listener, and a client for it."""
    port = free_port()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
        yield port, client


async def answers(client: httpx.AsyncClient, path: str, status: int) -> bool:
    try:
        return (await client.get(path)).status_code == status
    except httpx.TransportError:
        return False


async def request_heartbeat(factory: SessionFactory) -> uuid.UUID:
    """A job run whose message waits in the outbox (nothing relays it here)."""
    async with session_scope(factory) as session:
        run = await jobs_service.request_run(session, HEARTBEAT, HeartbeatPayload())
    return run.id


def succeeded(factory: SessionFactory, run_id: uuid.UUID):
    async def check() -> bool:
        async with factory() as session:
            run = await session.get(JobRun, run_id)
            return run is not None and run.status is JobStatus.SUCCEEDED

    return check


def logged(capsys: pytest.CaptureFixture[str], lines: list[str]):
    """A condition: some captured log line names the event so far (``lines`` accumulates what was read)."""

    def check(event: str):
        async def has_it() -> bool:
            lines.extend(capsys.readouterr().err.splitlines())
            return any(event in line for line in lines)

        return has_it

    return check


async def test_a_worker_started_while_redis_is_down_waits_for_it_then_relays_the_outbox(
    settings, session_factory, own_redis, probe, tmp_path
):
    """The real entry point, as `yijing run` and compose start it."""
    port, health = probe
    run_id = await request_heartbeat(session_factory)
    environment = environment_without_yijing_settings() | {
        "YIJING_ENV": "test",
        "YIJING_DATABASE_URL": settings.database_url,
        "YIJING_REDIS_URL": own_redis.url,
        "YIJING_WORKER_HEALTH_PORT": str(port),
        "YIJING_LOG_JSON": "true",
    }
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log_file:
        # cwd: a folder without a .env, so its settings are exactly these.
        worker = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "yijing_worker", env=environment, cwd=tmp_path, stderr=log_file
        )
    try:
        assert await wait_for(lambda: answers(health, "/healthz", 200), within=30) is not None
        await asyncio.sleep(BEYOND_ARQS_START_RETRIES_SECONDS)
        assert worker.returncode is None, log_path.read_text()
        assert (await health.get("/healthz")).status_code == 200
        not_ready = await health.get("/readyz")
        assert not_ready.status_code == 503
        assert not_ready.json()["checks"] == {"database": "ok", "redis": "failing"}

        own_redis.start()
        assert await wait_for(succeeded(session_factory, run_id), within=30) is not None
        assert (await health.get("/readyz")).json() == {
            "status": "ready",
            "checks": {"database": "ok", "redis": "ok"},
        }
        worker.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(worker.wait(), 30) == 0
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
    log = log_path.read_text()
    events = [json.loads(line)["event"] for line in log.splitlines() if line.startswith("{")]
    assert events.count("redis_unavailable") == 1
    assert events.count("redis_available_again") == 1
    assert "Traceback" not in log


async def test_a_running_worker_rides_out_a_redis_outage_logging_it_once(
    settings, session_factory, own_redis, capsys
):
    own_redis.start()
    lines: list[str] = []
    seen = logged(capsys, lines)
    worker_settings = settings.model_copy(update={"redis_url": own_redis.url})
    async with running(worker_settings, handle_signals=False, **FAST) as worker:
        before = await request_heartbeat(session_factory)
        assert await wait_for(succeeded(session_factory, before), within=20) is not None

        own_redis.stop()
        during = await request_heartbeat(session_factory)  # waits in the outbox: Redis is down
        assert await wait_for(seen("redis_unavailable"), within=10) is not None
        await asyncio.sleep(1)  # a dozen failed polls at these pauses
        assert worker.main_task is not None
        assert not worker.main_task.done()

        restarted_ms = int(time.time() * 1000)
        own_redis.start()  # on the same socket
        assert await wait_for(succeeded(session_factory, during), within=20) is not None
        assert await wait_for(seen("redis_available_again"), within=5) is not None
    lines.extend(capsys.readouterr().err.splitlines())
    assert sum("redis_unavailable" in line for line in lines) == 1
    assert sum("redis_available_again" in line for line in lines) == 1
    assert not any("Traceback" in line for line in lines)

    # The outbox relay ran again as soon as Redis was back, without waiting for its next ten-second tick:
    # arq keeps a cron run's in-progress mark for a minute, under an id ending in the millisecond it was due,
    # and the relay's ticks are due on whole ten seconds plus arq's fixed sub-second offset.
    (relay,) = (cron_job for cron_job in jobs.cron_jobs() if cron_job.name == "cron:outbox.relay")
    tick_ms = relay.microsecond // 1000
    client = arq_redis(own_redis.url)
    try:
        marks = await client.keys(f"{in_progress_key_prefix}cron:outbox.relay:*")
    finally:
        await client.aclose()
    due = sorted(int(mark.rsplit(b":", 1)[1]) for mark in marks)
    assert [ms % 10_000 != tick_ms for ms in due if ms >= restarted_ms][:1] == [True]


async def test_the_worker_probe_names_redis_while_it_is_down(settings, own_redis, probe):
    port, health = probe
    own_redis.start()
    worker_settings = settings.model_copy(update={"redis_url": own_redis.url, "worker_health_port": port})
    async with running(worker_settings, handle_signals=False, **FAST):
        assert await wait_for(lambda: answers(health, "/readyz", 200), within=10) is not None
        assert (await health.get("/readyz")).json() == {
            "status": "ready",
            "checks": {"database": "ok", "redis": "ok"},
        }

        own_redis.stop()
        assert await wait_for(lambda: answers(health, "/readyz", 503), within=10) is not None
        response = await health.get("/readyz")
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["code"] == "not_ready"
        assert problem["detail"] == "unreachable: redis"
        assert problem["checks"] == {"database": "ok", "redis": "failing"}
        alive = await health.get("/healthz")
        assert (alive.status_code, alive.json()) == (200, {"status": "alive"})

        own_redis.start()
        assert await wait_for(lambda: answers(health, "/readyz", 200), within=10) is not None


async def test_the_worker_probe_answers_only_its_two_paths(settings, probe):
    port, health = probe
    async with running(settings.model_copy(update={"worker_health_port": port}), handle_signals=False):
        assert await wait_for(lambda: answers(health, "/healthz", 200), within=10) is not None
        assert (await health.get("/metrics")).status_code == 404
        refused = await health.post("/readyz")
        assert (refused.status_code, refused.headers["allow"]) == (405, "GET, HEAD")
        head = await health.head("/healthz")
        assert (head.status_code, head.content) == (200, b"")


async def test_a_worker_started_while_the_database_is_down_keeps_running_and_says_so(settings, probe):
    port, health = probe
    nowhere = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/yijing"
    worker_settings = settings.model_copy(update={"database_url": nowhere, "worker_health_port": port})
    async with running(worker_settings, handle_signals=False, **FAST) as worker:

        async def database_named() -> bool:
            response = await health.get("/readyz")
            return response.status_code == 503 and response.json()["checks"] == {
                "database": "failing",
                "redis": "ok",
            }

        assert await wait_for(database_named, within=10) is not None
        assert worker.main_task is not None
        assert not worker.main_task.done()


async def test_jobs_redis_refused_to_start_give_their_worker_slot_back(
    settings, session_factory, own_redis, capsys
):
    """arq marks a job in progress under WATCH; when that fails after the queue was read, arq kept the job's
    slot for good, and a few such failures left a worker that never started another job."""
    own_redis.start()
    admin = arq_redis(own_redis.url)
    try:
        run_id = await request_heartbeat(session_factory)
        assert (await outbox.relay(session_factory, admin)).sent == 1
        # Redis reads the queue but refuses to mark jobs in progress (a real refusal, by ACL).
        await admin.execute_command("ACL", "SETUSER", "default", "-watch")
        lines: list[str] = []
        worker_settings = settings.model_copy(update={"redis_url": own_redis.url})
        async with running(worker_settings, handle_signals=False, max_jobs=2, **FAST):
            assert await wait_for(logged(capsys, lines)("NoPermissionError"), within=10) is not None
            await asyncio.sleep(1)  # many more refused starts than the worker has slots
            await admin.execute_command("ACL", "SETUSER", "default", "+watch")
            assert await wait_for(succeeded(session_factory, run_id), within=20) is not None
    finally:
        await admin.aclose()
