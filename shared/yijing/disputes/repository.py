from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, bindparam, delete, exists, false, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.disputes.models import (
    Dispute,
    DisputeEvent,
    DisputeFollowup,
    DisputeMediator,
    DisputeParty,
    DisputeSettings,
)
from yijing.disputes.schemas import (
    EVENT_SHOWN,
    FOLLOWUP_SHOWN,
    MEDIATOR_SHOWN,
    PARTY_SEALED,
    PARTY_SHOWN,
    SHOWN,
    DisputeFilters,
)
from yijing.kit import repository as kit
from yijing.kit.pagination import PageParams
from yijing.kit.reads import LeanRow, Reader, mappings
from yijing.volunteers.models import Volunteer, VolunteerStatus

# New and changed records that no declared unique constraint can refuse.
save = kit.save
save_all = kit.save_all


async def get(
    session: AsyncSession, dispute_id: uuid.UUID, reach: ColumnElement[bool], *, for_update: bool = False
) -> Dispute | None:
    return await kit.get(session, Dispute, dispute_id, reach, for_update=for_update)


async def get_by_client_id(
    session: AsyncSession, station_id: uuid.UUID, client_id: uuid.UUID
) -> Dispute | None:
    return await kit.one(
        session, Dispute, col(Dispute.station_id) == station_id, col(Dispute.client_id) == client_id
    )


def mediated_by(user_id: uuid.UUID | None, volunteer_id: uuid.UUID | None) -> ColumnElement[bool]:
    """The condition for the disputes the account (or the volunteer record) mediates."""
    who = [col(DisputeMediator.user_id) == user_id] if user_id is not None else []
    if volunteer_id is not None:
        who.append(col(DisputeMediator.volunteer_id) == volunteer_id)
    if not who:
        return false()
    return exists().where(col(DisputeMediator.dispute_id) == col(Dispute.id), or_(*who))


async def is_mediator(session: AsyncSession, dispute_id: uuid.UUID, volunteer_id: uuid.UUID) -> bool:
    """Whether the volunteer mediates the dispute."""
    query = select(col(Dispute.id)).where(col(Dispute.id) == dispute_id, mediated_by(None, volunteer_id))
    return (await session.scalar(query)) is not None


def _pending_due_by(day: date) -> ColumnElement[bool]:
    return exists().where(
        col(DisputeFollowup.dispute_id) == col(Dispute.id),
        col(DisputeFollowup.outcome).is_(None),
        col(DisputeFollowup.due_on) <= day,
    )


_SHOWN = select(*SHOWN)  # built once: a select of many columns costs more to build than to run


async def read(reader: Reader, dispute_id: uuid.UUID, reach: ColumnElement[bool]) -> LeanRow | None:
    """A dispute as its read model shows it (lean: see :func:`yijing.kit.repository.read`)."""
    return await kit.read(reader, _SHOWN.where(reach), Dispute.id, dispute_id)


async def list_disputes(
    reader: Reader, reach: ColumnElement[bool], filters: DisputeFilters, page: PageParams
) -> list[LeanRow]:
    """One query, whatever the filters, in id (reporting) order."""
    conditions = kit.equal(
        (Dispute.station_id, filters.station_id),
        (Dispute.site_id, filters.site_id),
        (Dispute.kind, filters.kind),
        (Dispute.source, filters.source),
        (Dispute.risk_of_violence, filters.risk_of_violence),
    )
    if filters.status:
        conditions.append(col(Dispute.status).in_(filters.status))
    if filters.mediator_user_id is not None:
        conditions.append(mediated_by(filters.mediator_user_id, None))
    if filters.mediator_volunteer_id is not None:
        conditions.append(mediated_by(None, filters.mediator_volunteer_id))
    if filters.followup_due_by is not None:
        conditions.append(_pending_due_by(filters.followup_due_by))
    if filters.reported_after is not None:
        conditions.append(col(Dispute.reported_at) >= filters.reported_after)
    if filters.reported_before is not None:
        conditions.append(col(Dispute.reported_at) < filters.reported_before)
    if filters.updated_after is not None:
        conditions.append(col(Dispute.updated_at) > filters.updated_after)
    return await kit.read_page(reader, _SHOWN.where(reach, *conditions), Dispute.id, page)


# Parties, mediators and follow-ups of a page of disputes: one lean query each, whatever the page's size.
_IDS: BindParameter[uuid.UUID] = bindparam("dispute_ids", expanding=True)
_PARTIES = (
    select(*PARTY_SHOWN)
    .where(col(DisputeParty.dispute_id).in_(_IDS))
    .order_by(col(DisputeParty.dispute_id), col(DisputeParty.position))
)
# The parties with their numbers sealed, for a read that opens them.
_SEALED_PARTIES = _PARTIES.with_only_columns(*PARTY_SEALED)
_MEDIATORS = (
    select(*MEDIATOR_SHOWN)
    .where(col(DisputeMediator.dispute_id).in_(_IDS))
    .order_by(col(DisputeMediator.dispute_id), col(DisputeMediator.added_at), col(DisputeMediator.id))
)
_PENDING_DUE_ON = select(col(DisputeFollowup.dispute_id), col(DisputeFollowup.due_on)).where(
    col(DisputeFollowup.dispute_id).in_(_IDS), col(DisputeFollowup.outcome).is_(None)
)


def _by_dispute(rows: list[LeanRow]) -> dict[uuid.UUID, list[LeanRow]]:
    grouped: dict[uuid.UUID, list[LeanRow]] = defaultdict(list)
    for row in rows:
        grouped[row.dispute_id].append(row)
    return grouped


async def parties_of(
    reader: Reader, dispute_ids: Sequence[uuid.UUID], *, sealed: bool = False
) -> dict[uuid.UUID, list[LeanRow]]:
    """Each dispute's parties in the order given, with their numbers masked (or ``sealed``, to be opened)."""
    ids = list(dispute_ids)
    if sealed:
        return _by_dispute(await mappings(reader, _SEALED_PARTIES, dispute_ids=ids))
    return _by_dispute(await mappings(reader, _PARTIES, dispute_ids=ids))


async def mediators_of(reader: Reader, dispute_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[LeanRow]]:
    return _by_dispute(await mappings(reader, _MEDIATORS, dispute_ids=list(dispute_ids)))


async def pending_due_on(reader: Reader, dispute_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, date]:
    rows = await mappings(reader, _PENDING_DUE_ON, dispute_ids=list(dispute_ids))
    return {row.dispute_id: row.due_on for row in rows}


async def add_mediators(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Add mediators; one the dispute already has (by volunteer record or account) stays as it was."""
    if rows:
        await session.execute(insert(DisputeMediator).on_conflict_do_nothing(), list(rows))


async def active_volunteers(
    session: AsyncSession, station_id: uuid.UUID, volunteer_ids: Sequence[uuid.UUID]
) -> Sequence[Volunteer]:
    query = select(Volunteer).where(
        col(Volunteer.id).in_(volunteer_ids),
        col(Volunteer.station_id) == station_id,
        col(Volunteer.status) == VolunteerStatus.ACTIVE,
    )
    return (await session.scalars(query)).all()


# History


_EVENTS = (
    select(*EVENT_SHOWN)
    .where(col(DisputeEvent.dispute_id) == bindparam("dispute_id"))
    .order_by(col(DisputeEvent.occurred_at), col(DisputeEvent.id))
)


async def events(reader: Reader, dispute_id: uuid.UUID) -> list[LeanRow]:
    return await mappings(reader, _EVENTS, dispute_id=dispute_id)


# Follow-up visits


_FOLLOWUPS = (
    select(*FOLLOWUP_SHOWN)
    .where(col(DisputeFollowup.dispute_id) == bindparam("dispute_id"))
    .order_by(col(DisputeFollowup.id))
)


async def followups(reader: Reader, dispute_id: uuid.UUID) -> list[LeanRow]:
    return await mappings(reader, _FOLLOWUPS, dispute_id=dispute_id)


async def pending_followup(session: AsyncSession, dispute_id: uuid.UUID) -> DisputeFollowup | None:
    pending = col(DisputeFollowup.outcome).is_(None)
    return await kit.one(session, DisputeFollowup, col(DisputeFollowup.dispute_id) == dispute_id, pending)


async def cancel_pending_followup(session: AsyncSession, dispute_id: uuid.UUID) -> None:
    await session.execute(
        delete(DisputeFollowup).where(
            col(DisputeFollowup.dispute_id) == dispute_id, col(DisputeFollowup.outcome).is_(None)
        )
    )


# Settings


async def followup_days(session: AsyncSession, station_id: uuid.UUID) -> int | None:
    query = select(col(DisputeSettings.followup_days)).where(col(DisputeSettings.station_id) == station_id)
    return await session.scalar(query)


async def save_settings(
    session: AsyncSession, station_id: uuid.UUID, followup_days: int, now: datetime
) -> None:
    statement = insert(DisputeSettings).values(
        station_id=station_id, followup_days=followup_days, updated_at=now
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["station_id"],
            set_={
                "followup_days": statement.excluded.followup_days,
                "updated_at": statement.excluded.updated_at,
            },
        )
    )
