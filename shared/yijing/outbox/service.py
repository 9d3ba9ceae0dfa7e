"""Emit follow-up jobs inside a transaction; relay committed ones to arq."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

import structlog
from arq.connections import ArqRedis
from arq.jobs import Job
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from yijing.db import SessionFactory, session_scope
from yijing.ids import utcnow
from yijing.jobs.registry import JobSpec, P
from yijing.outbox import repository
from yijing.outbox.models import OutboxMessage
from yijing.redis import GuardedRedis

log = structlog.get_logger(__name__)

# session.info key listing the messages this transaction emitted, so the edge can relay them right after
# its commit instead of waiting for the worker's periodic relay.
_EMITTED = "yijing.outbox.emitted"
RELAY_BATCH = 100


@dataclass(frozen=True)
class Emitted:
    """A message as emitted: all an after-commit relay needs to send it without reading the database."""

    id: uuid.UUID
    job_name: str
    arguments: dict[str, Any]


def _message(spec: JobSpec[P], payload: P, run_id: uuid.UUID | None = None) -> OutboxMessage:
    if not isinstance(payload, spec.payload_model):
        raise TypeError(f"job {spec.name} takes {spec.payload_model.__name__}, not {type(payload).__name__}")
    arguments: dict[str, object] = {"payload": payload.model_dump(mode="json")}
    if run_id is not None:
        arguments["run_id"] = str(run_id)
    return OutboxMessage(job_name=spec.name, arguments=arguments)


def _remember(session: AsyncSession, messages: Sequence[OutboxMessage]) -> None:
    emitted = session.info.setdefault(_EMITTED, [])
    emitted += [Emitted(message.id, message.job_name, message.arguments) for message in messages]


async def emit(
    session: AsyncSession, spec: JobSpec[P], payload: P, *, run_id: uuid.UUID | None = None
) -> OutboxMessage:
    """Ask for ``spec`` to run with ``payload`` once the current transaction commits."""
    message = await repository.save(session, _message(spec, payload, run_id))
    _remember(session, [message])
    return message


async def emit_many(session: AsyncSession, spec: JobSpec[P], payloads: Sequence[P]) -> None:
    """:func:`emit` for many payloads (a job's batch), in one INSERT."""
    messages = [_message(spec, payload) for payload in payloads]
    await repository.save_all(session, messages)
    _remember(session, messages)


def take_emitted(session: AsyncSession) -> list[Emitted]:
    """The messages this session's transaction emitted (and forget them)."""
    emitted: list[Emitted] = session.info.pop(_EMITTED, [])
    return emitted


async def _enqueue(redis: ArqRedis, message: OutboxMessage | Emitted) -> Job | None:
    return await redis.enqueue_job(message.job_name, _job_id=str(message.id), **message.arguments)


def _record_failure(message: OutboxMessage, error: BaseException) -> None:
    message.relay_attempts += 1
    message.last_error = f"{type(error).__name__}: {error}"[:1000]
    log.warning("outbox_relay_failed", message_id=str(message.id), error=message.last_error)


@dataclass(frozen=True)
class RelayResult:
    sent: int
    failed: int


async def relay(
    factory: SessionFactory, redis: ArqRedis, *, ids: Sequence[uuid.UUID] | None = None
) -> RelayResult:
    """Send committed, unsent messages to arq until none are left (or Redis fails).

    The message id is the arq job id, so a message sent twice (a relay that enqueued but could not record
    it) is enqueued once. A Redis failure leaves the message pending for the next relay.
    """
    sent = 0
    while True:
        async with session_scope(factory) as session:
            messages = await repository.lock_pending(session, limit=RELAY_BATCH, ids=ids)
            for position, message in enumerate(messages):
                try:
                    await _enqueue(redis, message)
                except (RedisError, OSError) as exc:
                    _record_failure(message, exc)
                    return RelayResult(sent=sent, failed=len(messages) - position)
                message.relayed_at = utcnow()
                sent += 1
        if len(messages) < RELAY_BATCH:
            return RelayResult(sent=sent, failed=0)


async def relay_after_commit(
    factory: SessionFactory, redis: GuardedRedis, emitted: Sequence[Emitted]
) -> None:
    """Best effort, right after an edge commits: a failure here is logged, never raised, because the change
    is already committed and the worker's periodic relay will send the message.

    Redis first, with no database connection or row lock held while it answers (or does not), and not at
    all while Redis's breaker is open; then one short transaction records what happened. Rows another
    relay holds are skipped: that relay records them."""
    if not emitted or redis.is_open:
        return
    sent: set[uuid.UUID] = set()
    failure: tuple[uuid.UUID, Exception] | None = None
    for message in emitted:
        try:
            await redis.call(partial(_enqueue, message=message))
        except Exception as exc:  # recorded on the message, which the worker's relay retries
            failure = (message.id, exc)
            break
        sent.add(message.id)
    attempted = [*sent, *([failure[0]] if failure else [])]
    try:
        async with session_scope(factory) as session:
            for row in await repository.lock_pending(session, limit=len(attempted), ids=attempted):
                if row.id in sent:
                    row.relayed_at = utcnow()
                elif failure is not None:
                    _record_failure(row, failure[1])
    except Exception:
        log.warning("outbox_relay_after_commit_failed", exc_info=True)


async def purge_relayed(session: AsyncSession, *, older_than: timedelta) -> int:
    return await repository.delete_relayed_before(session, utcnow() - older_than)


async def count_pending(session: AsyncSession) -> int:
    return await repository.count_pending(session)
