"""Recording and reading audit events. Writers call :func:`record` in the same transaction as the change,
so an event exists exactly when the change does."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from yijing.access import Actor
from yijing.audit import repository
from yijing.audit.models import AuditEvent
from yijing.audit.schemas import AuditEventFilters, AuditEventRead
from yijing.kit.pagination import Page, PageParams, page_of
from yijing.kit.reads import Reader

# Field names whose values are never written to the audit log, only the fact that they changed.
SECRET_FIELDS = frozenset({"password", "password_hash", "secret", "token", "id_card_number", "phone"})


def redact(changes: dict[str, Any]) -> dict[str, Any]:
    return {key: ("[changed]" if key in SECRET_FIELDS else value) for key, value in changes.items()}


def event(
    actor: Actor,
    action: str,
    *,
    target_type: str,
    target_id: uuid.UUID | str | None,
    station_id: uuid.UUID | None,
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    """The audit event of ``actor`` doing ``action`` (not yet written: see :func:`record`)."""
    principal = actor.principal
    return AuditEvent(
        actor_type=actor.kind,
        actor_id=principal.id if principal else None,
        actor_role=principal.role if principal else None,
        station_id=station_id,
        action=action,
        target_type=target_type,
        target_id=str(target_id) if target_id is not None else None,
        request_id=actor.request_id,
        client_ip=actor.client_ip,
        changes=redact(changes or {}),
    )


async def record(
    session: AsyncSession,
    actor: Actor,
    action: str,
    *,
    target_type: str,
    target_id: uuid.UUID | str | None,
    station_id: uuid.UUID | None,
    changes: dict[str, Any] | None = None,
) -> None:
    await repository.save(
        session,
        event(
            actor,
            action,
            target_type=target_type,
            target_id=target_id,
            station_id=station_id,
            changes=changes,
        ),
    )


async def record_many(session: AsyncSession, events: Sequence[AuditEvent]) -> None:
    """Write many events (a job's batch) in one INSERT."""
    await repository.save_all(session, events)


async def list_events(
    reader: Reader, actor: Actor, filters: AuditEventFilters, page: PageParams
) -> Page[AuditEventRead]:
    events = await repository.list_events(reader, actor.scope, filters, page)
    return page_of(events, page.limit, AuditEventRead.of)
