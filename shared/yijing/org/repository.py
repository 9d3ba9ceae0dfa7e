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
from yijing.kit.reads import LeanRow, Reader
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


# What a station's read model shows (StationRead): its GETs read only these.
STATION_SHOWN = (
    col(Station.id), col(Station.name), col(Station.division_code), col(Station.timezone),
    col(Station.version), col(Station.created_at), col(Station.updated_at),
)  # fmt: skip
# Built once: a select of many columns costs more to build than to run.
_STATION_SHOWN = select(*STATION_SHOWN)


async def read_station(reader: Reader, station_id: uuid.UUID, scope: StationScope) -> LeanRow | None:
    """A station as its read model shows it (lean: see :func:`yijing.kit.repository.read`)."""
    return await kit.read(reader, _STATION_SHOWN.where(scope.clause(Station.id)), Station.id, station_id)


async def list_stations(
    reader: Reader, scope: StationScope, filters: StationFilters, page: PageParams
) -> list[LeanRow]:
    conditions = kit.equal((Station.division_code, filters.division_code))
    if filters.updated_after is not None:
        conditions.append(col(Station.updated_at) > filters.updated_after)
    query = _STATION_SHOWN.where(scope.clause(Station.id), *conditions)
    return await kit.read_page(reader, query, Station.id, page)


async def station_has_sites(session: AsyncSession, station_id: uuid.UUID) -> bool:
    return bool(await session.scalar(select(exists().where(col(Site.station_id) == station_id))))


async def get_site(
    session: AsyncSession, site_id: uuid.UUID, scope: StationScope, *, for_update: bool = False
) -> Site | None:
    return await kit.get(session, Site, site_id, scope.clause(Site.station_id), for_update=for_update)


# What a site's read model shows (SiteRead): its GETs read only these.
SITE_SHOWN = (
    col(Site.id), col(Site.station_id), col(Site.name), col(Site.kind), col(Site.latitude),
    col(Site.longitude), col(Site.version), col(Site.created_at), col(Site.updated_at),
)  # fmt: skip
_SITE_SHOWN = select(*SITE_SHOWN)  # built once


async def read_site(reader: Reader, site_id: uuid.UUID, scope: StationScope) -> LeanRow | None:
    """A site as its read model shows it (lean: see :func:`yijing.kit.repository.read`)."""
    return await kit.read(reader, _SITE_SHOWN.where(scope.clause(Site.station_id)), Site.id, site_id)


async def list_sites(
    reader: Reader, scope: StationScope, filters: SiteFilters, page: PageParams
) -> list[LeanRow]:
    conditions = kit.equal((Site.station_id, filters.station_id), (Site.kind, filters.kind))
    if filters.updated_after is not None:
        conditions.append(col(Site.updated_at) > filters.updated_after)
    query = _SITE_SHOWN.where(scope.clause(Site.station_id), *conditions)
    return await kit.read_page(reader, query, Site.id, page)


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
