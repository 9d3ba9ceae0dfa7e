from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from yijing.patrols.models import PatrolStatus

_PATROL_ID = "0193a6a4-cccc-7c3d-8f2a-3b4c5d6e7f80"
_SITE_ID = "0193a6a4-2222-7c3d-8f2a-3b4c5d6e7f80"
_STATION_ID = "0193a6a4-1111-7c3d-8f2a-3b4c5d6e7f80"
_COVERAGE_EXAMPLE: dict[str, Any] = {
    "patrol_id": _PATROL_ID,
    "status": "completed",
    "planned_start": "2023-10-13T19:00:00+08:00",
    "planned_end": "2023-10-13T23:00:00+08:00",
    "window_closes_at": "2023-10-13T23:15:00+08:00",
    "settled_at": "2023-10-13T23:20:02+08:00",
    "checkpoints": [
        {
            "checkpoint_id": "0193a6a4-dddd-7c3d-8f2a-3b4c5d6e7f80",
            "position": 1,
            "name": "夜市入口",
            "outcome": "hit",
            "first_reached_at": "2023-10-13T19:04:11+08:00",
            "checkins": 3,
        },
        {
            "checkpoint_id": "0193a6a4-eeee-7c3d-8f2a-3b4c5d6e7f80",
            "position": 2,
            "name": "烧烤一条街",
            "outcome": "missed",
            "first_reached_at": None,
            "checkins": 0,
        },
    ],
    "members": [
        {
            "volunteer_id": "0193a6a4-5555-7c3d-8f2a-3b4c5d6e7f80",
            "name": "陈美华",
            "verified_minutes": 212,
            "verified_checkins": 9,
            "first_verified_at": "2023-10-13T19:04:11+08:00",
            "last_verified_at": "2023-10-13T22:36:40+08:00",
        }
    ],
}


class CoverageOutcome(StrEnum):
    """A checkpoint's outcome as read: a settled patrol's stored one, or an unsettled one's computed now."""

    HIT = "hit"  # first reached within the planned window
    LATE = "late"  # first reached after the planned end
    MISSED = "missed"  # never reached, and the window has closed
    NOT_YET = "not_yet"  # not reached so far, the window still open


class CheckpointCoverage(BaseModel):
    checkpoint_id: uuid.UUID
    position: int = Field(description="Its place on the route, from 1")
    name: str
    outcome: CoverageOutcome
    first_reached_at: datetime | None = Field(description="The first counting check-in's capture time")
    checkins: int = Field(description="Counting check-ins at it (unflagged, or flagged and accepted)")


class MemberMinutes(BaseModel):
    volunteer_id: uuid.UUID
    name: str
    verified_minutes: int = Field(
        description="Whole minutes from the member's first to last counting check-in, both clipped to the "
        "planned window (0 with fewer than two)"
    )
    verified_checkins: int = Field(description="The member's counting check-ins")
    first_verified_at: datetime | None = Field(description="The first, clipped to the planned window")
    last_verified_at: datetime | None = Field(description="The last, clipped to the planned window")


class PatrolCoverage(BaseModel):
    """Settled (``settled_at`` given): the outcomes and minutes the worker stored. Not yet: computed now by
    the same rules, ``not_yet`` instead of ``missed`` while the window is open."""

    model_config = ConfigDict(json_schema_extra={"examples": [_COVERAGE_EXAMPLE]})

    patrol_id: uuid.UUID
    status: PatrolStatus
    planned_start: datetime
    planned_end: datetime
    window_closes_at: datetime = Field(
        description="The planned end plus the check-in grace: the patrol is settled after it"
    )
    settled_at: datetime | None = Field(description="When the worker last settled it; null: not yet")
    checkpoints: list[CheckpointCoverage] = Field(description="The route's checkpoints, in route order")
    members: list[MemberMinutes] = Field(description="By name")


class PatrolCounts(BaseModel):
    planned: int = Field(description="Every patrol planned to start in the month, whatever its status")
    completed: int
    missed: int = Field(description="Nobody started it")
    cancelled: int


class CheckpointCounts(BaseModel):
    """Outcomes stored for the month's settled patrols, one per patrol and checkpoint of its route."""

    hit: int
    late: int
    missed: int


class SiteCoverage(BaseModel):
    site_id: uuid.UUID
    site_name: str
    station_id: uuid.UUID
    patrols: PatrolCounts
    checkpoints: CheckpointCounts
    coverage_percent: float | None = Field(
        description="(hit + late) / all checkpoint outcomes × 100, to one decimal; null when none"
    )
    verified_minutes: int = Field(description="Members' verified minutes on the month's settled patrols")


class CoverageSummary(BaseModel):
    """Per site in reach (one site when asked), the patrols planned to start in the month (each site's
    month in its station's time zone)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "month": "2023-10",
                    "sites": [
                        {
                            "site_id": _SITE_ID,
                            "site_name": "滨河路夜市",
                            "station_id": _STATION_ID,
                            "patrols": {"planned": 31, "completed": 28, "missed": 1, "cancelled": 2},
                            "checkpoints": {"hit": 214, "late": 6, "missed": 12},
                            "coverage_percent": 94.8,
                            "verified_minutes": 41_880,
                        }
                    ],
                }
            ]
        }
    )

    month: str = Field(description="YYYY-MM")
    sites: list[SiteCoverage]
