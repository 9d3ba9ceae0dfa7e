from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from yijing.kit.reads import LeanRow, read_model
from yijing.org.schemas import Location
from yijing.patrols.routes.models import (
    CODE_PATTERN,
    DEFAULT_RADIUS_M,
    PatrolCheckpoint,
    PatrolRoute,
    RouteStatus,
    status_of,
)
from yijing.types import JSON_INTEGER, NOT_BLANK, Name, QueryBool

Description = Annotated[
    str,
    StringConstraints(min_length=1, max_length=500, pattern=NOT_BLANK),
    Field(description="What the route covers and when it is walked"),
]
Code = Annotated[
    str,
    StringConstraints(min_length=6, max_length=64, pattern=CODE_PATTERN),
    Field(description="What the checkpoint's QR code or NFC tag carries: unique in the station"),
]
Position = Annotated[
    int, Field(ge=1, le=1000, description="The checkpoint's place along the route (1: first)"), JSON_INTEGER
]
Radius = Annotated[
    int, Field(ge=5, le=2000, description="How far from the point (metres) a scan still counts"), JSON_INTEGER
]

_STATION_ID = "0193a6a4-1111-7c3d-8f2a-3b4c5d6e7f80"
_SITE_ID = "0193a6a4-2222-7c3d-8f2a-3b4c5d6e7f80"
_ROUTE_ID = "0193a6a4-aaaa-7c3d-8f2a-3b4c5d6e7f80"
_ROUTE_EXAMPLE: dict[str, Any] = {
    "site_id": _SITE_ID,
    "name": "滨河路夜市巡防路线",
    "description": "每晚 19:00–23:00，从东入口经烧烤区至西入口",
}
_CHECKPOINT_EXAMPLE: dict[str, Any] = {
    "name": "烧烤区",
    "location": {"latitude": 26.1497, "longitude": 119.1417},
    "radius_m": 30,
}
_TIMES = {"created_at": "2026-11-29T10:00:00+08:00", "updated_at": "2026-11-29T10:00:00+08:00"}
_CHECKPOINT_READ_EXAMPLE: dict[str, Any] = {
    **_CHECKPOINT_EXAMPLE,
    "id": "0193a6a4-bbbb-7c3d-8f2a-3b4c5d6e7f80",
    "route_id": _ROUTE_ID,
    "station_id": _STATION_ID,
    "position": 2,
    "code": "bhl-nm-02-Qx7v",
    "version": 1,
    **_TIMES,
}
_ROUTE_READ_EXAMPLE: dict[str, Any] = {
    **_ROUTE_EXAMPLE,
    "id": _ROUTE_ID,
    "station_id": _STATION_ID,
    "status": "in_use",
    "allowed_actions": ["retire"],
    "retired_at": None,
    "version": 1,
    **_TIMES,
}


class PatrolRouteCreate(BaseModel):
    """The station is the site's station."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_ROUTE_EXAMPLE]})

    site_id: uuid.UUID
    name: Annotated[Name, Field(description="Unique among the site's routes (retired ones too)")]
    description: Description | None = None


class PatrolRouteUpdate(BaseModel):
    """Fields left out stay as they are; so does a name sent as null. A description sent as null is
    removed."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "滨河路夜市巡防路线（夜间）"}]}
    )

    name: Name | None = None
    description: Description | None = None


class PatrolRouteFilters(BaseModel):
    """The routes list's filters (all of them together)."""

    site_id: uuid.UUID | None = None
    retired: Annotated[
        QueryBool, Field(description="false (the default): routes in use; true: retired routes only")
    ] = False


class CheckpointCreate(BaseModel):
    """Without a ``position`` the checkpoint comes last; without a ``code`` the service makes one."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{**_CHECKPOINT_EXAMPLE, "position": 2}]}
    )

    name: Name
    location: Location = Field(description="Where the tag is (WGS-84)")
    radius_m: Radius = DEFAULT_RADIUS_M
    position: Position | None = Field(default=None, description="Default: after the last checkpoint")
    code: Code | None = Field(default=None, description="The tag's value; default: a random one")


class CheckpointUpdate(BaseModel):
    """Fields left out, or sent as null, stay as they are. Other checkpoints keep their positions: the
    route lists its checkpoints by position, then by when they were added. The code changes through
    ``rotate-code``."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"position": 3, "radius_m": 50}]}
    )

    name: Name | None = None
    position: Position | None = None
    location: Location | None = None
    radius_m: Radius | None = None


class CodeRotation(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"code": "04A224B2C31F90"}]})

    code: Code | None = Field(
        default=None, description="The new tag's value (e.g. an NFC chip's id); default: a random one"
    )


class CheckpointRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_CHECKPOINT_READ_EXAMPLE]})

    id: uuid.UUID
    route_id: uuid.UUID
    station_id: uuid.UUID
    position: int
    name: str
    location: Location
    radius_m: int
    code: str | None = Field(
        description="The tag's value: shown to station staff only (null for volunteers and API keys)"
    )
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, checkpoint: PatrolCheckpoint | LeanRow, *, show_code: bool) -> CheckpointRead:
        """From a record or a lean row of its columns, as stored: not validated again."""
        location = read_model(Location, latitude=checkpoint.latitude, longitude=checkpoint.longitude)
        return read_model(
            cls,
            id=checkpoint.id, route_id=checkpoint.route_id, station_id=checkpoint.station_id,
            position=checkpoint.position, name=checkpoint.name, location=location,
            radius_m=checkpoint.radius_m, code=checkpoint.code if show_code else None,
            version=checkpoint.version, created_at=checkpoint.created_at, updated_at=checkpoint.updated_at,
        )  # fmt: skip


class PatrolRouteRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_ROUTE_READ_EXAMPLE]})

    id: uuid.UUID
    station_id: uuid.UUID
    site_id: uuid.UUID
    name: str
    description: str | None
    status: RouteStatus = Field(description="in_use, or retired (kept with its checkpoints)")
    allowed_actions: list[str] = Field(description="The actions the status allows now")
    retired_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, route: PatrolRoute | LeanRow, allowed_actions: list[str]) -> PatrolRouteRead:
        """From a record or a lean row of its columns, as stored: not validated again."""
        return read_model(cls, **_fields(route), allowed_actions=allowed_actions)


def _fields(route: PatrolRoute | LeanRow) -> dict[str, Any]:
    """A route's read model's fields that are its columns (and its status, which they decide)."""
    return dict(
        id=route.id, station_id=route.station_id, site_id=route.site_id, name=route.name,
        description=route.description, status=status_of(route.retired_at), retired_at=route.retired_at,
        version=route.version, created_at=route.created_at, updated_at=route.updated_at,
    )  # fmt: skip


class PatrolRouteDetail(PatrolRouteRead):
    """A route with its checkpoints, in order (by position, then by when they were added)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{**_ROUTE_READ_EXAMPLE, "checkpoints": [_CHECKPOINT_READ_EXAMPLE]}]}
    )

    checkpoints: list[CheckpointRead]

    @classmethod
    def with_checkpoints(
        cls, route: PatrolRoute | LeanRow, allowed_actions: list[str], checkpoints: list[CheckpointRead]
    ) -> PatrolRouteDetail:
        """From a record or a lean row (as :meth:`PatrolRouteRead.of`) and its checkpoints."""
        return read_model(cls, **_fields(route), allowed_actions=allowed_actions, checkpoints=checkpoints)
