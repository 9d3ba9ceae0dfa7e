from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from sqlalchemy import bindparam, column, func, inspect, or_, select, table, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.access import StationScope
from yijing.db import copy_records
from yijing.groups.models import GroupMembership
from yijing.kit import repository as kit
from yijing.kit.pagination import PageParams
from yijing.kit.reads import LeanRow, Reader, mappings
from yijing.volunteers.models import (
    Volunteer,
    VolunteerImport,
    VolunteerSource,
    VolunteerStatus,
    VolunteerStatusChange,
)
from yijing.volunteers.schemas import VolunteerFilters

# New and changed records that no declared unique constraint can refuse.
save = kit.save


async def get(
    session: AsyncSession, volunteer_id: uuid.UUID, scope: StationScope, *, for_update: bool = False
) -> Volunteer | None:
    reach = scope.clause(Volunteer.station_id)
    return await kit.get(session, Volunteer, volunteer_id, reach, for_update=for_update)


async def get_by_user(
    session: AsyncSession, user_id: uuid.UUID, *, for_update: bool = False
) -> Volunteer | None:
    return await kit.one(session, Volunteer, col(Volunteer.user_id) == user_id, for_update=for_update)


class ActiveVolunteer(NamedTuple):
    """An account's active volunteer record, as much of it as a volunteer's reach rests on."""

    id: uuid.UUID
    site_id: uuid.UUID
    name: str


_ACTIVE_VOLUNTEER = select(col(Volunteer.id), col(Volunteer.site_id), col(Volunteer.name)).where(
    col(Volunteer.user_id) == bindparam("user_id"), col(Volunteer.status) == VolunteerStatus.ACTIVE
)


async def active_volunteer_of(reader: Reader, user_id: uuid.UUID | None) -> ActiveVolunteer | None:
    """The account's volunteer record, if it has one and it is active (read lean: a volunteer's every call
    reads it)."""
    if user_id is None:
        return None
    rows = await mappings(reader, _ACTIVE_VOLUNTEER, user_id=user_id)
    return ActiveVolunteer(**rows[0]) if rows else None


_VOLUNTEER_ID = select(col(Volunteer.id)).where(col(Volunteer.user_id) == bindparam("user_id"))


async def volunteer_id_of(reader: Reader, user_id: uuid.UUID | None) -> uuid.UUID | None:
    """The account's volunteer record's id, whatever its status (read lean)."""
    if user_id is None:
        return None
    rows = await mappings(reader, _VOLUNTEER_ID, user_id=user_id)
    return rows[0].id if rows else None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# What a volunteer's read model shows (VolunteerRead): a list reads only these.
SHOWN = (
    col(Volunteer.id), col(Volunteer.station_id), col(Volunteer.site_id), col(Volunteer.name),
    col(Volunteer.gender), col(Volunteer.phone_masked), col(Volunteer.id_card_masked), col(Volunteer.source),
    col(Volunteer.household_name), col(Volunteer.household_address), col(Volunteer.badge_number),
    col(Volunteer.skills), col(Volunteer.joined_on), col(Volunteer.status), col(Volunteer.user_id),
    col(Volunteer.version), col(Volunteer.created_at), col(Volunteer.updated_at),
)  # fmt: skip
_SHOWN = select(*SHOWN)  # built once: a select of many columns costs more to build than to run


async def list_volunteers(
    reader: Reader,
    scope: StationScope,
    filters: VolunteerFilters,
    page: PageParams,
    *,
    phone_fingerprint: str | None = None,
) -> list[LeanRow]:
    """One query, whatever the filters, in id order. ``phone_fingerprint``: the search text's, when it is a
    whole mobile number (the number itself is stored sealed)."""
    conditions = kit.equal(
        (Volunteer.station_id, filters.station_id),
        (Volunteer.site_id, filters.site_id),
        (Volunteer.status, filters.status),
        (Volunteer.source, filters.source),
    )
    if filters.group_id is not None:  # its current members
        members = select(col(GroupMembership.volunteer_id)).where(
            col(GroupMembership.group_id) == filters.group_id, col(GroupMembership.left_at).is_(None)
        )
        conditions.append(col(Volunteer.id).in_(members))
    if (text := filters.q) is not None:
        matches = [
            col(Volunteer.name).ilike(f"%{_escape_like(text)}%", escape="\\"),
            col(Volunteer.badge_number) == text.upper(),
        ]
        if text.isdigit() and len(text) == 4:  # the last four digits of a phone (all a masked phone shows)
            matches.append(col(Volunteer.phone_masked).endswith(text, autoescape=True))
        if phone_fingerprint is not None:
            matches.append(col(Volunteer.phone_fingerprint) == phone_fingerprint)
        conditions.append(or_(*matches))
    if filters.updated_after is not None:
        conditions.append(col(Volunteer.updated_at) > filters.updated_after)
    query = _SHOWN.where(scope.clause(Volunteer.station_id), *conditions)
    return await kit.read_page(reader, query, Volunteer.id, page)


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
    return await kit.get(session, VolunteerImport, import_id, for_update=for_update)
