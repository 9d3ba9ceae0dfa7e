from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.access import StationScope
from yijing.identity.models import UserSite
from yijing.kit import repository as kit
from yijing.kit.pagination import PageParams
from yijing.org.models import Site, Station
from yijing.org.schemas import SiteFilters, StationFilters

# New and changed records that no declared unique constraint can refuse.
save = kit.save


async def get_station(
    session: AsyncSession, station_id: uuid.UUID, scope: StationScope, *, for_update: bool = False
) -> Station | None:
    return await kit.get(session, Station, station_id, scope.clause(Station.id), for_update=for_update)


async def station_id_by_name(session: AsyncSession, name: str) -> uuid.UUID | None:
    return await session.scalar(select(col(Station.id)).where(col(Station.name) == name))


async def any_station_exists(session: AsyncSession) -> bool:
    return bool(await session.scalar(select(exists().select_from(Station))))


async def list_stations(
    session: AsyncSession, scope: StationScope, filters: StationFilters, page: PageParams
) -> Sequence[Station]:
    conditions = kit.equal((Station.division_code, filters.division_code))
    if filters.updated_after is not None:
        conditions.append(col(Station.updated_at) > filters.updated_after)
    query = select(Station).where(scope.clause(Station.id), *conditions)
    return await kit.fetch_page(session, query, Station.id, page)


async def station_has_sites(session: AsyncSession, station_id: uuid.UUID) -> bool:
    return bool(await session.scalar(select(exists().where(col(Site.station_id) == station_id))))


async def get_site(
    session: AsyncSession, site_id: uuid.UUID, scope: StationScope, *, for_update: bool = False
) -> Site | None:
    return await kit.get(session, Site, site_id, scope.clause(Site.station_id), for_update=for_update)


async def list_sites(
    session: AsyncSession, scope: StationScope, filters: SiteFilters, page: PageParams
) -> Sequence[Site]:
    conditions = kit.equal((Site.station_id, filters.station_id), (Site.kind, filters.kind))
    if filters.updated_after is not None:
        conditions.append(col(Site.updated_at) > filters.updated_after)
    query = select(Site).where(scope.clause(Site.station_id), *conditions)
    return await kit.fetch_page(session, query, Site.id, page)


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


async def station_zones(
    session: AsyncSession, scope: StationScope, station_id: uuid.UUID | None = None
) -> dict[uuid.UUID, str]:
    """The time zone of every station within ``scope`` (only ``station_id``'s, when given), by id."""
    query = select(col(Station.id), col(Station.timezone)).where(scope.clause(Station.id))
    if station_id is not None:
        query = query.where(col(Station.id) == station_id)
    return {station: zone for station, zone in (await session.execute(query)).all()}


def site_labels(station_ids: Sequence[uuid.UUID], site_id: uuid.UUID | None) -> Select[*tuple[Any, ...]]:
    """The sites of the stations (only ``site_id``, when given) as rows of a statistics table: ``key`` (the
    site's id) and its name as both labels."""
    query: Select[*tuple[Any, ...]] = select(
        col(Site.id).label("key"), col(Site.name).label("label_zh"), col(Site.name).label("label_en")
    ).where(col(Site.station_id).in_(station_ids))
    return query if site_id is None else query.where(col(Site.id) == site_id)


async def sites_of(session: AsyncSession, *station_ids: uuid.UUID) -> Sequence[Site]:
    return (await session.scalars(select(Site).where(col(Site.station_id).in_(station_ids)))).all()
