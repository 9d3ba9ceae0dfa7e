"""Heartbeat and housekeeping: small, idempotent jobs that prove the worker, its cron and the outbox work."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from pydantic import Field

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
    """Delete relayed outbox rows and old heartbeats past their retention."""
    days = payload.outbox_retention_days or context.settings.outbox_retention_days
    outbox_deleted = await outbox.purge_relayed(context.session, older_than=timedelta(days=days))
    heartbeats_deleted = await repository.delete_heartbeats_before(
        context.session, utcnow() - HEARTBEAT_RETENTION
    )
    return {"outbox_deleted": outbox_deleted, "heartbeats_deleted": heartbeats_deleted}
