from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from yijing.columns import enum_column, instant
from yijing.ids import new_id


class SiteKind(StrEnum):
    NIGHT_MARKET = "night_market"
    PLAZA = "plaza"
    COMMERCIAL_STREET = "commercial_street"
    RENTAL_AREA = "rental_area"
    COMMUNITY = "community"
    OTHER = "other"


class Station(SQLModel, table=True):
    __tablename__ = "stations"
    __table_args__ = (CheckConstraint("division_code ~ '^[0-9]{6}$'", name="division_code_six_digits"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    # The county's administrative-division code (GB/T 2260), e.g. 350121 for Minhou County.
    division_code: str = Field(max_length=6, index=True)
    timezone: str = Field(max_length=64)
    version: int = Field(default=1)
    created_at: datetime = instant()
    updated_at: datetime = instant(index=True)


class Site(SQLModel, table=True):
    __tablename__ = "sites"
    __table_args__ = (
        UniqueConstraint("station_id", "name"),
        CheckConstraint(
            "kind IN ('night_market', 'plaza', 'commercial_street', 'rental_area', 'community', 'other')",
            name="kind_known",
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    station_id: uuid.UUID = Field(foreign_key="stations.id", index=True)
    name: str = Field(max_length=100)
    kind: SiteKind = enum_column(SiteKind, default=SiteKind.OTHER)
    latitude: float | None = Field(default=None)
    longitude: float | None = Field(default=None)
    version: int = Field(default=1)
    created_at: datetime = instant()
    updated_at: datetime = instant(index=True)
