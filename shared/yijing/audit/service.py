"""Recording and reading audit events. Writers call :func:`record` in the same transaction as the change,
so an event exists exactly when the change does."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from yijing.access import Actor
from yijing.audit import repository
from yijing.audit.models import AuditEvent
from yijing.audit.schemas import AuditEventRead
from yijing.pagination import Page, decode_cursor, page_of

# Field names whose values are never written to the audit log, only the fact that they changed.
SECRET_FIELDS = frozenset({"password", "password_hash", "secret", "token", "id_card_number", "phone"})


def redact(changes: dict[str, Any]) -> dict[str, Any]:
    return {key: ("[changed]" if key in SECRET_FIELDS else value) for key, value in changes.items()}


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
    principal = actor.principal
    await repository.add(
        session,
        AuditEvent(
            actor_type=principal.kind if principal else "system",
            actor_id=principal.id if principal else None,
            actor_role=principal.role if principal else None,
            station_id=station_id,
            action=action,
            target_type=target_type,
            target_id=str(target_id) if target_id is not None else None,
            request_id=actor.request_id,
            client_ip=actor.client_ip,
            changes=redact(changes or {}),
        ),
    )


async def list_events(
    session: AsyncSession,
    actor: Actor,
    *,
    limit: int,
    cursor: str | None,
    action: str | None = None,
    actor_id: uuid.UUID | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Page[AuditEventRead]:
    events = await repository.list_events(
        session,
        actor.scope,
        limit=limit,
        after_id=decode_cursor(cursor),
        action=action,
        actor_id=actor_id,
        target_type=target_type,
        target_id=target_id,
        since=since,
        until=until,
    )
    return page_of(events, limit, AuditEventRead.model_validate)
