from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.access import StationScope
from yijing.groups.models import Group, GroupMembership
from yijing.volunteers.models import Volunteer, VolunteerStatus


async def add(session: AsyncSession, record: Group | GroupMembership) -> None:
    session.add(record)
    await session.flush()


async def get(
    session: AsyncSession, group_id: uuid.UUID, scope: StationScope, *, for_update: bool = False
) -> Group | None:
    query = select(Group).where(col(Group.id) == group_id, scope.clause(Group.station_id))
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()


async def list_groups(
    session: AsyncSession,
    scope: StationScope,
    *,
    limit: int,
    after_id: uuid.UUID | None,
    station_id: uuid.UUID | None = None,
    site_id: uuid.UUID | None = None,
    updated_after: datetime | None = None,
) -> Sequence[tuple[Group, int]]:
    """A page of groups with their current member counts, in one query."""
    members = (
        select(func.count())
        .where(col(GroupMembership.group_id) == col(Group.id), col(GroupMembership.left_at).is_(None))
        .scalar_subquery()
    )
    query = select(Group, members).where(scope.clause(Group.station_id))
    if station_id is not None:
        query = query.where(col(Group.station_id) == station_id)
    if site_id is not None:
        query = query.where(col(Group.site_id) == site_id)
    if updated_after is not None:
        query = query.where(col(Group.updated_at) > updated_after)
    if after_id is not None:
        query = query.where(col(Group.id) > after_id)
    rows = await session.execute(query.order_by(col(Group.id)).limit(limit + 1))
    return [(group, count) for group, count in rows.all()]


async def member_count(session: AsyncSession, group_id: uuid.UUID) -> int:
    query = select(func.count()).where(
        col(GroupMembership.group_id) == group_id, col(GroupMembership.left_at).is_(None)
    )
    return int(await session.scalar(query) or 0)


async def group_names(session: AsyncSession, site_id: uuid.UUID) -> set[str]:
    return set((await session.scalars(select(col(Group.name)).where(col(Group.site_id) == site_id))).all())


async def open_membership(
    session: AsyncSession, volunteer_id: uuid.UUID, *, for_update: bool = False
) -> GroupMembership | None:
    query = select(GroupMembership).where(
        col(GroupMembership.volunteer_id) == volunteer_id, col(GroupMembership.left_at).is_(None)
    )
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()


async def members(session: AsyncSession, group_id: uuid.UUID) -> Sequence[tuple[GroupMembership, Volunteer]]:
    query = (
        select(GroupMembership, Volunteer)
        .join(Volunteer, col(Volunteer.id) == col(GroupMembership.volunteer_id))
        .where(col(GroupMembership.group_id) == group_id, col(GroupMembership.left_at).is_(None))
        .order_by(col(GroupMembership.joined_at), col(GroupMembership.id))
    )
    return [(membership, volunteer) for membership, volunteer in (await session.execute(query)).all()]


async def ungrouped_active_volunteers(session: AsyncSession, site_id: uuid.UUID) -> Sequence[Volunteer]:
    """The site's active volunteers in no group, in stall or household order (then badge, then enrolment)."""
    grouped = select(col(GroupMembership.volunteer_id)).where(col(GroupMembership.left_at).is_(None))
    query = (
        select(Volunteer)
        .where(
            col(Volunteer.site_id) == site_id,
            col(Volunteer.status) == VolunteerStatus.ACTIVE,
            col(Volunteer.id).not_in(grouped),
        )
        .order_by(
            col(Volunteer.household_name).nulls_last(),
            col(Volunteer.badge_number).nulls_last(),
            col(Volunteer.id),
        )
    )
    return (await session.scalars(query)).all()
