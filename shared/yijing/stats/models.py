from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, Column, Index
from sqlmodel import Field, SQLModel

from yijing.columns import instant
from yijing.ids import new_id


class DailyRollup(SQLModel, table=True):
    """One figure of one day (in the station's time zone): station × site × metric × dimension. The
    dimension names a category (``class:illegal_crime``, ``tag:porn_gambling``, ``source:landlord``…) or is
    empty for a plain count. Site is null for figures of the station as a whole."""

    __tablename__ = "daily_rollups"
    __table_args__ = (
        Index(
            "uq_daily_rollups_figure",
            "station_id",
            "metric",
            "day",
            "site_id",
            "dimension",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    station_id: uuid.UUID = Field(foreign_key="stations.id")
    site_id: uuid.UUID | None = Field(default=None)
    day: date
    metric: str = Field(max_length=48)
    dimension: str = Field(default="", max_length=64)
    value: int = Field(sa_column=Column(BigInteger, nullable=False))
    computed_at: datetime = instant()


class RollupDay(SQLModel, table=True):
    """A day whose figures of one source have been computed for a station (zeros included): a day without
    this row is missing, never zero."""

    __tablename__ = "rollup_days"

    station_id: uuid.UUID = Field(foreign_key="stations.id", primary_key=True)
    source: str = Field(primary_key=True, max_length=32)
    day: date = Field(primary_key=True)
    computed_at: datetime = instant()
