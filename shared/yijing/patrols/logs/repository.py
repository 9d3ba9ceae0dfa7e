from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.kit import repository as kit
from yijing.kit.pagination import PageParams
from yijing.kit.reads import LeanRow, Reader, mappings
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


# What an entry's read model shows (LogRead, less its photos).
SHOWN = (
    col(PatrolLog.id), col(PatrolLog.station_id), col(PatrolLog.patrol_id), col(PatrolLog.client_id),
    col(PatrolLog.author_id), col(PatrolLog.volunteer_id), col(PatrolLog.kind), col(PatrolLog.topic),
    col(PatrolLog.people), col(PatrolLog.text), col(PatrolLog.latitude), col(PatrolLog.longitude),
    col(PatrolLog.occurred_at), col(PatrolLog.received_at), col(PatrolLog.hazard_id),
    col(PatrolLog.dispute_id),
)  # fmt: skip
_SHOWN = select(*SHOWN)  # built once: a select of many columns costs more to build than to run


async def read(reader: Reader, patrol_id: uuid.UUID, log_id: uuid.UUID) -> LeanRow | None:
    """The patrol's entry as its read model shows it (lean: see :func:`yijing.kit.repository.read`)."""
    return await kit.read(reader, _SHOWN.where(col(PatrolLog.patrol_id) == patrol_id), PatrolLog.id, log_id)


async def list_logs(
    reader: Reader, patrol_id: uuid.UUID, filters: LogFilters, page: PageParams
) -> list[LeanRow]:
    conditions = kit.equal((PatrolLog.kind, filters.kind), (PatrolLog.volunteer_id, filters.volunteer_id))
    query = _SHOWN.where(col(PatrolLog.patrol_id) == patrol_id, *conditions)
    return await kit.read_page(reader, query, PatrolLog.id, page)


# What a photo's read model shows (LogPhotoRead, less its link).
PHOTO_SHOWN = (
    col(PatrolLogPhoto.id), col(PatrolLogPhoto.log_id), col(PatrolLogPhoto.media_type),
    col(PatrolLogPhoto.size_bytes), col(PatrolLogPhoto.width), col(PatrolLogPhoto.height),
    col(PatrolLogPhoto.sha256), col(PatrolLogPhoto.gps_stripped), col(PatrolLogPhoto.file_name),
    col(PatrolLogPhoto.uploaded_by), col(PatrolLogPhoto.created_at),
)  # fmt: skip
_PHOTOS = select(*PHOTO_SHOWN).order_by(col(PatrolLogPhoto.id))


async def photos_of(reader: Reader, log_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[LeanRow]]:
    """The entries' photos, in the order they were added, in one query (read lean)."""
    if not log_ids:
        return {}
    rows = await mappings(reader, _PHOTOS.where(col(PatrolLogPhoto.log_id).in_(log_ids)))
    photos: dict[uuid.UUID, list[LeanRow]] = {log_id: [] for log_id in log_ids}
    for photo in rows:
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
