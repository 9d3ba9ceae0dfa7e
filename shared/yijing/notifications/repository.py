from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.ids import new_id
from yijing.kit import repository as kit
from yijing.kit.pagination import PageParams
from yijing.notifications.models import Notification
from yijing.notifications.schemas import NotificationFilters


async def insert_many(session: AsyncSession, rows: Sequence[Mapping[str, object]]) -> int:
    """Insert messages, skipping any a recipient already has under the same dedupe key."""
    if not rows:
        return 0
    statement = (
        insert(Notification)
        .values([{"id": new_id(), **row} for row in rows])
        .on_conflict_do_nothing(index_elements=["recipient_id", "dedupe_key"])
    )
    result = await session.execute(statement)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def list_for(
    session: AsyncSession, recipient_id: uuid.UUID, filters: NotificationFilters, page: PageParams
) -> Sequence[Notification]:
    """Newest first."""
    query = select(Notification).where(col(Notification.recipient_id) == recipient_id)
    if filters.unread:
        query = query.where(col(Notification.read_at).is_(None))
    return await kit.fetch_page(session, query, Notification.id, page, newest_first=True)


async def get_for(
    session: AsyncSession, recipient_id: uuid.UUID, notification_id: uuid.UUID
) -> Notification | None:
    mine = col(Notification.recipient_id) == recipient_id
    return await kit.get(session, Notification, notification_id, mine)


async def mark_all_read(session: AsyncSession, recipient_id: uuid.UUID, now: datetime) -> int:
    result = await session.execute(
        update(Notification)
        .where(col(Notification.recipient_id) == recipient_id, col(Notification.read_at).is_(None))
        .values(read_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
