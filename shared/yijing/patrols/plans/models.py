from __future__ import annotations

import uuid
from datetime import date, datetime, time

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, SmallInteger, Uuid
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

from yijing.columns import instant
from yijing.ids import new_id

DEFAULT_HORIZON_DAYS = 14
MAX_HORIZON_DAYS = 60


class PatrolPlan(SQLModel, table=True):
    """A repeating patrol on a route: on the given weekdays from ``start_time`` to ``end_time`` in the
    station's time zone (an end at or before the start ends the next day), from ``first_day`` to
    ``last_day`` (open-ended when null). Its patrols are made up to ``horizon_days`` ahead."""

    __tablename__ = "patrol_plans"
    __table_args__ = (
        CheckConstraint("cardinality(weekdays) BETWEEN 1 AND 7", name="weekdays_given"),
        CheckConstraint("weekdays <@ ARRAY[1, 2, 3, 4, 5, 6, 7]::smallint[]", name="weekdays_iso"),
        CheckConstraint(f"horizon_days BETWEEN 1 AND {MAX_HORIZON_DAYS}", name="horizon_days_range"),
        CheckConstraint("last_day IS NULL OR last_day >= first_day", name="last_day_after_first"),
        # Keyset pages walk (station, id).
        Index("ix_patrol_plans_station_id_id", "station_id", "id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    station_id: uuid.UUID = Field(foreign_key="stations.id")
    site_id: uuid.UUID = Field(foreign_key="sites.id")
    route_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("patrol_routes.id", ondelete="RESTRICT"), nullable=False)
    )
    group_id: uuid.UUID | None = Field(default=None, foreign_key="groups.id")
    # Null: the group's captain of each patrol's week leads.
    leader_volunteer_id: uuid.UUID | None = Field(default=None, foreign_key="volunteers.id")
    # ISO weekdays, Monday = 1.
    weekdays: list[int] = Field(sa_column=Column(ARRAY(SmallInteger), nullable=False))
    start_time: time
    end_time: time
    first_day: date
    last_day: date | None = None
    horizon_days: int = Field(default=DEFAULT_HORIZON_DAYS)
    # The last day whose patrol has been made (null: none yet).
    made_until: date | None = None
    retired_at: datetime | None = instant(nullable=True)
    version: int = Field(default=1)
    created_at: datetime = instant()
    updated_at: datetime = instant()


class PatrolPlanMember(SQLModel, table=True):
    """A volunteer named on every patrol of a plan (the group's members come on top)."""

    __tablename__ = "patrol_plan_members"

    plan_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("patrol_plans.id", ondelete="CASCADE"), primary_key=True)
    )
    volunteer_id: uuid.UUID = Field(foreign_key="volunteers.id", primary_key=True)
