from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime
from sqlmodel import Field, SQLModel

from yijing.columns import instant


class Heartbeat(SQLModel, table=True):
    """One row per minute in which a worker was alive: however many workers run, the minute is stored once."""

    __tablename__ = "heartbeats"

    minute: datetime = Field(primary_key=True, sa_type=DateTime(timezone=True))
    recorded_by: str = Field(max_length=200)
    recorded_at: datetime = instant()
