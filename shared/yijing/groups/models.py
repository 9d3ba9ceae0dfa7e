from __future__ import annotations

import uuid
from datetime import date, datetime, time

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Time, UniqueConstraint, Uuid, text
from sqlmodel import Field, SQLModel

from yijing.columns import instant
from yijing.ids import new_id


class Group(SQLModel, table=True):
    """A group of (about) ten volunteers at a site, with its rota settings. The handoff weekday and local time
    are fixed when the group is created: every stored week starts on them."""

    __tablename__ = "groups"
    __table_args__ = (
        UniqueConstraint("site_id", "name"),
        CheckConstraint("target_size BETWEEN 2 AND 50", name="target_size_range"),
        CheckConstraint("handoff_weekday BETWEEN 0 AND 6", name="handoff_weekday_range"),
        CheckConstraint("horizon_weeks BETWEEN 1 AND 52", name="horizon_weeks_range"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    station_id: uuid.UUID = Field(foreign_key="stations.id", index=True)
    # A site with groups cannot be deleted (RESTRICT).
    site_id: uuid.UUID = Field(foreign_key="sites.id", index=True)
    name: str = Field(max_length=100)
    target_size: int = Field(default=10)
    handoff_weekday: int = Field(default=0)  # 0 Monday … 6 Sunday, in the station's time zone
    handoff_time: time = Field(default=time(0, 0), sa_column=Column(Time, nullable=False))
    horizon_weeks: int = Field(default=8)
    # How far the rota is stored, and when it was last checked against its inputs (see rota.service).
    planned_until: date | None = Field(default=None)
    plan_checked_at: datetime | None = instant(nullable=True)
    version: int = Field(default=1)
    created_at: datetime = instant()
    updated_at: datetime = instant(index=True)


class GroupMembership(SQLModel, table=True):
    """A volunteer's time in a group, from ``joined_at`` until ``left_at``; a move is a leave and a join."""

    __tablename__ = "group_memberships"
    __table_args__ = (
        # In one group at a time.
        Index(
            "uq_group_memberships_open_volunteer",
            "volunteer_id",
            unique=True,
            postgresql_where=text("left_at IS NULL"),
        ),
        CheckConstraint("left_at IS NULL OR left_at >= joined_at", name="leaves_after_joining"),
        # A group's current members: read by every page of members and by the reconcile job's search.
        Index("ix_group_memberships_open_group_id", "group_id", postgresql_where=text("left_at IS NULL")),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    group_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("groups.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    volunteer_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("volunteers.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    joined_at: datetime = instant()
    left_at: datetime | None = instant(nullable=True)
    left_reason: str | None = Field(default=None, max_length=500)
