"""An arq worker that rides out Redis outages instead of exiting.

arq lets a Redis failure escape from ``Worker.main`` (its start-up ``INFO``) and from every poll (reading the
queue, starting a job, enqueuing a cron tick, recording health): the process exits and nothing runs until
someone restarts it. This subclass keeps arq's loop and semantics and catches those failures at the few
places they surface, which is smaller and safer than rewriting the loop or rebuilding workers (rebuilding
would cancel jobs that only needed the database).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import structlog
from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix
from arq.worker import Worker
from redis.exceptions import RedisError

log = structlog.get_logger(__name__)

# What "Redis cannot serve us" looks like: refused or dropped connections, timeouts (OSError in Python 3.11),
# and refusals such as LOADING, READONLY, OOM or MISCONF. The outbox relay treats the same set as transient.
REDIS_DOWN: tuple[type[Exception], ...] = (RedisError, OSError)

FIRST_RECONNECT_DELAY_SECONDS = 0.5
MAX_RECONNECT_DELAY_SECONDS = 10.0
# How long a job's in-progress mark outlives its worker. arq sets it for the longest job timeout (an hour,
# the nightly check's), so a job whose worker was killed waited an hour to run again; a short lease, renewed
# while the job runs, lets another worker take it up within this time.
JOB_LEASE_SECONDS = 30.0


class ResilientWorker(Worker):
    """arq's ``Worker``; a failed poll starts an *outage*: one warning, polls again after a pause that
    doubles up to a ceiling, and one info line with the outage's length when a poll succeeds again.

    Takes a lazily connecting ``redis_pool`` (``yijing.redis.arq_redis``), so that building it never needs
    Redis. A job that was starting or finishing when Redis went away stays queued, and arq runs it again once
    its in-progress mark expires (job runs are idempotent). Cron ticks due during the outage are not queued;
    the ``run_at_startup`` triggers (the outbox relay among them) run again at once when Redis is back.
    """

    def __init__(
        self,
        *,
        redis_pool: ArqRedis,
        first_reconnect_delay: float = FIRST_RECONNECT_DELAY_SECONDS,
        max_reconnect_delay: float = MAX_RECONNECT_DELAY_SECONDS,
        **kwargs: Any,
    ) -> None:
        super().__init__(redis_pool=redis_pool, **kwargs)
        self.in_progress_timeout_s = JOB_LEASE_SECONDS
        self.first_reconnect_delay = first_reconnect_delay
        self.max_reconnect_delay = max_reconnect_delay
        self._reconnect_delay = first_reconnect_delay
        # time.monotonic() of the last poll that reached Redis, and of the start of the current outage.
        self.last_poll_succeeded_at: float | None = None
        self.redis_down_since: float | None = None

    async def main(self) -> None:
        renewing = asyncio.create_task(self._renew_leases())
        try:
            while True:
                try:
                    # Ping first: arq logs "Starting worker" before its first Redis call, at every attempt.
                    await self.pool.ping()
                    await super().main()
                    return
                except REDIS_DOWN as exc:
                    # Before arq's poll loop (on_startup has not run yet): try again after the pause.
                    await self._redis_failed(exc)
        finally:
            renewing.cancel()

    async def _renew_leases(self) -> None:
        """Extend the in-progress mark of every job this worker runs, a third of the lease at a time. A mark
        that is gone (the job finished meanwhile) stays gone: PEXPIRE creates nothing."""
        while True:
            await asyncio.sleep(JOB_LEASE_SECONDS / 3)
            running = list(self.tasks)
            if not running:
                continue
            try:
                async with self.pool.pipeline(transaction=False) as pipe:
                    for job_id in running:
                        pipe.pexpire(in_progress_key_prefix + job_id, int(JOB_LEASE_SECONDS * 1000))
                    await pipe.execute()
            except REDIS_DOWN:
                pass  # the poll loop reports the outage; the next round tries again

    async def _poll_iteration(self) -> None:
        try:
            if self.redis_down_since is not None:
                # Proof that Redis is back: an iteration may not touch it at all (every job slot busy, no
                # cron tick due).
                await self.pool.ping()
            await super()._poll_iteration()
        except REDIS_DOWN as exc:
            await self._redis_failed(exc)
        else:
            self._redis_answered()

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        try:
            await super().start_jobs(job_ids)
        except REDIS_DOWN:
            # arq took a slot for the job it was starting and gives it back only when that job's task ends;
            # there is no task, so without this every such failure would shrink max_jobs until none start.
            self._release_sem_dec_counter_on_complete()
            raise

    async def run_job(self, job_id: str, score: int) -> None:
        try:
            await super().run_job(job_id, score)
        except REDIS_DOWN as exc:
            # The outage is the poll loop's to report; this job stays queued and runs again (see above).
            log.info("job_left_for_redelivery", job_id=job_id, error=_describe(exc))

    async def _redis_failed(self, exc: BaseException) -> None:
        if self.redis_down_since is None:
            self.redis_down_since = time.monotonic()
            self._reconnect_delay = self.first_reconnect_delay
            log.warning(
                "redis_unavailable",
                error=_describe(exc),
                retry_in_seconds=self.first_reconnect_delay,
            )
            for cron_job in self.cron_jobs:
                if cron_job.run_at_startup:
                    # arq's mark for "at the next poll": once Redis is back these run at once, as at start-up.
                    # (Failing polls stop at the ping above, before arq's cron step could use the mark.)
                    cron_job.next_run = None
        await asyncio.sleep(self._reconnect_delay)
        self._reconnect_delay = min(self._reconnect_delay * 2, self.max_reconnect_delay)

    def _redis_answered(self) -> None:
        self.last_poll_succeeded_at = time.monotonic()
        if self.redis_down_since is not None:
            outage = self.last_poll_succeeded_at - self.redis_down_since
            log.info("redis_available_again", outage_seconds=round(outage, 1))
            self.redis_down_since = None


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
