"""arq functions, cron triggers and lifecycle hooks, built from the shared job registry.

Every registered job becomes one arq function of the same name. The function only adapts arq to the shared
runner (``yijing.jobs.service.execute``): transactions, idempotency and run records live there.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import structlog
from arq import Retry
from arq.cron import CronJob, cron
from arq.worker import Function, func

from yijing.db import create_engine, create_session_factory
from yijing.disputes.jobs import FOLLOWUPS
from yijing.hazards.jobs import DEADLINES
from yijing.jobs.catalog import all_jobs
from yijing.jobs.registry import JobSpec, JsonDict
from yijing.jobs.service import execute, is_transient
from yijing.logging import configure_logging
from yijing.outbox import service as outbox
from yijing.patrols.plans.jobs import MAKE_PATROLS
from yijing.patrols.settlement.jobs import SETTLE
from yijing.redis import GuardedRedis
from yijing.rota.jobs import RECONCILE
from yijing.settings import Settings, get_settings
from yijing.stats.jobs import CHECK
from yijing.system.jobs import HEARTBEAT, PURGE
from yijing.training.jobs import COMPLIANCE_REMINDERS
from yijing.training.jobs import SETTLE as SETTLE_TRAININGS

log = structlog.get_logger(__name__)

Ctx = dict[str, Any]
RETRY_BACKOFF_SECONDS = 5

RELAY = "outbox.relay"
RELAY_TRIGGER = f"cron:{RELAY}"
ARQ_JOB_STARTED = "%6.2fs → %s(%s)%s"  # arq's line for a job's start: waited, reference, arguments, extra


class ArqJobLines(logging.Filter):
    """arq logs each job's start, with its arguments, and its end at INFO. The arguments are what the job
    works on (a notification's title and body, people's names), so the start line keeps only the job's
    reference; and the lines of routine jobs (the relay's every 10 seconds, a notification per event: see
    ``JobSpec.routine``) go to DEBUG."""

    def __init__(self) -> None:
        super().__init__()
        self.routine = frozenset({RELAY, *(spec.name for spec in all_jobs() if spec.routine)})

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or not isinstance(record.args, tuple) or len(record.args) < 2:
            return True
        reference = record.args[1]
        if record.msg == ARQ_JOB_STARTED:
            waited, _reference, _arguments, extra = record.args
            record.msg, record.args = "%6.2fs → %s%s", (waited, reference, extra)
        # "cron:<job>" for a schedule's run, "<job id>:<job>" for a queued one.
        if str(reference).rpartition(":")[2] in self.routine:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


ARQ_JOB_LINES = ArqJobLines()


async def startup(ctx: Ctx) -> None:
    """Open the worker's engine. ``ctx`` holds the worker's Redis pool (``redis``); tests pass their own
    settings in it."""
    settings: Settings = ctx.setdefault("settings", get_settings())
    # Whoever started the worker (the runner, a test, a benchmark), its log lines have the project's shape.
    configure_logging(settings.log_level, json=settings.log_json)
    # Startup may run many times in one process (tests): addFilter skips a filter that is there already.
    logging.getLogger("arq.worker").addFilter(ARQ_JOB_LINES)
    if not settings.database_url:
        raise RuntimeError("YIJING_DATABASE_URL is not set; start the worker through `yijing run`")
    ctx["engine"] = create_engine(settings.database_url, pool_size=settings.database_pool_size)
    ctx["session_factory"] = create_session_factory(ctx["engine"])
    # Jobs relay the follow-up jobs they emit right after their commit, through the worker's own Redis
    # with the API's short deadlines and breaker: a hung Redis delays a job by a moment, never by a
    # socket timeout (the periodic relay sends what could not be sent).
    ctx["relay_redis"] = GuardedRedis(client=ctx["redis"])


async def shutdown(ctx: Ctx) -> None:
    relay_redis = ctx.pop("relay_redis", None)
    if relay_redis is not None:
        await relay_redis.aclose()
    engine = ctx.pop("engine", None)
    if engine is not None:
        await engine.dispose()


def arq_function(spec: JobSpec[Any]) -> Function:
    async def run_job(
        ctx: Ctx, payload: JsonDict | None = None, run_id: str | None = None
    ) -> JsonDict | None:
        job_try: int = ctx.get("job_try", 1)
        structlog.contextvars.bind_contextvars(job=spec.name, job_id=ctx.get("job_id"), job_try=job_try)
        try:
            execution = await execute(
                ctx["session_factory"],
                ctx["settings"],
                spec,
                payload or {},
                run_id=uuid.UUID(run_id) if run_id else None,
                final_attempt=job_try >= spec.max_tries,
                relay_to=ctx["relay_redis"],
            )
        except Exception as exc:
            if is_transient(exc) and job_try < spec.max_tries:
                log.warning("job_retrying", error=str(exc))
                raise Retry(defer=RETRY_BACKOFF_SECONDS * job_try) from exc
            log.exception("job_failed")
            raise
        finally:
            structlog.contextvars.unbind_contextvars("job", "job_id", "job_try")
        return execution.result

    run_job.__qualname__ = run_job.__name__ = spec.name.replace(".", "_")
    return func(run_job, name=spec.name, max_tries=spec.max_tries, timeout=spec.timeout_seconds)


def functions() -> list[Function]:
    return [arq_function(spec) for spec in all_jobs()]


async def relay_outbox(ctx: Ctx) -> JsonDict:
    """Send every committed outbox message that no after-commit relay has sent (Redis was down, the API
    process died between commit and relay, or a job emitted follow-up work)."""
    result = await outbox.relay(ctx["session_factory"], ctx["redis"])
    return {"sent": result.sent, "failed": result.failed}


def _cron_of(spec: JobSpec[Any], **schedule: Any) -> CronJob:
    async def trigger(ctx: Ctx) -> JsonDict | None:
        execution = await execute(
            ctx["session_factory"], ctx["settings"], spec, {}, relay_to=ctx["relay_redis"]
        )
        return execution.result

    trigger.__qualname__ = trigger.__name__ = f"cron_{spec.name.replace('.', '_')}"
    return cron(trigger, name=f"cron:{spec.name}", **schedule)


def cron_jobs() -> list[CronJob]:
    return [
        cron(relay_outbox, name=RELAY_TRIGGER, second=set(range(0, 60, 10)), run_at_startup=True),
        _cron_of(HEARTBEAT, second=0, run_at_startup=True),
        # Every minute: cheap when nothing is due (one query finds the groups that need work).
        _cron_of(RECONCILE, second=30, run_at_startup=True),
        # Hourly, so that each station's day turns over in its own time zone; a run finds only what is due.
        _cron_of(DEADLINES, minute=5, second=0, run_at_startup=True),
        # Every five minutes: a patrol is settled soon after its window closes; a run finds only what is due.
        _cron_of(SETTLE, minute=set(range(0, 60, 5)), second=40, run_at_startup=True),
        # Hourly too: a plan's next day comes within its horizon at midnight in its station's zone.
        _cron_of(MAKE_PATROLS, minute=10, second=0, run_at_startup=True),
        # Hourly too, at a minute of its own: a visit falls due at midnight in its station's zone.
        _cron_of(FOLLOWUPS, minute=12, second=0, run_at_startup=True),
        # Every five minutes, at a second of its own: a session is settled soon after its grace has passed.
        _cron_of(SETTLE_TRAININGS, minute=set(range(0, 60, 5)), second=45, run_at_startup=True),
        # Daily, in the morning in China (09:30 Beijing time): a month's last week lasts seven days.
        _cron_of(COMPLIANCE_REMINDERS, hour=1, minute=30, second=0),
        _cron_of(PURGE, hour=3, minute=30, second=0),
        # Nightly, after every station's day has ended: recount everything, repair what drifted, and take
        # the day's snapshot figures.
        _cron_of(CHECK, hour=2, minute=15, second=0),
    ]
