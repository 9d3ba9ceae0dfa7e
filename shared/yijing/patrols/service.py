"""Patrols: planned shifts on a site's routes, their members and leader, and their lifecycle.

Reach: staff see their stations' patrols; a volunteer sees those of their own site (while active) and those
they are a member of. Staff plan, change and cancel patrols; staff or the patrol's members start and
complete it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, false, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.access import STAFF, Actor, Role, StationScope
from yijing.audit import service as audit
from yijing.errors import Forbidden, InvalidInput, check_version
from yijing.groups import repository as groups_repository
from yijing.ids import utcnow
from yijing.kit import repository as kit
from yijing.kit.lifecycle import Lifecycle
from yijing.kit.pagination import Page, PageParams, page_of
from yijing.kit.reads import LeanRow, Reader
from yijing.kit.versions import apply_changes
from yijing.org import repository as org_repository
from yijing.org.errors import SiteNotFound
from yijing.org.schemas import Location
from yijing.patrols import repository
from yijing.patrols.checkins.models import PatrolCheckin
from yijing.patrols.checkins.schemas import CheckinRead
from yijing.patrols.errors import PatrolNotFound, PatrolNotPlanned
from yijing.patrols.models import MAX_HOURS, MemberSource, Patrol, PatrolStatus
from yijing.patrols.routes import repository as routes_repository
from yijing.patrols.routes.errors import PatrolRouteNotFound, RouteRetired
from yijing.patrols.routes.models import PatrolCheckpoint, PatrolRoute
from yijing.patrols.routes.service import shows_codes
from yijing.patrols.schemas import (
    MAX_CALENDAR_DAYS,
    CalendarDay,
    CalendarPatrol,
    CancelAction,
    PatrolCalendar,
    PatrolCreate,
    PatrolDetail,
    PatrolFilters,
    PatrolMemberRead,
    PatrolRead,
    PatrolUpdate,
    TrackCheckpoint,
    TrackPoint,
    VolunteerPatrolFilters,
    VolunteerPatrolPage,
    VolunteerPatrolRead,
)
from yijing.rota import repository as rota_repository
from yijing.volunteers import repository as volunteers_repository
from yijing.volunteers import service as volunteers_service
from yijing.volunteers.models import Volunteer, VolunteerStatus

PATROL = "patrol"
LONGEST = timedelta(hours=MAX_HOURS)


class PatrolAction(StrEnum):
    START = "start"  # planned → in_progress: by staff or a member of the patrol
    COMPLETE = "complete"  # in_progress → completed: by staff or a member of the patrol
    CANCEL = "cancel"  # planned → cancelled: by staff, with a reason


# Completed, cancelled and missed are final; nothing here leads to missed (a later worker slice sets it).
LIFECYCLE = Lifecycle(
    PATROL,
    {
        PatrolAction.START: ({PatrolStatus.PLANNED}, PatrolStatus.IN_PROGRESS),
        PatrolAction.COMPLETE: ({PatrolStatus.IN_PROGRESS}, PatrolStatus.COMPLETED),
        PatrolAction.CANCEL: ({PatrolStatus.PLANNED}, PatrolStatus.CANCELLED),
    },
    subject_zh="巡防",
)


def _allowed(patrol: Patrol | LeanRow) -> list[str]:
    return [str(action) for action in LIFECYCLE.allowed(PatrolStatus(patrol.status))]


def read(patrol: Patrol | LeanRow) -> PatrolRead:
    return PatrolRead.of(patrol, _allowed(patrol))


async def detail(reader: Reader, patrol: Patrol | LeanRow) -> PatrolDetail:
    """The patrol with its members (read lean), from its record or a lean row of its columns."""
    members = [PatrolMemberRead.of(member) for member in await repository.members(reader, patrol.id)]
    return PatrolDetail.with_members(patrol, _allowed(patrol), members)


async def _record(
    session: AsyncSession, actor: Actor, action: str, patrol: Patrol, changes: dict[str, Any] | None = None
) -> None:
    await audit.record(
        session, actor, f"{PATROL}.{action}", target_type=PATROL, target_id=patrol.id,
        station_id=patrol.station_id, changes=changes,
    )  # fmt: skip


# Reach


async def patrol_reach(reader: Reader, actor: Actor) -> ColumnElement[bool]:
    """The SQL condition for the patrols the caller may see."""
    clause = actor.scope.clause(Patrol.station_id)
    if actor.role is not Role.VOLUNTEER:
        return clause
    volunteer = await volunteers_repository.active_volunteer_of(reader, actor.user_id)
    if volunteer is None:
        return false()
    mine = or_(col(Patrol.site_id) == volunteer.site_id, repository.has_member(volunteer.id))
    return and_(clause, mine)


def _not_found(patrol_id: uuid.UUID) -> PatrolNotFound:
    return PatrolNotFound(f"no patrol {patrol_id}", zh=f"未找到巡防 {patrol_id}")


async def get_patrol(session: AsyncSession, actor: Actor, patrol_id: uuid.UUID) -> Patrol:
    patrol = await repository.get(session, patrol_id, await patrol_reach(session, actor))
    if patrol is None:
        raise _not_found(patrol_id)
    return patrol


async def read_patrol(reader: Reader, actor: Actor, patrol_id: uuid.UUID) -> PatrolDetail:
    """A patrol within the caller's reach, with its members (read lean)."""
    row = await repository.read(reader, patrol_id, await patrol_reach(reader, actor))
    if row is None:
        raise _not_found(patrol_id)
    return await detail(reader, row)


async def check_reach(reader: Reader, actor: Actor, patrol_id: uuid.UUID) -> None:
    """404 unless the patrol is within the caller's reach (read lean: for reads of its check-ins or log)."""
    if not await kit.reaches(reader, Patrol, patrol_id, await patrol_reach(reader, actor)):
        raise _not_found(patrol_id)


async def list_patrols(
    reader: Reader, actor: Actor, filters: PatrolFilters, page: PageParams
) -> Page[PatrolRead]:
    patrols = await repository.list_patrols(reader, await patrol_reach(reader, actor), filters, page)
    return page_of(patrols, page.limit, read)


# Planning


def _check_times(start: datetime, end: datetime) -> None:
    if end <= start:
        raise InvalidInput.on(
            "body.planned_end", "must be after planned_start", "ends_before_start", zh="须晚于 planned_start"
        )
    if end - start > LONGEST:
        raise InvalidInput.on(
            "body.planned_end",
            f"a patrol lasts at most {MAX_HOURS} hours",
            "too_long",
            zh=f"一次巡防最长 {MAX_HOURS} 小时",
        )


async def _default_leader(
    session: AsyncSession, group_id: uuid.UUID | None, at: datetime, members: dict[uuid.UUID, MemberSource]
) -> uuid.UUID | None:
    """The group's captain for the week that contains ``at``, if a member."""
    if group_id is None:
        return None
    week = await rota_repository.week_at(session, group_id, at)
    return week.volunteer_id if week is not None and week.volunteer_id in members else None


def _not_a_member() -> InvalidInput:
    return InvalidInput.on(
        "body.leader_volunteer_id", "must be a member of the patrol", "not_a_member", zh="须是本次巡防的队员"
    )


@dataclass(frozen=True)
class Crew:
    """Who walks a patrol: its members (and how each came to be one) and its leader."""

    members: dict[uuid.UUID, MemberSource]
    leader: uuid.UUID | None


async def crew(
    session: AsyncSession,
    scope: StationScope,
    route: PatrolRoute,
    *,
    group_id: uuid.UUID | None,
    volunteer_ids: Sequence[uuid.UUID],
    leader_volunteer_id: uuid.UUID | None,
    start: datetime,
    lenient: bool = False,
) -> Crew:
    """A patrol's members: the volunteers named (each an active volunteer of the route's station) and the
    group's current members who are active volunteers; its leader: the one named (a member), else the
    group's captain for the week that contains ``start`` (if a member), else none.

    Planning refuses (422 naming the field) a volunteer who is not active, a group of another site, no
    members and a leader who is not a member. ``lenient`` is for a repeating plan's later days, checked
    when the plan was made: a named volunteer no longer active is left out, a named leader no longer a
    member gives way to the captain, and nobody left is an empty crew (no patrol that day)."""
    named = list(dict.fromkeys(volunteer_ids))
    active = await repository.active_volunteers(session, route.station_id, named)
    found = {volunteer.id for volunteer in active}
    unknown = [str(volunteer_id) for volunteer_id in named if volunteer_id not in found]
    if unknown and not lenient:
        message = f"not active volunteers of the route's station: {', '.join(unknown)}"
        zh = f"以下人员不是该路线所属派出所的在岗义警：{'、'.join(unknown)}"
        raise InvalidInput.on("body.volunteer_ids", message, "not_active_volunteer", zh=zh)
    members: dict[uuid.UUID, MemberSource] = {}
    if group_id is not None:
        group = await groups_repository.get(session, group_id, scope)
        if group is not None and group.site_id == route.site_id:
            for _, volunteer in await groups_repository.members(session, group.id):
                if volunteer.status is VolunteerStatus.ACTIVE:
                    members[volunteer.id] = MemberSource.GROUP
        elif not lenient:
            raise InvalidInput.on(
                "body.group_id",
                "is not a group of the route's site",
                "other_site",
                zh="不是该路线所在站点的分组",
            )
    members |= {volunteer_id: MemberSource.NAMED for volunteer_id in named if volunteer_id in found}
    if not members:
        if lenient:
            return Crew({}, None)
        raise InvalidInput.on(
            "body.volunteer_ids",
            "a patrol needs at least one member",
            "no_members",
            zh="一次巡防至少要有一名队员",
        )
    if leader_volunteer_id is not None and leader_volunteer_id in members:
        return Crew(members, leader_volunteer_id)
    if leader_volunteer_id is not None and not lenient:
        raise _not_a_member()
    return Crew(members, await _default_leader(session, group_id, start, members))


async def plan_patrol(session: AsyncSession, actor: Actor, data: PatrolCreate) -> Patrol:
    route = await routes_repository.get_route(session, data.route_id, actor.scope)
    if route is None:
        raise PatrolRouteNotFound(f"no patrol route {data.route_id}", zh=f"未找到巡防路线 {data.route_id}")
    if route.retired_at is not None:
        raise RouteRetired(
            f"the patrol route {route.id} is retired: no new patrols walk it",
            zh=f"巡防路线 {route.id} 已停用，不能再安排新的巡防",
        )
    _check_times(data.planned_start, data.planned_end)
    chosen = await crew(
        session, actor.scope, route, group_id=data.group_id, volunteer_ids=data.volunteer_ids,
        leader_volunteer_id=data.leader_volunteer_id, start=data.planned_start,
    )  # fmt: skip
    members, leader = chosen.members, chosen.leader
    patrol = Patrol(
        station_id=route.station_id, site_id=route.site_id, route_id=route.id, group_id=data.group_id,
        planned_start=data.planned_start, planned_end=data.planned_end, leader_volunteer_id=leader,
    )  # fmt: skip
    await repository.save(session, patrol)
    await repository.add_members(
        session,
        [
            {"patrol_id": patrol.id, "volunteer_id": volunteer_id, "source": source}
            for volunteer_id, source in members.items()
        ],
    )
    changes = data.model_dump(mode="json", exclude_none=True) | {
        "leader_volunteer_id": str(leader) if leader else None,
        "members": {str(volunteer_id): str(source) for volunteer_id, source in members.items()},
    }
    await _record(session, actor, "plan", patrol, changes)
    return patrol


# Changing


async def _patrol_to_change(
    session: AsyncSession, actor: Actor, patrol_id: uuid.UUID, expected_version: int | None
) -> Patrol:
    """The patrol, locked for this transaction, after the caller's If-Match is checked."""
    reach = await patrol_reach(session, actor)
    patrol = await repository.get(session, patrol_id, reach, for_update=True)
    if patrol is None:
        raise _not_found(patrol_id)
    check_version(patrol.version, expected_version)
    return patrol


async def update_patrol(
    session: AsyncSession,
    actor: Actor,
    patrol_id: uuid.UUID,
    data: PatrolUpdate,
    expected_version: int | None,
) -> Patrol:
    patrol = await _patrol_to_change(session, actor, patrol_id, expected_version)
    if patrol.status is not PatrolStatus.PLANNED:
        raise PatrolNotPlanned(
            f"the patrol is {patrol.status}: only a planned patrol changes",
            zh=f"该巡防的状态为 {patrol.status}，只有计划中的巡防可以修改",
            current_status=str(patrol.status),
        )
    updates: dict[str, Any] = data.model_dump(exclude_unset=True, exclude_none=True)
    if "leader_volunteer_id" in data.model_fields_set:  # given, even as null: null removes the leader
        updates["leader_volunteer_id"] = data.leader_volunteer_id
    _check_times(
        updates.get("planned_start", patrol.planned_start), updates.get("planned_end", patrol.planned_end)
    )
    leader = updates.get("leader_volunteer_id")
    if leader is not None and not await repository.is_member(session, patrol.id, leader):
        raise _not_a_member()
    changes = apply_changes(patrol, updates)
    if changes:
        await _record(session, actor, "update", patrol, changes)
    return patrol


async def _require_on_patrol(session: AsyncSession, actor: Actor, patrol: Patrol) -> None:
    """Staff act on any patrol they reach; a volunteer only on a patrol they are a member of."""
    if actor.role in STAFF:
        return
    volunteer = await volunteers_repository.active_volunteer_of(session, actor.user_id)
    if volunteer is None or not await repository.is_member(session, patrol.id, volunteer.id):
        raise Forbidden(
            "only station staff or the patrol's members start and complete it",
            zh="只有派出所工作人员或本次巡防的队员可以开始和结束巡防",
        )


async def take_action(
    session: AsyncSession,
    actor: Actor,
    patrol_id: uuid.UUID,
    action: PatrolAction,
    body: CancelAction | None,
    expected_version: int | None,
) -> Patrol:
    patrol = await _patrol_to_change(session, actor, patrol_id, expected_version)
    await _require_on_patrol(session, actor, patrol)
    previous = patrol.status
    target = LIFECYCLE.require(previous, action)
    now = utcnow()
    details: dict[str, Any] = {}
    match action:
        case PatrolAction.START:
            patrol.started_at = now
        case PatrolAction.COMPLETE:
            patrol.ended_at = now
        case PatrolAction.CANCEL:
            assert body is not None
            patrol.cancel_reason = body.reason
            details["reason"] = body.reason
    patrol.status = target
    patrol.version += 1
    patrol.updated_at = now
    await repository.save(session, patrol)
    await _record(session, actor, str(action), patrol, {"from": str(previous), "to": str(target), **details})
    return patrol


# Reads: a patrol's track, a volunteer's patrols, a site's calendar


def _track_point(
    checkin: PatrolCheckin, volunteer_name: str, checkpoint: PatrolCheckpoint | None, actor: Actor
) -> TrackPoint:
    named = None
    if checkpoint is not None:
        named = TrackCheckpoint(
            **checkpoint.model_dump(include={"id", "route_id", "name", "position", "radius_m"}),
            location=Location(latitude=checkpoint.latitude, longitude=checkpoint.longitude),
        )
    read_checkin = CheckinRead.of(checkin, show_code=shows_codes(actor))
    return TrackPoint(**read_checkin.model_dump(), volunteer_name=volunteer_name, checkpoint=named)


async def track(
    session: AsyncSession, actor: Actor, patrol_id: uuid.UUID, page: PageParams
) -> Page[TrackPoint]:
    """The patrol's check-ins in the order the devices captured them (not the order they arrived)."""
    patrol = await get_patrol(session, actor, patrol_id)
    rows = await repository.track(session, patrol.id, page)
    points = [_track_point(checkin, name, checkpoint, actor) for checkin, name, checkpoint in rows]
    return page_of(points, page.limit, lambda point: point)


_PATROL_SUMMARY = {"id", "site_id", "route_id", "planned_start", "planned_end", "status", "settled_at"}
_MEMBER_FIGURES = {"source", "verified_minutes", "verified_checkins", "first_verified_at", "last_verified_at"}


async def _patrols_of(
    session: AsyncSession,
    actor: Actor,
    volunteer: Volunteer,
    filters: VolunteerPatrolFilters,
    page: PageParams,
) -> VolunteerPatrolPage:
    reach = actor.scope.clause(Patrol.station_id)
    # The filters' days are the volunteer's station's.
    zone = await rota_repository.station_timezone(session, volunteer.station_id)
    rows = await repository.patrols_of_volunteer(session, volunteer.id, reach, zone, filters, page)
    items = [
        VolunteerPatrolRead(
            **patrol.model_dump(include=_PATROL_SUMMARY),
            **member.model_dump(include=_MEMBER_FIGURES),
            site_name=site_name,
            route_name=route_name,
            is_leader=patrol.leader_volunteer_id == volunteer.id,
        )
        for patrol, member, route_name, site_name in rows
    ]
    listed = page_of(items, page.limit, lambda item: item)
    total = await repository.verified_minutes_of_volunteer(session, volunteer.id, reach, zone, filters)
    return VolunteerPatrolPage(**listed.model_dump(), verified_minutes_total=total)


async def patrols_of_volunteer(
    session: AsyncSession,
    actor: Actor,
    volunteer_id: uuid.UUID,
    filters: VolunteerPatrolFilters,
    page: PageParams,
) -> VolunteerPatrolPage:
    """A volunteer's patrols, for staff who reach the volunteer's record."""
    volunteer = await volunteers_service.get_volunteer(session, actor, volunteer_id)
    return await _patrols_of(session, actor, volunteer, filters, page)


async def my_patrols(
    session: AsyncSession, actor: Actor, filters: VolunteerPatrolFilters, page: PageParams
) -> VolunteerPatrolPage:
    """The caller's own patrols (404 for an account linked to no volunteer record)."""
    volunteer = await volunteers_service.own_volunteer(session, actor)
    return await _patrols_of(session, actor, volunteer, filters, page)


def _check_calendar_range(first: date, last: date) -> None:
    if last < first:
        raise InvalidInput.on("query.to", "must be on or after from", "range_reversed", zh="不得早于 from")
    if (last - first).days >= MAX_CALENDAR_DAYS:
        message = f"a calendar shows at most {MAX_CALENDAR_DAYS} days, from and to included"
        zh = f"日历最多显示 {MAX_CALENDAR_DAYS} 天（含 from 和 to 当天）"
        raise InvalidInput.on("query.to", message, "range_too_long", zh=zh)


async def calendar(
    session: AsyncSession, actor: Actor, site_id: uuid.UUID, first: date, last: date
) -> PatrolCalendar:
    """A site's patrols by the day (in the station's time zone) they are planned to start: for staff who
    reach the site and for its own active volunteers."""
    _check_calendar_range(first, last)
    site = await org_repository.get_site(session, site_id, actor.scope)
    if site is None:
        raise SiteNotFound(f"no site {site_id}", zh=f"未找到站点 {site_id}")
    if actor.role is Role.VOLUNTEER:
        volunteer = await volunteers_repository.active_volunteer_of(session, actor.user_id)
        if volunteer is None or volunteer.site_id != site.id:
            raise Forbidden(
                "volunteers read the patrol calendar of their own site only",
                zh="义警只能查看本站点的巡防日历",
            )
    zone = await rota_repository.station_timezone(session, site.station_id)
    local = ZoneInfo(zone)
    days: dict[date, list[CalendarPatrol]] = {
        first + timedelta(days=offset): [] for offset in range((last - first).days + 1)
    }
    rows = await repository.calendar(session, site.id, zone, first, last)
    for day, patrol, route_name, leader_name, member_count in rows:
        days[day].append(
            CalendarPatrol(
                **patrol.model_dump(include={"id", "route_id", "status", "leader_volunteer_id"}),
                planned_start=patrol.planned_start.astimezone(local),
                planned_end=patrol.planned_end.astimezone(local),
                route_name=route_name,
                leader_name=leader_name,
                member_count=member_count,
            )
        )
    calendar_days = [CalendarDay(day=day, patrols=patrols) for day, patrols in days.items()]
    return PatrolCalendar(site_id=site.id, time_zone=zone, days=calendar_days)
