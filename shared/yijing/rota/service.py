"""Reading the rota (who is captain when, past and planned weeks, fairness) and changing it by hand:
overrides by officers and volunteers' unavailability. Swaps live in rota.swaps, feeds in rota.calendar."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, false
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.access import Actor, Role, StationScope
from yijing.audit import service as audit
from yijing.errors import InvalidInput
from yijing.groups import repository as group_repository
from yijing.groups import service as groups
from yijing.groups.models import Group
from yijing.ids import station_today, utcnow
from yijing.kit.reads import Reader
from yijing.rota import repository
from yijing.rota.errors import CaptainWeekNotFound, UnavailabilityNotFound, WeekStarted
from yijing.rota.models import CaptainSource, CaptainWeek, Unavailability
from yijing.rota.reconcile import reconcile_group, tell_of_moves
from yijing.rota.schemas import (
    CaptainRead,
    CurrentCaptain,
    FairnessRow,
    OverrideRequest,
    UnavailabilityCreate,
    UnavailabilityRead,
    WeekRead,
    captain_turn,
)
from yijing.volunteers import repository as volunteer_repository
from yijing.volunteers.errors import VolunteerNotFound
from yijing.volunteers.models import Volunteer, VolunteerStatus

# The longest range GET …/rota returns at once.
MAX_ROTA_DAYS = 2 * 366


async def _zone(session: AsyncSession, station_id: uuid.UUID) -> ZoneInfo:
    return ZoneInfo(await repository.station_timezone(session, station_id))


async def captain_at(reader: Reader, actor: Actor, group_id: uuid.UUID, at: datetime | None) -> CaptainRead:
    group = await groups.planned_group(reader, actor, group_id)
    moment = at or utcnow()
    week = await repository.read_turn_at(reader, group.id, moment)
    if week is None:
        raise CaptainWeekNotFound(
            f"no captain week stored for {moment.isoformat()}: before the group's first week, beyond its "
            f"horizon of {group.horizon_weeks} weeks, or a week nobody in the group could serve",
            zh=f"{moment.isoformat()} 没有值班队长周记录：早于小组的第一周、"
            f"超出其 {group.horizon_weeks} 周的排班范围，或者该周小组中无人能值班",
        )
    zone = ZoneInfo(group.timezone)
    following = await repository.read_next_turn(reader, group.id, week.ends_at)
    turn = captain_turn(following, following.name, zone) if following else None
    return CaptainRead.of(week, zone, group.id, turn)


async def current_captains(
    reader: Reader,
    actor: Actor,
    *,
    station_id: uuid.UUID | None,
    site_id: uuid.UUID | None,
    at: datetime | None,
) -> list[CurrentCaptain]:
    rows = await repository.current_captains(
        reader, actor.scope, at or utcnow(), station_id=station_id, site_id=site_id
    )
    return [CurrentCaptain.of(row) for row in rows]


async def my_captain_weeks(reader: Reader, actor: Actor) -> list[CurrentCaptain]:
    """The caller's captain weeks now and ahead: while one runs, they hold the group's captain capability."""
    if actor.user_id is None:
        return []
    rows = await repository.captain_weeks_of_user(reader, actor.user_id, utcnow(), limit=52)
    return [CurrentCaptain.of(row) for row in rows]


async def rota(
    reader: Reader, actor: Actor, group_id: uuid.UUID, first: date | None, last: date | None
) -> list[WeekRead]:
    group = await groups.planned_group(reader, actor, group_id)
    zone = ZoneInfo(group.timezone)
    today = station_today(group.timezone)
    first = first or today - timedelta(weeks=4)
    last = last or today + timedelta(weeks=group.horizon_weeks + 1)
    if last < first or (last - first).days > MAX_ROTA_DAYS:
        raise InvalidInput(
            f"from must not be after to, and the range at most {MAX_ROTA_DAYS} days",
            zh=f"from 不能晚于 to，且范围最多 {MAX_ROTA_DAYS} 天",
            errors=[
                {"field": "query.to", "message": "out of range", "message_zh": "超出范围", "code": "range"}
            ],
        )
    now = utcnow()
    weeks = await repository.weeks_between(reader, group.id, first, last)
    return [WeekRead.of(week, week.name, zone, now) for week in weeks]


async def fairness(session: AsyncSession, actor: Actor, group_id: uuid.UUID) -> list[FairnessRow]:
    """Per member, current and former: weeks served, covered, swapped or overridden out, and planned."""
    group = await groups.get_group(session, actor, group_id)
    counts: dict[str, Counter[uuid.UUID]] = {
        key: Counter() for key in ("served", "covered", "swapped", "overridden", "planned")
    }
    for week, started in await repository.fairness_counts(session, group.id, utcnow()):
        if not started:
            counts["planned"][week.volunteer_id] += 1
            continue
        counts["served"][week.volunteer_id] += 1
        if week.volunteer_id != week.rotation_volunteer_id:
            counts["covered"][week.volunteer_id] += 1
            if week.source is CaptainSource.SWAP:
                counts["swapped"][week.rotation_volunteer_id] += 1
            elif week.source is CaptainSource.OVERRIDE:
                counts["overridden"][week.rotation_volunteer_id] += 1
    current = {membership.volunteer_id for membership, _ in await group_repository.members(session, group.id)}
    people = current | {volunteer for counter in counts.values() for volunteer in counter}
    names = await repository.volunteer_names(session, list(people))
    rows = [
        FairnessRow(
            volunteer_id=volunteer,
            name=names.get(volunteer, ""),
            member=volunteer in current,
            served=counts["served"][volunteer],
            covered_for_others=counts["covered"][volunteer],
            swapped_out=counts["swapped"][volunteer],
            overridden_out=counts["overridden"][volunteer],
            planned=counts["planned"][volunteer],
        )
        for volunteer in people
    ]
    return sorted(rows, key=lambda row: (not row.member, -row.served, row.name))


async def change_captain(
    session: AsyncSession,
    group: Group,
    week: CaptainWeek,
    volunteer_id: uuid.UUID,
    source: CaptainSource,
    reason: str,
) -> None:
    """Give a week that has not started to another member (an override or a swap), telling both."""
    previous = week.volunteer_id
    week.volunteer_id = volunteer_id
    week.source = source
    week.reason = reason
    week.sequence += 1
    week.updated_at = utcnow()
    await repository.save(session, week)
    moves = [(week.week_start, previous, volunteer_id)]
    await tell_of_moves(session, group, moves, f"{source}:{week.id}:{week.sequence}")


async def week_to_change(session: AsyncSession, group: Group, week_start: date) -> CaptainWeek:
    """A stored week that has not started, locked (the group's rota is brought up to date first)."""
    now = utcnow()
    await reconcile_group(session, group.id, now)
    week = await repository.week_by_start(session, group.id, week_start, for_update=True)
    if week is None:
        raise CaptainWeekNotFound(
            f"no captain week starting {week_start} in this group's rota",
            zh=f"本小组排班中没有从 {week_start} 开始的值班队长周",
        )
    if week.starts_at <= now:
        raise WeekStarted(
            f"the week starting {week_start} has begun: its captain is fixed",
            zh=f"从 {week_start} 开始的这一周已经开始，值班队长不能再更换",
        )
    return week


async def require_serving_member(
    session: AsyncSession, group: Group, volunteer_id: uuid.UUID, field: str
) -> Volunteer:
    membership = await group_repository.open_membership(session, volunteer_id)
    volunteer = await volunteer_repository.get(
        session, volunteer_id, StationScope(frozenset({group.station_id}))
    )
    if membership is None or membership.group_id != group.id or volunteer is None:
        raise InvalidInput(
            "the captain must be a member of the group",
            zh="值班队长必须是本小组成员",
            errors=[
                {
                    "field": field,
                    "message": "not a member of this group",
                    "message_zh": "不是本小组成员",
                    "code": "not_member",
                }
            ],
        )
    if volunteer.status is not VolunteerStatus.ACTIVE:
        raise InvalidInput(
            f"the volunteer is {volunteer.status}",
            zh=f"该义警状态为 {volunteer.status}",
            errors=[
                {
                    "field": field,
                    "message": "not an active volunteer",
                    "message_zh": "不是在岗义警",
                    "code": "not_active",
                }
            ],
        )
    return volunteer


async def override(
    session: AsyncSession, actor: Actor, group_id: uuid.UUID, week_start: date, data: OverrideRequest
) -> WeekRead:
    group = await groups.get_group(session, actor, group_id, for_update=True)
    week = await week_to_change(session, group, week_start)
    volunteer = await require_serving_member(session, group, data.volunteer_id, "body.volunteer_id")
    await change_captain(session, group, week, volunteer.id, CaptainSource.OVERRIDE, data.reason)
    await audit.record(
        session,
        actor,
        "captain.override",
        target_type="captain_week",
        target_id=week.id,
        station_id=group.station_id,
        changes={"volunteer_id": str(volunteer.id), "reason": data.reason},
    )
    return WeekRead.of(week, volunteer.name, await _zone(session, group.station_id), utcnow())


# Unavailability


async def volunteer_in_reach(session: AsyncSession, actor: Actor, volunteer_id: uuid.UUID) -> Volunteer:
    """Staff reach their stations' volunteers; a volunteer only their own record."""
    volunteer = await volunteer_repository.get(session, volunteer_id, actor.scope)
    if (
        volunteer is not None
        and actor.role is Role.VOLUNTEER
        and volunteer.id != await groups.own_volunteer_id(session, actor)
    ):
        volunteer = None
    if volunteer is None:
        raise VolunteerNotFound(f"no volunteer {volunteer_id}", zh=f"未找到义警 {volunteer_id}")
    return volunteer


async def _replan_group_of(session: AsyncSession, volunteer_id: uuid.UUID) -> None:
    membership = await group_repository.open_membership(session, volunteer_id)
    if membership is not None:
        await reconcile_group(session, membership.group_id, utcnow())


def volunteer_reach(actor: Actor) -> ColumnElement[bool]:
    """The SQL condition for the volunteers the caller reaches, as :func:`volunteer_in_reach` decides it."""
    clause = actor.scope.clause(Volunteer.station_id)
    if actor.role is not Role.VOLUNTEER:
        return clause
    user_id = actor.user_id
    return and_(clause, col(Volunteer.user_id) == user_id) if user_id is not None else false()


async def list_unavailability(
    reader: Reader, actor: Actor, volunteer_id: uuid.UUID
) -> list[UnavailabilityRead]:
    """The volunteer's unavailabilities (read lean)."""
    if not await repository.reached_volunteer(reader, volunteer_id, volunteer_reach(actor)):
        raise VolunteerNotFound(f"no volunteer {volunteer_id}", zh=f"未找到义警 {volunteer_id}")
    return [UnavailabilityRead.of(row) for row in await repository.unavailability_of(reader, volunteer_id)]


async def add_unavailability(
    session: AsyncSession, actor: Actor, volunteer_id: uuid.UUID, data: UnavailabilityCreate
) -> Unavailability:
    volunteer = await volunteer_in_reach(session, actor, volunteer_id)
    today = station_today(await repository.station_timezone(session, volunteer.station_id))
    problems = []
    if data.ends_on < data.starts_on:
        problems.append(
            {
                "field": "body.ends_on",
                "message": "is before starts_on",
                "message_zh": "早于 starts_on",
                "code": "range",
            }
        )
    elif (data.ends_on - data.starts_on).days > 366:
        problems.append(
            {
                "field": "body.ends_on",
                "message": "more than a year after starts_on",
                "message_zh": "比 starts_on 晚了一年以上",
                "code": "range",
            }
        )
    if data.ends_on < today:
        problems.append(
            {
                "field": "body.ends_on",
                "message": "is in the past",
                "message_zh": "已是过去的日期",
                "code": "past",
            }
        )
    if problems:
        raise InvalidInput.listing(problems)
    principal = actor.principal
    record = Unavailability(
        volunteer_id=volunteer.id,
        station_id=volunteer.station_id,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        reason=data.reason,
        created_by=principal.id if principal else None,
    )
    await repository.save(session, record)
    await audit.record(
        session,
        actor,
        "volunteer.unavailability.add",
        target_type="volunteer",
        target_id=volunteer.id,
        station_id=volunteer.station_id,
        changes=data.model_dump(mode="json"),
    )
    await _replan_group_of(session, volunteer.id)
    return record


async def remove_unavailability(
    session: AsyncSession, actor: Actor, volunteer_id: uuid.UUID, unavailability_id: uuid.UUID
) -> None:
    volunteer = await volunteer_in_reach(session, actor, volunteer_id)
    record = await repository.get_unavailability(session, unavailability_id, volunteer.id)
    if record is None:
        raise UnavailabilityNotFound(
            f"no unavailability {unavailability_id} for this volunteer",
            zh=f"该义警没有不可值班时段 {unavailability_id}",
        )
    if record.cancelled_at is not None:
        return
    record.cancelled_at = utcnow()
    await repository.save(session, record)
    await audit.record(
        session,
        actor,
        "volunteer.unavailability.remove",
        target_type="volunteer",
        target_id=volunteer.id,
        station_id=volunteer.station_id,
        changes={"id": str(unavailability_id)},
    )
    await _replan_group_of(session, volunteer.id)
