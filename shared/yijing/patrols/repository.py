from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any, TypeVarTuple

from sqlalchemy import (
    ColumnElement,
    Date,
    DateTime,
    bindparam,
    cast,
    exists,
    func,
    insert,
    literal,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.kit import repository as kit
from yijing.kit.pagination import PageParams
from yijing.kit.reads import LeanRow, Reader, mappings
from yijing.org.models import Site
from yijing.patrols.checkins.models import PatrolCheckin
from yijing.patrols.models import Patrol, PatrolMember
from yijing.patrols.routes.models import PatrolCheckpoint, PatrolRoute
from yijing.patrols.schemas import PatrolFilters, VolunteerPatrolFilters
from yijing.volunteers.models import Volunteer, VolunteerStatus

Columns = TypeVarTuple("Columns")

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


# What a patrol's read model shows (PatrolRead): a get and a list read only these.
SHOWN = (
    col(Patrol.id), col(Patrol.station_id), col(Patrol.site_id), col(Patrol.route_id), col(Patrol.group_id),
    col(Patrol.planned_start), col(Patrol.planned_end), col(Patrol.leader_volunteer_id), col(Patrol.status),
    col(Patrol.started_at), col(Patrol.ended_at), col(Patrol.cancel_reason), col(Patrol.plan_id),
    col(Patrol.plan_day), col(Patrol.auto_closed), col(Patrol.settled_at), col(Patrol.version),
    col(Patrol.created_at), col(Patrol.updated_at),
)  # fmt: skip
_SHOWN = select(*SHOWN)  # built once: a select of many columns costs more to build than to run


async def read(reader: Reader, patrol_id: uuid.UUID, reach: ColumnElement[bool]) -> LeanRow | None:
    """A patrol as its read model shows it (lean: see :func:`yijing.kit.repository.read`)."""
    return await kit.read(reader, _SHOWN.where(reach), Patrol.id, patrol_id)


async def list_patrols(
    reader: Reader, reach: ColumnElement[bool], filters: PatrolFilters, page: PageParams
) -> list[LeanRow]:
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
    return await kit.read_page(reader, _SHOWN.where(reach, *conditions), Patrol.id, page)


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


_MEMBERS = (
    select(col(PatrolMember.volunteer_id), col(Volunteer.name), col(PatrolMember.source))
    .join(Volunteer, col(Volunteer.id) == col(PatrolMember.volunteer_id))
    .where(col(PatrolMember.patrol_id) == bindparam("patrol_id"))
    .order_by(col(Volunteer.name), col(Volunteer.id))
)


async def members(reader: Reader, patrol_id: uuid.UUID) -> list[LeanRow]:
    """The patrol's members (volunteer id, name, source), by name."""
    return await mappings(reader, _MEMBERS, patrol_id=patrol_id)


async def is_member(session: AsyncSession, patrol_id: uuid.UUID, volunteer_id: uuid.UUID) -> bool:
    member = await session.get(PatrolMember, (patrol_id, volunteer_id))
    return member is not None


# Reads


def _local_start(zone: str, day: date, *, days_later: int = 0) -> ColumnElement[Any]:
    """The instant a day starts in the time zone (computed by PostgreSQL, which also handles the calendar's
    last day and DST changes)."""
    return func.timezone(zone, cast(literal(day, Date) + days_later, DateTime))


def _starts_within(zone: str, first: date | None, last: date | None) -> list[ColumnElement[bool]]:
    """Patrols planned to start from the day ``first`` to the day ``last`` (both included) in the zone."""
    conditions = []
    if first is not None:
        conditions.append(col(Patrol.planned_start) >= _local_start(zone, first))
    if last is not None:
        conditions.append(col(Patrol.planned_start) < _local_start(zone, last, days_later=1))
    return conditions


async def track(
    session: AsyncSession, patrol_id: uuid.UUID, page: PageParams
) -> Sequence[tuple[PatrolCheckin, str, PatrolCheckpoint | None]]:
    """A page of the patrol's check-ins in capture order, each with its volunteer's name and the checkpoint
    its code names (on any route)."""
    query = (
        select(PatrolCheckin, col(Volunteer.name), PatrolCheckpoint)
        .join(Volunteer, col(Volunteer.id) == col(PatrolCheckin.volunteer_id))
        .outerjoin(PatrolCheckpoint, col(PatrolCheckpoint.id) == col(PatrolCheckin.checkpoint_id))
        .where(col(PatrolCheckin.patrol_id) == patrol_id)
    )
    rows = await session.execute(kit.keyset(query, PatrolCheckin.id, page, by=PatrolCheckin.captured_at))
    return [(checkin, name, checkpoint) for checkin, name, checkpoint in rows.all()]


def _volunteer_patrols(
    volunteer_id: uuid.UUID, reach: ColumnElement[bool], zone: str, filters: VolunteerPatrolFilters
) -> list[ColumnElement[bool]]:
    conditions = [
        reach,
        col(PatrolMember.patrol_id) == col(Patrol.id),
        col(PatrolMember.volunteer_id) == volunteer_id,
        *_starts_within(zone, filters.first, filters.last),
    ]
    if filters.status:
        conditions.append(col(Patrol.status).in_(filters.status))
    return conditions


async def patrols_of_volunteer(
    session: AsyncSession,
    volunteer_id: uuid.UUID,
    reach: ColumnElement[bool],
    zone: str,
    filters: VolunteerPatrolFilters,
    page: PageParams,
) -> Sequence[tuple[Patrol, PatrolMember, str, str]]:
    """A page of the volunteer's patrols, newest planned start first, each with the volunteer's membership
    (its verified figures), the route's name and the site's."""
    query = (
        select(Patrol, PatrolMember, col(PatrolRoute.name), col(Site.name))
        .select_from(Patrol)
        .join(PatrolRoute, col(PatrolRoute.id) == col(Patrol.route_id))
        .join(Site, col(Site.id) == col(Patrol.site_id))
        .where(*_volunteer_patrols(volunteer_id, reach, zone, filters))
    )
    newest_first = kit.keyset(query, Patrol.id, page, newest_first=True, by=Patrol.planned_start)
    rows = await session.execute(newest_first)
    return [(patrol, member, route, site) for patrol, member, route, site in rows.all()]


async def verified_minutes_of_volunteer(
    session: AsyncSession,
    volunteer_id: uuid.UUID,
    reach: ColumnElement[bool],
    zone: str,
    filters: VolunteerPatrolFilters,
) -> int:
    """The volunteer's verified minutes over every patrol the filters match."""
    query = select(func.coalesce(func.sum(col(PatrolMember.verified_minutes)), 0)).where(
        *_volunteer_patrols(volunteer_id, reach, zone, filters)
    )
    return int(await session.scalar(query) or 0)


async def calendar(
    session: AsyncSession, site_id: uuid.UUID, zone: str, first: date, last: date
) -> Sequence[tuple[date, Patrol, str, str | None, int]]:
    """The site's patrols planned to start from the day ``first`` to ``last`` in the zone, in start order,
    each with its local day, route name, leader's name and member count."""
    day = func.date(func.timezone(zone, col(Patrol.planned_start)), type_=Date)
    members = select(func.count()).where(col(PatrolMember.patrol_id) == col(Patrol.id)).scalar_subquery()
    query = (
        select(day, Patrol, col(PatrolRoute.name), col(Volunteer.name), members)
        .join(PatrolRoute, col(PatrolRoute.id) == col(Patrol.route_id))
        .outerjoin(Volunteer, col(Volunteer.id) == col(Patrol.leader_volunteer_id))
        .where(col(Patrol.site_id) == site_id, *_starts_within(zone, first, last))
        .order_by(col(Patrol.planned_start), col(Patrol.id))
    )
    rows = await session.execute(query)
    return [(day, patrol, route, leader, count) for day, patrol, route, leader, count in rows.all()]
