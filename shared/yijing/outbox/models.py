from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from yijing.columns import instant, json_column
from yijing.ids import new_id


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        # The relay only ever looks for rows not yet relayed, oldest first.
        Index("ix_outbox_messages_pending", "created_at", postgresql_where=text("relayed_at IS NULL")),
    )

    # Also the arq job id: a relay that retries after a partial failure enqueues the job only once.
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    job_name: str = Field(max_length=100)
    # Keyword arguments of the arq job function.
    arguments: dict[str, Any] = json_column()
    created_at: datetime = instant()
    relayed_at: datetime | None = instant(nullable=True)
    relay_attempts: int = Field(default=0)
    last_error: str | None = Field(default=None, max_length=1000)
