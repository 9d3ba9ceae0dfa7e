"""Settlement's queries: set-based, one statement for a whole batch of patrols each (see the service for the
rules they implement)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    Date,
    Integer,
    Select,
    Uuid,
    and_,
    any_,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from yijing.access import StationScope
from yijing.org.models import Site, Station
from yijing.patrols.checkins.models import PatrolCheckin
from yijing.patrols.checkins.schemas import COUNTING
from yijing.patrols.models import (
    CheckpointOutcome,
    Patrol,
    PatrolCheckpointResult,
    PatrolMember,
    PatrolStatus,
)
from yijing.patrols.routes.models import PatrolCheckpoint, PatrolRoute
from yijing.volunteers.models import Volunteer

# What settling does to a patrol's status; any other status stays.
SETTLED_STATUS = {PatrolStatus.PLANNED: PatrolStatus.MISSED, PatrolStatus.IN_PROGRESS: PatrolStatus.COMPLETED}


def _counts(checkin: Any) -> Any:
    return col(checkin.review).in_(sorted(COUNTING))


def _among(column: Any, patrol_ids: Sequence[uuid.UUID]) -> Any:
    """``column = ANY(:ids)``: one array parameter, so a batch of any size is one prepared statement."""
    return col(column) == any_(literal(list(patrol_ids), ARRAY(Uuid())))


# Settling


async def settle_due(session: AsyncSession, now: datetime, grace: timedelta, limit: int) -> Sequence[Any]:
    """Settle the status of up to ``limit`` due patrols (window and grace closed, not cancelled, not settled)
    that no other transaction holds, oldest first, in one statement: planned → missed, in progress →
    completed (auto-closed, ended when the window closed); ``settled_at`` set. Returns each patrol's id,
    station, site, planned times, status before and after."""
    due = (
        select(col(Patrol.id), col(Patrol.status))
        .where(
            col(Patrol.settled_at).is_(None),
            col(Patrol.status) != PatrolStatus.CANCELLED,
            col(Patrol.planned_end) < now - grace,
        )
        .order_by(col(Patrol.planned_end))
        .limit(limit)
        # Another worker settling at the same time takes other patrols; a row it holds is not waited for.
        .with_for_update(skip_locked=True)
        .subquery("due")
    )
    previous = due.c.status
    changes = col(previous).in_(list(SETTLED_STATUS))
    closing = col(previous) == PatrolStatus.IN_PROGRESS
    statement = (
        update(Patrol)
        .where(col(Patrol.id) == due.c.id)
        .values(
            status=case(
                *((previous == before, literal(after.value)) for before, after in SETTLED_STATUS.items()),
                else_=col(Patrol.status),
            ),
            auto_closed=or_(col(Patrol.auto_closed), closing),
            ended_at=case((closing, col(Patrol.planned_end) + grace), else_=col(Patrol.ended_at)),
            # A client holding the patrol as it was must read it again.
            version=col(Patrol.version) + cast(changes, Integer),
            updated_at=case((changes, now), else_=col(Patrol.updated_at)),
            settled_at=now,
        )
        .returning(
            col(Patrol.id),
            col(Patrol.station_id),
            col(Patrol.site_id),
            col(Patrol.planned_start),
            col(Patrol.planned_end),
            col(Patrol.ended_at),
            previous.label("previous"),
            col(Patrol.status),
        )
    )
    return (await session.execute(statement)).all()


async def lock_settled(session: AsyncSession, patrol_id: uuid.UUID) -> bool:
    """Lock the patrol's row until the transaction ends and say whether it is settled. Read past the
    session's identity map: another transaction may have settled it since the session read it."""
    query = select(col(Patrol.settled_at)).where(col(Patrol.id) == patrol_id).with_for_update()
    return (await session.scalar(query)) is not None


async def mark_settled(session: AsyncSession, patrol_id: uuid.UUID, now: datetime) -> None:
    await session.execute(update(Patrol).where(col(Patrol.id) == patrol_id).values(settled_at=now))


# Outcomes and minutes: each computed by one query, stored in place of what was there


def checkpoint_outcomes(patrol_ids: Sequence[uuid.UUID]) -> Select[*tuple[Any, ...]]:
    """Per patrol and checkpoint of its route: hit (first counting check-in at it captured by the planned
    end), late (first one after), missed (none); the first one's capture time and how many."""
    # Each check-in is read once: grouped by checkpoint first, then matched to the route's checkpoints.
    reached = (
        select(
            col(PatrolCheckin.patrol_id),
            col(PatrolCheckin.checkpoint_id),
            func.min(col(PatrolCheckin.captured_at)).label("first"),
            func.count().label("checkins"),
        )
        .where(_among(PatrolCheckin.patrol_id, patrol_ids), _counts(PatrolCheckin))
        .group_by(col(PatrolCheckin.patrol_id), col(PatrolCheckin.checkpoint_id))
        .subquery("reached")
    )
    outcome = case(
        (reached.c.first.is_(None), literal(CheckpointOutcome.MISSED.value)),
        (reached.c.first <= col(Patrol.planned_end), literal(CheckpointOutcome.HIT.value)),
        else_=literal(CheckpointOutcome.LATE.value),
    )
    return (
        select(
            col(Patrol.id).label("patrol_id"),
            col(PatrolCheckpoint.id).label("checkpoint_id"),
            outcome.label("outcome"),
            reached.c.first.label("first_reached_at"),
            func.coalesce(reached.c.checkins, 0).label("checkins"),
        )
        .select_from(Patrol)
        .join(PatrolCheckpoint, col(PatrolCheckpoint.route_id) == col(Patrol.route_id))
        .outerjoin(
            reached,
            and_(reached.c.patrol_id == col(Patrol.id), reached.c.checkpoint_id == col(PatrolCheckpoint.id)),
        )
        .where(_among(Patrol.id, patrol_ids))
    )


def member_minutes(patrol_ids: Sequence[uuid.UUID]) -> Select[*tuple[Any, ...]]:
    """Per member of each patrol: their counting check-ins, the first and last capture times clipped to the
    planned window, and the whole minutes between those two (0 with fewer than two)."""
    clipped = func.least(
        func.greatest(col(PatrolCheckin.captured_at), col(Patrol.planned_start)), col(Patrol.planned_end)
    )
    verified = (
        select(
            col(PatrolCheckin.patrol_id),
            col(PatrolCheckin.volunteer_id),
            func.count().label("checkins"),
            func.min(clipped).label("first"),
            func.max(clipped).label("last"),
        )
        .join(Patrol, col(Patrol.id) == col(PatrolCheckin.patrol_id))
        .where(_among(PatrolCheckin.patrol_id, patrol_ids), _counts(PatrolCheckin))
        .group_by(col(PatrolCheckin.patrol_id), col(PatrolCheckin.volunteer_id))
        .subquery("verified")
    )
    member = aliased(PatrolMember)
    span = func.extract("epoch", verified.c.last - verified.c.first) / 60
    return (
        select(
            col(member.patrol_id).label("patrol_id"),
            col(member.volunteer_id).label("volunteer_id"),
            func.coalesce(cast(func.floor(span), Integer), 0).label("verified_minutes"),
            func.coalesce(verified.c.checkins, 0).label("verified_checkins"),
            verified.c.first.label("first_verified_at"),
            verified.c.last.label("last_verified_at"),
        )
        .select_from(member)
        .outerjoin(
            verified,
            and_(
                verified.c.patrol_id == col(member.patrol_id),
                verified.c.volunteer_id == col(member.volunteer_id),
            ),
        )
        .where(_among(member.patrol_id, patrol_ids))
    )


async def replace_outcomes(session: AsyncSession, patrol_ids: Sequence[uuid.UUID]) -> None:
    """The patrols' checkpoint results, replaced (a checkpoint added to the route since is added, one
    removed is gone): one DELETE and one INSERT for the batch."""
    await session.execute(
        delete(PatrolCheckpointResult).where(_among(PatrolCheckpointResult.patrol_id, patrol_ids))
    )
    columns = ["patrol_id", "checkpoint_id", "outcome", "first_reached_at", "checkins"]
    await session.execute(
        insert(PatrolCheckpointResult).from_select(columns, checkpoint_outcomes(patrol_ids))
    )


async def store_minutes(session: AsyncSession, patrol_ids: Sequence[uuid.UUID]) -> None:
    """The members' minutes and counts, set by one UPDATE for the batch (rows already right are left be)."""
    computed = member_minutes(patrol_ids).subquery("computed")
    fields = ("verified_minutes", "verified_checkins", "first_verified_at", "last_verified_at")
    stored = tuple_(*(getattr(PatrolMember, name) for name in fields))
    await session.execute(
        update(PatrolMember)
        .where(
            col(PatrolMember.patrol_id) == computed.c.patrol_id,
            col(PatrolMember.volunteer_id) == computed.c.volunteer_id,
            stored.is_distinct_from(tuple_(*(computed.c[name] for name in fields))),
        )
        .values({name: computed.c[name] for name in fields})
    )


async def notice_facts(session: AsyncSession, patrol_ids: Sequence[uuid.UUID]) -> Sequence[Any]:
    """For each patrol: its route's name, its station's time zone, its checkpoints' count and the names of
    those missed (in route order), from the stored results."""
    missed = col(PatrolCheckpointResult.outcome) == CheckpointOutcome.MISSED
    position = col(PatrolCheckpoint.position)
    query = (
        select(
            col(Patrol.id).label("patrol_id"),
            col(PatrolRoute.name).label("route_name"),
            col(Station.timezone).label("timezone"),
            func.count(col(PatrolCheckpointResult.checkpoint_id)).label("checkpoints"),
            func.array_remove(
                func.array_agg(aggregate_order_by(case((missed, col(PatrolCheckpoint.name))), position)),
                None,
            ).label("missed"),
        )
        .select_from(Patrol)
        .join(PatrolRoute, col(PatrolRoute.id) == col(Patrol.route_id))
        .join(Station, col(Station.id) == col(Patrol.station_id))
        .outerjoin(PatrolCheckpointResult, col(PatrolCheckpointResult.patrol_id) == col(Patrol.id))
        .outerjoin(PatrolCheckpoint, col(PatrolCheckpoint.id) == col(PatrolCheckpointResult.checkpoint_id))
        .where(_among(Patrol.id, patrol_ids))
        .group_by(col(Patrol.id), col(PatrolRoute.name), col(Station.timezone))
    )
    return (await session.execute(query)).all()


# Reads


async def stored_outcomes(session: AsyncSession, patrol_id: uuid.UUID) -> Sequence[Any]:
    """A settled patrol's checkpoint results with each checkpoint's position and name, in route order."""
    result = PatrolCheckpointResult
    query = (
        select(
            col(result.checkpoint_id),
            col(PatrolCheckpoint.position),
            col(PatrolCheckpoint.name),
            col(result.outcome),
            col(result.first_reached_at),
            col(result.checkins),
        )
        .join(PatrolCheckpoint, col(PatrolCheckpoint.id) == col(result.checkpoint_id))
        .where(col(result.patrol_id) == patrol_id)
        .order_by(col(PatrolCheckpoint.position), col(PatrolCheckpoint.id))
    )
    return (await session.execute(query)).all()


async def live_outcomes(session: AsyncSession, patrol_id: uuid.UUID) -> Sequence[Any]:
    """The same, computed now by the query settlement stores."""
    computed = checkpoint_outcomes([patrol_id]).subquery("computed")
    query = (
        select(
            computed.c.checkpoint_id,
            col(PatrolCheckpoint.position),
            col(PatrolCheckpoint.name),
            computed.c.outcome,
            computed.c.first_reached_at,
            computed.c.checkins,
        )
        .join(PatrolCheckpoint, col(PatrolCheckpoint.id) == computed.c.checkpoint_id)
        .order_by(col(PatrolCheckpoint.position), col(PatrolCheckpoint.id))
    )
    return (await session.execute(query)).all()


async def stored_minutes(session: AsyncSession, patrol_id: uuid.UUID) -> Sequence[Any]:
    """A settled patrol's members with their names and stored minutes, by name."""
    query = (
        select(
            col(PatrolMember.volunteer_id),
            col(Volunteer.name),
            col(PatrolMember.verified_minutes),
            col(PatrolMember.verified_checkins),
            col(PatrolMember.first_verified_at),
            col(PatrolMember.last_verified_at),
        )
        .join(Volunteer, col(Volunteer.id) == col(PatrolMember.volunteer_id))
        .where(col(PatrolMember.patrol_id) == patrol_id)
        .order_by(col(Volunteer.name), col(Volunteer.id))
    )
    return (await session.execute(query)).all()


async def live_minutes(session: AsyncSession, patrol_id: uuid.UUID) -> Sequence[Any]:
    """The same, computed now by the query settlement stores."""
    computed = member_minutes([patrol_id]).subquery("computed")
    query = (
        select(
            computed.c.volunteer_id,
            col(Volunteer.name),
            computed.c.verified_minutes,
            computed.c.verified_checkins,
            computed.c.first_verified_at,
            computed.c.last_verified_at,
        )
        .join(Volunteer, col(Volunteer.id) == computed.c.volunteer_id)
        .order_by(col(Volunteer.name), col(Volunteer.id))
    )
    return (await session.execute(query)).all()


async def site_coverage(
    session: AsyncSession, scope: StationScope, *, month: date, site_id: uuid.UUID | None
) -> Sequence[Any]:
    """Per site in reach (or the one site): its patrols planned to start in ``month`` (the month in the
    site's station time zone) by status, their stored checkpoint outcomes and their members' minutes."""
    # Every time zone lies within UTC−12…UTC+14: a UTC window that wide around the month lets the index on
    # (site, planned start) find the patrols, and each one's local month is then checked exactly.
    next_month = (month + timedelta(days=32)).replace(day=1)
    local_month = func.date_trunc("month", func.timezone(col(Station.timezone), col(Patrol.planned_start)))
    patrols = (
        select(col(Patrol.id), col(Patrol.site_id), col(Patrol.status))
        .join(Station, col(Station.id) == col(Patrol.station_id))
        .where(
            scope.clause(Patrol.station_id),
            col(Patrol.planned_start).between(
                datetime.combine(month, time(), UTC) - timedelta(hours=14),
                datetime.combine(next_month, time(), UTC) + timedelta(hours=12),
            ),
            cast(local_month, Date) == month,
            col(Patrol.site_id) == site_id if site_id is not None else true(),
        )
        .cte("month_patrols")
    )

    def count(condition: Any) -> Any:
        return func.count().filter(condition)

    by_status = (
        select(
            patrols.c.site_id,
            func.count().label("planned"),
            *(
                count(patrols.c.status == status).label(status.value)
                for status in (PatrolStatus.COMPLETED, PatrolStatus.MISSED, PatrolStatus.CANCELLED)
            ),
        )
        .group_by(patrols.c.site_id)
        .subquery("by_status")
    )
    outcome = col(PatrolCheckpointResult.outcome)
    outcomes = (
        select(
            patrols.c.site_id,
            *(count(outcome == value).label(value.value) for value in CheckpointOutcome),
        )
        .join(PatrolCheckpointResult, col(PatrolCheckpointResult.patrol_id) == patrols.c.id)
        .group_by(patrols.c.site_id)
        .subquery("outcomes")
    )
    minutes = (
        select(patrols.c.site_id, func.sum(col(PatrolMember.verified_minutes)).label("verified_minutes"))
        .join(PatrolMember, col(PatrolMember.patrol_id) == patrols.c.id)
        .group_by(patrols.c.site_id)
        .subquery("minutes")
    )

    def figure(column: Any, name: str) -> Any:
        return cast(func.coalesce(column, 0), Integer).label(name)

    query = (
        select(
            col(Site.id).label("site_id"),
            col(Site.name).label("site_name"),
            col(Site.station_id).label("station_id"),
            figure(by_status.c.planned, "planned"),
            *(figure(by_status.c[name], name) for name in ("completed", "missed", "cancelled")),
            *(figure(outcomes.c[value.value], f"checkpoints_{value.value}") for value in CheckpointOutcome),
            figure(minutes.c.verified_minutes, "verified_minutes"),
        )
        .outerjoin(by_status, by_status.c.site_id == col(Site.id))
        .outerjoin(outcomes, outcomes.c.site_id == col(Site.id))
        .outerjoin(minutes, minutes.c.site_id == col(Site.id))
        .where(scope.clause(Site.station_id), col(Site.id) == site_id if site_id is not None else true())
        .order_by(col(Site.station_id), col(Site.name))
    )
    return (await session.execute(query)).all()
