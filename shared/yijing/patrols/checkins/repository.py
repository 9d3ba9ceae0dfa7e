from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Uuid, any_, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.kit import repository as kit
from yijing.kit.pagination import PageParams
from yijing.kit.reads import LeanRow, Reader
from yijing.patrols.checkins.models import CheckinNote, PatrolCheckin
from yijing.patrols.checkins.schemas import CheckinFilters
from yijing.patrols.routes.models import PatrolCheckpoint

save = kit.save


def _with_client_ids(station_id: uuid.UUID, client_ids: Sequence[uuid.UUID]) -> list[ColumnElement[bool]]:
    # One array parameter, however many ids (an IN list would be a parameter each).
    ids = bindparam("client_ids", list(client_ids), type_=ARRAY(Uuid))
    return [col(PatrolCheckin.station_id) == station_id, col(PatrolCheckin.client_id) == any_(ids)]


async def fingerprints(
    session: AsyncSession, station_id: uuid.UUID, client_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """The fingerprints the station stores under these client_ids (a batch's check for what it holds)."""
    query = select(col(PatrolCheckin.client_id), col(PatrolCheckin.fingerprint))
    rows = await session.execute(query.where(*_with_client_ids(station_id, client_ids)))
    return {client_id: fingerprint for client_id, fingerprint in rows}


async def by_client_ids(
    session: AsyncSession, station_id: uuid.UUID, client_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, PatrolCheckin]:
    query = select(PatrolCheckin).where(*_with_client_ids(station_id, client_ids))
    return {checkin.client_id: checkin for checkin in await session.scalars(query)}


async def checkpoints_with_codes(
    session: AsyncSession, station_id: uuid.UUID, codes: Sequence[str]
) -> dict[str, PatrolCheckpoint]:
    """The station's checkpoints that carry these codes (on any of its routes)."""
    query = select(PatrolCheckpoint).where(
        col(PatrolCheckpoint.station_id) == station_id, col(PatrolCheckpoint.code).in_(codes)
    )
    return {checkpoint.code: checkpoint for checkpoint in await session.scalars(query)}


# A new check-in's columns and their types: a batch is inserted as one array per column, so that the
# statement is the same (prepared once, nothing to compile) whatever the batch's size.
_COLUMNS = {
    "id": "uuid", "station_id": "uuid", "patrol_id": "uuid", "volunteer_id": "uuid", "client_id": "uuid",
    "fingerprint": "varchar", "checkpoint_id": "uuid", "code": "varchar", "latitude": "float8",
    "longitude": "float8", "accuracy_m": "float8", "distance_m": "float8", "captured_at": "timestamptz",
    "received_at": "timestamptz", "flags": "jsonb", "review": "varchar",
}  # fmt: skip
# jsonb goes as text and is cast in SQL, whatever codec the driver has for jsonb.
_ARRAYS = ", ".join(
    "CAST(CAST(:flags AS text[]) AS jsonb[])" if name == "flags" else f"CAST(:{name} AS {kind}[])"
    for name, kind in _COLUMNS.items()
)
_INSERT = text(
    f"INSERT INTO patrol_checkins ({', '.join(_COLUMNS)}) SELECT * FROM unnest({_ARRAYS}) "
    "ON CONFLICT (station_id, client_id) DO NOTHING RETURNING client_id"
)


async def insert_new(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> set[uuid.UUID]:
    """One INSERT … SELECT FROM unnest(…) for the batch; a client_id stored meanwhile (the same batch sent
    at once) is skipped. Returns the client_ids of the check-ins it stored."""
    columns: dict[str, list[Any]] = {name: [row[name] for row in rows] for name in _COLUMNS}
    columns["flags"] = [json.dumps(flags, ensure_ascii=False) for flags in columns["flags"]]
    columns["review"] = [str(review) for review in columns["review"]]
    return set((await session.scalars(_INSERT, columns)).all())


async def get(
    session: AsyncSession, patrol_id: uuid.UUID, checkin_id: uuid.UUID, *, for_update: bool = False
) -> PatrolCheckin | None:
    reach = col(PatrolCheckin.patrol_id) == patrol_id
    return await kit.get(session, PatrolCheckin, checkin_id, reach, for_update=for_update)


# What a check-in's read model shows (CheckinRead; the code only to staff).
SHOWN = (
    col(PatrolCheckin.id), col(PatrolCheckin.patrol_id), col(PatrolCheckin.volunteer_id),
    col(PatrolCheckin.client_id), col(PatrolCheckin.checkpoint_id), col(PatrolCheckin.code),
    col(PatrolCheckin.latitude), col(PatrolCheckin.longitude), col(PatrolCheckin.accuracy_m),
    col(PatrolCheckin.distance_m), col(PatrolCheckin.captured_at), col(PatrolCheckin.received_at),
    col(PatrolCheckin.flags), col(PatrolCheckin.review), col(PatrolCheckin.reviewed_by),
    col(PatrolCheckin.reviewed_at), col(PatrolCheckin.review_note),
)  # fmt: skip
_SHOWN = select(*SHOWN)  # built once: a select of many columns costs more to build than to run


async def list_checkins(
    reader: Reader, patrol_id: uuid.UUID, filters: CheckinFilters, page: PageParams
) -> list[LeanRow]:
    conditions = kit.equal(
        (PatrolCheckin.review, filters.review), (PatrolCheckin.volunteer_id, filters.volunteer_id)
    )
    query = _SHOWN.where(col(PatrolCheckin.patrol_id) == patrol_id, *conditions)
    return await kit.read_page(reader, query, PatrolCheckin.id, page)


async def notes_of(session: AsyncSession, checkin_id: uuid.UUID) -> Sequence[CheckinNote]:
    """The check-in's notes, oldest first."""
    query = select(CheckinNote).where(col(CheckinNote.checkin_id) == checkin_id).order_by(col(CheckinNote.id))
    return (await session.scalars(query)).all()
