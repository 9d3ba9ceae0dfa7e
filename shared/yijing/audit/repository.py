from __future__ import annotations

from sqlalchemy import select
from sqlmodel import col

from yijing.access import StationScope
from yijing.audit.models import AuditEvent
from yijing.audit.schemas import AuditEventFilters
from yijing.kit import repository as kit
from yijing.kit.pagination import PageParams
from yijing.kit.reads import LeanRow, Reader

# New and changed records that no declared unique constraint can refuse.
save = kit.save
save_all = kit.save_all


# What an event's read model shows (AuditEventRead): a list reads only these.
SHOWN = (
    col(AuditEvent.id), col(AuditEvent.occurred_at), col(AuditEvent.actor_type), col(AuditEvent.actor_id),
    col(AuditEvent.actor_role), col(AuditEvent.station_id), col(AuditEvent.action),
    col(AuditEvent.target_type), col(AuditEvent.target_id), col(AuditEvent.request_id),
    col(AuditEvent.client_ip), col(AuditEvent.changes),
)  # fmt: skip
_SHOWN = select(*SHOWN)  # built once: a select of many columns costs more to build than to run


async def list_events(
    reader: Reader, scope: StationScope, filters: AuditEventFilters, page: PageParams
) -> list[LeanRow]:
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
    query = _SHOWN.where(scope.clause(AuditEvent.station_id), *conditions)
    return await kit.read_page(reader, query, AuditEvent.id, page, newest_first=True)
