from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, UniqueConstraint, Uuid
from sqlmodel import Field, SQLModel

from yijing.columns import enum_column, instant, json_column
from yijing.ids import new_id


class CheckinFlag(StrEnum):
    """Why a check-in does not fit its patrol: it is kept, but counts toward nothing until reviewed."""

    TOO_FAR = "too_far"  # further from its checkpoint than the radius plus the GPS accuracy
    OTHER_ROUTE = "other_route"  # the code of a checkpoint on another route
    UNKNOWN_CODE = "unknown_code"  # no checkpoint of the station carries the code
    OUTSIDE_SHIFT = "outside_shift"  # captured outside the planned shift, grace included
    FUTURE_CAPTURE = "future_capture"  # captured after the server received it (the device's clock)


class CheckinReview(StrEnum):
    NOT_NEEDED = "not_needed"  # no flag: it counts
    PENDING = "pending"  # flagged: counts toward nothing until staff decide
    ACCEPTED = "accepted"  # flagged, then accepted by staff: it counts
    REJECTED = "rejected"


class PatrolCheckin(SQLModel, table=True):
    """One scan or point, never edited. ``client_id`` is the device's id for it: an offline batch sent
    again stores nothing twice; ``fingerprint`` (a hash of what the device sent) tells a resend from a
    different record reusing the id."""

    __tablename__ = "patrol_checkins"
    __table_args__ = (
        UniqueConstraint("station_id", "client_id"),
        CheckConstraint("review IN ('not_needed', 'pending', 'accepted', 'rejected')", name="review_known"),
        CheckConstraint("accuracy_m >= 0", name="accuracy_not_negative"),
        # A patrol's track, in the order the device captured it; keyset pages by id.
        Index("ix_patrol_checkins_patrol_id_captured_at", "patrol_id", "captured_at"),
        Index("ix_patrol_checkins_patrol_id_id", "patrol_id", "id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    station_id: uuid.UUID = Field(foreign_key="stations.id")
    patrol_id: uuid.UUID = Field(sa_column=Column(Uuid, ForeignKey("patrols.id"), nullable=False))
    volunteer_id: uuid.UUID = Field(foreign_key="volunteers.id", index=True)
    client_id: uuid.UUID
    fingerprint: str = Field(max_length=64)
    # The checkpoint the code named (on any route of the station), if it named one.
    checkpoint_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(Uuid, ForeignKey("patrol_checkpoints.id"), nullable=True, index=True)
    )
    code: str | None = Field(default=None, max_length=64)
    latitude: float
    longitude: float
    accuracy_m: float
    distance_m: float | None = Field(default=None)  # from the checkpoint, when it names one
    captured_at: datetime = instant()
    received_at: datetime = instant()
    # Flag → why, in words with the figures (empty: it fits).
    flags: dict[str, Any] = json_column()
    review: CheckinReview = enum_column(CheckinReview, default=CheckinReview.NOT_NEEDED)
    reviewed_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    reviewed_at: datetime | None = instant(nullable=True)
    review_note: str | None = Field(default=None, max_length=500)


class CheckinNote(SQLModel, table=True):
    """An annotation of a check-in (a check-in itself is never edited)."""

    __tablename__ = "patrol_checkin_notes"
    __table_args__ = (Index("ix_patrol_checkin_notes_checkin_id_id", "checkin_id", "id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    checkin_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("patrol_checkins.id", ondelete="CASCADE"), nullable=False)
    )
    author_id: uuid.UUID = Field(foreign_key="users.id")
    text: str = Field(max_length=1000)
    created_at: datetime = instant()
