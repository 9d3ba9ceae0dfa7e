"""Stations and sites: who may see and change them is decided at the edge; what they reach is the scope."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from yijing import conflicts
from yijing.access import Actor, StationScope
from yijing.audit import service as audit
from yijing.errors import check_version
from yijing.kit.pagination import Page, PageParams, page_of
from yijing.kit.reads import Reader
from yijing.kit.versions import apply_changes
from yijing.org import repository
from yijing.org.errors import SiteInUse, SiteNotFound, StationInUse, StationNotFound
from yijing.org.models import Site, Station
from yijing.org.schemas import (
    Location,
    SiteCreate,
    SiteFilters,
    SiteRead,
    SiteUpdate,
    StationCreate,
    StationFilters,
    StationRead,
    StationUpdate,
)


async def _save_new(
    session: AsyncSession,
    actor: Actor,
    record: Station | Site,
    data: BaseModel,
    *,
    target_type: str,
    station_id: uuid.UUID,
) -> None:
    """Write a new record with its audit event (the request's fields as the changes)."""
    await conflicts.add(session, record)
    await audit.record(
        session, actor, f"{target_type}.create", target_type=target_type, target_id=record.id,
        station_id=station_id, changes=data.model_dump(mode="json", exclude_none=True),
    )  # fmt: skip


async def _save_changes(
    session: AsyncSession,
    actor: Actor,
    record: Station | Site,
    updates: dict[str, Any],
    *,
    target_type: str,
    station_id: uuid.UUID,
) -> None:
    """Apply ``updates``; if anything really changed, write it with its audit event."""
    async with conflicts.changing(session, record):
        changes = apply_changes(record, updates)
    if changes:
        await audit.record(
            session, actor, f"{target_type}.update", target_type=target_type, target_id=record.id,
            station_id=station_id, changes=changes,
        )  # fmt: skip


def _still_referred(
    refusal: type[StationInUse | SiteInUse], error: IntegrityError, what: str, *, what_zh: str
) -> StationInUse | SiteInUse:
    table = conflicts.referring_table(error)
    records = f"records of {table.replace('_', ' ')}" if table else "other records"
    records_zh = f" {table} 表中的记录" if table else "其他记录"
    return refusal(
        f"{records} still refer to the {what}; move or remove them first",
        zh=f"仍有{records_zh}引用该{what_zh}，请先迁移或删除这些记录",
    )


# Stations


async def _station_to_change(
    session: AsyncSession, actor: Actor, station_id: uuid.UUID, expected_version: int | None
) -> Station:
    """The station, locked for this transaction, after the caller's If-Match is checked."""
    station = await repository.get_station(session, station_id, actor.scope, for_update=True)
    if station is None:
        raise StationNotFound(f"no station {station_id}", zh=f"未找到派出所 {station_id}")
    check_version(station.version, expected_version)
    return station


async def get_station(session: AsyncSession, actor: Actor, station_id: uuid.UUID) -> Station:
    station = await repository.get_station(session, station_id, actor.scope)
    if station is None:
        raise StationNotFound(f"no station {station_id}", zh=f"未找到派出所 {station_id}")
    return station


async def read_station(reader: Reader, actor: Actor, station_id: uuid.UUID) -> StationRead:
    """A station within the caller's reach, as its read model (read lean)."""
    row = await repository.read_station(reader, station_id, actor.scope)
    if row is None:
        raise StationNotFound(f"no station {station_id}", zh=f"未找到派出所 {station_id}")
    return StationRead.of(row)


async def find_station_id(session: AsyncSession, id_or_name: str) -> uuid.UUID:
    """A station named by id or exact name (for operators' commands)."""
    try:
        station_id: uuid.UUID | None = uuid.UUID(id_or_name)
    except ValueError:
        station_id = await repository.station_id_by_name(session, id_or_name)
    if (
        station_id is None
        or await repository.get_station(session, station_id, StationScope.everywhere()) is None
    ):
        raise StationNotFound(f"no station {id_or_name!r}", zh=f"未找到派出所“{id_or_name}”")
    return station_id


async def list_stations(
    reader: Reader, actor: Actor, filters: StationFilters, page: PageParams
) -> Page[StationRead]:
    stations = await repository.list_stations(reader, actor.scope, filters, page)
    return page_of(stations, page.limit, StationRead.of)


async def create_station(
    session: AsyncSession, actor: Actor, data: StationCreate, default_tz: str
) -> Station:
    station = Station(name=data.name, division_code=data.division_code, timezone=data.timezone or default_tz)
    await _save_new(session, actor, station, data, target_type="station", station_id=station.id)
    return station


async def update_station(
    session: AsyncSession,
    actor: Actor,
    station_id: uuid.UUID,
    data: StationUpdate,
    expected_version: int | None,
) -> Station:
    station = await _station_to_change(session, actor, station_id, expected_version)
    updates = data.model_dump(exclude_unset=True, exclude_none=True)
    await _save_changes(session, actor, station, updates, target_type="station", station_id=station.id)
    return station


async def delete_station(
    session: AsyncSession, actor: Actor, station_id: uuid.UUID, expected_version: int | None
) -> None:
    station = await _station_to_change(session, actor, station_id, expected_version)
    if await repository.station_has_sites(session, station.id):
        raise StationInUse(
            "the station still has sites; remove them first", zh="该派出所下仍有站点，请先删除这些站点"
        )
    await session.delete(station)
    try:
        await session.flush()
    except IntegrityError as exc:  # users or other records still point at it
        raise _still_referred(StationInUse, exc, "station", what_zh="派出所") from exc
    await audit.record(
        session, actor, "station.delete", target_type="station", target_id=station_id, station_id=station_id
    )


# Sites


async def _site_to_change(
    session: AsyncSession, actor: Actor, site_id: uuid.UUID, expected_version: int | None
) -> Site:
    """The site, locked for this transaction, after the caller's If-Match is checked."""
    site = await repository.get_site(session, site_id, actor.scope, for_update=True)
    if site is None:
        raise SiteNotFound(f"no site {site_id}", zh=f"未找到站点 {site_id}")
    check_version(site.version, expected_version)
    return site


def _point(location: Location | None) -> dict[str, float | None]:
    if location is None:
        return {"latitude": None, "longitude": None}
    return {"latitude": location.latitude, "longitude": location.longitude}


async def read_site(reader: Reader, actor: Actor, site_id: uuid.UUID) -> SiteRead:
    """A site within the caller's reach, as its read model (read lean)."""
    row = await repository.read_site(reader, site_id, actor.scope)
    if row is None:
        raise SiteNotFound(f"no site {site_id}", zh=f"未找到站点 {site_id}")
    return SiteRead.of(row)


async def list_sites(reader: Reader, actor: Actor, filters: SiteFilters, page: PageParams) -> Page[SiteRead]:
    sites = await repository.list_sites(reader, actor.scope, filters, page)
    return page_of(sites, page.limit, SiteRead.of)


async def create_site(session: AsyncSession, actor: Actor, data: SiteCreate) -> Site:
    await get_station(session, actor, data.station_id)  # 404 outside the caller's reach
    point = _point(data.location)
    site = Site(
        station_id=data.station_id, name=data.name, kind=data.kind,
        latitude=point["latitude"], longitude=point["longitude"],
    )  # fmt: skip
    await _save_new(session, actor, site, data, target_type="site", station_id=site.station_id)
    return site


async def update_site(
    session: AsyncSession, actor: Actor, site_id: uuid.UUID, data: SiteUpdate, expected_version: int | None
) -> Site:
    site = await _site_to_change(session, actor, site_id, expected_version)
    updates = data.model_dump(exclude_unset=True, exclude_none=True, exclude={"location"})
    if "location" in data.model_fields_set:  # given, even as null: null clears the point
        updates |= _point(data.location)
    await _save_changes(session, actor, site, updates, target_type="site", station_id=site.station_id)
    return site


async def delete_site(
    session: AsyncSession, actor: Actor, site_id: uuid.UUID, expected_version: int | None
) -> None:
    site = await _site_to_change(session, actor, site_id, expected_version)
    # The database detaches the site's officers and assistants; the audit event says who they were.
    detached = await repository.users_attached_to(session, site.id)
    await session.delete(site)
    try:
        await session.flush()
    except IntegrityError as exc:  # volunteers, groups, hazards, routes… still point at it
        raise _still_referred(SiteInUse, exc, "site", what_zh="站点") from exc
    await audit.record(
        session, actor, "site.delete", target_type="site", target_id=site_id, station_id=site.station_id,
        changes={"detached_user_ids": [str(user_id) for user_id in detached]},
    )  # fmt: skip
