from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from yijing.patrols.models import MAX_HOURS, MemberSource, PatrolStatus
from yijing.types import Instant, Reason

# How many volunteers a patrol names (its group's members come on top).
MAX_NAMED = 50

_STATION_ID = "0193a6a4-1111-7c3d-8f2a-3b4c5d6e7f80"
_SITE_ID = "0193a6a4-2222-7c3d-8f2a-3b4c5d6e7f80"
_ROUTE_ID = "0193a6a4-aaaa-7c3d-8f2a-3b4c5d6e7f80"
_GROUP_ID = "0193a6a4-4444-7c3d-8f2a-3b4c5d6e7f80"
_LEADER_ID = "0193a6a4-5555-7c3d-8f2a-3b4c5d6e7f80"
_MEMBER_ID = "0193a6a4-6666-7c3d-8f2a-3b4c5d6e7f80"
_PLAN: dict[str, Any] = {
    "route_id": _ROUTE_ID,
    "planned_start": "2026-12-05T19:00:00+08:00",
    "planned_end": "2026-12-05T23:00:00+08:00",
    "volunteer_ids": [_MEMBER_ID],
    "group_id": _GROUP_ID,
}
_READ_EXAMPLE: dict[str, Any] = {
    "id": "0193a6a4-cccc-7c3d-8f2a-3b4c5d6e7f80",
    "station_id": _STATION_ID,
    "site_id": _SITE_ID,
    "route_id": _ROUTE_ID,
    "group_id": _GROUP_ID,
    "planned_start": "2026-12-05T19:00:00+08:00",
    "planned_end": "2026-12-05T23:00:00+08:00",
    "leader_volunteer_id": _LEADER_ID,
    "status": "planned",
    "allowed_actions": ["start", "cancel"],
    "started_at": None,
    "ended_at": None,
    "cancel_reason": None,
    "version": 1,
    "created_at": "2026-12-01T10:00:00+08:00",
    "updated_at": "2026-12-01T10:00:00+08:00",
}
_MEMBERS_EXAMPLE: list[Any] = [
    {"id": _LEADER_ID, "name": "陈美华", "source": "group"},
    {"id": _MEMBER_ID, "name": "林建国", "source": "named"},
]

VolunteerIds = Annotated[
    list[uuid.UUID],
    Field(
        max_length=MAX_NAMED,
        description="Volunteers named for the patrol: active volunteers of the route's station",
    ),
]


class PatrolCreate(BaseModel):
    """The site is the route's. The members are the volunteers named and the group's current members (its
    active volunteers); at least one. The leader: the one given (a member), else the group's captain for
    the week that contains the planned start (if a member), else none."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_PLAN]})

    route_id: uuid.UUID = Field(description="A route in use")
    planned_start: Instant
    planned_end: Instant = Field(description=f"After the start, at most {MAX_HOURS} hours later")
    volunteer_ids: VolunteerIds = []
    group_id: uuid.UUID | None = Field(default=None, description="A group of the route's site")
    leader_volunteer_id: uuid.UUID | None = Field(default=None, description="One of the members")


class PatrolUpdate(BaseModel):
    """Only a planned patrol changes. Times left out, or sent as null, stay as they are; a leader sent as
    null is removed (another must be a member)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"planned_start": "2026-12-05T19:30:00+08:00"}]},
    )

    planned_start: Instant | None = None
    planned_end: Instant | None = None
    leader_volunteer_id: uuid.UUID | None = None


class PatrolFilters(BaseModel):
    """The patrols list's filters (all of them together; a repeated ``status`` means any of them)."""

    site_id: uuid.UUID | None = None
    route_id: uuid.UUID | None = None
    status: Annotated[
        list[PatrolStatus] | None, Field(description="Any of these statuses (repeat the parameter)")
    ] = None
    starts_after: Annotated[Instant | None, Field(description="Planned to start at or after")] = None
    starts_before: Annotated[Instant | None, Field(description="Planned to start before")] = None
    volunteer_id: Annotated[uuid.UUID | None, Field(description="Patrols with this member")] = None


class CancelAction(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "台风预警，夜市停业"}]}
    )

    reason: Annotated[Reason, Field(description="Why the patrol will not happen")]


class PatrolMemberRead(BaseModel):
    id: uuid.UUID = Field(description="The volunteer")
    name: str
    source: MemberSource = Field(description="named when planned, or a member of the planned group")


class PatrolRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_READ_EXAMPLE]})

    id: uuid.UUID
    station_id: uuid.UUID
    site_id: uuid.UUID
    route_id: uuid.UUID
    group_id: uuid.UUID | None
    planned_start: datetime
    planned_end: datetime
    leader_volunteer_id: uuid.UUID | None
    status: PatrolStatus = Field(description="missed: set by the system for a planned patrol never started")
    allowed_actions: list[str] = Field(description="The actions the status allows now")
    started_at: datetime | None
    ended_at: datetime | None
    cancel_reason: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class PatrolDetail(PatrolRead):
    """A patrol with its members (by name) and its leader."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{**_READ_EXAMPLE, "members": _MEMBERS_EXAMPLE, "leader": _MEMBERS_EXAMPLE[0]}]
        }
    )

    members: list[PatrolMemberRead]
    leader: PatrolMemberRead | None
