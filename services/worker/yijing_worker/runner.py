"""Runs the worker (``python -m yijing_worker``): arq's loop made to survive Redis outages, with its probes on
``YIJING_WORKER_HEALTH_PORT`` when that is set. It replaces ``arq yijing_worker.settings.WorkerSettings``:
arq's command line builds a plain ``Worker``, which exits on the first Redis failure.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from yijing.logging import configure_logging
from yijing.redis import arq_redis
from yijing.settings import Settings, get_settings
from yijing.uploads import return_freed_memory_promptly
from yijing_worker import worker as jobs
from yijing_worker.health import HealthListener
from yijing_worker.resilient import REDIS_DOWN, ResilientWorker


@contextlib.asynccontextmanager
async def running(
    settings: Settings, *, handle_signals: bool = True, **options: Any
) -> AsyncIterator[ResilientWorker]:
    """The worker polling in this event loop, and its health listener, until the block ends. ``options`` go
    to the worker (tests shorten its pauses)."""
    if not settings.redis_url:
        raise RuntimeError("YIJING_REDIS_URL is not set; start the worker through `yijing run`")
    pool = arq_redis(settings.redis_url)  # connects lazily: Redis may be down at the start
    ctx: jobs.Ctx = {"settings": settings, "redis": pool}  # arq puts its pool there too, once polling
    # Builds the engine without connecting: a database that is down fails (and retries) jobs, not the start.
    await jobs.startup(ctx)
    worker = ResilientWorker(
        functions=jobs.functions(),
        cron_jobs=jobs.cron_jobs(),
        redis_pool=pool,
        ctx=ctx,
        # Cron schedules (the nightly purge) are in the station's time zone, not the machine's.
        timezone=settings.tz,
        handle_signals=handle_signals,
        **options,
    )
    health: asyncio.Server | None = None
    try:
        if settings.worker_health_port is not None:
            listener = HealthListener(worker, ctx["session_factory"])
            health = await listener.start(settings.worker_health_host, settings.worker_health_port)
        worker.main_task = asyncio.create_task(worker.main())
        yield worker
    finally:
        # What arq's SIGTERM handler does (it has done so already when a signal ended the loop): stop polling
        # and cancel the running jobs, which arq queues again. A job cancelled while arq records its outcome
        # ends with CancelledError, which arq's close would raise: let them all settle first.
        for task in [worker.main_task, *worker.tasks.values()]:
            if task is not None:
                task.cancel()
        await asyncio.gather(*worker.tasks.values(), return_exceptions=True)
        worker.tasks.clear()
        # arq's close deletes its health key in Redis; during an outage it cannot (the key expires anyway).
        with contextlib.suppress(*REDIS_DOWN):
            await worker.close()
        await pool.aclose()
        if health is not None:
            health.close()
            await health.wait_closed()
        await jobs.shutdown(ctx)


async def serve(settings: Settings) -> None:
    """Run until SIGTERM or SIGINT (arq's handlers cancel the poll loop and the running jobs)."""
    async with running(settings) as worker:
        assert worker.main_task is not None
        await asyncio.wait({worker.main_task})
        if not worker.main_task.cancelled():
            worker.main_task.result()  # any failure but Redis's ends the process, with its traceback


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    if not settings.database_url or not settings.redis_url:
        raise SystemExit(
            "YIJING_DATABASE_URL and YIJING_REDIS_URL must be set. `yijing run` starts API and worker "
            "together, with embedded servers for the URLs left unset."
        )
    return_freed_memory_promptly()  # imports parse workbooks of up to 64 MiB
    asyncio.run(serve(settings))
