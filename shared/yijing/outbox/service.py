"""Emit follow-up jobs inside a transaction; relay committed ones to arq."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import structlog
from arq.connections import ArqRedis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from yijing.db import SessionFactory, session_scope
from yijing.ids import utcnow
from yijing.jobs.registry import JobSpec, P
from yijing.outbox import repository
from yijing.outbox.models import OutboxMessage

log = structlog.get_logger(__name__)

# session.info key listing the messages this transaction emitted, so the edge can relay them right after
# its commit instead of waiting for the worker's periodic relay.
_EMITTED = "yijing.outbox.emitted"
RELAY_BATCH = 100


async def emit(
    session: AsyncSession, spec: JobSpec[P], payload: P, *, run_id: uuid.UUID | None = None
) -> OutboxMessage:
    """Ask for ``spec`` to run with ``payload`` once the current transaction commits."""
    if not isinstance(payload, spec.payload_model):
        raise TypeError(f"job {spec.name} takes {spec.payload_model.__name__}, not {type(payload).__name__}")
    arguments: dict[str, object] = {"payload": payload.model_dump(mode="json")}
    if run_id is not None:
        arguments["run_id"] = str(run_id)
    message = await repository.add(session, OutboxMessage(job_name=spec.name, arguments=arguments))
    session.info.setdefault(_EMITTED, []).append(message.id)
    return message


def take_emitted(session: AsyncSession) -> list[uuid.UUID]:
    """The ids this session's transaction emitted (and forget them)."""
    ids: list[uuid.UUID] = session.info.pop(_EMITTED, [])
    return ids


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
                    await redis.enqueue_job(message.job_name, _job_id=str(message.id), **message.arguments)
                except (RedisError, OSError) as exc:
                    message.relay_attempts += 1
                    message.last_error = f"{type(exc).__name__}: {exc}"[:1000]
                    log.warning("outbox_relay_failed", message_id=str(message.id), error=message.last_error)
                    return RelayResult(sent=sent, failed=len(messages) - position)
                message.relayed_at = utcnow()
                sent += 1
        if len(messages) < RELAY_BATCH:
            return RelayResult(sent=sent, failed=0)


# After a failed after-commit relay, this process leaves relaying to the worker for a while: otherwise, with
# Redis down, every write would hold a database connection through Redis's connect timeout.
RELAY_PAUSE_SECONDS = 10.0
_relay_paused_until = 0.0


async def relay_after_commit(factory: SessionFactory, redis: ArqRedis, ids: Sequence[uuid.UUID]) -> None:
    """Best effort, right after an edge commits: a failure here is logged, never raised, because the change
    is already committed and the worker's periodic relay will send the message."""
    global _relay_paused_until
    if not ids or time.monotonic() < _relay_paused_until:
        return
    try:
        result = await relay(factory, redis, ids=ids)
    except Exception:
        log.warning("outbox_relay_after_commit_failed", exc_info=True)
        result = RelayResult(sent=0, failed=len(ids))
    if result.failed:
        _relay_paused_until = time.monotonic() + RELAY_PAUSE_SECONDS


async def purge_relayed(session: AsyncSession, *, older_than: timedelta) -> int:
    return await repository.delete_relayed_before(session, utcnow() - older_than)


async def count_pending(session: AsyncSession) -> int:
    return await repository.count_pending(session)
