from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, UniqueConstraint, Uuid, text
from sqlmodel import Field, SQLModel

from yijing.columns import instant
from yijing.ids import new_id


class Notification(SQLModel, table=True):
    __tablename__ = "notifications"
    __table_args__ = (
        # A delivery job run twice writes each recipient's message once.
        UniqueConstraint("recipient_id", "dedupe_key"),
        Index("ix_notifications_unread", "recipient_id", "id", postgresql_where=text("read_at IS NULL")),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    recipient_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    kind: str = Field(max_length=64)
    title: str = Field(max_length=200)
    body: str = Field(max_length=2000)
    link: str | None = Field(default=None, max_length=500)
    dedupe_key: str = Field(max_length=200)
    created_at: datetime = instant()
    read_at: datetime | None = instant(nullable=True)
