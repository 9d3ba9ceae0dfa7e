from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.access import StationScope
from yijing.audit.models import AuditEvent


async def add(session: AsyncSession, event: AuditEvent) -> None:
    session.add(event)
    await session.flush()


async def list_events(
    session: AsyncSession,
    scope: StationScope,
    *,
    limit: int,
    after_id: uuid.UUID | None = None,
    action: str | None = None,
    actor_id: uuid.UUID | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Sequence[AuditEvent]:
    """Newest first. A station-scoped reader sees its stations' events only (never county-wide ones)."""
    query = select(AuditEvent).where(scope.clause(AuditEvent.station_id))
    for column, value in (
        (AuditEvent.action, action),
        (AuditEvent.actor_id, actor_id),
        (AuditEvent.target_type, target_type),
        (AuditEvent.target_id, target_id),
    ):
        if value is not None:
            query = query.where(col(column) == value)
    if since is not None:
        query = query.where(col(AuditEvent.occurred_at) >= since)
    if until is not None:
        query = query.where(col(AuditEvent.occurred_at) < until)
    if after_id is not None:
        query = query.where(col(AuditEvent.id) < after_id)
    query = query.order_by(col(AuditEvent.id).desc()).limit(limit + 1)
    return (await session.scalars(query)).all()
