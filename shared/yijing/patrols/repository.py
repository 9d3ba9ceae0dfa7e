from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, exists, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.kit import repository as kit
from yijing.kit.pagination import PageParams
from yijing.patrols.models import Patrol, PatrolMember
from yijing.patrols.schemas import PatrolFilters
from yijing.volunteers.models import Volunteer, VolunteerStatus

# New and changed records that no declared unique constraint can refuse.
save = kit.save


def has_member(volunteer_id: uuid.UUID) -> ColumnElement[bool]:
    """The condition: the patrol has this volunteer as a member."""
    return exists().where(
        col(PatrolMember.patrol_id) == col(Patrol.id), col(PatrolMember.volunteer_id) == volunteer_id
    )


async def get(
    session: AsyncSession, patrol_id: uuid.UUID, reach: ColumnElement[bool], *, for_update: bool = False
) -> Patrol | None:
    return await kit.get(session, Patrol, patrol_id, reach, for_update=for_update)


async def list_patrols(
    session: AsyncSession, reach: ColumnElement[bool], filters: PatrolFilters, page: PageParams
) -> Sequence[Patrol]:
    """One query, whatever the filters, in id (planning) order."""
    conditions = kit.equal((Patrol.site_id, filters.site_id), (Patrol.route_id, filters.route_id))
    if filters.status:
        conditions.append(col(Patrol.status).in_(filters.status))
    if filters.starts_after is not None:
        conditions.append(col(Patrol.planned_start) >= filters.starts_after)
    if filters.starts_before is not None:
        conditions.append(col(Patrol.planned_start) < filters.starts_before)
    if filters.volunteer_id is not None:
        conditions.append(has_member(filters.volunteer_id))
    return await kit.fetch_page(session, select(Patrol).where(reach, *conditions), Patrol.id, page)


async def active_volunteers(
    session: AsyncSession, station_id: uuid.UUID, volunteer_ids: Sequence[uuid.UUID]
) -> Sequence[Volunteer]:
    """Those of the volunteers who are active volunteers of the station."""
    query = select(Volunteer).where(
        col(Volunteer.id).in_(volunteer_ids),
        col(Volunteer.station_id) == station_id,
        col(Volunteer.status) == VolunteerStatus.ACTIVE,
    )
    return (await session.scalars(query)).all()


async def add_members(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    await session.execute(insert(PatrolMember), list(rows))


async def members(session: AsyncSession, patrol_id: uuid.UUID) -> Sequence[tuple[PatrolMember, str]]:
    """The patrol's members with their names, by name."""
    query = (
        select(PatrolMember, col(Volunteer.name))
        .join(Volunteer, col(Volunteer.id) == col(PatrolMember.volunteer_id))
        .where(col(PatrolMember.patrol_id) == patrol_id)
        .order_by(col(Volunteer.name), col(Volunteer.id))
    )
    return [(member, name) for member, name in (await session.execute(query)).all()]


async def is_member(session: AsyncSession, patrol_id: uuid.UUID, volunteer_id: uuid.UUID) -> bool:
    member = await session.get(PatrolMember, (patrol_id, volunteer_id))
    return member is not None
