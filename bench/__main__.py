"""Benchmarks: request latency through the full ASGI stack, the hottest reads against a bare Starlette +
asyncpg app answering the same JSON (each under uvicorn on one core: requests per second, CPU per request,
RSS; bench/ceiling.py), outbox relay and worker throughput, volunteer
lists over 100,000 volunteers and a 10,000-row import, the rota of 10,000 groups (reconcile job, captain
endpoints), 100,000 hazards (lists, summary, photo uploads, the deadline job), 2,000,000 incidents
(import, rollups, statistics latency), patrol check-ins (a batch of 500 against bare asyncpg, 64 clients
at once), patrol settlement (100,000 check-ins against one SQL aggregate), the disputes' monthly summary
(100,000 disputes against one SQL aggregate), and training settlement (a session of 5,000 against one SQL
UPDATE) and monthly compliance (10,000 volunteers against one SQL statement), on real PostgreSQL and Redis
(embedded servers).

Run with `make bench` (all of them) or `python -m bench NAME…` (only those named). Figures are printed, never
asserted: targets live here, not in unit tests.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx
from arq.worker import Worker
from asgi_lifespan import LifespanManager
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.ceiling import bench_ceiling
from bench.common import report, timed
from bench.dispute_summary import bench_dispute_summary
from bench.hazards import bench_hazards
from bench.incidents import bench_incidents
from bench.patrol_checkins import bench_patrol_checkins
from bench.patrol_settlement import bench_patrol_settlement
from bench.rota import bench_rota
from bench.training_compliance import bench_training_compliance
from bench.training_settlement import bench_training_settlement
from bench.volunteers import bench_volunteers
from tests.world import add_user, sign_in_directly
from yijing import migrate
from yijing.access import Role
from yijing.db import (
    create_engine,
    create_session_factory,
    drop_database,
    ensure_database,
    session_scope,
    short_lived_sessions,
)
from yijing.models import metadata
from yijing.outbox import service as outbox
from yijing.redis import arq_redis
from yijing.servers import resolved_settings
from yijing.settings import Environment, Settings
from yijing.system.jobs import HEARTBEAT
from yijing.system.service import HeartbeatPayload
from yijing_api.main import create_app
from yijing_worker import worker as worker_module

REQUESTS = 500
MESSAGES = 2000


async def admin_headers(settings: Settings) -> dict[str, str]:
    """A county admin signed in (the password check is not what is measured here)."""
    assert settings.database_url
    async with short_lived_sessions(settings.database_url) as factory, session_scope(factory) as session:
        admin = await add_user(session, settings, Role.ADMIN, None, "13900000000", 1)
        token = await sign_in_directly(session, settings, admin)
    return {"Authorization": f"Bearer {token}"}


async def bench_http(settings: Settings) -> None:
    app = create_app(settings)
    headers = await admin_headers(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", headers=headers) as client:
            report("GET /healthz", await timed(lambda: client.get("/healthz"), REQUESTS))
            report("GET /readyz (database + Redis)", await timed(lambda: client.get("/readyz"), REQUESTS))
            body = {"name": "system.heartbeat"}
            report(
                "POST /api/v1/jobs (write + relay)",
                await timed(lambda: client.post("/api/v1/jobs", json=body), REQUESTS),
            )
            run_id = (await client.post("/api/v1/jobs", json=body)).json()["id"]
            report(
                "GET /api/v1/jobs/{id}", await timed(lambda: client.get(f"/api/v1/jobs/{run_id}"), REQUESTS)
            )
            report("GET /api/v1/me (token checked)", await timed(lambda: client.get("/api/v1/me"), REQUESTS))
            report(
                "GET /api/v1/users (page of 50)", await timed(lambda: client.get("/api/v1/users"), REQUESTS)
            )


async def bench_outbox_and_worker(settings: Settings) -> None:
    assert settings.database_url
    assert settings.redis_url
    engine = create_engine(settings.database_url)
    factory = create_session_factory(engine)
    redis = arq_redis(settings.redis_url)
    await redis.flushdb()
    try:
        async with engine.begin() as connection:
            await connection.execute(text("SET LOCAL session_replication_role = replica"))
            # The code lists the migration ships are reference data: kept.
            tables = [table.name for table in metadata.sorted_tables if table.name != "incident_codes"]
            await connection.execute(text(f"TRUNCATE {', '.join(tables)}"))
        async with session_scope(factory) as session:
            for _ in range(MESSAGES):
                await outbox.emit(session, HEARTBEAT, HeartbeatPayload())
        started = time.perf_counter()
        result = await outbox.relay(factory, redis)
        elapsed = time.perf_counter() - started
        print(f"{'outbox relay':<34} n={result.sent:>5}  {result.sent / elapsed:8.0f} messages/s")

        worker = Worker(
            functions=worker_module.functions(),
            redis_pool=arq_redis(settings.redis_url),
            burst=True,
            poll_delay=0.01,
            handle_signals=False,
            on_startup=worker_module.startup,
            on_shutdown=worker_module.shutdown,
            ctx={"settings": settings},
            max_jobs=20,
        )
        started = time.perf_counter()
        await worker.main()
        elapsed = time.perf_counter() - started
        await worker.close()
        done = worker.jobs_complete
        print(f"{'worker (heartbeat jobs, burst)':<34} n={done:>5}  {done / elapsed:8.0f} jobs/s")
    finally:
        await redis.aclose()
        await engine.dispose()


# In the order they run; `python -m bench NAME…` runs only those named (the rest are skipped).
BENCHMARKS: dict[str, Callable[[Settings], Coroutine[Any, Any, None]]] = {
    "http": bench_http,
    "ceiling": bench_ceiling,
    "outbox": bench_outbox_and_worker,
    "volunteers": bench_volunteers,
    "rota": bench_rota,
    "hazards": bench_hazards,
    "incidents": bench_incidents,
    "patrols": bench_patrol_checkins,
    "patrol_settlement": bench_patrol_settlement,
    "dispute_summary": bench_dispute_summary,
    "training_compliance": bench_training_compliance,
    "training_settlement": bench_training_settlement,
}


def main() -> None:
    chosen = sys.argv[1:] or list(BENCHMARKS)
    if unknown := sorted(set(chosen) - set(BENCHMARKS)):
        raise SystemExit(f"no benchmark named {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    # Embedded servers of its own (under .data/bench), so a benchmark never disturbs a test run.
    bench_settings = Settings(
        env=Environment.TEST, data_dir=Path(".data/bench"), log_level="WARNING", log_json=False
    )
    with resolved_settings(bench_settings) as servers:
        assert servers.database_url
        url = make_url(servers.database_url).set(database=f"yijing_bench_{uuid.uuid4().hex[:8]}")
        database_url = url.render_as_string(hide_password=False)
        asyncio.run(ensure_database(database_url))
        try:
            migrate.upgrade(database_url)
            settings = servers.model_copy(update={"database_url": database_url})
            print(f"yijing benchmarks — PostgreSQL: {url.host or 'unix socket'}, Redis: {settings.redis_url}")
            for name, bench in BENCHMARKS.items():
                if name in chosen:
                    asyncio.run(bench(settings))
        finally:
            asyncio.run(drop_database(database_url))


if __name__ == "__main__":
    main()
