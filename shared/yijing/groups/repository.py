from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.access import StationScope
from yijing.groups.models import Group, GroupMembership
from yijing.groups.schemas import GroupFilters
from yijing.kit import repository as kit
from yijing.kit.pagination import PageParams
from yijing.volunteers.models import Volunteer, VolunteerStatus

# New and changed records that no declared unique constraint can refuse.
save = kit.save


async def get(
    session: AsyncSession, group_id: uuid.UUID, scope: StationScope, *, for_update: bool = False
) -> Group | None:
    return await kit.get(session, Group, group_id, scope.clause(Group.station_id), for_update=for_update)


async def list_groups(
    session: AsyncSession, scope: StationScope, filters: GroupFilters, page: PageParams
) -> Sequence[tuple[Group, int]]:
    """A page of groups with their current member counts, in one query."""
    members = (
        select(func.count())
        .where(col(GroupMembership.group_id) == col(Group.id), col(GroupMembership.left_at).is_(None))
        .scalar_subquery()
    )
    conditions = kit.equal((Group.station_id, filters.station_id), (Group.site_id, filters.site_id))
    if filters.updated_after is not None:
        conditions.append(col(Group.updated_at) > filters.updated_after)
    query = select(Group, members).where(scope.clause(Group.station_id), *conditions)
    rows = await session.execute(kit.keyset(query, Group.id, page))
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
    return await kit.one(
        session,
        GroupMembership,
        col(GroupMembership.volunteer_id) == volunteer_id,
        col(GroupMembership.left_at).is_(None),
        for_update=for_update,
    )


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
