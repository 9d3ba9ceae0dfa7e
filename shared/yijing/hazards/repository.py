from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Date, Integer, and_, cast, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.access import StationScope
from yijing.hazards.models import (
    CLOSED_NOT_FIXED,
    OPEN_STATUSES,
    AttachmentKind,
    Hazard,
    HazardAttachment,
    HazardDeadlineRule,
    HazardEvent,
    HazardSeverity,
    HazardStatus,
)
from yijing.hazards.schemas import SHOWN, HazardFilters
from yijing.kit import repository as kit
from yijing.kit.pagination import PageParams
from yijing.kit.reads import LeanRow, Reader
from yijing.org.models import Site, Station

# New and changed records that no declared unique constraint can refuse.
save = kit.save


async def get(
    session: AsyncSession, hazard_id: uuid.UUID, reach: ColumnElement[bool], *, for_update: bool = False
) -> Hazard | None:
    return await kit.get(session, Hazard, hazard_id, reach, for_update=for_update)


async def lock(
    session: AsyncSession, hazard_ids: Sequence[uuid.UUID], reach: ColumnElement[bool]
) -> dict[uuid.UUID, Hazard]:
    """The hazards within reach, locked for the transaction in id order (so that two transactions locking
    the same pair cannot deadlock)."""
    query = (
        select(Hazard).where(col(Hazard.id).in_(hazard_ids), reach).order_by(col(Hazard.id)).with_for_update()
    )
    return {hazard.id: hazard for hazard in (await session.scalars(query)).all()}


async def repoint_duplicates(
    session: AsyncSession, duplicate_of: uuid.UUID, original_id: uuid.UUID
) -> Sequence[uuid.UUID]:
    statement = (
        update(Hazard)
        .where(col(Hazard.duplicate_of_id) == duplicate_of)
        .values(duplicate_of_id=original_id)
        .returning(col(Hazard.id))
    )
    return (await session.scalars(statement)).all()


async def get_by_client_id(
    session: AsyncSession, station_id: uuid.UUID, client_id: uuid.UUID
) -> Hazard | None:
    query = select(Hazard).where(col(Hazard.station_id) == station_id, col(Hazard.client_id) == client_id)
    return (await session.scalars(query)).one_or_none()


_SHOWN = select(*SHOWN)  # built once: a select of many columns costs more to build than to run


async def read(reader: Reader, hazard_id: uuid.UUID, reach: ColumnElement[bool]) -> LeanRow | None:
    """A hazard as its read model shows it (lean: see :func:`yijing.kit.repository.read`)."""
    return await kit.read(reader, _SHOWN.where(reach), Hazard.id, hazard_id)


async def read_within(reader: Reader, hazard_id: uuid.UUID, scope: StationScope) -> LeanRow | None:
    """:func:`read` for a caller who reaches every hazard of their stations (the lean lane's common read)."""
    return await kit.read_within(reader, _SHOWN, Hazard, hazard_id, scope)


async def list_hazards(
    session: AsyncSession, reach: ColumnElement[bool], filters: HazardFilters, page: PageParams
) -> list[LeanRow]:
    """One query, whatever the filters, in id (reporting) order."""
    conditions = kit.equal(
        (Hazard.station_id, filters.station_id),
        (Hazard.site_id, filters.site_id),
        (Hazard.category, filters.category),
        (Hazard.severity, filters.severity),
        # "overdue = true" matches the partial index's predicate; "overdue IS true" would not.
        (Hazard.overdue, filters.overdue),
        (Hazard.reporter_id, filters.reporter_id),
    )
    if filters.status:
        conditions.append(col(Hazard.status).in_(filters.status))
    if filters.reported_after is not None:
        conditions.append(col(Hazard.created_at) >= filters.reported_after)
    if filters.reported_before is not None:
        conditions.append(col(Hazard.created_at) < filters.reported_before)
    if filters.updated_after is not None:
        conditions.append(col(Hazard.updated_at) > filters.updated_after)
    return await kit.read_page(session, _SHOWN.where(reach, *conditions), Hazard.id, page)


async def events(session: AsyncSession, hazard_id: uuid.UUID) -> Sequence[HazardEvent]:
    query = (
        select(HazardEvent)
        .where(col(HazardEvent.hazard_id) == hazard_id)
        .order_by(col(HazardEvent.occurred_at), col(HazardEvent.id))
    )
    return (await session.scalars(query)).all()


async def insert_events(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(HazardEvent), list(rows))


# Attachments


async def attachments(session: AsyncSession, hazard_id: uuid.UUID) -> Sequence[HazardAttachment]:
    query = (
        select(HazardAttachment)
        .where(col(HazardAttachment.hazard_id) == hazard_id)
        .order_by(col(HazardAttachment.id))
    )
    return (await session.scalars(query)).all()


async def get_attachment(
    session: AsyncSession, hazard_id: uuid.UUID, attachment_id: uuid.UUID
) -> HazardAttachment | None:
    query = select(HazardAttachment).where(
        col(HazardAttachment.id) == attachment_id, col(HazardAttachment.hazard_id) == hazard_id
    )
    return (await session.scalars(query)).one_or_none()


async def attachment_by_upload(
    session: AsyncSession, hazard_id: uuid.UUID, upload_sha256: str, gps_stripped: bool
) -> HazardAttachment | None:
    query = select(HazardAttachment).where(
        col(HazardAttachment.hazard_id) == hazard_id,
        col(HazardAttachment.upload_sha256) == upload_sha256,
        col(HazardAttachment.gps_stripped).is_(gps_stripped),
    )
    return (await session.scalars(query)).one_or_none()


async def last_reopened_at(session: AsyncSession, hazard_id: uuid.UUID) -> datetime | None:
    query = select(func.max(col(HazardEvent.occurred_at))).where(
        col(HazardEvent.hazard_id) == hazard_id, col(HazardEvent.action) == "reopen"
    )
    return await session.scalar(query)


async def has_after_photo(session: AsyncSession, hazard_id: uuid.UUID, *, since: datetime | None) -> bool:
    query = select(col(HazardAttachment.id)).where(
        col(HazardAttachment.hazard_id) == hazard_id, col(HazardAttachment.kind) == AttachmentKind.AFTER
    )
    if since is not None:
        query = query.where(col(HazardAttachment.created_at) > since)
    return (await session.scalar(query.limit(1))) is not None


# Deadlines


async def deadline_rules(session: AsyncSession, station_id: uuid.UUID) -> dict[HazardSeverity, int]:
    query = select(col(HazardDeadlineRule.severity), col(HazardDeadlineRule.days)).where(
        col(HazardDeadlineRule.station_id) == station_id
    )
    return {HazardSeverity(severity): days for severity, days in (await session.execute(query)).all()}


async def save_deadline_rules(
    session: AsyncSession, station_id: uuid.UUID, days: dict[HazardSeverity, int], now: datetime
) -> None:
    statement = insert(HazardDeadlineRule).values(
        [
            {"station_id": station_id, "severity": severity.value, "days": count, "updated_at": now}
            for severity, count in days.items()
        ]
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["station_id", "severity"],
            set_={"days": statement.excluded.days, "updated_at": statement.excluded.updated_at},
        )
    )


_OPEN = col(Hazard.status).in_(OPEN_STATUSES)


async def mark_overdue(session: AsyncSession, now: datetime) -> Sequence[Hazard]:
    """Flag the open hazards whose deadline has passed in their station's time zone, and return them. A row
    is flagged by one statement once, so two runs at the same time flag (and notify) each hazard once."""
    statement = (
        update(Hazard)
        .where(
            _OPEN,
            col(Hazard.overdue).is_(False),
            col(Hazard.station_id) == col(Station.id),
            col(Hazard.deadline) < func.date(func.timezone(col(Station.timezone), now)),
        )
        .values(overdue=True, version=col(Hazard.version) + 1, updated_at=now)
        .returning(Hazard)
    )
    return (await session.scalars(select(Hazard).from_statement(statement))).all()


async def mark_reminded(session: AsyncSession, now: datetime, days_before: int) -> Sequence[Hazard]:
    """Record a reminder for the open hazards due within ``days_before`` days (station time) that have not
    had one for their current deadline, and return them. A hazard reported already that close to its
    deadline (a critical one, say) gets none: its team has just been told of it."""
    today = func.date(func.timezone(col(Station.timezone), now))
    reported_on = func.date(func.timezone(col(Station.timezone), col(Hazard.created_at)))
    statement = (
        update(Hazard)
        .where(
            _OPEN,
            col(Hazard.overdue).is_(False),
            col(Hazard.station_id) == col(Station.id),
            col(Hazard.deadline) >= today,
            col(Hazard.deadline) - today <= days_before,
            col(Hazard.reminded_for).is_distinct_from(col(Hazard.deadline)),
            col(Hazard.deadline) - reported_on > days_before,
        )
        .values(reminded_for=col(Hazard.deadline))
        .returning(Hazard)
    )
    return (await session.scalars(select(Hazard).from_statement(statement))).all()


# The summary


async def site_summary(
    session: AsyncSession,
    scope: StationScope,
    *,
    month: date,
    station_id: uuid.UUID | None,
    site_id: uuid.UUID | None,
) -> Sequence[Any]:
    """Per site: open and overdue now; eliminated and closed without a fix in ``month`` (the month in the
    site's station time zone); the median days from finding to elimination of those eliminated."""
    # Every time zone lies within UTC−12…UTC+14: a UTC window that wide around the month lets an index find
    # its closed hazards, and each row's local month is then checked exactly.
    next_month = (month + timedelta(days=32)).replace(day=1)
    window = col(Hazard.closed_at).between(
        datetime.combine(month, time(), UTC) - timedelta(hours=14),
        datetime.combine(next_month, time(), UTC) + timedelta(hours=12),
    )
    local_closed_month = func.date_trunc("month", func.timezone(col(Station.timezone), col(Hazard.closed_at)))
    in_month = and_(col(Hazard.closed_at).is_not(None), cast(local_closed_month, Date) == month)
    started = func.coalesce(col(Hazard.captured_at), col(Hazard.created_at))
    eliminated = and_(in_month, col(Hazard.status) == HazardStatus.ELIMINATED)

    def count(condition: ColumnElement[bool]) -> Any:
        return func.coalesce(func.sum(cast(condition, Integer)), 0)

    query = (
        select(
            col(Site.id).label("site_id"),
            col(Site.name).label("site_name"),
            col(Site.station_id).label("station_id"),
            count(_OPEN).label("open"),
            count(and_(_OPEN, col(Hazard.overdue))).label("overdue"),
            count(eliminated).label("eliminated"),
            *(
                count(and_(in_month, col(Hazard.status) == status)).label(status.value)
                for status in sorted(CLOSED_NOT_FIXED)
            ),
            func.percentile_cont(0.5)
            .within_group(func.extract("epoch", col(Hazard.eliminated_at) - started) / 86400)
            .filter(eliminated)
            .label("median_days"),
        )
        .select_from(Site)
        .join(Station, col(Station.id) == col(Site.station_id))
        .outerjoin(Hazard, and_(col(Hazard.site_id) == col(Site.id), or_(_OPEN, window)))
        .where(scope.clause(Site.station_id))
        .group_by(col(Site.id), col(Site.name), col(Site.station_id))
        .order_by(col(Site.station_id), col(Site.name))
    )
    if station_id is not None:
        query = query.where(col(Site.station_id) == station_id)
    if site_id is not None:
        query = query.where(col(Site.id) == site_id)
    return (await session.execute(query)).all()
