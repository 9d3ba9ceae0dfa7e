from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, case, exists, func, literal_column, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from yijing.access import StationScope
from yijing.groups.models import Group, GroupMembership
from yijing.ids import utcnow
from yijing.kit import repository as kit
from yijing.kit.pagination import PageParams
from yijing.kit.reads import LeanRow, Reader, mappings
from yijing.org.models import Site, Station
from yijing.rota.models import (
    CalendarFeed,
    CaptainNotice,
    CaptainSwap,
    CaptainWeek,
    SwapStatus,
    Unavailability,
)
from yijing.rota.swaps.schemas import SwapFilters
from yijing.volunteers.models import Volunteer, VolunteerStatus


async def lock_groups(
    session: AsyncSession, group_ids: Sequence[uuid.UUID], *, skip_locked: bool = False
) -> Sequence[Group]:
    """The groups' rows, locked, in id order: planning a rota is serialised per group. ``skip_locked`` leaves
    out the groups another transaction holds, instead of waiting for them."""
    query = (
        select(Group)
        .where(col(Group.id).in_(group_ids))
        .order_by(col(Group.id))
        .with_for_update(skip_locked=skip_locked)
    )
    return (await session.scalars(query)).all()


async def station_timezone(session: AsyncSession, station_id: uuid.UUID) -> str:
    zone = await session.scalar(select(col(Station.timezone)).where(col(Station.id) == station_id))
    assert zone is not None
    return zone


async def station_timezones(session: AsyncSession, station_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    query = select(col(Station.id), col(Station.timezone)).where(col(Station.id).in_(list(station_ids)))
    return {station_id: zone for station_id, zone in (await session.execute(query)).all()}


async def last_started_week_starts(
    session: AsyncSession, group_ids: Sequence[uuid.UUID], now: datetime
) -> dict[uuid.UUID, date]:
    """The start date of each group's last week that has started, for the groups that have one."""
    query = (
        select(col(CaptainWeek.group_id), func.max(col(CaptainWeek.week_start)))
        .where(col(CaptainWeek.group_id).in_(group_ids), col(CaptainWeek.starts_at) <= now)
        .group_by(col(CaptainWeek.group_id))
    )
    return {group_id: week_start for group_id, week_start in (await session.execute(query)).all()}


async def unstarted_weeks(session: AsyncSession, group_id: uuid.UUID, now: datetime) -> Sequence[CaptainWeek]:
    return (await unstarted_weeks_of(session, [group_id], now)).get(group_id, [])


async def unstarted_weeks_of(
    session: AsyncSession, group_ids: Sequence[uuid.UUID], now: datetime
) -> dict[uuid.UUID, list[CaptainWeek]]:
    """Each group's weeks that have not started, in order, locked."""
    query = (
        select(CaptainWeek)
        .where(col(CaptainWeek.group_id).in_(group_ids), col(CaptainWeek.starts_at) > now)
        .order_by(col(CaptainWeek.group_id), col(CaptainWeek.starts_at))
        .with_for_update()
    )
    weeks: dict[uuid.UUID, list[CaptainWeek]] = {}
    for week in (await session.scalars(query)).all():
        weeks.setdefault(week.group_id, []).append(week)
    return weeks


async def last_turns(
    session: AsyncSession, group_ids: Sequence[uuid.UUID], now: datetime
) -> dict[uuid.UUID, dict[uuid.UUID, datetime]]:
    """By group, when each member's last rota turn began, among weeks that have started."""
    query = (
        select(
            col(CaptainWeek.group_id),
            col(CaptainWeek.rotation_volunteer_id),
            func.max(col(CaptainWeek.starts_at)),
        )
        .where(col(CaptainWeek.group_id).in_(group_ids), col(CaptainWeek.starts_at) <= now)
        .group_by(col(CaptainWeek.group_id), col(CaptainWeek.rotation_volunteer_id))
    )
    turns: dict[uuid.UUID, dict[uuid.UUID, datetime]] = {}
    for group_id, volunteer_id, started in (await session.execute(query)).all():
        turns.setdefault(group_id, {})[volunteer_id] = started
    return turns


@dataclass(frozen=True)
class PlanningMembership:
    volunteer_id: uuid.UUID
    joined_at: datetime
    left_at: datetime | None
    status: VolunteerStatus


async def memberships_for_planning(
    session: AsyncSession, group_ids: Sequence[uuid.UUID], since: datetime
) -> dict[uuid.UUID, list[PlanningMembership]]:
    """By group, the memberships that may matter from ``since`` on, with each volunteer's status, in join
    order."""
    query = (
        select(
            col(GroupMembership.group_id),
            col(GroupMembership.volunteer_id),
            col(GroupMembership.joined_at),
            col(GroupMembership.left_at),
            col(Volunteer.status),
        )
        .join(Volunteer, col(Volunteer.id) == col(GroupMembership.volunteer_id))
        .where(
            col(GroupMembership.group_id).in_(group_ids),
            or_(col(GroupMembership.left_at).is_(None), col(GroupMembership.left_at) >= since),
        )
        .order_by(col(GroupMembership.joined_at), col(GroupMembership.id))
    )
    memberships: dict[uuid.UUID, list[PlanningMembership]] = {}
    for group_id, volunteer_id, joined_at, left_at, status in (await session.execute(query)).all():
        memberships.setdefault(group_id, []).append(
            PlanningMembership(volunteer_id, joined_at, left_at, status)
        )
    return memberships


async def unavailable_days(
    session: AsyncSession, volunteer_ids: Sequence[uuid.UUID], from_day: date
) -> dict[uuid.UUID, list[tuple[date, date]]]:
    query = select(
        col(Unavailability.volunteer_id), col(Unavailability.starts_on), col(Unavailability.ends_on)
    ).where(
        col(Unavailability.volunteer_id).in_(volunteer_ids),
        col(Unavailability.ends_on) >= from_day,
        col(Unavailability.cancelled_at).is_(None),
    )
    ranges: dict[uuid.UUID, list[tuple[date, date]]] = {}
    for volunteer_id, starts_on, ends_on in (await session.execute(query)).all():
        ranges.setdefault(volunteer_id, []).append((starts_on, ends_on))
    return ranges


# A batch of new weeks is inserted as one array per column, so that the statement is one, and the same
# (prepared once, nothing to compile), whatever the batch's size.
_WEEK_COLUMNS = (
    "id", "group_id", "station_id", "week_start", "starts_at", "ends_at", "volunteer_id",
    "rotation_volunteer_id", "source",
)  # fmt: skip
_INSERT_WEEKS = text(
    "INSERT INTO captain_weeks (id, group_id, station_id, week_start, starts_at, ends_at, volunteer_id, "
    "rotation_volunteer_id, source, sequence, created_at, updated_at) "
    "SELECT *, 0, :written_at, :written_at FROM unnest(CAST(:id AS uuid[]), CAST(:group_id AS uuid[]), "
    "CAST(:station_id AS uuid[]), CAST(:week_start AS date[]), CAST(:starts_at AS timestamptz[]), "
    "CAST(:ends_at AS timestamptz[]), CAST(:volunteer_id AS uuid[]), CAST(:rotation_volunteer_id AS uuid[]), "
    "CAST(:source AS varchar[])) "
    "ON CONFLICT DO NOTHING RETURNING id"
)


async def insert_weeks(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> int:
    """Materialise weeks in one INSERT … SELECT FROM unnest(…), skipping any that exist (a concurrent
    reconcile may have stored them); how many were new."""
    if not rows:
        return 0
    columns: dict[str, Any] = {name: [row[name] for row in rows] for name in _WEEK_COLUMNS}
    columns["source"] = [str(source) for source in columns["source"]]
    return len((await session.scalars(_INSERT_WEEKS, {**columns, "written_at": utcnow()})).all())


async def delete(session: AsyncSession, record: CaptainWeek) -> None:
    await session.delete(record)
    await session.flush()


async def user_ids_of(
    session: AsyncSession, volunteer_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    """The sign-in accounts of those volunteers that have one."""
    query = select(col(Volunteer.id), col(Volunteer.user_id)).where(
        col(Volunteer.id).in_(volunteer_ids), col(Volunteer.user_id).is_not(None)
    )
    rows = (await session.execute(query)).all()
    return {volunteer_id: user_id for volunteer_id, user_id in rows if user_id is not None}


@dataclass(frozen=True)
class DueWeek:
    id: uuid.UUID
    group_id: uuid.UUID
    week_start: date
    starts_at: datetime
    volunteer_id: uuid.UUID


async def weeks_due_for_notice(
    session: AsyncSession, group_ids: Sequence[uuid.UUID], now: datetime
) -> list[DueWeek]:
    """The groups' weeks starting within a day, or running now."""
    query = select(
        col(CaptainWeek.id),
        col(CaptainWeek.group_id),
        col(CaptainWeek.week_start),
        col(CaptainWeek.starts_at),
        col(CaptainWeek.volunteer_id),
    ).where(
        col(CaptainWeek.group_id).in_(group_ids),
        col(CaptainWeek.starts_at) - text("interval '1 day'") <= now,
        col(CaptainWeek.ends_at) > now,
    )
    return [DueWeek(*row) for row in (await session.execute(query)).all()]


_RECORD_NOTICES = text(
    "INSERT INTO captain_notices (week_id, volunteer_id, kind, sent_at) "
    "SELECT *, :sent_at FROM unnest(CAST(:week_id AS uuid[]), CAST(:volunteer_id AS uuid[]), "
    "CAST(:kind AS varchar[])) "
    "ON CONFLICT DO NOTHING RETURNING week_id, volunteer_id, kind"
)


async def record_notices(
    session: AsyncSession, notices: Sequence[tuple[uuid.UUID, uuid.UUID, str]]
) -> set[tuple[uuid.UUID, uuid.UUID, str]]:
    """Of these (week, volunteer, kind) notices, those not sent yet (which now count as sent), in one
    statement."""
    if not notices:
        return set()
    week_ids, volunteer_ids, kinds = (list(column) for column in zip(*notices, strict=True))
    parameters = {"week_id": week_ids, "volunteer_id": volunteer_ids, "kind": kinds, "sent_at": utcnow()}
    rows = (await session.execute(_RECORD_NOTICES, parameters)).all()
    return {(week_id, volunteer_id, kind) for week_id, volunteer_id, kind in rows}


async def groups_needing_reconcile(session: AsyncSession, now: datetime, limit: int) -> Sequence[uuid.UUID]:
    """Groups whose stored rota may be behind: never planned; the horizon moved on; a member's record
    changed since the last check (a suspension, say); or a handoff notice is due."""
    local_today = func.date(func.timezone(col(Station.timezone), now))
    horizon_moved = col(Group.planned_until) < local_today + col(Group.horizon_weeks) * 7 - 6
    member_changed = exists().where(
        col(GroupMembership.group_id) == col(Group.id),
        col(GroupMembership.left_at).is_(None),
        col(Volunteer.id) == col(GroupMembership.volunteer_id),
        col(Volunteer.updated_at) > col(Group.plan_checked_at),
    )
    due_kind = case(
        (col(CaptainWeek.starts_at) > now, literal_column("'reminder'")), else_=literal_column("'handoff'")
    )
    notice_due = exists().where(
        col(CaptainWeek.group_id) == col(Group.id),
        col(CaptainWeek.starts_at) - text("interval '1 day'") <= now,
        col(CaptainWeek.ends_at) > now,
        ~exists().where(
            col(CaptainNotice.week_id) == col(CaptainWeek.id),
            col(CaptainNotice.volunteer_id) == col(CaptainWeek.volunteer_id),
            col(CaptainNotice.kind) == due_kind,
        ),
    )
    query = (
        select(col(Group.id))
        .join(Station, col(Station.id) == col(Group.station_id))
        .where(
            or_(
                col(Group.planned_until).is_(None),
                col(Group.plan_checked_at).is_(None),
                horizon_moved,
                member_changed,
                notice_due,
            )
        )
        .order_by(col(Group.id))
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def week_at(session: AsyncSession, group_id: uuid.UUID, at: datetime) -> CaptainWeek | None:
    query = select(CaptainWeek).where(
        col(CaptainWeek.group_id) == group_id, col(CaptainWeek.starts_at) <= at, col(CaptainWeek.ends_at) > at
    )
    return (await session.scalars(query)).one_or_none()


# What a captain turn's read model shows (CaptainTurn), its captain's name with it.
TURN_SHOWN = (
    col(CaptainWeek.week_start), col(CaptainWeek.starts_at), col(CaptainWeek.ends_at),
    col(CaptainWeek.volunteer_id), col(Volunteer.name), col(CaptainWeek.source), col(CaptainWeek.reason),
)  # fmt: skip
_TURNS = select(*TURN_SHOWN).join(Volunteer, col(Volunteer.id) == col(CaptainWeek.volunteer_id))


async def read_turn_at(reader: Reader, group_id: uuid.UUID, at: datetime) -> LeanRow | None:
    """The group's week at ``at`` with its captain's name (lean)."""
    query = _TURNS.where(
        col(CaptainWeek.group_id) == group_id, col(CaptainWeek.starts_at) <= at, col(CaptainWeek.ends_at) > at
    )
    rows = await mappings(reader, query)
    return rows[0] if rows else None


async def read_next_turn(reader: Reader, group_id: uuid.UUID, after: datetime) -> LeanRow | None:
    """The group's first week starting at or after ``after``, with its captain's name (lean)."""
    query = _TURNS.where(col(CaptainWeek.group_id) == group_id, col(CaptainWeek.starts_at) >= after)
    rows = await mappings(reader, query.order_by(col(CaptainWeek.starts_at)).limit(1))
    return rows[0] if rows else None


# What a stored week's read model shows (WeekRead).
WEEK_SHOWN = (
    *TURN_SHOWN,
    col(CaptainWeek.id),
    col(CaptainWeek.rotation_volunteer_id),
    col(CaptainWeek.sequence),
)
_WEEKS = select(*WEEK_SHOWN).join(Volunteer, col(Volunteer.id) == col(CaptainWeek.volunteer_id))


async def weeks_between(reader: Reader, group_id: uuid.UUID, first: date, last: date) -> list[LeanRow]:
    """The group's weeks starting from ``first`` to ``last``, in order (lean)."""
    query = _WEEKS.where(
        col(CaptainWeek.group_id) == group_id,
        col(CaptainWeek.week_start) >= first,
        col(CaptainWeek.week_start) <= last,
    )
    return await mappings(reader, query.order_by(col(CaptainWeek.week_start)))


async def week_by_start(
    session: AsyncSession, group_id: uuid.UUID, week_start: date, *, for_update: bool = False
) -> CaptainWeek | None:
    return await kit.one(
        session,
        CaptainWeek,
        col(CaptainWeek.group_id) == group_id,
        col(CaptainWeek.week_start) == week_start,
        for_update=for_update,
    )


# What a group's current captain's read model shows (CurrentCaptain), with its station's time zone.
CURRENT_SHOWN: tuple[Any, ...] = (
    *TURN_SHOWN, col(Group.id).label("group_id"), col(Group.name).label("group_name"), col(Group.site_id),
    col(Station.timezone),
)  # fmt: skip
_CURRENT = (
    select(*CURRENT_SHOWN)
    .join(Volunteer, col(Volunteer.id) == col(CaptainWeek.volunteer_id))
    .join(Group, col(Group.id) == col(CaptainWeek.group_id))
    .join(Station, col(Station.id) == col(Group.station_id))
)


async def current_captains(
    reader: Reader,
    scope: StationScope,
    at: datetime,
    *,
    station_id: uuid.UUID | None,
    site_id: uuid.UUID | None,
) -> list[LeanRow]:
    """Every group's week at ``at`` with its captain's name, in one query (lean)."""
    conditions = kit.equal((Group.station_id, station_id), (Group.site_id, site_id))
    query = _CURRENT.where(
        col(CaptainWeek.starts_at) <= at,
        col(CaptainWeek.ends_at) > at,
        scope.clause(Group.station_id),
        *conditions,
    )
    return await mappings(reader, query.order_by(col(Group.site_id), col(Group.name)))


async def captain_weeks_of_user(
    reader: Reader, user_id: uuid.UUID, after: datetime, limit: int
) -> list[LeanRow]:
    """The captain weeks that have not ended of the account's volunteer record, soonest first (lean: see
    :func:`weeks_of_captain`)."""
    query = _CURRENT.where(col(Volunteer.user_id) == user_id, col(CaptainWeek.ends_at) > after)
    return await mappings(reader, query.order_by(col(CaptainWeek.starts_at)).limit(limit))


async def fairness_counts(
    session: AsyncSession, group_id: uuid.UUID, now: datetime
) -> Sequence[tuple[CaptainWeek, bool]]:
    """Every week of the group, with whether it has started."""
    query = select(CaptainWeek).where(col(CaptainWeek.group_id) == group_id)
    return [(week, week.starts_at <= now) for week in (await session.scalars(query)).all()]


async def volunteer_names(session: AsyncSession, volunteer_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    query = select(col(Volunteer.id), col(Volunteer.name)).where(col(Volunteer.id).in_(volunteer_ids))
    return {volunteer_id: name for volunteer_id, name in (await session.execute(query)).all()}


_VOLUNTEER = select(col(Volunteer.id))


async def reached_volunteer(reader: Reader, volunteer_id: uuid.UUID, reach: ColumnElement[bool]) -> bool:
    return await kit.read(reader, _VOLUNTEER.where(reach), Volunteer.id, volunteer_id) is not None


# What an unavailability's read model shows (UnavailabilityRead).
UNAVAILABILITY_SHOWN = (
    col(Unavailability.id), col(Unavailability.volunteer_id), col(Unavailability.starts_on),
    col(Unavailability.ends_on), col(Unavailability.reason), col(Unavailability.created_at),
)  # fmt: skip
_UNAVAILABILITY = (
    select(*UNAVAILABILITY_SHOWN)
    .where(
        col(Unavailability.volunteer_id) == bindparam("volunteer_id"),
        col(Unavailability.cancelled_at).is_(None),
    )
    .order_by(col(Unavailability.starts_on), col(Unavailability.id))
)


async def unavailability_of(reader: Reader, volunteer_id: uuid.UUID) -> list[LeanRow]:
    """The volunteer's unavailabilities not cancelled, in order (lean)."""
    return await mappings(reader, _UNAVAILABILITY, volunteer_id=volunteer_id)


# New and changed records that no declared unique constraint can refuse.
save = kit.save


async def get_unavailability(
    session: AsyncSession, unavailability_id: uuid.UUID, volunteer_id: uuid.UUID
) -> Unavailability | None:
    theirs = col(Unavailability.volunteer_id) == volunteer_id
    return await kit.get(session, Unavailability, unavailability_id, theirs)


async def weeks_of_captain(
    session: AsyncSession, volunteer_id: uuid.UUID, after: datetime, limit: int
) -> Sequence[tuple[CaptainWeek, str, Group]]:
    """The volunteer's captain weeks that have not ended, soonest first."""
    query = (
        select(CaptainWeek, col(Volunteer.name), Group)
        .join(Volunteer, col(Volunteer.id) == col(CaptainWeek.volunteer_id))
        .join(Group, col(Group.id) == col(CaptainWeek.group_id))
        .where(col(CaptainWeek.volunteer_id) == volunteer_id, col(CaptainWeek.ends_at) > after)
        .order_by(col(CaptainWeek.starts_at))
        .limit(limit)
    )
    return [(week, name, group) for week, name, group in (await session.execute(query)).all()]


# Swaps


async def expire_lapsed_swaps(
    session: AsyncSession,
    now: datetime,
    *,
    group_id: uuid.UUID | None = None,
    swap_id: uuid.UUID | None = None,
) -> None:
    """Mark open swaps past their expiry as expired (only the group's, or only that swap, when given).
    Conditional, so a concurrent decision is never overwritten: the row is re-checked once its lock is
    free."""
    query = (
        update(CaptainSwap)
        .where(col(CaptainSwap.status) == SwapStatus.OPEN, col(CaptainSwap.expires_at) <= now)
        .values(status=SwapStatus.EXPIRED, decided_at=col(CaptainSwap.expires_at))
        .execution_options(synchronize_session=False)
    )
    if group_id is not None:
        query = query.where(col(CaptainSwap.group_id) == group_id)
    if swap_id is not None:
        query = query.where(col(CaptainSwap.id) == swap_id)
    await session.execute(query)


_ASKING, _ASKED = aliased(Volunteer), aliased(Volunteer)
# What a swap's read model shows (SwapRead), with its station's time zone. Its members' names are joined
# outward: a swap's volunteer ids are no foreign keys.
SWAP_SHOWN = (
    col(CaptainSwap.id), col(CaptainSwap.group_id), col(CaptainSwap.week_id), col(CaptainWeek.week_start),
    col(CaptainSwap.from_volunteer_id), func.coalesce(_ASKING.name, "").label("from_name"),
    col(CaptainSwap.to_volunteer_id), func.coalesce(_ASKED.name, "").label("to_name"),
    col(CaptainSwap.status), col(CaptainSwap.reason), col(CaptainSwap.requested_by),
    col(CaptainSwap.decided_by), col(CaptainSwap.expires_at), col(CaptainSwap.created_at),
    col(CaptainSwap.decided_at), col(Station.timezone),
)  # fmt: skip
_SWAPS = (
    select(*SWAP_SHOWN)
    .select_from(CaptainSwap)
    .join(CaptainWeek, col(CaptainWeek.id) == col(CaptainSwap.week_id))
    .join(Station, col(Station.id) == col(CaptainSwap.station_id))
    .outerjoin(_ASKING, col(_ASKING.id) == col(CaptainSwap.from_volunteer_id))
    .outerjoin(_ASKED, col(_ASKED.id) == col(CaptainSwap.to_volunteer_id))
)


async def read_swap(reader: Reader, swap_id: uuid.UUID, reach: ColumnElement[bool]) -> LeanRow | None:
    """A swap as its read model shows it (lean: see :func:`yijing.kit.repository.read`)."""
    return await kit.read(reader, _SWAPS.where(reach), CaptainSwap.id, swap_id)


async def swaps_of_group(
    reader: Reader, group_id: uuid.UUID, filters: SwapFilters, page: PageParams
) -> list[LeanRow]:
    """A page of the group's swaps, oldest first (lean)."""
    conditions = kit.equal((CaptainSwap.status, filters.status))
    query = _SWAPS.where(col(CaptainSwap.group_id) == group_id, *conditions)
    return await kit.read_page(reader, query, CaptainSwap.id, page)


async def swap_in_scope(session: AsyncSession, scope: StationScope, swap_id: uuid.UUID) -> CaptainSwap | None:
    return await kit.get(session, CaptainSwap, swap_id, scope.clause(CaptainSwap.station_id))


async def lock_swap(session: AsyncSession, swap_id: uuid.UUID) -> CaptainSwap | None:
    """The swap's row, locked and read afresh: another decision may have changed it while we waited."""
    query = (
        select(CaptainSwap)
        .where(col(CaptainSwap.id) == swap_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return await session.scalar(query)


async def lock_open_swap_of_week(session: AsyncSession, week_id: uuid.UUID) -> CaptainSwap | None:
    """The week's open swap (there is at most one), locked and read afresh."""
    query = (
        select(CaptainSwap)
        .where(col(CaptainSwap.week_id) == week_id, col(CaptainSwap.status) == SwapStatus.OPEN)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return await session.scalar(query)


# Calendar feeds


async def lock_calendar_feed(
    session: AsyncSession, scope: StationScope, feed_id: uuid.UUID
) -> CalendarFeed | None:
    """The feed's row, locked, so two revocations of it are serialised."""
    reach = scope.clause(CalendarFeed.station_id)
    return await kit.get(session, CalendarFeed, feed_id, reach, for_update=True)


async def calendar_feed_by_token_hash(session: AsyncSession, token_hash: str) -> CalendarFeed | None:
    query = select(CalendarFeed).where(col(CalendarFeed.token_hash) == token_hash)
    return (await session.scalars(query)).one_or_none()


async def site_and_group_name(session: AsyncSession, group_id: uuid.UUID) -> tuple[str, str]:
    query = (
        select(col(Site.name), col(Group.name))
        .join(Group, col(Group.site_id) == col(Site.id))
        .where(col(Group.id) == group_id)
    )
    site_name, group_name = (await session.execute(query)).one()
    return site_name, group_name


async def captain_weeks_since(
    session: AsyncSession, *, group_id: uuid.UUID | None, volunteer_id: uuid.UUID | None, since: datetime
) -> Sequence[tuple[CaptainWeek, str, str]]:
    """The weeks of the group (without one, the weeks the volunteer captains) ending after ``since``, each
    with its captain's name and its group's name, in order."""
    subject = (
        col(CaptainWeek.group_id) == group_id
        if group_id is not None
        else col(CaptainWeek.volunteer_id) == volunteer_id
    )
    query = (
        select(CaptainWeek, col(Volunteer.name), col(Group.name))
        .join(Volunteer, col(Volunteer.id) == col(CaptainWeek.volunteer_id))
        .join(Group, col(Group.id) == col(CaptainWeek.group_id))
        .where(subject, col(CaptainWeek.ends_at) > since)
        .order_by(col(CaptainWeek.starts_at), col(CaptainWeek.id))
    )
    return [(week, captain, group) for week, captain, group in (await session.execute(query)).all()]
