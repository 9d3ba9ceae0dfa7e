from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from yijing.groups.schemas import ClockTime
from yijing.kit.reads import LeanRow, read_model
from yijing.patrols.models import MAX_HOURS
from yijing.patrols.plans.models import DEFAULT_HORIZON_DAYS, MAX_HORIZON_DAYS, PatrolPlan
from yijing.patrols.schemas import PatrolRead, VolunteerIds
from yijing.types import JSON_INTEGER, CalendarDate, Reason

# How many of its coming patrols a plan's detail shows.
NEXT_PATROLS = 5


class PlanStatus(StrEnum):
    """Not stored: a plan is retired when it has a ``retired_at``."""

    IN_USE = "in_use"
    RETIRED = "retired"


def _distinct_sorted(days: list[int]) -> list[int]:
    return sorted(set(days))


Weekday = Annotated[int, Field(ge=1, le=7), JSON_INTEGER]
Weekdays = Annotated[
    list[Weekday],
    Field(
        min_length=1, max_length=7, description="ISO weekdays the patrol is walked on: 1 Monday … 7 Sunday"
    ),
    AfterValidator(_distinct_sorted),
]
HorizonDays = Annotated[
    int,
    Field(ge=1, le=MAX_HORIZON_DAYS, description="How many days ahead its patrols are made"),
    JSON_INTEGER,
]
StartTime = Annotated[ClockTime, Field(description="Local time (the station's time zone) the patrol starts")]
EndTime = Annotated[
    ClockTime,
    Field(
        description="Local time it ends; at or before the start: the next day. At most "
        f"{MAX_HOURS} hours after the start"
    ),
]

_STATION_ID = "0193a6a4-1111-7c3d-8f2a-3b4c5d6e7f80"
_SITE_ID = "0193a6a4-2222-7c3d-8f2a-3b4c5d6e7f80"
_ROUTE_ID = "0193a6a4-aaaa-7c3d-8f2a-3b4c5d6e7f80"
_GROUP_ID = "0193a6a4-4444-7c3d-8f2a-3b4c5d6e7f80"
_MEMBER_ID = "0193a6a4-6666-7c3d-8f2a-3b4c5d6e7f80"
_PLAN_ID = "0193a6a4-dddd-7c3d-8f2a-3b4c5d6e7f80"
_CREATE_EXAMPLE: dict[str, Any] = {
    "route_id": _ROUTE_ID,
    "group_id": _GROUP_ID,
    "volunteer_ids": [_MEMBER_ID],
    "weekdays": [1, 2, 3, 4, 5, 6, 7],
    "start_time": "19:00",
    "end_time": "23:00",
    "first_day": "2026-12-01",
    "horizon_days": 14,
}
_READ_EXAMPLE: dict[str, Any] = {
    "id": _PLAN_ID,
    "station_id": _STATION_ID,
    "site_id": _SITE_ID,
    "route_id": _ROUTE_ID,
    "group_id": _GROUP_ID,
    "leader_volunteer_id": None,
    "weekdays": [1, 2, 3, 4, 5, 6, 7],
    "start_time": "19:00",
    "end_time": "23:00",
    "first_day": "2026-12-01",
    "last_day": None,
    "horizon_days": 14,
    "made_until": "2026-12-15",
    "status": "in_use",
    "allowed_actions": ["retire"],
    "retired_at": None,
    "version": 1,
    "created_at": "2026-12-01T10:00:00+08:00",
    "updated_at": "2026-12-01T10:00:00+08:00",
}
_DETAIL_EXAMPLE: dict[str, Any] = {
    **_READ_EXAMPLE,
    "members": [{"id": _MEMBER_ID, "name": "林建国"}],
    "next_patrols": [
        {
            "id": "0193a6a4-cccc-7c3d-8f2a-3b4c5d6e7f80",
            "station_id": _STATION_ID,
            "site_id": _SITE_ID,
            "route_id": _ROUTE_ID,
            "group_id": _GROUP_ID,
            "planned_start": "2026-12-01T19:00:00+08:00",
            "planned_end": "2026-12-01T23:00:00+08:00",
            "leader_volunteer_id": _MEMBER_ID,
            "status": "planned",
            "allowed_actions": ["start", "cancel"],
            "started_at": None,
            "ended_at": None,
            "cancel_reason": None,
            "plan_id": _PLAN_ID,
            "plan_day": "2026-12-01",
            "auto_closed": False,
            "settled_at": None,
            "version": 1,
            "created_at": "2026-12-01T10:00:00+08:00",
            "updated_at": "2026-12-01T10:00:00+08:00",
        }
    ],
}


class PatrolPlanCreate(BaseModel):
    """A repeating patrol on a route: on each of the weekdays from ``first_day`` (to ``last_day``, or open-
    ended), from ``start_time`` to ``end_time`` in the station's time zone. Its members are the volunteers
    named and, on each patrol, the group's active members then; at least one. Its leader is the one named
    (a member), else each patrol's week's captain of the group."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_CREATE_EXAMPLE]})

    route_id: uuid.UUID = Field(description="A route in use; the plan's site is the route's")
    group_id: uuid.UUID | None = Field(default=None, description="A group of the route's site")
    volunteer_ids: VolunteerIds = []
    leader_volunteer_id: uuid.UUID | None = Field(
        default=None, description="One of the members; null: the group's captain of each patrol's week"
    )
    weekdays: Weekdays
    start_time: StartTime
    end_time: EndTime
    first_day: Annotated[CalendarDate, Field(description="The first day a patrol may be made for")]
    last_day: Annotated[CalendarDate | None, Field(description="The last day (null: open-ended)")] = None
    horizon_days: HorizonDays = DEFAULT_HORIZON_DAYS


class PatrolPlanUpdate(BaseModel):
    """Fields left out stay as they are; so do ``volunteer_ids``, ``weekdays``, times, ``first_day`` and
    ``horizon_days`` sent as null. ``last_day`` sent as null makes the plan open-ended, ``group_id`` as
    null removes the group, ``leader_volunteer_id`` as null leaves the lead to each week's captain;
    ``volunteer_ids`` replaces the volunteers named."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"weekdays": [5, 6, 7], "start_time": "19:30", "end_time": "23:30"}]},
    )

    group_id: uuid.UUID | None = None
    volunteer_ids: VolunteerIds | None = None
    leader_volunteer_id: uuid.UUID | None = None
    weekdays: Weekdays | None = None
    start_time: StartTime | None = None
    end_time: EndTime | None = None
    first_day: CalendarDate | None = None
    last_day: CalendarDate | None = None
    horizon_days: HorizonDays | None = None


class PatrolPlanFilters(BaseModel):
    """The plans list's filters (all of them together)."""

    site_id: uuid.UUID | None = None
    route_id: uuid.UUID | None = None
    status: Annotated[PlanStatus | None, Field(description="Only plans in use, or only retired ones")] = None


class RetireAction(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "夜市改为周末营业，改用新的巡防计划"}]}
    )

    reason: Annotated[Reason, Field(description="Why: kept as the reason its cancelled patrols give")]


class PlanMemberRead(BaseModel):
    id: uuid.UUID = Field(description="A volunteer named on the plan")
    name: str

    @classmethod
    def of(cls, member: LeanRow) -> PlanMemberRead:
        """From a lean row of a named volunteer's id and name."""
        return read_model(cls, id=member.id, name=member.name)


class PatrolPlanRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_READ_EXAMPLE]})

    id: uuid.UUID
    station_id: uuid.UUID
    site_id: uuid.UUID
    route_id: uuid.UUID
    group_id: uuid.UUID | None
    leader_volunteer_id: uuid.UUID | None = Field(description="null: the group's captain of each week leads")
    weekdays: list[int]
    start_time: ClockTime
    end_time: ClockTime
    first_day: date
    last_day: date | None
    horizon_days: int
    made_until: date | None = Field(description="The last day its patrols have been made up to (null: none)")
    status: PlanStatus
    allowed_actions: list[str] = Field(description="The actions the status allows now")
    retired_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, plan: PatrolPlan | LeanRow, status: PlanStatus, allowed_actions: list[str]) -> PatrolPlanRead:
        """From a record or a lean row of its columns, as stored: not validated again."""
        return read_model(cls, **_fields(plan), status=status, allowed_actions=allowed_actions)


def _fields(plan: PatrolPlan | LeanRow) -> dict[str, Any]:
    """A plan's read model's fields that are its columns."""
    return dict(
        id=plan.id, station_id=plan.station_id, site_id=plan.site_id, route_id=plan.route_id,
        group_id=plan.group_id, leader_volunteer_id=plan.leader_volunteer_id, weekdays=list(plan.weekdays),
        start_time=plan.start_time, end_time=plan.end_time, first_day=plan.first_day,
        last_day=plan.last_day, horizon_days=plan.horizon_days, made_until=plan.made_until,
        retired_at=plan.retired_at, version=plan.version, created_at=plan.created_at,
        updated_at=plan.updated_at,
    )  # fmt: skip


class PatrolPlanDetail(PatrolPlanRead):
    """A plan with the volunteers it names (the group's members come on top, on each patrol) and its next
    patrols (those not yet over, in time order)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_DETAIL_EXAMPLE]})

    members: list[PlanMemberRead]
    next_patrols: list[PatrolRead] = Field(description=f"Up to {NEXT_PATROLS}")

    @classmethod
    def with_details(
        cls,
        plan: PatrolPlan | LeanRow,
        status: PlanStatus,
        allowed_actions: list[str],
        members: list[PlanMemberRead],
        next_patrols: list[PatrolRead],
    ) -> PatrolPlanDetail:
        """From a record or a lean row (as :meth:`PatrolPlanRead.of`), its members and its next patrols."""
        return read_model(
            cls, **_fields(plan), status=status, allowed_actions=allowed_actions, members=members,
            next_patrols=next_patrols,
        )  # fmt: skip
