from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, Date, DateTime, ForeignKey, Index, UniqueConstraint, Uuid
from sqlmodel import Field, SQLModel

from yijing.columns import enum_column, instant, one_of
from yijing.ids import new_id

# The longest planned shift.
MAX_HOURS = 12
# A shift's grace either side: a check-in or log entry this close to the planned window still fits it, and
# a patrol is settled once its planned end and the grace have passed.
SHIFT_GRACE = timedelta(minutes=15)
# How far ahead of the server's clock a device's may run before its times count as "in the future".
CLOCK_SKEW = timedelta(minutes=2)


class PatrolStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    # A planned patrol nobody started by the end of its window: set by the worker, never by an action.
    MISSED = "missed"


class MemberSource(StrEnum):
    """How a volunteer came to be on a patrol."""

    NAMED = "named"  # named when it was planned
    GROUP = "group"  # a member of the planned group then


class CheckpointOutcome(StrEnum):
    """What a settled patrol did at one checkpoint of its route (from counting check-ins only)."""

    HIT = "hit"  # reached within the planned window
    LATE = "late"  # first reached after the planned end
    MISSED = "missed"  # never reached


class Patrol(SQLModel, table=True):
    """A planned shift on a route of a site, with a leader and members (``patrol_members``)."""

    __tablename__ = "patrols"
    __table_args__ = (
        CheckConstraint(one_of("status", PatrolStatus), name="status_known"),
        CheckConstraint("planned_end > planned_start", name="ends_after_start"),
        # Keyset pages walk (station, id); a site's patrols are read by their planned start.
        Index("ix_patrols_station_id_id", "station_id", "id"),
        Index("ix_patrols_site_id_planned_start", "site_id", "planned_start"),
        # A repeating plan makes one patrol a day, however often its job runs.
        UniqueConstraint("plan_id", "plan_day"),
        # The worker's settle job looks for patrols whose window has closed and that are not settled.
        Index("ix_patrols_unsettled_planned_end", "planned_end", postgresql_where="settled_at IS NULL"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    station_id: uuid.UUID = Field(foreign_key="stations.id")
    site_id: uuid.UUID = Field(foreign_key="sites.id")
    # A route patrols refer to cannot be deleted (RESTRICT): it is retired instead.
    route_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("patrol_routes.id", ondelete="RESTRICT"), nullable=False)
    )
    group_id: uuid.UUID | None = Field(default=None, foreign_key="groups.id")
    planned_start: datetime = Field(sa_type=DateTime(timezone=True), nullable=False)
    planned_end: datetime = Field(sa_type=DateTime(timezone=True), nullable=False)
    leader_volunteer_id: uuid.UUID | None = Field(default=None, foreign_key="volunteers.id")
    status: PatrolStatus = enum_column(PatrolStatus, default=PatrolStatus.PLANNED)
    started_at: datetime | None = instant(nullable=True)
    ended_at: datetime | None = instant(nullable=True)
    cancel_reason: str | None = Field(default=None, max_length=500)
    # The repeating plan that made it, and the plan's day (in the station's time zone).
    plan_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(Uuid, ForeignKey("patrol_plans.id", ondelete="SET NULL"), nullable=True),
    )
    plan_day: date | None = Field(default=None, sa_type=Date, nullable=True)
    # Completed by the worker: it was still in progress when its window (and grace) closed.
    auto_closed: bool = Field(default=False)
    # When the worker last settled its outcomes (coverage, minutes); null: not yet.
    settled_at: datetime | None = instant(nullable=True)
    version: int = Field(default=1)
    created_at: datetime = instant()
    updated_at: datetime = instant()


class PatrolMember(SQLModel, table=True):
    __tablename__ = "patrol_members"
    __table_args__ = (
        CheckConstraint(one_of("source", MemberSource), name="source_known"),
        # A volunteer's patrols (their history, the "member of" filter).
        Index("ix_patrol_members_volunteer_id_patrol_id", "volunteer_id", "patrol_id"),
    )

    # Deleting a patrol deletes its members.
    patrol_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("patrols.id", ondelete="CASCADE"), primary_key=True)
    )
    volunteer_id: uuid.UUID = Field(foreign_key="volunteers.id", primary_key=True)
    source: MemberSource = enum_column(MemberSource, default=MemberSource.NAMED)
    # Settled by the worker from the member's counting check-ins (see patrols.settlement).
    verified_minutes: int = Field(default=0)
    verified_checkins: int = Field(default=0)
    first_verified_at: datetime | None = instant(nullable=True)
    last_verified_at: datetime | None = instant(nullable=True)


class PatrolCheckpointResult(SQLModel, table=True):
    """A settled patrol's outcome at one checkpoint of its route."""

    __tablename__ = "patrol_checkpoint_results"
    __table_args__ = (CheckConstraint(one_of("outcome", CheckpointOutcome), name="outcome_known"),)

    patrol_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("patrols.id", ondelete="CASCADE"), primary_key=True)
    )
    checkpoint_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("patrol_checkpoints.id", ondelete="CASCADE"), primary_key=True)
    )
    outcome: CheckpointOutcome = enum_column(CheckpointOutcome, default=CheckpointOutcome.MISSED)
    first_reached_at: datetime | None = instant(nullable=True)
    checkins: int = Field(default=0)
