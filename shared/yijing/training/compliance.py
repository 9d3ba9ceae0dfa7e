"""Monthly training compliance (每月至少参训一次): in a month of the station's calendar, a volunteer active
in it is trained when present or late at a settled, required training that started in it. Excused is not
trained. One grouped statement answers every site's figures; the volunteers' rows are a list of their own,
paged, or whole as a file."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, Subquery, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.access import Actor
from yijing.errors import InvalidInput
from yijing.ids import station_today
from yijing.kit import reads
from yijing.kit import repository as kit
from yijing.kit.pagination import Page, PageParams, encode_cursor
from yijing.org import repository as org_repository
from yijing.org.errors import SiteNotFound, StationNotFound
from yijing.org.models import Site, Station
from yijing.training.models import AttendanceStatus, Training, TrainingAttendance, TrainingStatus
from yijing.training.schemas import (
    ComplianceFilters,
    ComplianceQuery,
    ComplianceReport,
    ComplianceRow,
    SiteCompliance,
)
from yijing.volunteers.models import Volunteer, VolunteerStatus

TRAINED = (AttendanceStatus.PRESENT, AttendanceStatus.LATE)


def next_month(first: date) -> date:
    return (first + timedelta(days=32)).replace(day=1)


def _month_trainings(station: Station, first: date) -> list[ColumnElement[bool]]:
    """The required trainings of the station settled in the month (a cancelled one is never settled)."""
    zone = ZoneInfo(station.timezone)
    return [
        col(Training.station_id) == station.id,
        col(Training.status) == TrainingStatus.SETTLED,
        col(Training.required).is_(True),
        # The month as instants of the station's calendar: a session past midnight is its start's.
        col(Training.starts_at) >= datetime.combine(first, time(), zone),
        col(Training.starts_at) < datetime.combine(next_month(first), time(), zone),
    ]


def _attendance(station: Station, first: date) -> Subquery:
    """Each volunteer's attended and excused required trainings of the month."""
    return (
        select(
            col(TrainingAttendance.volunteer_id),
            func.count().filter(col(TrainingAttendance.status).in_(TRAINED)).label("attended"),
            func.count().filter(col(TrainingAttendance.status) == AttendanceStatus.EXCUSED).label("excused"),
        )
        .join(Training, col(Training.id) == col(TrainingAttendance.training_id))
        .where(*_month_trainings(station, first))
        .group_by(col(TrainingAttendance.volunteer_id))
        .subquery("attended")
    )


def _owed(first: date) -> ColumnElement[bool]:
    """Who owed the month's training: active now and joined by the month's end."""
    return and_(col(Volunteer.status) == VolunteerStatus.ACTIVE, col(Volunteer.joined_on) < next_month(first))


async def site_tallies(
    session: AsyncSession, station: Station, first: date, site_id: uuid.UUID | None = None
) -> list[SiteCompliance]:
    """Each site of the station (or the one site) with its volunteers who owed the month's training and
    those trained, in name order, in one statement."""
    trained = (
        select(col(TrainingAttendance.volunteer_id))
        .join(Training, col(Training.id) == col(TrainingAttendance.training_id))
        .where(*_month_trainings(station, first), col(TrainingAttendance.status).in_(TRAINED))
    )
    volunteers = col(Volunteer.id)
    query: Select[*tuple[Any, ...]] = (
        select(
            col(Site.id).label("site_id"),
            col(Site.name).label("site_name"),
            func.count(volunteers).label("volunteers"),
            # A set looked up once (a hashed subplan), not a count per volunteer.
            func.count(volunteers).filter(volunteers.in_(trained)).label("trained"),
        )
        .select_from(Site)
        .outerjoin(Volunteer, and_(col(Volunteer.site_id) == col(Site.id), _owed(first)))
        .where(col(Site.station_id) == station.id, *([col(Site.id) == site_id] if site_id else []))
        .group_by(col(Site.id), col(Site.name))
        .order_by(col(Site.name), col(Site.id))
    )
    return [
        SiteCompliance(
            **row, rate=round(row["trained"] / row["volunteers"], 3) if row["volunteers"] else None
        )
        for row in await reads.mappings(session, query)
    ]


def _volunteer_rows(
    station: Station, first: date, site_id: uuid.UUID | None, trained: bool | None
) -> Select[*tuple[Any, ...]]:
    attendance = _attendance(station, first)
    attended = func.coalesce(attendance.c.attended, 0)
    conditions = [col(Volunteer.station_id) == station.id, _owed(first)]
    if site_id is not None:
        conditions.append(col(Volunteer.site_id) == site_id)
    if trained is not None:
        conditions.append((attended > 0) == trained)
    return (
        select(
            col(Volunteer.id).label("volunteer_id"),
            col(Volunteer.name).label("volunteer_name"),
            col(Site.id).label("site_id"),
            col(Site.name).label("site_name"),
            (attended > 0).label("trained"),
            attended.label("trainings_attended"),
            func.coalesce(attendance.c.excused, 0).label("excused"),
        )
        .join(Site, col(Site.id) == col(Volunteer.site_id))
        .outerjoin(attendance, attendance.c.volunteer_id == col(Volunteer.id))
        .where(*conditions)
    )


async def _station(
    session: AsyncSession, actor: Actor, station_id: uuid.UUID | None, site_id: uuid.UUID | None
) -> Station:
    """The station asked for, the site's, or the caller's only one; out of reach reads as not found."""
    if site_id is not None:
        site = await org_repository.get_site(session, site_id, actor.scope)
        if site is None or (station_id is not None and site.station_id != station_id):
            raise SiteNotFound(f"no site {site_id}", zh=f"未找到站点 {site_id}")
        station_id = site.station_id
    if station_id is None:
        ids = await org_repository.station_ids(session, actor.scope)
        if len(ids) != 1:
            raise InvalidInput.on(
                "query.station_id",
                "name the station: the caller reaches several",
                "station_required",
                zh="您可访问多个派出所，请指定派出所",
            )
        station_id = ids[0]
    station = await org_repository.get_station(session, station_id, actor.scope)
    if station is None:
        raise StationNotFound(f"no station {station_id}", zh=f"未找到派出所 {station_id}")
    return station


async def _month(session: AsyncSession, actor: Actor, asked: ComplianceQuery) -> tuple[Station, date]:
    """The station read and the first day of the month asked for (by default the station's current one)."""
    station = await _station(session, actor, asked.station_id, asked.site_id)
    if asked.month is None:
        return station, station_today(station.timezone).replace(day=1)
    return station, date.fromisoformat(f"{asked.month}-01")


async def compliance(session: AsyncSession, actor: Actor, asked: ComplianceQuery) -> ComplianceReport:
    station, first = await _month(session, actor, asked)
    sites = await site_tallies(session, station, first, asked.site_id)
    volunteers = sum(site.volunteers for site in sites)
    trained = sum(site.trained for site in sites)
    return ComplianceReport(
        month=f"{first:%Y-%m}",
        station_id=station.id,
        volunteers=volunteers,
        trained=trained,
        rate=round(trained / volunteers, 3) if volunteers else None,
        sites=sites,
    )


async def volunteer_page(
    session: AsyncSession, actor: Actor, filters: ComplianceFilters, page: PageParams
) -> Page[ComplianceRow]:
    """One page of the volunteers who owed the month's training, in name order."""
    station, first = await _month(session, actor, filters)
    rows_asked = _volunteer_rows(station, first, filters.site_id, filters.trained)
    query = kit.keyset(rows_asked, Volunteer.id, page, by=Volunteer.name)
    rows: list[Any] = await reads.mappings(session, query)  # each a ComplianceRow: its labels are the keys
    shown = rows[: page.limit]
    cursor = encode_cursor(shown[-1]["volunteer_id"]) if len(rows) > page.limit else None
    return Page[ComplianceRow](items=shown, next_cursor=cursor)


async def volunteer_table(
    session: AsyncSession, actor: Actor, filters: ComplianceFilters
) -> tuple[str, list[ComplianceRow]]:
    """The month (YYYY-MM) and every row of the list, for a file: by site, then name. Taken as read: ten
    thousand rows validated one by one would cost more than the query."""
    station, first = await _month(session, actor, filters)
    query = _volunteer_rows(station, first, filters.site_id, filters.trained).order_by(
        col(Site.name), col(Site.id), col(Volunteer.name), col(Volunteer.id)
    )
    rows: list[Any] = await reads.mappings(session, query)
    return f"{first:%Y-%m}", rows
