"""Requesting, reading and executing jobs."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import structlog
from pydantic import ValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from yijing.access import Actor
from yijing.db import SessionFactory, database_unreachable, session_scope
from yijing.errors import DomainError
from yijing.i18n import validation_message_zh
from yijing.ids import utcnow
from yijing.jobs import repository
from yijing.jobs.errors import InvalidJobPayload, JobRunNotFound
from yijing.jobs.models import JobRun, JobStatus
from yijing.jobs.registry import JobContext, JobSpec, JsonDict, P
from yijing.jobs.schemas import JobRead
from yijing.kit.reads import Reader
from yijing.outbox import service as outbox
from yijing.redis import GuardedRedis
from yijing.settings import Settings

log = structlog.get_logger(__name__)


def parse_payload(spec: JobSpec[P], raw: Any) -> P:
    try:
        return spec.payload_model.model_validate(raw)
    except ValidationError as exc:
        raise InvalidJobPayload(
            f"invalid payload for job {spec.name}",
            zh=f"任务 {spec.name} 的参数不合法",
            errors=[
                {
                    "field": ".".join(str(part) for part in error["loc"]),
                    "message": error["msg"],
                    "message_zh": validation_message_zh(error),
                    "code": error["type"],
                }
                for error in exc.errors()
            ],
        ) from exc


async def request_run(
    session: AsyncSession,
    spec: JobSpec[P],
    payload: P,
    *,
    station_id: uuid.UUID | None = None,
    requested_by: uuid.UUID | None = None,
) -> JobRun:
    """Record a run and emit its job through the outbox, both in the caller's transaction. A run with a
    ``station_id`` is readable by that station's staff; one without, by county admins only."""
    run = JobRun(
        name=spec.name,
        payload=payload.model_dump(mode="json"),
        station_id=station_id,
        requested_by=requested_by,
    )
    await repository.save(session, run)
    await outbox.emit(session, spec, payload, run_id=run.id)
    return run


async def read_run(reader: Reader, actor: Actor, run_id: uuid.UUID) -> JobRead:
    """A run within the caller's reach, as its read model (read lean)."""
    row = await repository.read(reader, run_id, actor.scope)
    if row is None:
        raise JobRunNotFound(f"no job run {run_id}", zh=f"未找到任务运行记录 {run_id}")
    return JobRead.of(row)


# serialization_failure, deadlock_detected
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})


def is_transient(exc: BaseException) -> bool:
    """Failures worth another try: the database or the network went away (the same test the API's 503 uses),
    or PostgreSQL broke a deadlock or a serialisation conflict by aborting this transaction; not a bug or bad
    data."""
    if isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in _RETRYABLE_SQLSTATES:
        return True
    return database_unreachable(exc) or isinstance(exc, ConnectionError | TimeoutError | RedisConnectionError)


@dataclass(frozen=True)
class Execution:
    result: JsonDict | None
    # True when the run had already succeeded: a second delivery changes nothing.
    skipped: bool = False


SKIPPED = Execution(result=None, skipped=True)


async def execute(
    factory: SessionFactory,
    settings: Settings,
    spec: JobSpec[Any],
    raw_payload: Any,
    *,
    run_id: uuid.UUID | None = None,
    final_attempt: bool = True,
    relay_to: GuardedRedis | None = None,
) -> Execution:
    """Run ``spec``'s handler in one transaction. With a ``run_id``, the run's outcome commits in that same
    transaction, so a job delivered twice — even at the same moment — has exactly one effect.

    The follow-up jobs the handler emitted are relayed to ``relay_to`` right after that commit (the worker
    passes its Redis), as the API relays a request's; without it, or if Redis fails, the worker's periodic
    relay sends them."""
    try:
        payload = parse_payload(spec, raw_payload)
    except InvalidJobPayload as exc:
        if run_id is not None:
            await _settle(factory, run_id, exc.detail, retry=False)
        raise

    async def report_progress(done: int, total: int | None) -> None:
        if run_id is not None:
            async with session_scope(factory) as progress_session:
                await repository.set_progress(progress_session, run_id, done, total)

    try:
        async with session_scope(factory) as session:
            if run_id is not None:
                await repository.lock_for_execution(session, run_id)
                # Under the lock: a concurrent delivery has either finished and committed, or not begun.
                run = await repository.get(session, run_id)
                if run is None:
                    raise JobRunNotFound(f"no job run {run_id}", zh=f"未找到任务运行记录 {run_id}")
                if run.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
                    return SKIPPED
                await _mark_running(factory, run_id)
            context = JobContext(session, factory, settings, run_id, report_progress)
            result = await spec.handler(context, payload)
            if run_id is not None:
                await repository.mark_succeeded(session, run_id, result)
    except asyncio.CancelledError:
        # arq cancels a job at its timeout and at shutdown: record that, then let the cancellation through.
        if run_id is not None:
            await asyncio.shield(
                _settle(
                    factory, run_id, "cancelled (timed out or the worker stopped)", retry=not final_attempt
                )
            )
        raise
    except Exception as exc:
        if run_id is not None:
            await _settle(factory, run_id, _public_error(exc), retry=not final_attempt and is_transient(exc))
        raise
    # A run someone asked for is always worth a line; a routine one only when debugging.
    done = log.debug if spec.routine and run_id is None else log.info
    done("job_done", job=spec.name, run_id=str(run_id) if run_id else None)
    if relay_to is not None:
        await outbox.relay_after_commit(factory, relay_to, outbox.take_emitted(session))
    return Execution(result=result)


def _public_error(exc: Exception) -> str:
    """What a client may read about a failure: a domain error's own message; for anything else only its
    kind, since driver errors can quote SQL parameters (personal data). The worker log has the rest."""
    if isinstance(exc, DomainError):
        return exc.detail
    return f"{type(exc).__name__} (details are in the worker log)"


async def _mark_running(factory: SessionFactory, run_id: uuid.UUID) -> None:
    """Show the run as running: committed at once, in its own transaction, so clients see it."""
    async with session_scope(factory) as session:
        run = await repository.get(session, run_id, for_update=True)
        assert run is not None  # the caller holds the run's lock and has just read it
        run.status = JobStatus.RUNNING
        run.attempts += 1
        run.started_at = run.updated_at = utcnow()


async def _settle(factory: SessionFactory, run_id: uuid.UUID, error: str, *, retry: bool) -> None:
    """A failed execution: back to queued when arq will try again, failed for good otherwise."""
    async with session_scope(factory) as session:
        run = await repository.get(session, run_id, for_update=True)
        if run is None or run.status is JobStatus.SUCCEEDED:
            return
        run.status = JobStatus.QUEUED if retry else JobStatus.FAILED
        run.error = (f"will retry after: {error}" if retry else error)[:2000]
        run.updated_at = utcnow()
        if not retry:
            run.finished_at = run.updated_at
