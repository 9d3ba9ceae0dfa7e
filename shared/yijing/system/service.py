"""Heartbeat and housekeeping: small, idempotent jobs that prove the worker, its cron and the outbox work."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from pydantic import Field

from yijing import idempotency
from yijing.identity import repository as identity_repository
from yijing.identity.auth import API_KEY_RATE_WINDOW_SECONDS
from yijing.ids import utcnow
from yijing.jobs.registry import JobContext, JobPayload, JsonDict
from yijing.outbox import service as outbox
from yijing.system import repository
from yijing.types import JSON_INTEGER

HEARTBEAT_RETENTION = timedelta(days=1)


class HeartbeatPayload(JobPayload):
    """No parameters: a heartbeat always records the current minute."""


class PurgePayload(JobPayload):
    outbox_retention_days: Annotated[int, Field(ge=1, le=3650), JSON_INTEGER] | None = Field(
        default=None,
        description="Keep relayed outbox rows this many days; the configured retention when left out",
    )  # fmt: skip


def _minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


async def heartbeat(context: JobContext, payload: HeartbeatPayload) -> JsonDict:
    """Record that a worker was alive this minute; running it again in the same minute changes nothing."""
    minute = _minute(utcnow())
    recorded = await repository.record_heartbeat(context.session, minute)
    return {"minute": minute.isoformat(), "recorded": recorded}


async def purge(context: JobContext, payload: PurgePayload) -> JsonDict:
    """Delete relayed outbox rows and old heartbeats past their retention, sign-in attempts and API-key
    request counts that no longer count, and idempotency keys that no longer replay."""
    days = payload.outbox_retention_days or context.settings.outbox_retention_days
    outbox_deleted = await outbox.purge_relayed(context.session, older_than=timedelta(days=days))
    now = utcnow()
    heartbeats_deleted = await repository.delete_heartbeats_before(context.session, now - HEARTBEAT_RETENTION)
    login_failures_deleted = await identity_repository.delete_login_failures_before(
        context.session, now - timedelta(minutes=context.settings.login_lockout_minutes)
    )
    api_key_usage_deleted = await identity_repository.delete_api_key_usage_before(
        context.session, now - timedelta(seconds=API_KEY_RATE_WINDOW_SECONDS)
    )
    idempotency_keys_deleted = await idempotency.delete_before(
        context.session, now - timedelta(hours=context.settings.idempotency_key_hours)
    )
    return {
        "outbox_deleted": outbox_deleted,
        "heartbeats_deleted": heartbeats_deleted,
        "login_failures_deleted": login_failures_deleted,
        "api_key_usage_deleted": api_key_usage_deleted,
        "idempotency_keys_deleted": idempotency_keys_deleted,
    }
