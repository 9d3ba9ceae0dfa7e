from __future__ import annotations

import re
import uuid
from datetime import datetime, time
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)

from yijing.groups.models import Group
from yijing.i18n import invalid
from yijing.kit.reads import LeanRow, read_model
from yijing.types import JSON_INTEGER, Instant, Name, Reason


def _clock_time(value: object) -> object:
    if isinstance(value, time):
        return value
    if not isinstance(value, str) or not re.fullmatch(_CLOCK, value):
        raise invalid(
            "must be a local time HH:MM, e.g. 00:00 or 18:30",
            zh="必须是 HH:MM 格式的当地时间，如 00:00 或 18:30",
        )
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


_CLOCK = r"([01][0-9]|2[0-3]):[0-5][0-9]"
# A wall-clock time as "HH:MM", in the station's time zone (an offset would mean nothing here).
ClockTime = Annotated[
    time,
    BeforeValidator(_clock_time),
    PlainSerializer(lambda value: value.strftime("%H:%M"), return_type=str),
    WithJsonSchema({"type": "string", "pattern": f"^{_CLOCK}$", "examples": ["00:00", "18:30"]}),
]
TargetSize = Annotated[
    int, Field(ge=2, le=50, description="Members a full group has (ten by default)"), JSON_INTEGER
]
HorizonWeeks = Annotated[
    int, Field(ge=1, le=52, description="Weeks stored ahead of the current one (8 by default)"), JSON_INTEGER
]

_GROUP_ID = "0193a6a4-8888-7c3d-8f2a-3b4c5d6e7f80"
_SITE_ID = "0193a6a4-2222-7c3d-8f2a-3b4c5d6e7f80"
_EXAMPLE: dict[str, Any] = {"name": "A区第1组", "target_size": 10, "horizon_weeks": 8}


class GroupCreate(BaseModel):
    """The handoff weekday and local time (station time zone) are fixed for the group's life."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{**_EXAMPLE, "site_id": _SITE_ID}]}
    )

    site_id: uuid.UUID
    name: Name
    target_size: TargetSize = 10
    handoff_weekday: Annotated[int, Field(ge=0, le=6, description="0 Monday … 6 Sunday"), JSON_INTEGER] = 0
    handoff_time: time = Field(
        default=time(0, 0), description="Local time of the weekly handoff, e.g. 00:00 or 18:30"
    )
    horizon_weeks: HorizonWeeks = 8


class GroupUpdate(BaseModel):
    """Fields left out (or null) stay as they are."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"horizon_weeks": 12}]})

    name: Name | None = None
    target_size: TargetSize | None = None
    horizon_weeks: HorizonWeeks | None = None


class GroupFilters(BaseModel):
    """The groups list's filters (all of them together)."""

    station_id: uuid.UUID | None = None
    site_id: uuid.UUID | None = None
    updated_after: Instant | None = None


class GroupRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    **_EXAMPLE,
                    "id": _GROUP_ID,
                    "station_id": "0193a6a4-1111-7c3d-8f2a-3b4c5d6e7f80",
                    "site_id": _SITE_ID,
                    "handoff_weekday": 0,
                    "handoff_time": "00:00",
                    "member_count": 10,
                    "version": 1,
                    "created_at": "2026-11-29T10:00:00+08:00",
                    "updated_at": "2026-11-29T10:00:00+08:00",
                }
            ]
        },
    )

    id: uuid.UUID
    station_id: uuid.UUID
    site_id: uuid.UUID
    name: str
    target_size: int
    handoff_weekday: int
    handoff_time: ClockTime
    horizon_weeks: int
    member_count: int
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, group: Group | LeanRow, member_count: int) -> GroupRead:
        """From a record or a lean row of its columns (:data:`yijing.groups.repository.SHOWN`), as stored:
        not validated again."""
        return read_model(
            cls,
            id=group.id, station_id=group.station_id, site_id=group.site_id, name=group.name,
            target_size=group.target_size, handoff_weekday=group.handoff_weekday,
            handoff_time=group.handoff_time, horizon_weeks=group.horizon_weeks, member_count=member_count,
            version=group.version, created_at=group.created_at, updated_at=group.updated_at,
        )  # fmt: skip


class MemberAdd(BaseModel):
    """A volunteer of the group's site who is in another group moves (both dated)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"volunteer_id": "0193a6a4-5555-7c3d-8f2a-3b4c5d6e7f80"}]},
    )

    volunteer_id: uuid.UUID


class MemberLeave(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "摊位转让"}]})

    reason: Reason


class MemberRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "volunteer_id": "0193a6a4-5555-7c3d-8f2a-3b4c5d6e7f80",
                    "name": "陈美华",
                    "household_name": "A-017 鱼丸摊",
                    "badge_number": "GZ-0017",
                    "phone": "138****5678",
                    "personal_data": "masked",
                    "joined_at": "2026-11-29T10:00:00+08:00",
                }
            ]
        }
    )

    volunteer_id: uuid.UUID
    name: str
    household_name: str | None
    badge_number: str | None
    phone: str = Field(description="In full for the group's captain of the week (audited), masked otherwise")
    personal_data: Literal["masked", "full"]
    joined_at: datetime

    @classmethod
    def of(cls, member: LeanRow, phone: str | None = None) -> MemberRead:
        """From a lean row of :data:`yijing.groups.repository.MEMBER_SHOWN`: masked, unless the caller passes
        the opened phone (and has audited the read)."""
        return read_model(
            cls,
            volunteer_id=member.volunteer_id, name=member.name, household_name=member.household_name,
            badge_number=member.badge_number, phone=phone or member.phone_masked,
            personal_data="full" if phone is not None else "masked", joined_at=member.joined_at,
        )  # fmt: skip


class AutoAssign(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"target_size": 10}]})

    target_size: TargetSize = 10


class AutoAssigned(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"groups": [], "assigned": 0}]})

    groups: list[GroupRead] = Field(description="The groups made")
    assigned: int = Field(description="Volunteers placed")
