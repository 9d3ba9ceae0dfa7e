from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, UniqueConstraint, Uuid, text
from sqlmodel import Field, SQLModel

from yijing.columns import enum_column, instant
from yijing.ids import new_id


class CaptainSource(StrEnum):
    ROTATION = "rotation"  # the rota's choice
    SWAP = "swap"  # another member took the week, at the rota's captain's request
    OVERRIDE = "override"  # an officer chose the captain
    FALLBACK = "fallback"  # nobody was available: the rota's choice regardless of availability


class CaptainWeek(SQLModel, table=True):
    """One group-week's captain. ``rotation_volunteer_id`` is whose turn the rota gave it, which swaps and
    overrides do not change: the queue stays fair whoever actually served. Immutable once the week starts."""

    __tablename__ = "captain_weeks"
    __table_args__ = (
        UniqueConstraint("group_id", "week_start"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("source IN ('rotation', 'swap', 'override', 'fallback')", name="source_known"),
        Index("ix_captain_weeks_group_id_starts_at", "group_id", "starts_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    group_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("groups.id", ondelete="CASCADE"), nullable=False)
    )
    station_id: uuid.UUID = Field(index=True)
    week_start: date  # the local date of the handoff that starts the week
    starts_at: datetime = instant()
    ends_at: datetime = instant()
    volunteer_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("volunteers.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    rotation_volunteer_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("volunteers.id", ondelete="CASCADE"), nullable=False)
    )
    source: CaptainSource = enum_column(CaptainSource, default=CaptainSource.ROTATION)
    reason: str | None = Field(default=None, max_length=500)
    # iCal SEQUENCE: bumped whenever the week's captain changes.
    sequence: int = Field(default=0)
    created_at: datetime = instant()
    updated_at: datetime = instant()


class Unavailability(SQLModel, table=True):
    """Days a volunteer cannot captain (inclusive dates, station time): they keep their place in the queue.
    Removing one cancels it (kept for the record), so removing it twice is harmless."""

    __tablename__ = "unavailabilities"
    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="ends_after_start"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    volunteer_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("volunteers.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    station_id: uuid.UUID = Field(index=True)
    starts_on: date
    ends_on: date
    reason: str = Field(max_length=500)
    created_by: uuid.UUID | None = Field(default=None)
    created_at: datetime = instant()
    cancelled_at: datetime | None = instant(nullable=True)


class SwapStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class CaptainSwap(SQLModel, table=True):
    """A captain asking another member to take their week; it expires at the week's handoff."""

    __tablename__ = "captain_swaps"
    __table_args__ = (
        CheckConstraint(
            "status IN ('open', 'accepted', 'declined', 'cancelled', 'expired')", name="status_known"
        ),
        Index("uq_captain_swaps_open_week", "week_id", unique=True, postgresql_where=text("status = 'open'")),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    group_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("groups.id", ondelete="CASCADE"), nullable=False)
    )
    station_id: uuid.UUID = Field(index=True)
    week_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("captain_weeks.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    from_volunteer_id: uuid.UUID
    to_volunteer_id: uuid.UUID
    status: SwapStatus = enum_column(SwapStatus, default=SwapStatus.OPEN)
    reason: str | None = Field(default=None, max_length=500)
    requested_by: uuid.UUID | None = Field(default=None)
    decided_by: uuid.UUID | None = Field(default=None)
    expires_at: datetime = instant()
    created_at: datetime = instant()
    decided_at: datetime | None = instant(nullable=True)


class CaptainNotice(SQLModel, table=True):
    """A handoff notice sent (a day before, and at the handoff): its key makes each one go out once."""

    __tablename__ = "captain_notices"

    week_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("captain_weeks.id", ondelete="CASCADE"), primary_key=True)
    )
    volunteer_id: uuid.UUID = Field(sa_column=Column(Uuid, primary_key=True))
    kind: str = Field(max_length=16, primary_key=True)  # reminder or handoff
    sent_at: datetime = instant()


class CalendarFeed(SQLModel, table=True):
    """A secret iCal address for a group's or a volunteer's captain weeks; only the token's hash is kept."""

    __tablename__ = "calendar_feeds"
    __table_args__ = (CheckConstraint("(group_id IS NULL) <> (volunteer_id IS NULL)", name="one_subject"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    station_id: uuid.UUID = Field(index=True)
    group_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(Uuid, ForeignKey("groups.id", ondelete="CASCADE"), nullable=True)
    )
    volunteer_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(Uuid, ForeignKey("volunteers.id", ondelete="CASCADE"), nullable=True)
    )
    token_hash: str = Field(max_length=64, unique=True)
    created_by: uuid.UUID | None = Field(default=None)
    created_at: datetime = instant()
    revoked_at: datetime | None = instant(nullable=True)
