from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.kit import repository as kit
from yijing.kit.pagination import PageParams
from yijing.patrols.checkins.models import CheckinNote, PatrolCheckin
from yijing.patrols.checkins.schemas import CheckinFilters
from yijing.patrols.routes.models import PatrolCheckpoint

save = kit.save


async def by_client_ids(
    session: AsyncSession, station_id: uuid.UUID, client_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, PatrolCheckin]:
    query = select(PatrolCheckin).where(
        col(PatrolCheckin.station_id) == station_id, col(PatrolCheckin.client_id).in_(client_ids)
    )
    return {checkin.client_id: checkin for checkin in await session.scalars(query)}


async def checkpoints_with_codes(
    session: AsyncSession, station_id: uuid.UUID, codes: Sequence[str]
) -> dict[str, PatrolCheckpoint]:
    """The station's checkpoints that carry these codes (on any of its routes)."""
    query = select(PatrolCheckpoint).where(
        col(PatrolCheckpoint.station_id) == station_id, col(PatrolCheckpoint.code).in_(codes)
    )
    return {checkpoint.code: checkpoint for checkpoint in await session.scalars(query)}


async def insert_new(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> int:
    """One INSERT for the batch; a client_id stored meanwhile (the same batch sent at once) is skipped.
    Returns how many rows it stored."""
    statement = insert(PatrolCheckin).values(list(rows))
    result = await session.execute(
        statement.on_conflict_do_nothing(index_elements=["station_id", "client_id"])
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def get(
    session: AsyncSession, patrol_id: uuid.UUID, checkin_id: uuid.UUID, *, for_update: bool = False
) -> PatrolCheckin | None:
    reach = col(PatrolCheckin.patrol_id) == patrol_id
    return await kit.get(session, PatrolCheckin, checkin_id, reach, for_update=for_update)


async def list_checkins(
    session: AsyncSession, patrol_id: uuid.UUID, filters: CheckinFilters, page: PageParams
) -> Sequence[PatrolCheckin]:
    conditions = kit.equal(
        (PatrolCheckin.review, filters.review), (PatrolCheckin.volunteer_id, filters.volunteer_id)
    )
    query = select(PatrolCheckin).where(col(PatrolCheckin.patrol_id) == patrol_id, *conditions)
    return await kit.fetch_page(session, query, PatrolCheckin.id, page)


async def notes_of(session: AsyncSession, checkin_id: uuid.UUID) -> Sequence[CheckinNote]:
    """The check-in's notes, oldest first."""
    query = select(CheckinNote).where(col(CheckinNote.checkin_id) == checkin_id).order_by(col(CheckinNote.id))
    return (await session.scalars(query)).all()
