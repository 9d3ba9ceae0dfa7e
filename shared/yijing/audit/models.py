from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from yijing.columns import instant, json_column
from yijing.ids import new_id


class AuditEvent(SQLModel, table=True):
    """Append-only: a database trigger (see the migration) refuses UPDATE and DELETE."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_target", "target_type", "target_id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    occurred_at: datetime = instant(index=True)
    actor_type: str = Field(max_length=16)  # user, api_key, system or anonymous (see Actor.kind)
    actor_id: uuid.UUID | None = Field(default=None, index=True)
    actor_role: str | None = Field(default=None, max_length=16)
    station_id: uuid.UUID | None = Field(default=None, index=True)
    action: str = Field(max_length=64, index=True)
    target_type: str = Field(max_length=32)
    target_id: str | None = Field(default=None, max_length=64)
    request_id: str | None = Field(default=None, max_length=128)
    client_ip: str | None = Field(default=None, max_length=64)
    # Field names with their new values; secrets and personal data never appear here in full.
    changes: dict[str, Any] = json_column()
