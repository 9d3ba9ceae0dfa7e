from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.kit import repository as kit
from yijing.outbox.models import OutboxMessage

# New and changed records that no declared unique constraint can refuse.
save = kit.save
save_all = kit.save_all


async def lock_pending(
    session: AsyncSession, *, limit: int, ids: Sequence[uuid.UUID] | None = None
) -> Sequence[OutboxMessage]:
    """Pending rows, oldest first, locked for this transaction. Rows another relay holds are skipped, so
    concurrent relays (API after-commit kicks and the worker's cron) never send the same row at once."""
    query = (
        select(OutboxMessage)
        .where(col(OutboxMessage.relayed_at).is_(None))
        .order_by(col(OutboxMessage.created_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if ids is not None:
        query = query.where(col(OutboxMessage.id).in_(ids))
    return (await session.scalars(query)).all()


async def count_pending(session: AsyncSession) -> int:
    query = select(func.count()).select_from(OutboxMessage).where(col(OutboxMessage.relayed_at).is_(None))
    return int(await session.scalar(query) or 0)


async def delete_relayed_before(session: AsyncSession, cutoff: datetime) -> int:
    result = await session.execute(delete(OutboxMessage).where(col(OutboxMessage.relayed_at) < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
