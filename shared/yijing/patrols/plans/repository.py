from __future__ import annotations

import typing
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, bindparam, cast, delete, exists, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.access import StationScope
from yijing.kit import repository as kit
from yijing.kit.pagination import PageParams
from yijing.kit.reads import LeanRow, Reader, mappings
from yijing.org.models import Station
from yijing.patrols import repository as patrols_repository
from yijing.patrols.checkins.models import PatrolCheckin
from yijing.patrols.logs.models import PatrolLog
from yijing.patrols.models import Patrol, PatrolStatus
from yijing.patrols.plans.models import PatrolPlan, PatrolPlanMember
from yijing.patrols.plans.schemas import PatrolPlanFilters, PlanStatus
from yijing.patrols.routes.models import PatrolRoute
from yijing.volunteers.models import Volunteer

# New and changed plans: no unique constraint of theirs can refuse them.
save = kit.save


async def get(
    session: AsyncSession, plan_id: uuid.UUID, scope: StationScope, *, for_update: bool = False
) -> PatrolPlan | None:
    return await kit.get(
        session, PatrolPlan, plan_id, scope.clause(PatrolPlan.station_id), for_update=for_update
    )


# What a plan's read model shows (PatrolPlanRead; its status is whether it has a retired_at).
SHOWN = (
    col(PatrolPlan.id), col(PatrolPlan.station_id), col(PatrolPlan.site_id), col(PatrolPlan.route_id),
    col(PatrolPlan.group_id), col(PatrolPlan.leader_volunteer_id), col(PatrolPlan.weekdays),
    col(PatrolPlan.start_time), col(PatrolPlan.end_time), col(PatrolPlan.first_day), col(PatrolPlan.last_day),
    col(PatrolPlan.horizon_days), col(PatrolPlan.made_until), col(PatrolPlan.retired_at),
    col(PatrolPlan.version), col(PatrolPlan.created_at), col(PatrolPlan.updated_at),
)  # fmt: skip
_SHOWN = select(*SHOWN)  # built once: a select of many columns costs more to build than to run


async def read(reader: Reader, plan_id: uuid.UUID, scope: StationScope) -> LeanRow | None:
    """A plan as its read model shows it (lean: see :func:`yijing.kit.repository.read_within`)."""
    return await kit.read_within(reader, _SHOWN, PatrolPlan, plan_id, scope)


async def list_plans(
    reader: Reader, scope: StationScope, filters: PatrolPlanFilters, page: PageParams
) -> list[LeanRow]:
    conditions = kit.equal((PatrolPlan.site_id, filters.site_id), (PatrolPlan.route_id, filters.route_id))
    retired = col(PatrolPlan.retired_at)
    if filters.status is not None:
        conditions.append(retired.is_(None) if filters.status is PlanStatus.IN_USE else retired.is_not(None))
    query = _SHOWN.where(scope.clause(PatrolPlan.station_id), *conditions)
    return await kit.read_page(reader, query, PatrolPlan.id, page)


async def member_ids(session: AsyncSession, plan_id: uuid.UUID) -> list[uuid.UUID]:
    """The volunteers the plan names, in a stable order."""
    query = select(col(PatrolPlanMember.volunteer_id)).where(col(PatrolPlanMember.plan_id) == plan_id)
    return list(await session.scalars(query.order_by(col(PatrolPlanMember.volunteer_id))))


_MEMBERS = (
    select(col(Volunteer.id), col(Volunteer.name))
    .join(PatrolPlanMember, col(PatrolPlanMember.volunteer_id) == col(Volunteer.id))
    .where(col(PatrolPlanMember.plan_id) == bindparam("plan_id"))
    .order_by(col(Volunteer.name), col(Volunteer.id))
)


async def members(reader: Reader, plan_id: uuid.UUID) -> list[LeanRow]:
    """The volunteers the plan names (id, name), by name."""
    return await mappings(reader, _MEMBERS, plan_id=plan_id)


async def set_members(session: AsyncSession, plan_id: uuid.UUID, volunteer_ids: Sequence[uuid.UUID]) -> None:
    """The plan names exactly these volunteers."""
    await session.execute(delete(PatrolPlanMember).where(col(PatrolPlanMember.plan_id) == plan_id))
    if volunteer_ids:
        rows = [{"plan_id": plan_id, "volunteer_id": volunteer_id} for volunteer_id in volunteer_ids]
        await session.execute(insert(PatrolPlanMember), rows)


async def insert_patrols(
    session: AsyncSession, rows: Sequence[dict[str, Any]]
) -> list[tuple[uuid.UUID, date]]:
    """Store the plan days' patrols in one statement, skipping any day that has one (made by another run,
    or kept when the plan changed): the (id, day) of each new one."""
    if not rows:
        return []
    query = (
        upsert(Patrol)
        .values(list(rows))
        .on_conflict_do_nothing(index_elements=["plan_id", "plan_day"])
        .returning(col(Patrol.id), col(Patrol.plan_day))
    )
    # Every row given has its plan day.
    return [(patrol_id, typing.cast(date, day)) for patrol_id, day in (await session.execute(query)).all()]


def _unstarted(plan_id: uuid.UUID, now: datetime) -> list[Any]:
    """The plan's patrols still to come: planned and not yet started."""
    return [
        col(Patrol.plan_id) == plan_id,
        col(Patrol.status) == PatrolStatus.PLANNED,
        col(Patrol.planned_start) > now,
    ]


async def remove_unstarted(session: AsyncSession, plan_id: uuid.UUID, now: datetime) -> list[uuid.UUID]:
    """Delete the plan's patrols still to come (with their members), but those that already have
    check-ins or log entries: those stay as they are."""
    query = (
        delete(Patrol)
        .where(
            *_unstarted(plan_id, now),
            ~exists().where(col(PatrolCheckin.patrol_id) == col(Patrol.id)),
            ~exists().where(col(PatrolLog.patrol_id) == col(Patrol.id)),
        )
        .returning(col(Patrol.id))
    )
    return sorted(await session.scalars(query))


async def cancel_unstarted(
    session: AsyncSession, plan_id: uuid.UUID, now: datetime, reason: str
) -> list[uuid.UUID]:
    query = (
        update(Patrol)
        .where(*_unstarted(plan_id, now))
        .values(
            status=PatrolStatus.CANCELLED,
            cancel_reason=reason,
            version=col(Patrol.version) + 1,
            updated_at=now,
        )
        .returning(col(Patrol.id))
    )
    return sorted(await session.scalars(query))


_NEXT_PATROLS = (
    select(*patrols_repository.SHOWN)
    .where(col(Patrol.plan_id) == bindparam("plan_id"), col(Patrol.planned_end) > bindparam("now"))
    .order_by(col(Patrol.planned_start), col(Patrol.id))
    .limit(bindparam("limit"))
)


async def next_patrols(reader: Reader, plan_id: uuid.UUID, now: datetime, limit: int) -> list[LeanRow]:
    """The plan's patrols not yet over, in time order, as their read model shows them."""
    return await mappings(reader, _NEXT_PATROLS, plan_id=plan_id, now=now, limit=limit)


async def due_plan_ids(session: AsyncSession, now: datetime, limit: int) -> Sequence[uuid.UUID]:
    """Plans in use, on routes in use, whose patrols are not made up to their horizon (or last day) as of
    today in their station's time zone."""
    today = cast(func.timezone(col(Station.timezone), now), Date)
    made = col(PatrolPlan.made_until)
    last_day = col(PatrolPlan.last_day)
    query = (
        select(col(PatrolPlan.id))
        .join(Station, col(Station.id) == col(PatrolPlan.station_id))
        .join(PatrolRoute, col(PatrolRoute.id) == col(PatrolPlan.route_id))
        .where(
            col(PatrolPlan.retired_at).is_(None),
            col(PatrolRoute.retired_at).is_(None),
            or_(
                made.is_(None),
                (made < today + col(PatrolPlan.horizon_days)) & (last_day.is_(None) | (made < last_day)),
            ),
        )
        .order_by(col(PatrolPlan.id))
        .limit(limit)
    )
    return (await session.scalars(query)).all()
