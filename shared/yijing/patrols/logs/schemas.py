from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from yijing.disputes.models import DisputeKind
from yijing.disputes.schemas import Account, PartyCreate
from yijing.hazards.models import HazardCategory, HazardSeverity
from yijing.hazards.schemas import Description, Party
from yijing.kit.reads import LeanRow, by_value, read_model
from yijing.org.schemas import Location
from yijing.patrols.logs.models import LogKind, LogTopic, PatrolLog, PatrolLogPhoto
from yijing.types import JSON_INTEGER, NOT_BLANK, Address, Instant

# Kinds that say what they were about.
TOPICAL = frozenset({LogKind.PERSUASION, LogKind.OUTREACH})

LogText = Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=NOT_BLANK)]
People = Annotated[
    int,
    Field(ge=0, le=100_000, description="How many people it reached (persuaded, given leaflets), if counted"),
    JSON_INTEGER,
]

_PATROL_ID = "0193a6a4-cccc-7c3d-8f2a-3b4c5d6e7f80"
_LOG_ID = "0193a6a4-dddd-7c3d-8f2a-3b4c5d6e7f80"
_PERSUASION: dict[str, Any] = {
    "client_id": "2b7c1e64-0f3a-4d2b-8e6f-5a4c3b2d1e0f",
    "kind": "persuasion",
    "topic": "drink_driving",
    "people": 1,
    "text": "烧烤摊旁一名男子饮酒后准备骑电动车离开，劝导后由家属接回",
    "location": {"latitude": 26.14962, "longitude": 119.14281},
    "occurred_at": "2023-10-13T21:12:00+08:00",
}
_HAZARD_FOUND: dict[str, Any] = {
    "client_id": "5e1d2c3b-4a59-4687-9f0e-1d2c3b4a5968",
    "kind": "hazard_found",
    "text": "B 区消防通道被三轮车堵住",
    "occurred_at": "2023-10-13T20:05:00+08:00",
    "hazard": {
        "category": "fire",
        "severity": "high",
        "description": "夜市 B 区消防通道被三轮车和货箱堵塞",
        "address": "滨河路夜市 B 区",
    },
}
_DISPUTE: dict[str, Any] = {
    "client_id": "7a3e9c51-2b4d-4f6a-8c1e-3d5f7a9b1c2e",
    "kind": "dispute",
    "text": "B 区入口两车主争抢卸货车位，已上前劝开",
    "occurred_at": "2023-10-13T20:05:00+08:00",
    "dispute": {
        "kind": "parking",
        "account": "两车主因占用摊位卸货车位发生争吵，围观群众十余人",
        "risk_of_violence": True,
        "parties": [{"name": "林某", "role": "applicant"}, {"name": "陈某", "role": "respondent"}],
    },
}


class LogHazard(BaseModel):
    """A hazard found on patrol, reported through the hazards service: at the patrol's site, source
    ``patrol``, at the entry's point and time, under the entry's ``client_id``."""

    model_config = ConfigDict(extra="forbid")

    category: HazardCategory
    severity: HazardSeverity = HazardSeverity.MEDIUM
    description: Description
    address: Address | None = None
    responsible_party: Party | None = None


class LogDispute(BaseModel):
    """A dispute met on patrol, opened as a case through the disputes service: at the patrol's site, source
    ``patrol``, at the entry's point and time, under the entry's ``client_id``; a volunteer writing the
    entry is its first mediator."""

    model_config = ConfigDict(extra="forbid")

    kind: DisputeKind
    account: Account = Field(description="A short account of what happened (简要案情)")
    address: Address | None = None
    risk_of_violence: bool = False
    parties: list[PartyCreate] = Field(default_factory=list, max_length=20)


class LogCreate(BaseModel):
    """One entry of a patrol's log. ``persuasion`` and ``outreach`` name their ``topic``; ``hazard_found``
    reports a new hazard (``hazard``) or links one of the patrol's station (``hazard_id``); ``dispute``
    may open a case (``dispute``) or link one of the patrol's station (``dispute_id``), or stand alone for a
    quarrel that needed no case."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [_PERSUASION, _HAZARD_FOUND, _DISPUTE]}
    )

    client_id: uuid.UUID = Field(
        description="The device's own id for this entry, made once: sent again, it is stored once"
    )
    kind: LogKind
    topic: LogTopic | None = Field(default=None, description="What a persuasion or outreach was about")
    people: People | None = None
    text: LogText
    location: Location | None = None
    occurred_at: Instant = Field(description="When it happened (the device's clock), during the patrol")
    hazard_id: uuid.UUID | None = Field(default=None, description="hazard_found: an existing hazard to link")
    hazard: LogHazard | None = Field(default=None, description="hazard_found: a new hazard to report")
    dispute_id: uuid.UUID | None = Field(default=None, description="dispute: an existing case to link")
    dispute: LogDispute | None = Field(default=None, description="dispute: a new case to open")


class LogPhotoRead(BaseModel):
    id: uuid.UUID
    log_id: uuid.UUID
    media_type: str
    size_bytes: int
    width: int
    height: int
    sha256: str
    gps_stripped: bool
    file_name: str
    uploaded_by: uuid.UUID | None
    created_at: datetime
    href: str = Field(description="Where to download it")

    @classmethod
    def of(cls, log: PatrolLog | LeanRow, photo: PatrolLogPhoto | LeanRow) -> LogPhotoRead:
        """From records or lean rows of their columns, as stored: not validated again."""
        return read_model(
            cls,
            id=photo.id, log_id=photo.log_id, media_type=photo.media_type, size_bytes=photo.size_bytes,
            width=photo.width, height=photo.height, sha256=photo.sha256, gps_stripped=photo.gps_stripped,
            file_name=photo.file_name, uploaded_by=photo.uploaded_by, created_at=photo.created_at,
            href=f"/api/v1/patrols/{log.patrol_id}/logs/{log.id}/photos/{photo.id}",
        )  # fmt: skip


_KINDS, _TOPICS = by_value(LogKind), by_value(LogTopic)


class LogRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_PERSUASION,
                    "id": _LOG_ID,
                    "patrol_id": _PATROL_ID,
                    "station_id": "0193a6a4-1111-7c3d-8f2a-3b4c5d6e7f80",
                    "author_id": "0193a6a4-3333-7c3d-8f2a-3b4c5d6e7f80",
                    "volunteer_id": "0193a6a4-5555-7c3d-8f2a-3b4c5d6e7f80",
                    "received_at": "2023-10-13T21:12:04+08:00",
                    "hazard_id": None,
                    "dispute_id": None,
                    "photos": [],
                }
            ]
        }
    )

    id: uuid.UUID
    station_id: uuid.UUID
    patrol_id: uuid.UUID
    client_id: uuid.UUID
    author_id: uuid.UUID
    volunteer_id: uuid.UUID | None = Field(
        description="The author's volunteer record, when a volunteer wrote it"
    )
    kind: LogKind
    topic: LogTopic | None
    people: int | None
    text: str
    location: Location | None
    occurred_at: datetime
    received_at: datetime
    hazard_id: uuid.UUID | None = Field(description="The hazard reported or linked (hazard_found)")
    dispute_id: uuid.UUID | None = Field(description="The case opened or linked (dispute)")
    photos: list[LogPhotoRead] = Field(default_factory=list)

    @classmethod
    def of(
        cls, log: PatrolLog | LeanRow, photos: Sequence[PatrolLogPhoto | LeanRow] | None = None
    ) -> LogRead:
        """From a record or a lean row of its columns (and its photos'), as stored: not validated again (a
        lean row's enumerations are the driver's strings)."""
        location = None
        if log.latitude is not None and log.longitude is not None:
            location = read_model(Location, latitude=log.latitude, longitude=log.longitude)
        return read_model(
            cls,
            id=log.id, station_id=log.station_id, patrol_id=log.patrol_id, client_id=log.client_id,
            author_id=log.author_id, volunteer_id=log.volunteer_id, kind=_KINDS[log.kind],
            topic=_TOPICS[log.topic] if log.topic else None, people=log.people, text=log.text,
            location=location, occurred_at=log.occurred_at, received_at=log.received_at,
            hazard_id=log.hazard_id, dispute_id=log.dispute_id,
            photos=[LogPhotoRead.of(log, photo) for photo in photos or []],
        )  # fmt: skip


class LogFilters(BaseModel):
    """The log's filters (all of them together)."""

    kind: LogKind | None = None
    volunteer_id: uuid.UUID | None = None
