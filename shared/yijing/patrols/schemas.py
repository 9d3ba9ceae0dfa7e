from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from yijing.kit.pagination import Page
from yijing.kit.reads import LeanRow, by_value, read_model
from yijing.org.schemas import Location
from yijing.patrols.checkins.schemas import CheckinRead
from yijing.patrols.models import MAX_HOURS, MemberSource, Patrol, PatrolStatus
from yijing.types import CalendarDate, Instant, Reason

# How many volunteers a patrol names (its group's members come on top).
MAX_NAMED = 50
# The longest date range a site's patrol calendar shows (two months).
MAX_CALENDAR_DAYS = 62

_STATION_ID = "0193a6a4-1111-7c3d-8f2a-3b4c5d6e7f80"
_SITE_ID = "0193a6a4-2222-7c3d-8f2a-3b4c5d6e7f80"
_ROUTE_ID = "0193a6a4-aaaa-7c3d-8f2a-3b4c5d6e7f80"
_GROUP_ID = "0193a6a4-4444-7c3d-8f2a-3b4c5d6e7f80"
_LEADER_ID = "0193a6a4-5555-7c3d-8f2a-3b4c5d6e7f80"
_MEMBER_ID = "0193a6a4-6666-7c3d-8f2a-3b4c5d6e7f80"
_PATROL_ID = "0193a6a4-cccc-7c3d-8f2a-3b4c5d6e7f80"
_PLAN: dict[str, Any] = {
    "route_id": _ROUTE_ID,
    "planned_start": "2026-12-05T19:00:00+08:00",
    "planned_end": "2026-12-05T23:00:00+08:00",
    "volunteer_ids": [_MEMBER_ID],
    "group_id": _GROUP_ID,
}
_READ_EXAMPLE: dict[str, Any] = {
    "id": _PATROL_ID,
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
    "plan_id": "0193a6a4-dddd-7c3d-8f2a-3b4c5d6e7f80",
    "plan_day": "2026-12-05",
    "auto_closed": False,
    "settled_at": None,
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


_STATUSES, _SOURCES = by_value(PatrolStatus), by_value(MemberSource)


class PatrolMemberRead(BaseModel):
    id: uuid.UUID = Field(description="The volunteer")
    name: str
    source: MemberSource = Field(description="named when planned, or a member of the planned group")

    @classmethod
    def of(cls, member: LeanRow) -> PatrolMemberRead:
        """From a lean row of a member's volunteer id, name and source."""
        return read_model(cls, id=member.volunteer_id, name=member.name, source=_SOURCES[member.source])


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
    plan_id: uuid.UUID | None = Field(description="The repeating plan that made it (null: planned by hand)")
    plan_day: date | None = Field(description="The plan's day it was made for, in the station's time zone")
    auto_closed: bool = Field(
        description="Completed by the system: still in progress when its window (and grace) closed"
    )
    settled_at: datetime | None = Field(
        description="When the system last settled its coverage and members' verified minutes (null: not yet)"
    )
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, patrol: Patrol | LeanRow, allowed_actions: list[str]) -> PatrolRead:
        """From a record or a lean row of its columns (:data:`yijing.patrols.repository.SHOWN`), as stored:
        not validated again (a lean row's status is the driver's string)."""
        return read_model(cls, **_fields(patrol), allowed_actions=allowed_actions)


def _fields(patrol: Patrol | LeanRow) -> dict[str, Any]:
    """A patrol's read model's fields that are its columns."""
    return dict(
        id=patrol.id, station_id=patrol.station_id, site_id=patrol.site_id, route_id=patrol.route_id,
        group_id=patrol.group_id, planned_start=patrol.planned_start, planned_end=patrol.planned_end,
        leader_volunteer_id=patrol.leader_volunteer_id, status=_STATUSES[patrol.status],
        started_at=patrol.started_at, ended_at=patrol.ended_at, cancel_reason=patrol.cancel_reason,
        plan_id=patrol.plan_id, plan_day=patrol.plan_day, auto_closed=patrol.auto_closed,
        settled_at=patrol.settled_at, version=patrol.version, created_at=patrol.created_at,
        updated_at=patrol.updated_at,
    )  # fmt: skip


class PatrolDetail(PatrolRead):
    """A patrol with its members (by name) and its leader."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{**_READ_EXAMPLE, "members": _MEMBERS_EXAMPLE, "leader": _MEMBERS_EXAMPLE[0]}]
        }
    )

    members: list[PatrolMemberRead]
    leader: PatrolMemberRead | None

    @classmethod
    def with_members(
        cls, patrol: Patrol | LeanRow, allowed_actions: list[str], members: list[PatrolMemberRead]
    ) -> PatrolDetail:
        """From a record or a lean row (as :meth:`PatrolRead.of`) and its members."""
        leader = next((member for member in members if member.id == patrol.leader_volunteer_id), None)
        return read_model(
            cls, **_fields(patrol), allowed_actions=allowed_actions, members=members, leader=leader
        )


# Reads: a patrol's track, a volunteer's patrols, a site's calendar

_CHECKPOINT_ID = "0193a6a4-bbbb-7c3d-8f2a-3b4c5d6e7f80"
_TRACK_CHECKPOINT_EXAMPLE: dict[str, Any] = {
    "id": _CHECKPOINT_ID,
    "route_id": _ROUTE_ID,
    "name": "烧烤区",
    "position": 2,
    "location": {"latitude": 26.1497, "longitude": 119.1417},
    "radius_m": 30,
}
_TRACK_POINT_EXAMPLE: dict[str, Any] = {
    "id": "0193a6a4-eeee-7c3d-8f2a-3b4c5d6e7f80",
    "patrol_id": _PATROL_ID,
    "volunteer_id": _MEMBER_ID,
    "volunteer_name": "林建国",
    "client_id": "7d0e8a52-3c1b-4f1e-9a51-2f0c6b1d9e01",
    "checkpoint_id": _CHECKPOINT_ID,
    "checkpoint": _TRACK_CHECKPOINT_EXAMPLE,
    "code": None,
    "location": {"latitude": 26.14962, "longitude": 119.14181},
    "accuracy_m": 8.0,
    "distance_m": 14.2,
    "captured_at": "2026-12-05T20:41:07+08:00",
    "received_at": "2026-12-05T20:41:09+08:00",
    "flags": [],
    "review": "not_needed",
    "counts": True,
    "reviewed_by": None,
    "reviewed_at": None,
    "review_note": None,
}
_HISTORY_EXAMPLE: dict[str, Any] = {
    "id": _PATROL_ID,
    "site_id": _SITE_ID,
    "site_name": "滨河路夜市",
    "route_id": _ROUTE_ID,
    "route_name": "滨河路夜市巡防路线",
    "planned_start": "2026-12-05T19:00:00+08:00",
    "planned_end": "2026-12-05T23:00:00+08:00",
    "status": "completed",
    "is_leader": False,
    "source": "named",
    "settled_at": "2026-12-05T23:35:00+08:00",
    "verified_minutes": 212,
    "verified_checkins": 9,
    "first_verified_at": "2026-12-05T19:04:12+08:00",
    "last_verified_at": "2026-12-05T22:36:40+08:00",
}
_CALENDAR_PATROL_EXAMPLE: dict[str, Any] = {
    "id": _PATROL_ID,
    "route_id": _ROUTE_ID,
    "route_name": "滨河路夜市巡防路线",
    "planned_start": "2026-12-05T19:00:00+08:00",
    "planned_end": "2026-12-05T23:00:00+08:00",
    "status": "planned",
    "leader_volunteer_id": _LEADER_ID,
    "leader_name": "陈美华",
    "member_count": 10,
}


class TrackCheckpoint(BaseModel):
    """The checkpoint a check-in's code names (its tag's code is never repeated here)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_TRACK_CHECKPOINT_EXAMPLE]})

    id: uuid.UUID
    route_id: uuid.UUID = Field(description="Its route: another route's than the patrol's is flagged")
    name: str
    position: int = Field(description="Its place along its route (1: first)")
    location: Location
    radius_m: int


class TrackPoint(CheckinRead):
    """One check-in of a patrol's track, with who sent it and the checkpoint its code names."""

    model_config = ConfigDict(json_schema_extra={"examples": [_TRACK_POINT_EXAMPLE]})

    volunteer_name: str
    checkpoint: TrackCheckpoint | None = Field(
        description="The checkpoint its code names; null for a free point or a code of no checkpoint"
    )


class VolunteerPatrolFilters(BaseModel):
    """A volunteer's patrols' filters (all of them together; days in the station's time zone). A range
    whose ``to`` is before its ``from`` matches nothing."""

    first: Annotated[
        CalendarDate | None, Field(alias="from", description="Planned to start on or after this day")
    ] = None
    last: Annotated[
        CalendarDate | None, Field(alias="to", description="Planned to start on or before this day")
    ] = None
    status: Annotated[
        list[PatrolStatus] | None, Field(description="Any of these statuses (repeat the parameter)")
    ] = None


class VolunteerPatrolRead(BaseModel):
    """One patrol of a volunteer's, with what the system verified of that volunteer's part. Until the patrol
    is settled (``settled_at`` null: its window has not closed, or the worker has not reached it yet) the
    verified figures are 0 and null."""

    model_config = ConfigDict(json_schema_extra={"examples": [_HISTORY_EXAMPLE]})

    id: uuid.UUID = Field(description="The patrol")
    site_id: uuid.UUID
    site_name: str
    route_id: uuid.UUID
    route_name: str
    planned_start: datetime
    planned_end: datetime
    status: PatrolStatus
    is_leader: bool = Field(description="Whether the volunteer leads the patrol")
    source: MemberSource = Field(description="named when planned, or a member of the planned group")
    settled_at: datetime | None = Field(description="When the system settled the patrol (null: not yet)")
    verified_minutes: int = Field(
        description="Minutes on patrol proved by the volunteer's counting check-ins (0 until settled)"
    )
    verified_checkins: int = Field(description="The volunteer's counting check-ins (0 until settled)")
    first_verified_at: datetime | None = Field(description="The first counting check-in (null until settled)")
    last_verified_at: datetime | None = Field(description="The last counting check-in (null until settled)")


class VolunteerPatrolPage(Page[VolunteerPatrolRead]):
    """A page of a volunteer's patrols, newest planned start first, with the total of verified minutes over
    every patrol the filters match (all pages, not only this one)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"items": [_HISTORY_EXAMPLE], "next_cursor": None, "verified_minutes_total": 212}]
        }
    )

    verified_minutes_total: int = Field(
        description="The verified minutes of every patrol the filters match, on every page alike (settled "
        "patrols only: unsettled ones count 0)"
    )


class CalendarPatrol(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_CALENDAR_PATROL_EXAMPLE]})

    id: uuid.UUID
    route_id: uuid.UUID
    route_name: str
    planned_start: datetime = Field(description="In the station's time zone")
    planned_end: datetime = Field(description="In the station's time zone")
    status: PatrolStatus
    leader_volunteer_id: uuid.UUID | None
    leader_name: str | None
    member_count: int


class CalendarDay(BaseModel):
    day: date = Field(description="A day in the station's time zone")
    patrols: list[CalendarPatrol] = Field(description="Those planned to start that day, in start order")


class PatrolCalendar(BaseModel):
    """A site's patrols by the day they start, every day of the range (days without patrols too)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "site_id": _SITE_ID,
                    "time_zone": "Asia/Shanghai",
                    "days": [{"day": "2026-12-05", "patrols": [_CALENDAR_PATROL_EXAMPLE]}],
                }
            ]
        }
    )

    site_id: uuid.UUID
    time_zone: str = Field(description="The station's time zone, which decides the days")
    days: list[CalendarDay]
