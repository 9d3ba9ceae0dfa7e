from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.access import StationScope
from yijing.groups.models import Group, GroupMembership
from yijing.groups.schemas import GroupFilters
from yijing.kit import repository as kit
from yijing.kit.pagination import PageParams
from yijing.kit.reads import LeanRow, Reader, mappings
from yijing.org.models import Station
from yijing.volunteers.models import Volunteer, VolunteerStatus

# New and changed records that no declared unique constraint can refuse.
save = kit.save


async def get(
    session: AsyncSession, group_id: uuid.UUID, scope: StationScope, *, for_update: bool = False
) -> Group | None:
    return await kit.get(session, Group, group_id, scope.clause(Group.station_id), for_update=for_update)


# A group's current members, counted in the query that reads the group.
_MEMBER_COUNT = (
    select(func.count())
    .where(col(GroupMembership.group_id) == col(Group.id), col(GroupMembership.left_at).is_(None))
    .scalar_subquery()
    .label("member_count")
)
# What a group's read model shows (GroupRead): its reads select only these.
SHOWN = (
    col(Group.id), col(Group.station_id), col(Group.site_id), col(Group.name), col(Group.target_size),
    col(Group.handoff_weekday), col(Group.handoff_time), col(Group.horizon_weeks), _MEMBER_COUNT,
    col(Group.version), col(Group.created_at), col(Group.updated_at),
)  # fmt: skip
_SHOWN = select(*SHOWN)  # built once: a select of many columns costs more to build than to run


def joined_by_user(user_id: uuid.UUID, group_id: Any = Group.id) -> ColumnElement[bool]:
    """The condition that ``group_id`` (a group id column) is the group the account's volunteer record is a
    member of now."""
    theirs = (
        select(col(GroupMembership.group_id))
        .join(Volunteer, col(Volunteer.id) == col(GroupMembership.volunteer_id))
        .where(col(Volunteer.user_id) == user_id, col(GroupMembership.left_at).is_(None))
    )
    return col(group_id).in_(theirs)


async def read(reader: Reader, group_id: uuid.UUID, reach: ColumnElement[bool]) -> LeanRow | None:
    """A group as its read model shows it (lean: see :func:`yijing.kit.repository.read`)."""
    return await kit.read(reader, _SHOWN.where(reach), Group.id, group_id)


async def list_groups(
    reader: Reader, scope: StationScope, filters: GroupFilters, page: PageParams
) -> list[LeanRow]:
    """A page of groups with their current member counts, in one query."""
    conditions = kit.equal((Group.station_id, filters.station_id), (Group.site_id, filters.site_id))
    if filters.updated_after is not None:
        conditions.append(col(Group.updated_at) > filters.updated_after)
    query = _SHOWN.where(scope.clause(Group.station_id), *conditions)
    return await kit.read_page(reader, query, Group.id, page)


# What the rota's reads need of a group: its planning horizon and its station's time zone.
_PLANNED = (
    select(col(Group.id), col(Group.station_id), col(Group.horizon_weeks), col(Station.timezone))
    .join(Station, col(Station.id) == col(Group.station_id))
)  # fmt: skip


async def read_planned(reader: Reader, group_id: uuid.UUID, reach: ColumnElement[bool]) -> LeanRow | None:
    return await kit.read(reader, _PLANNED.where(reach), Group.id, group_id)


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


# What a member's read model shows (MemberRead): the group's current members, in join order.
MEMBER_SHOWN: tuple[Any, ...] = (
    col(Volunteer.id).label("volunteer_id"), col(Volunteer.name), col(Volunteer.household_name),
    col(Volunteer.badge_number), col(Volunteer.phone_masked), col(GroupMembership.joined_at),
)  # fmt: skip
_MEMBERS = (
    select(*MEMBER_SHOWN)
    .join(Volunteer, col(Volunteer.id) == col(GroupMembership.volunteer_id))
    .where(col(GroupMembership.group_id) == bindparam("group_id"), col(GroupMembership.left_at).is_(None))
    .order_by(col(GroupMembership.joined_at), col(GroupMembership.id))
)
# The same with their phones sealed, for the one reader who sees them in full.
_MEMBERS_WITH_PHONES = _MEMBERS.add_columns(col(Volunteer.phone_sealed))


async def read_members(reader: Reader, group_id: uuid.UUID, *, phones: bool = False) -> list[LeanRow]:
    """:func:`members`, read lean; ``phones``: with each one's sealed phone."""
    return await mappings(reader, _MEMBERS_WITH_PHONES if phones else _MEMBERS, group_id=group_id)


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
