from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from yijing.audit.models import AuditEvent
from yijing.kit.reads import LeanRow, read_model
from yijing.types import Instant


class AuditEventFilters(BaseModel):
    """The audit log's filters (all of them together)."""

    action: Annotated[str | None, Field(max_length=64, examples=["user.personal_data.read"])] = None
    actor_id: uuid.UUID | None = None
    target_type: Annotated[str | None, Field(max_length=32)] = None
    target_id: Annotated[str | None, Field(max_length=64)] = None
    since: Instant | None = None
    until: Instant | None = None


class AuditEventRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0193a6a4-9b1e-7c3d-8f2a-3b4c5d6e7f80",
                    "occurred_at": "2026-11-29T10:00:00+08:00",
                    "actor_type": "user",
                    "actor_id": "0193a6a4-0000-7c3d-8f2a-3b4c5d6e7f80",
                    "actor_role": "leader",
                    "station_id": "0193a6a4-1111-7c3d-8f2a-3b4c5d6e7f80",
                    "action": "user.personal_data.read",
                    "target_type": "user",
                    "target_id": "0193a6a4-2222-7c3d-8f2a-3b4c5d6e7f80",
                    "request_id": "6f1c2a7e3b9d4e0f8a1b2c3d4e5f6a7b",
                    "client_ip": "10.1.2.3",
                    "changes": {"fields": ["phone", "id_card_number"]},
                }
            ]
        },
    )

    id: uuid.UUID
    occurred_at: datetime
    actor_type: str
    actor_id: uuid.UUID | None
    actor_role: str | None
    station_id: uuid.UUID | None
    action: str
    target_type: str
    target_id: str | None
    request_id: str | None
    client_ip: str | None
    changes: dict[str, Any]

    @classmethod
    def of(cls, event: AuditEvent | LeanRow) -> AuditEventRead:
        """From a record or a lean row of its columns (:data:`yijing.audit.repository.SHOWN`), as stored: not
        validated again."""
        return read_model(
            cls,
            id=event.id, occurred_at=event.occurred_at, actor_type=event.actor_type, actor_id=event.actor_id,
            actor_role=event.actor_role, station_id=event.station_id, action=event.action,
            target_type=event.target_type, target_id=event.target_id, request_id=event.request_id,
            client_ip=event.client_ip, changes=event.changes,
        )  # fmt: skip
