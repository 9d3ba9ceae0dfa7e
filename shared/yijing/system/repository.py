from __future__ import annotations

import os
import socket
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.system.models import Heartbeat


async def record_heartbeat(session: AsyncSession, minute: datetime) -> bool:
    """Insert the minute's heartbeat unless one exists. True when this call recorded it."""
    statement = (
        insert(Heartbeat)
        .values(minute=minute, recorded_by=f"{socket.gethostname()}:{os.getpid()}")
        .on_conflict_do_nothing(index_elements=["minute"])
    )
    result = await session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def delete_heartbeats_before(session: AsyncSession, cutoff: datetime) -> int:
    result = await session.execute(delete(Heartbeat).where(col(Heartbeat.minute) < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
