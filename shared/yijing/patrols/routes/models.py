from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, UniqueConstraint, Uuid
from sqlmodel import Field, SQLModel

from yijing.columns import instant
from yijing.ids import new_id

# What a checkpoint's tag (QR code or NFC chip) carries: URL-safe, 6 to 64 characters.
CODE_PATTERN = "^[A-Za-z0-9_-]{6,64}$"
DEFAULT_RADIUS_M = 30


class RouteStatus(StrEnum):
    """Not stored: a route is retired when it has a ``retired_at``."""

    IN_USE = "in_use"
    RETIRED = "retired"


class PatrolRoute(SQLModel, table=True):
    """A route walked on patrol at one site (a night market's loop, a rental area's streets). Retired routes
    are kept, with their checkpoints, for the patrols that walked them."""

    __tablename__ = "patrol_routes"
    __table_args__ = (
        UniqueConstraint("site_id", "name"),
        # Keyset pages walk (station, id).
        Index("ix_patrol_routes_station_id_id", "station_id", "id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    station_id: uuid.UUID = Field(foreign_key="stations.id")
    # A site with routes cannot be deleted (RESTRICT).
    site_id: uuid.UUID = Field(foreign_key="sites.id")
    name: str = Field(max_length=100)
    description: str | None = Field(default=None, max_length=500)
    retired_at: datetime | None = instant(nullable=True)
    version: int = Field(default=1)
    created_at: datetime = instant()
    updated_at: datetime = instant()

    @property
    def status(self) -> RouteStatus:
        return status_of(self.retired_at)


def status_of(retired_at: datetime | None) -> RouteStatus:
    """A route's status, from its ``retired_at`` (a record's or a lean row's)."""
    return RouteStatus.IN_USE if retired_at is None else RouteStatus.RETIRED


class PatrolCheckpoint(SQLModel, table=True):
    """A point of a route, in order (``position``), with the code its tag carries: unique in the station, so
    that a scan names one checkpoint."""

    __tablename__ = "patrol_checkpoints"
    __table_args__ = (
        UniqueConstraint("station_id", "code"),
        CheckConstraint("position >= 1", name="position_positive"),
        CheckConstraint("radius_m BETWEEN 5 AND 2000", name="radius_m_range"),
        CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude_range"),
        CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude_range"),
        CheckConstraint(f"code ~ '{CODE_PATTERN}'", name="code_format"),
        # A route's checkpoints are read in order.
        Index("ix_patrol_checkpoints_route_id_position_id", "route_id", "position", "id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    station_id: uuid.UUID = Field(foreign_key="stations.id")
    # Deleting a route deletes its checkpoints.
    route_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("patrol_routes.id", ondelete="CASCADE"), nullable=False)
    )
    position: int
    name: str = Field(max_length=100)
    longitude: float
    latitude: float
    radius_m: int = Field(default=DEFAULT_RADIUS_M)
    code: str = Field(max_length=64)
    version: int = Field(default=1)
    created_at: datetime = instant()
    updated_at: datetime = instant()
