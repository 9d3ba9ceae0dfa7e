"""Groups of ten: making them (by hand, or by partitioning a site's ungrouped volunteers), dated
membership, and what each caller may see of the members. Every change re-plans the group's rota in the
same transaction."""

from __future__ import annotations

import math
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false
from sqlalchemy.ext.asyncio import AsyncSession

from yijing import conflicts
from yijing.access import Actor, Role
from yijing.audit import service as audit
from yijing.errors import InvalidInput, check_version
from yijing.groups import repository
from yijing.groups.errors import AlreadyAMember, GroupNotFound, NotAMember, VolunteerNotServing
from yijing.groups.models import Group, GroupMembership
from yijing.groups.schemas import (
    AutoAssigned,
    GroupCreate,
    GroupFilters,
    GroupRead,
    GroupUpdate,
    MemberRead,
)
from yijing.ids import utcnow
from yijing.kit.pagination import Page, PageParams, page_of
from yijing.kit.reads import LeanRow, Reader
from yijing.kit.versions import apply_changes
from yijing.org import repository as org_repository
from yijing.org.errors import SiteNotFound
from yijing.personal import PersonalDataProtector
from yijing.rota import repository as rota_repository
from yijing.rota.reconcile import reconcile_group
from yijing.volunteers import repository as volunteer_repository
from yijing.volunteers.errors import VolunteerNotFound
from yijing.volunteers.models import Volunteer, VolunteerStatus


async def own_volunteer_id(session: AsyncSession, actor: Actor) -> uuid.UUID | None:
    """The volunteer record of a signed-in volunteer, if any."""
    principal = actor.principal
    if principal is None or principal.kind != "user":
        return None
    volunteer = await volunteer_repository.get_by_user(session, principal.id)
    return volunteer.id if volunteer else None


async def get_group(
    session: AsyncSession, actor: Actor, group_id: uuid.UUID, *, for_update: bool = False
) -> Group:
    """The group, if the caller reaches it: staff reach their stations' groups, a volunteer only their own."""
    group = await repository.get(session, group_id, actor.scope, for_update=for_update)
    if group is not None and actor.role is Role.VOLUNTEER:
        volunteer_id = await own_volunteer_id(session, actor)
        membership = await repository.open_membership(session, volunteer_id) if volunteer_id else None
        if membership is None or membership.group_id != group.id:
            group = None
    if group is None:
        raise _not_found(group_id)
    return group


def group_reach(
    actor: Actor, group_id: Any = Group.id, station_id: Any = Group.station_id
) -> ColumnElement[bool]:
    """The SQL condition for the groups the caller reaches, as :func:`get_group` decides it: staff their
    stations' groups, a volunteer only their own. On the group's columns, or on a record's of the group
    (``group_id`` and ``station_id``: a swap's, say)."""
    clause = actor.scope.clause(station_id)
    if actor.role is not Role.VOLUNTEER:
        return clause
    user_id = actor.user_id
    return and_(clause, repository.joined_by_user(user_id, group_id) if user_id is not None else false())


def _not_found(group_id: uuid.UUID) -> GroupNotFound:
    return GroupNotFound(f"no group {group_id}", zh=f"未找到小组 {group_id}")


async def read_group(reader: Reader, actor: Actor, group_id: uuid.UUID) -> GroupRead:
    """A group within the caller's reach, as its read model (read lean): a get's answer, and a write's once
    it has flushed its changes."""
    row = await repository.read(reader, group_id, group_reach(actor))
    if row is None:
        raise _not_found(group_id)
    return GroupRead.of(row, row.member_count)


async def planned_group(reader: Reader, actor: Actor, group_id: uuid.UUID) -> LeanRow:
    """A group within the caller's reach, as much of it as the rota's reads need (read lean): its id,
    station, horizon and station's time zone."""
    row = await repository.read_planned(reader, group_id, group_reach(actor))
    if row is None:
        raise _not_found(group_id)
    return row


async def list_groups(
    reader: Reader, actor: Actor, filters: GroupFilters, page: PageParams
) -> Page[GroupRead]:
    rows = await repository.list_groups(reader, actor.scope, filters, page)
    return page_of(rows, page.limit, lambda row: GroupRead.of(row, row.member_count))


async def create_group(session: AsyncSession, actor: Actor, data: GroupCreate) -> Group:
    site = await org_repository.get_site(session, data.site_id, actor.scope)
    if site is None:
        raise SiteNotFound(f"no site {data.site_id}", zh=f"未找到站点 {data.site_id}")
    group = Group(station_id=site.station_id, **data.model_dump())
    await conflicts.add(session, group)
    await audit.record(
        session, actor, "group.create", target_type="group", target_id=group.id, station_id=group.station_id,
        changes=data.model_dump(mode="json"),
    )  # fmt: skip
    await reconcile_group(session, group.id, utcnow())
    return group


async def update_group(
    session: AsyncSession, actor: Actor, group_id: uuid.UUID, data: GroupUpdate, expected_version: int | None
) -> Group:
    group = await get_group(session, actor, group_id, for_update=True)
    check_version(group.version, expected_version)
    updates = data.model_dump(exclude_unset=True, exclude_none=True)
    async with conflicts.changing(session, group):
        changed = apply_changes(group, updates)
    if changed:
        await audit.record(
            session, actor, "group.update", target_type="group", target_id=group.id,
            station_id=group.station_id, changes=changed,
        )  # fmt: skip
        await reconcile_group(session, group.id, utcnow())
    return group


async def list_members(
    session: AsyncSession, actor: Actor, group_id: uuid.UUID, protector: PersonalDataProtector
) -> list[MemberRead]:
    """Masked phones, except for the group's captain of the week, who calls the members (audited). Read
    lean."""
    group = await planned_group(session, actor, group_id)
    captain_view = False
    if actor.role is Role.VOLUNTEER:
        week = await rota_repository.read_turn_at(session, group.id, utcnow())
        captain_view = week is not None and week.volunteer_id == await own_volunteer_id(session, actor)
    if captain_view:
        await audit.record(
            session, actor, "group.members.contact_read", target_type="group", target_id=group.id,
            station_id=group.station_id, changes={"fields": ["phone"], "as": "captain"},
        )  # fmt: skip
    rows = await repository.read_members(session, group.id, phones=captain_view)
    if captain_view:
        return [MemberRead.of(row, protector.open(row.phone_sealed)) for row in rows]
    return [MemberRead.of(row) for row in rows]


async def _serving_volunteer(
    session: AsyncSession, actor: Actor, group: Group, volunteer_id: uuid.UUID
) -> Volunteer:
    volunteer = await volunteer_repository.get(session, volunteer_id, actor.scope, for_update=True)
    if volunteer is None or volunteer.station_id != group.station_id:
        raise VolunteerNotFound(
            f"no volunteer {volunteer_id} in the group's station",
            zh=f"小组所属派出所中未找到义警 {volunteer_id}",
        )
    if volunteer.site_id != group.site_id:
        raise InvalidInput(
            "a group's members serve at its site",
            zh="小组成员须在小组所在站点服勤",
            errors=[
                {
                    "field": "body.volunteer_id",
                    "message": "serves at another site",
                    "message_zh": "该义警在其他站点服勤",
                    "code": "other_site",
                }
            ],
        )
    if volunteer.status is not VolunteerStatus.ACTIVE:
        raise VolunteerNotServing(
            f"the volunteer is {volunteer.status}; only active volunteers join groups",
            zh=f"该义警状态为 {volunteer.status}，只有在岗义警才能加入小组",
        )
    return volunteer


async def _leave(session: AsyncSession, membership: GroupMembership, reason: str, now: datetime) -> None:
    membership.left_at = now
    membership.left_reason = reason
    await repository.save(session, membership)


async def add_member(
    session: AsyncSession, actor: Actor, group_id: uuid.UUID, volunteer_id: uuid.UUID
) -> GroupMembership:
    """Join, or move from another group (a dated leave there and join here)."""
    group = await get_group(session, actor, group_id, for_update=True)
    volunteer = await _serving_volunteer(session, actor, group, volunteer_id)
    now = utcnow()
    current = await repository.open_membership(session, volunteer.id, for_update=True)
    moved_from = None
    if current is not None:
        if current.group_id == group.id:
            raise AlreadyAMember(
                f"{volunteer.name} is in this group already", zh=f"{volunteer.name}已在本小组中"
            )
        moved_from = current.group_id
        await _leave(session, current, f"moved to {group.name}", now)
    membership = GroupMembership(group_id=group.id, volunteer_id=volunteer.id, joined_at=now)
    await repository.save(session, membership)
    await audit.record(
        session, actor, "group.member.join", target_type="group", target_id=group.id,
        station_id=group.station_id,
        changes={"volunteer_id": str(volunteer.id), "moved_from": str(moved_from) if moved_from else None},
    )  # fmt: skip
    if moved_from is not None:
        await reconcile_group(session, moved_from, now)
    await reconcile_group(session, group.id, now)
    return membership


async def remove_member(
    session: AsyncSession, actor: Actor, group_id: uuid.UUID, volunteer_id: uuid.UUID, reason: str
) -> None:
    group = await get_group(session, actor, group_id, for_update=True)
    membership = await repository.open_membership(session, volunteer_id, for_update=True)
    if membership is None or membership.group_id != group.id:
        raise NotAMember(
            f"volunteer {volunteer_id} is not in this group", zh=f"义警 {volunteer_id} 不在本小组中"
        )
    now = utcnow()
    await _leave(session, membership, reason, now)
    await audit.record(
        session, actor, "group.member.leave", target_type="group", target_id=group.id,
        station_id=group.station_id, changes={"volunteer_id": str(volunteer_id), "reason": reason},
    )  # fmt: skip
    await reconcile_group(session, group.id, now)


def balanced_sizes(count: int, target: int) -> list[int]:
    """Sizes of ceil(count / target) groups, as even as possible (23 by 10: 8, 8, 7), never a stub of one
    or two left over."""
    if count == 0:
        return []
    groups = math.ceil(count / target)
    base, extra = divmod(count, groups)
    return [base + 1] * extra + [base] * (groups - extra)


async def auto_assign(
    session: AsyncSession,
    actor: Actor,
    site_id: uuid.UUID,
    target_size: int,
    *,
    now: datetime | None = None,
    joined_at: datetime | None = None,
) -> AutoAssigned:
    """``now`` (when the rota is planned from) and ``joined_at`` (``now`` by default) let the demo backdate
    the groups to build a history."""
    # The site's row lock: two partitions at once would place the same volunteers twice.
    site = await org_repository.get_site(session, site_id, actor.scope, for_update=True)
    if site is None:
        raise SiteNotFound(f"no site {site_id}", zh=f"未找到站点 {site_id}")
    volunteers = list(await repository.ungrouped_active_volunteers(session, site.id))
    taken = await repository.group_names(session, site.id)
    now = now or utcnow()
    made: list[GroupRead] = []
    number = 0
    start = 0
    for size in balanced_sizes(len(volunteers), target_size):
        number += 1
        while f"第{number}组" in taken:
            number += 1
        group = Group(
            station_id=site.station_id, site_id=site.id, name=f"第{number}组", target_size=target_size
        )
        await conflicts.add(session, group)
        for volunteer in volunteers[start : start + size]:
            session.add(
                GroupMembership(group_id=group.id, volunteer_id=volunteer.id, joined_at=joined_at or now)
            )
        await session.flush()
        start += size
        await reconcile_group(session, group.id, now)
        made.append(GroupRead.of(group, size))
    await audit.record(
        session, actor, "group.auto_assign", target_type="site", target_id=site.id,
        station_id=site.station_id,
        changes={"groups": len(made), "assigned": len(volunteers), "target_size": target_size},
    )  # fmt: skip
    return AutoAssigned(groups=made, assigned=len(volunteers))
