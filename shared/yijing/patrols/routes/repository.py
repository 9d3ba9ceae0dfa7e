from __future__ import annotations

import uuid

from sqlalchemy import bindparam, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.access import StationScope
from yijing.kit import repository as kit
from yijing.kit.pagination import PageParams
from yijing.kit.reads import LeanRow, Reader, mappings
from yijing.patrols.models import Patrol
from yijing.patrols.plans.models import PatrolPlan
from yijing.patrols.routes.models import PatrolCheckpoint, PatrolRoute
from yijing.patrols.routes.schemas import PatrolRouteFilters

# Changed records that no declared unique constraint can refuse.
save = kit.save


async def get_route(
    session: AsyncSession, route_id: uuid.UUID, scope: StationScope, *, for_update: bool = False
) -> PatrolRoute | None:
    return await kit.get(
        session, PatrolRoute, route_id, scope.clause(PatrolRoute.station_id), for_update=for_update
    )


# What a route's read model shows (PatrolRouteRead; its status is whether it has a retired_at).
SHOWN = (
    col(PatrolRoute.id), col(PatrolRoute.station_id), col(PatrolRoute.site_id), col(PatrolRoute.name),
    col(PatrolRoute.description), col(PatrolRoute.retired_at), col(PatrolRoute.version),
    col(PatrolRoute.created_at), col(PatrolRoute.updated_at),
)  # fmt: skip
_SHOWN = select(*SHOWN)  # built once: a select of many columns costs more to build than to run


async def read(reader: Reader, route_id: uuid.UUID, scope: StationScope) -> LeanRow | None:
    """A route as its read model shows it (lean: see :func:`yijing.kit.repository.read_within`)."""
    return await kit.read_within(reader, _SHOWN, PatrolRoute, route_id, scope)


async def list_routes(
    reader: Reader, scope: StationScope, filters: PatrolRouteFilters, page: PageParams
) -> list[LeanRow]:
    conditions = kit.equal((PatrolRoute.site_id, filters.site_id))
    retired = col(PatrolRoute.retired_at)
    conditions.append(retired.is_not(None) if filters.retired else retired.is_(None))
    query = _SHOWN.where(scope.clause(PatrolRoute.station_id), *conditions)
    return await kit.read_page(reader, query, PatrolRoute.id, page)


# What a checkpoint's read model shows (CheckpointRead): every column.
CHECKPOINT_SHOWN = (
    col(PatrolCheckpoint.id), col(PatrolCheckpoint.route_id), col(PatrolCheckpoint.station_id),
    col(PatrolCheckpoint.position), col(PatrolCheckpoint.name), col(PatrolCheckpoint.latitude),
    col(PatrolCheckpoint.longitude), col(PatrolCheckpoint.radius_m), col(PatrolCheckpoint.code),
    col(PatrolCheckpoint.version), col(PatrolCheckpoint.created_at), col(PatrolCheckpoint.updated_at),
)  # fmt: skip
_CHECKPOINTS = (
    select(*CHECKPOINT_SHOWN)
    .where(col(PatrolCheckpoint.route_id) == bindparam("route_id"))
    .order_by(col(PatrolCheckpoint.position), col(PatrolCheckpoint.id))
)


async def checkpoints(reader: Reader, route_id: uuid.UUID) -> list[LeanRow]:
    """The route's checkpoints in order: by position, then by when they were added."""
    return await mappings(reader, _CHECKPOINTS, route_id=route_id)


async def last_position(session: AsyncSession, route_id: uuid.UUID) -> int:
    """The highest position on the route; 0 for a route without checkpoints."""
    query = select(func.coalesce(func.max(col(PatrolCheckpoint.position)), 0)).where(
        col(PatrolCheckpoint.route_id) == route_id
    )
    return int(await session.scalar(query) or 0)


async def get_checkpoint(
    session: AsyncSession, route_id: uuid.UUID, checkpoint_id: uuid.UUID, *, for_update: bool = False
) -> PatrolCheckpoint | None:
    """The route's checkpoint (a checkpoint of another route is none of its)."""
    return await kit.get(
        session,
        PatrolCheckpoint,
        checkpoint_id,
        col(PatrolCheckpoint.route_id) == route_id,
        for_update=for_update,
    )


async def checkpoint_ids(session: AsyncSession, route_id: uuid.UUID) -> list[uuid.UUID]:
    query = select(col(PatrolCheckpoint.id)).where(col(PatrolCheckpoint.route_id) == route_id)
    return list(await session.scalars(query.order_by(col(PatrolCheckpoint.id))))


async def in_use(session: AsyncSession, route_id: uuid.UUID) -> bool:
    """Whether any patrol (planned, walked or not) or repeating plan refers to the route."""
    patrols = exists().where(col(Patrol.route_id) == route_id)
    plans = exists().where(col(PatrolPlan.route_id) == route_id)
    return bool(await session.scalar(select(or_(patrols, plans))))
