from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import column, func, inspect, or_, select, table, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.access import StationScope
from yijing.db import copy_records
from yijing.groups.models import GroupMembership
from yijing.volunteers.models import (
    Volunteer,
    VolunteerImport,
    VolunteerSource,
    VolunteerStatus,
    VolunteerStatusChange,
)


async def add(session: AsyncSession, record: Volunteer | VolunteerStatusChange | VolunteerImport) -> None:
    session.add(record)
    await session.flush()


async def get(
    session: AsyncSession, volunteer_id: uuid.UUID, scope: StationScope, *, for_update: bool = False
) -> Volunteer | None:
    query = select(Volunteer).where(col(Volunteer.id) == volunteer_id, scope.clause(Volunteer.station_id))
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()


async def get_by_user(
    session: AsyncSession, user_id: uuid.UUID, *, for_update: bool = False
) -> Volunteer | None:
    query = select(Volunteer).where(col(Volunteer.user_id) == user_id)
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def list_volunteers(
    session: AsyncSession,
    scope: StationScope,
    *,
    limit: int,
    after_id: uuid.UUID | None,
    station_id: uuid.UUID | None = None,
    site_id: uuid.UUID | None = None,
    status: VolunteerStatus | None = None,
    source: VolunteerSource | None = None,
    group_id: uuid.UUID | None = None,
    text: str | None = None,
    phone_fingerprint: str | None = None,
    updated_after: datetime | None = None,
) -> Sequence[Volunteer]:
    """One query, whatever the filters: a page of ``limit + 1`` rows in id order."""
    query = select(Volunteer).where(scope.clause(Volunteer.station_id))
    if station_id is not None:
        query = query.where(col(Volunteer.station_id) == station_id)
    if site_id is not None:
        query = query.where(col(Volunteer.site_id) == site_id)
    if status is not None:
        query = query.where(col(Volunteer.status) == status)
    if source is not None:
        query = query.where(col(Volunteer.source) == source)
    if group_id is not None:  # its current members
        members = select(col(GroupMembership.volunteer_id)).where(
            col(GroupMembership.group_id) == group_id, col(GroupMembership.left_at).is_(None)
        )
        query = query.where(col(Volunteer.id).in_(members))
    if text is not None:
        matches = [
            col(Volunteer.name).ilike(f"%{_escape_like(text)}%", escape="\\"),
            col(Volunteer.badge_number) == text.upper(),
        ]
        if text.isdigit() and len(text) == 4:  # the last four digits of a phone (all a masked phone shows)
            matches.append(col(Volunteer.phone_masked).endswith(text, autoescape=True))
        if phone_fingerprint is not None:
            matches.append(col(Volunteer.phone_fingerprint) == phone_fingerprint)
        query = query.where(or_(*matches))
    if updated_after is not None:
        query = query.where(col(Volunteer.updated_at) > updated_after)
    if after_id is not None:
        query = query.where(col(Volunteer.id) > after_id)
    return (await session.scalars(query.order_by(col(Volunteer.id)).limit(limit + 1))).all()


async def count_by_status_and_source(
    session: AsyncSession, scope: StationScope, *, station_id: uuid.UUID | None, site_id: uuid.UUID | None
) -> Sequence[tuple[VolunteerStatus, VolunteerSource, int]]:
    query = select(col(Volunteer.status), col(Volunteer.source), func.count()).where(
        scope.clause(Volunteer.station_id)
    )
    if station_id is not None:
        query = query.where(col(Volunteer.station_id) == station_id)
    if site_id is not None:
        query = query.where(col(Volunteer.site_id) == site_id)
    rows = await session.execute(query.group_by(col(Volunteer.status), col(Volunteer.source)))
    return [(status, source, count) for status, source, count in rows.all()]


async def count_at_site(session: AsyncSession, site_id: uuid.UUID) -> dict[VolunteerStatus, int]:
    query = (
        select(col(Volunteer.status), func.count())
        .where(col(Volunteer.site_id) == site_id)
        .group_by(col(Volunteer.status))
    )
    return {status: count for status, count in (await session.execute(query)).all()}


async def site_has_volunteers(session: AsyncSession, site_id: uuid.UUID) -> bool:
    query = select(col(Volunteer.id)).where(col(Volunteer.site_id) == site_id).limit(1)
    return await session.scalar(query) is not None


async def status_changes(session: AsyncSession, volunteer_id: uuid.UUID) -> Sequence[VolunteerStatusChange]:
    query = (
        select(VolunteerStatusChange)
        .where(col(VolunteerStatusChange.volunteer_id) == volunteer_id)
        .order_by(col(VolunteerStatusChange.occurred_at), col(VolunteerStatusChange.id))
    )
    return (await session.scalars(query)).all()


# Bulk enrolment


async def ids_by_id_card(
    session: AsyncSession, station_id: uuid.UUID, fingerprints: Iterable[str]
) -> dict[str, uuid.UUID]:
    query = select(col(Volunteer.id_card_fingerprint), col(Volunteer.id)).where(
        col(Volunteer.station_id) == station_id, col(Volunteer.id_card_fingerprint).in_(list(fingerprints))
    )
    return {card: volunteer_id for card, volunteer_id in (await session.execute(query)).all()}


async def ids_by_badge(
    session: AsyncSession, station_id: uuid.UUID, badge_numbers: Iterable[str]
) -> dict[str, uuid.UUID]:
    query = select(col(Volunteer.badge_number), col(Volunteer.id)).where(
        col(Volunteer.station_id) == station_id, col(Volunteer.badge_number).in_(list(badge_numbers))
    )
    return {badge: volunteer_id for badge, volunteer_id in (await session.execute(query)).all() if badge}


# Rows per INSERT: asyncpg takes at most 32,767 parameters in one statement.
_BATCH = 1_000


def _column_names(model: type[Volunteer | VolunteerStatusChange]) -> list[str]:
    return [column.name for column in inspect(model).columns]


async def _copy(
    session: AsyncSession, table: str, columns: Sequence[str], rows: Sequence[dict[str, Any]]
) -> None:
    records = [
        tuple(
            json.dumps(row[name], ensure_ascii=False) if name == "skills" else row[name] for name in columns
        )
        for row in rows
    ]
    await copy_records(session, table, columns, records)


async def insert_new(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> set[uuid.UUID]:
    """Insert volunteers (column values), skipping any that a concurrent writer enrolled meanwhile; the ids
    inserted. The rows are copied into a temporary table first: COPY is many times faster than INSERT."""
    if not rows:
        return set()
    staging = f"volunteers_incoming_{uuid.uuid4().hex}"
    await session.execute(text(f"CREATE TEMPORARY TABLE {staging} (LIKE volunteers) ON COMMIT DROP"))
    columns = _column_names(Volunteer)
    await _copy(session, staging, columns, rows)
    incoming = table(staging, *(column(name) for name in columns))
    query = (
        insert(Volunteer)
        .from_select(columns, select(incoming))
        .on_conflict_do_nothing()
        .returning(col(Volunteer.id))
    )
    return set((await session.scalars(query)).all())


async def insert_status_changes(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await _copy(session, VolunteerStatusChange.__tablename__, _column_names(VolunteerStatusChange), rows)


async def lock_station_imports(session: AsyncSession, station_id: uuid.UUID) -> None:
    """Held until the transaction ends."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": f"volunteer_import:{station_id}"},
    )


async def get_import(
    session: AsyncSession, import_id: uuid.UUID, *, for_update: bool = False
) -> VolunteerImport | None:
    return await session.get(VolunteerImport, import_id, with_for_update=for_update)
