from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.access import StationScope
from yijing.identity.models import UserSite
from yijing.org.models import Site, SiteKind, Station


async def add(session: AsyncSession, record: Station | Site) -> None:
    session.add(record)
    await session.flush()


async def get_station(
    session: AsyncSession, station_id: uuid.UUID, scope: StationScope, *, for_update: bool = False
) -> Station | None:
    query = select(Station).where(col(Station.id) == station_id, scope.clause(Station.id))
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()


async def station_id_by_name(session: AsyncSession, name: str) -> uuid.UUID | None:
    return await session.scalar(select(col(Station.id)).where(col(Station.name) == name))


async def any_station_exists(session: AsyncSession) -> bool:
    return bool(await session.scalar(select(exists().select_from(Station))))


async def list_stations(
    session: AsyncSession,
    scope: StationScope,
    *,
    limit: int,
    after_id: uuid.UUID | None,
    division_code: str | None = None,
    updated_after: datetime | None = None,
) -> Sequence[Station]:
    query = select(Station).where(scope.clause(Station.id))
    if division_code is not None:
        query = query.where(col(Station.division_code) == division_code)
    if updated_after is not None:
        query = query.where(col(Station.updated_at) > updated_after)
    if after_id is not None:
        query = query.where(col(Station.id) > after_id)
    return (await session.scalars(query.order_by(col(Station.id)).limit(limit + 1))).all()


async def station_has_sites(session: AsyncSession, station_id: uuid.UUID) -> bool:
    return bool(await session.scalar(select(exists().where(col(Site.station_id) == station_id))))


async def get_site(
    session: AsyncSession, site_id: uuid.UUID, scope: StationScope, *, for_update: bool = False
) -> Site | None:
    query = select(Site).where(col(Site.id) == site_id, scope.clause(Site.station_id))
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()


async def list_sites(
    session: AsyncSession,
    scope: StationScope,
    *,
    limit: int,
    after_id: uuid.UUID | None,
    station_id: uuid.UUID | None = None,
    kind: SiteKind | None = None,
    updated_after: datetime | None = None,
) -> Sequence[Site]:
    query = select(Site).where(scope.clause(Site.station_id))
    if station_id is not None:
        query = query.where(col(Site.station_id) == station_id)
    if kind is not None:
        query = query.where(col(Site.kind) == kind)
    if updated_after is not None:
        query = query.where(col(Site.updated_at) > updated_after)
    if after_id is not None:
        query = query.where(col(Site.id) > after_id)
    return (await session.scalars(query.order_by(col(Site.id)).limit(limit + 1))).all()


async def sites_exist(session: AsyncSession, site_ids: Sequence[uuid.UUID], station_id: uuid.UUID) -> bool:
    """True when every id is a site of ``station_id``."""
    query = select(col(Site.id)).where(col(Site.id).in_(site_ids), col(Site.station_id) == station_id)
    return len(set((await session.scalars(query)).all())) == len(set(site_ids))


async def users_attached_to(session: AsyncSession, site_id: uuid.UUID) -> Sequence[uuid.UUID]:
    """Officers and assistants attached to the site (identity owns the link; org only reads it)."""
    query = (
        select(col(UserSite.user_id)).where(col(UserSite.site_id) == site_id).order_by(col(UserSite.user_id))
    )
    return (await session.scalars(query)).all()


async def station_ids(session: AsyncSession, scope: StationScope) -> list[uuid.UUID]:
    return list(await session.scalars(select(col(Station.id)).where(scope.clause(Station.id))))


async def sites_of(session: AsyncSession, *station_ids: uuid.UUID) -> Sequence[Site]:
    return (await session.scalars(select(Site).where(col(Site.station_id).in_(station_ids)))).all()
