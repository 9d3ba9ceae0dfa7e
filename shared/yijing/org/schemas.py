from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from yijing.kit.reads import LeanRow, by_value, read_model
from yijing.org.models import Site, SiteKind, Station
from yijing.personal import PROVINCE_CODES
from yijing.types import JSON_NUMBER, Instant, Name, TimeZoneName

# Six digits, the first two a province of GB/T 2260.
DIVISION_CODE_PATTERN = "^(" + "|".join(str(code) for code in sorted(PROVINCE_CODES)) + r")[0-9]{4}$"
DivisionCode = Annotated[
    str,
    Field(
        pattern=DIVISION_CODE_PATTERN,
        description="County administrative-division code (GB/T 2260)",
        examples=["350121"],
    ),
]
Latitude = Annotated[float, Field(ge=-90, le=90), JSON_NUMBER]
Longitude = Annotated[float, Field(ge=-180, le=180), JSON_NUMBER]

_STATION_EXAMPLE: dict[str, Any] = {
    "name": "甘蔗派出所",
    "division_code": "350121",
    "timezone": "Asia/Shanghai",
}
_SITE_EXAMPLE: dict[str, Any] = {
    "name": "滨河路夜市",
    "kind": "night_market",
    "location": {"latitude": 26.1526, "longitude": 119.1417},
}


class StationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_STATION_EXAMPLE]})

    name: Name
    division_code: DivisionCode
    timezone: TimeZoneName | None = Field(default=None, description="Defaults to the service's time zone")


class StationUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "甘蔗派出所（新址）"}]}
    )

    name: Name | None = None
    division_code: DivisionCode | None = None
    timezone: TimeZoneName | None = None


class StationFilters(BaseModel):
    """The stations list's filters (all of them together)."""

    division_code: Annotated[str | None, Field(pattern=DIVISION_CODE_PATTERN)] = None
    updated_after: Instant | None = None


class StationRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_STATION_EXAMPLE,
                    "id": "0193a6a4-1111-7c3d-8f2a-3b4c5d6e7f80",
                    "version": 1,
                    "created_at": "2026-11-29T10:00:00+08:00",
                    "updated_at": "2026-11-29T10:00:00+08:00",
                }
            ]
        },
    )

    id: uuid.UUID
    name: str
    division_code: str
    timezone: str
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, station: Station | LeanRow) -> StationRead:
        """From a record or a lean row of its columns (:data:`yijing.org.repository.STATION_SHOWN`), as
        stored: not validated again."""
        return read_model(
            cls, id=station.id, name=station.name, division_code=station.division_code,
            timezone=station.timezone, version=station.version, created_at=station.created_at,
            updated_at=station.updated_at,
        )  # fmt: skip


class Location(BaseModel):
    """A point in WGS-84 degrees."""

    model_config = ConfigDict(extra="forbid")

    latitude: Latitude
    longitude: Longitude


class SiteCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{**_SITE_EXAMPLE, "station_id": "0193a6a4-1111-7c3d-8f2a-3b4c5d6e7f80"}]
        },
    )

    station_id: uuid.UUID
    name: Name
    kind: SiteKind = SiteKind.OTHER
    location: Location | None = Field(default=None, description="The site's centre point")


class SiteUpdate(BaseModel):
    """Fields left out stay as they are; so does a name or kind sent as null."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"kind": "plaza"}]})

    name: Name | None = None
    kind: SiteKind | None = None
    location: Location | None = Field(default=None, description="null removes the site's point")


class SiteFilters(BaseModel):
    """The sites list's filters (all of them together)."""

    station_id: uuid.UUID | None = None
    kind: SiteKind | None = None
    updated_after: Instant | None = None


_KINDS = by_value(SiteKind)


class SiteRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_SITE_EXAMPLE,
                    "id": "0193a6a4-2222-7c3d-8f2a-3b4c5d6e7f80",
                    "station_id": "0193a6a4-1111-7c3d-8f2a-3b4c5d6e7f80",
                    "version": 1,
                    "created_at": "2026-11-29T10:00:00+08:00",
                    "updated_at": "2026-11-29T10:00:00+08:00",
                }
            ]
        },
    )

    id: uuid.UUID
    station_id: uuid.UUID
    name: str
    kind: SiteKind
    location: Location | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, site: Site | LeanRow) -> SiteRead:
        """From a record or a lean row of its columns (:data:`yijing.org.repository.SITE_SHOWN`), as stored:
        not validated again (a lean row's kind is the driver's string)."""
        location = None
        if site.latitude is not None and site.longitude is not None:
            location = Location.model_construct(latitude=site.latitude, longitude=site.longitude)
        return read_model(
            cls, id=site.id, station_id=site.station_id, name=site.name, kind=_KINDS[site.kind],
            location=location, version=site.version, created_at=site.created_at, updated_at=site.updated_at,
        )  # fmt: skip
