from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from yijing.kit.reads import LeanRow, by_value, read_model
from yijing.rota.models import CaptainSource, CaptainWeek, Unavailability
from yijing.types import CalendarDate, Reason

_GROUP_ID = "0193a6a4-8888-7c3d-8f2a-3b4c5d6e7f80"
_VOLUNTEER_ID = "0193a6a4-5555-7c3d-8f2a-3b4c5d6e7f80"
_NEXT_VOLUNTEER_ID = "0193a6a4-6666-7c3d-8f2a-3b4c5d6e7f80"
_SITE_ID = "0193a6a4-2222-7c3d-8f2a-3b4c5d6e7f80"
_WEEK: dict[str, Any] = {
    "week_start": "2026-11-30",
    "starts_at": "2026-11-30T00:00:00+08:00",
    "ends_at": "2026-12-07T00:00:00+08:00",
    "volunteer_id": _VOLUNTEER_ID,
    "name": "陈美华",
    "source": "rotation",
    "reason": None,
}


_SOURCES = by_value(CaptainSource)


def _turn(week: CaptainWeek | LeanRow, name: str, zone: ZoneInfo) -> dict[str, Any]:
    """A :class:`CaptainTurn`'s fields, from a record or a lean row of its columns
    (:data:`yijing.rota.repository.TURN_SHOWN`), as stored: not validated again."""
    return {
        "week_start": week.week_start, "starts_at": week.starts_at.astimezone(zone),
        "ends_at": week.ends_at.astimezone(zone), "volunteer_id": week.volunteer_id, "name": name,
        "source": _SOURCES[week.source], "reason": week.reason,
    }  # fmt: skip


class CaptainTurn(BaseModel):
    """A week and its captain; instants carry the station's UTC offset."""

    week_start: date = Field(description="The local date of the handoff that starts the week")
    starts_at: datetime
    ends_at: datetime
    volunteer_id: uuid.UUID
    name: str
    source: CaptainSource
    reason: str | None


def captain_turn(week: CaptainWeek | LeanRow, name: str, zone: ZoneInfo) -> CaptainTurn:
    return read_model(CaptainTurn, **_turn(week, name, zone))


class CaptainRead(CaptainTurn):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_WEEK,
                    "group_id": _GROUP_ID,
                    "next": {
                        **_WEEK,
                        "week_start": "2026-12-07",
                        "starts_at": "2026-12-07T00:00:00+08:00",
                        "ends_at": "2026-12-14T00:00:00+08:00",
                        "name": "林秀英",
                        "volunteer_id": _NEXT_VOLUNTEER_ID,
                    },
                }
            ]
        }
    )

    group_id: uuid.UUID
    next: CaptainTurn | None = Field(description="The following week's captain, overrides and swaps included")

    @classmethod
    def of(
        cls, week: LeanRow, zone: ZoneInfo, group_id: uuid.UUID, following: CaptainTurn | None
    ) -> CaptainRead:
        return read_model(cls, **_turn(week, week.name, zone), group_id=group_id, next=following)


class CurrentCaptain(CaptainTurn):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{**_WEEK, "group_id": _GROUP_ID, "group_name": "第1组", "site_id": _SITE_ID}]
        }
    )

    group_id: uuid.UUID
    group_name: str
    site_id: uuid.UUID

    @classmethod
    def of(cls, week: LeanRow) -> CurrentCaptain:
        """From a lean row of :data:`yijing.rota.repository.CURRENT_SHOWN`."""
        return read_model(
            cls, **_turn(week, week.name, ZoneInfo(week.timezone)), group_id=week.group_id,
            group_name=week.group_name, site_id=week.site_id,
        )  # fmt: skip


class WeekRead(CaptainTurn):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_WEEK,
                    "id": "0193a6a4-9999-7c3d-8f2a-3b4c5d6e7f80",
                    "rotation_volunteer_id": _VOLUNTEER_ID,
                    "sequence": 0,
                    "started": False,
                }
            ]
        }
    )

    id: uuid.UUID
    rotation_volunteer_id: uuid.UUID = Field(description="Whose turn the rota gave the week")
    sequence: int = Field(description="Bumped at each change (the iCal SEQUENCE)")
    started: bool = Field(description="A started week is fixed")

    @classmethod
    def of(cls, week: CaptainWeek | LeanRow, name: str, zone: ZoneInfo, now: datetime) -> WeekRead:
        """From a record or a lean row of :data:`yijing.rota.repository.WEEK_SHOWN`, as stored."""
        return read_model(
            cls, **_turn(week, name, zone), id=week.id, rotation_volunteer_id=week.rotation_volunteer_id,
            sequence=week.sequence, started=week.starts_at <= now,
        )  # fmt: skip


class OverrideRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"volunteer_id": _VOLUNTEER_ID, "reason": "夜市活动周需熟手"}]},
    )

    volunteer_id: uuid.UUID = Field(description="A current, active member of the group")
    reason: Reason


class UnavailabilityCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"starts_on": "2026-12-01", "ends_on": "2026-12-10", "reason": "回老家"}]
        },
    )

    starts_on: CalendarDate
    ends_on: CalendarDate = Field(description="Inclusive; at most a year after starts_on")
    reason: Reason


class UnavailabilityRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "0193a6a4-aaaa-7c3d-8f2a-3b4c5d6e7f80",
                    "volunteer_id": _VOLUNTEER_ID,
                    "starts_on": "2026-12-01",
                    "ends_on": "2026-12-10",
                    "reason": "回老家",
                    "created_at": "2026-11-29T10:00:00+08:00",
                }
            ]
        },
    )

    id: uuid.UUID
    volunteer_id: uuid.UUID
    starts_on: date
    ends_on: date
    reason: str
    created_at: datetime

    @classmethod
    def of(cls, unavailability: Unavailability | LeanRow) -> UnavailabilityRead:
        """From a record or a lean row of its columns (:data:`yijing.rota.repository.UNAVAILABILITY_SHOWN`),
        as stored: not validated again."""
        return read_model(
            cls, id=unavailability.id, volunteer_id=unavailability.volunteer_id,
            starts_on=unavailability.starts_on, ends_on=unavailability.ends_on, reason=unavailability.reason,
            created_at=unavailability.created_at,
        )  # fmt: skip


class FairnessRow(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "volunteer_id": _VOLUNTEER_ID,
                    "name": "陈美华",
                    "member": True,
                    "served": 3,
                    "covered_for_others": 1,
                    "swapped_out": 0,
                    "overridden_out": 0,
                    "planned": 1,
                }
            ]
        }
    )

    volunteer_id: uuid.UUID
    name: str
    member: bool = Field(description="In the group now")
    served: int = Field(description="Weeks captained (started weeks)")
    covered_for_others: int = Field(description="Of those, weeks that were someone else's turn")
    swapped_out: int = Field(description="Own turns another member took by a swap")
    overridden_out: int = Field(description="Own turns an officer gave to someone else")
    planned: int = Field(description="Weeks ahead with this captain")
