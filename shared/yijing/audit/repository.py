from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.access import StationScope
from yijing.audit.models import AuditEvent
from yijing.audit.schemas import AuditEventFilters
from yijing.kit import repository as kit
from yijing.kit.pagination import PageParams

# New and changed records that no declared unique constraint can refuse.
save = kit.save
save_all = kit.save_all


async def list_events(
    session: AsyncSession, scope: StationScope, filters: AuditEventFilters, page: PageParams
) -> Sequence[AuditEvent]:
    """Newest first. A station-scoped reader sees its stations' events only (never county-wide ones)."""
    conditions = kit.equal(
        (AuditEvent.action, filters.action),
        (AuditEvent.actor_id, filters.actor_id),
        (AuditEvent.target_type, filters.target_type),
        (AuditEvent.target_id, filters.target_id),
    )
    if filters.since is not None:
        conditions.append(col(AuditEvent.occurred_at) >= filters.since)
    if filters.until is not None:
        conditions.append(col(AuditEvent.occurred_at) < filters.until)
    query = select(AuditEvent).where(scope.clause(AuditEvent.station_id), *conditions)
    return await kit.fetch_page(session, query, AuditEvent.id, page, newest_first=True)
