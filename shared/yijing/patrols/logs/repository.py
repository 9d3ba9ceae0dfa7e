from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.kit import repository as kit
from yijing.kit.pagination import PageParams
from yijing.patrols.logs.models import PatrolLog, PatrolLogPhoto
from yijing.patrols.logs.schemas import LogFilters

# Entries and photos: their unique keys are answered by the service (a resend returns the stored one).
save = kit.save


async def by_client_id(
    session: AsyncSession, station_id: uuid.UUID, client_id: uuid.UUID
) -> PatrolLog | None:
    return await kit.one(
        session, PatrolLog, col(PatrolLog.station_id) == station_id, col(PatrolLog.client_id) == client_id
    )


async def get(session: AsyncSession, patrol_id: uuid.UUID, log_id: uuid.UUID) -> PatrolLog | None:
    return await kit.get(session, PatrolLog, log_id, col(PatrolLog.patrol_id) == patrol_id)


async def list_logs(
    session: AsyncSession, patrol_id: uuid.UUID, filters: LogFilters, page: PageParams
) -> Sequence[PatrolLog]:
    conditions = kit.equal((PatrolLog.kind, filters.kind), (PatrolLog.volunteer_id, filters.volunteer_id))
    query = select(PatrolLog).where(col(PatrolLog.patrol_id) == patrol_id, *conditions)
    return await kit.fetch_page(session, query, PatrolLog.id, page)


async def photos_of(
    session: AsyncSession, log_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[PatrolLogPhoto]]:
    """The entries' photos, in the order they were added, in one query."""
    query = (
        select(PatrolLogPhoto).where(col(PatrolLogPhoto.log_id).in_(log_ids)).order_by(col(PatrolLogPhoto.id))
    )
    photos: dict[uuid.UUID, list[PatrolLogPhoto]] = {log_id: [] for log_id in log_ids}
    for photo in await session.scalars(query):
        photos[photo.log_id].append(photo)
    return photos


async def photo_by_upload(
    session: AsyncSession, log_id: uuid.UUID, upload_sha256: str, gps_stripped: bool
) -> PatrolLogPhoto | None:
    return await kit.one(
        session,
        PatrolLogPhoto,
        col(PatrolLogPhoto.log_id) == log_id,
        col(PatrolLogPhoto.upload_sha256) == upload_sha256,
        col(PatrolLogPhoto.gps_stripped) == gps_stripped,
    )


async def get_photo(session: AsyncSession, log_id: uuid.UUID, photo_id: uuid.UUID) -> PatrolLogPhoto | None:
    return await kit.get(session, PatrolLogPhoto, photo_id, col(PatrolLogPhoto.log_id) == log_id)
