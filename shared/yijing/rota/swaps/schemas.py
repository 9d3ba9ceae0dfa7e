from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from yijing.kit.reads import LeanRow, by_value, read_model
from yijing.rota.models import CaptainSwap, SwapStatus
from yijing.types import CalendarDate, Reason

_SWAP_ID = "0193a6a4-bbbb-7c3d-8f2a-3b4c5d6e7f80"
_GROUP_ID = "0193a6a4-8888-7c3d-8f2a-3b4c5d6e7f80"
_WEEK_ID = "0193a6a4-9999-7c3d-8f2a-3b4c5d6e7f80"
_FROM_ID = "0193a6a4-5555-7c3d-8f2a-3b4c5d6e7f80"
_TO_ID = "0193a6a4-6666-7c3d-8f2a-3b4c5d6e7f80"
_USER_ID = "0193a6a4-7777-7c3d-8f2a-3b4c5d6e7f80"
_TO_USER_ID = "0193a6a4-7778-7c3d-8f2a-3b4c5d6e7f80"  # the account of the member asked
_REASON = "那周要回老家办事"
_EXAMPLE: dict[str, Any] = {
    "id": _SWAP_ID,
    "group_id": _GROUP_ID,
    "week_id": _WEEK_ID,
    "week_start": "2026-11-30",
    "from_volunteer_id": _FROM_ID,
    "from_name": "陈美华",
    "to_volunteer_id": _TO_ID,
    "to_name": "林秀英",
    "status": "open",
    "reason": _REASON,
    "requested_by": _USER_ID,
    "decided_by": None,
    "expires_at": "2026-11-30T00:00:00+08:00",
    "created_at": "2026-11-25T19:02:11+08:00",
    "decided_at": None,
}


class SwapCreate(BaseModel):
    """The week's captain (or staff acting for them) asks another member to take the week."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"week_start": "2026-11-30", "to_volunteer_id": _TO_ID, "reason": _REASON}]
        },
    )

    week_start: CalendarDate = Field(
        description="The week's start date (station time); it must not have begun"
    )
    to_volunteer_id: uuid.UUID = Field(description="Another current, active member of the group")
    reason: Reason


class SwapDecision(BaseModel):
    """Accepting, declining or cancelling a swap, with an optional note for the other side."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"note": "没问题，我来"}, {}]})

    note: Reason | None = Field(default=None, description="Told to the other side and kept in the audit log")


class SwapFilters(BaseModel):
    """The swaps list's filters."""

    status: SwapStatus | None = None


_STATUSES = by_value(SwapStatus)


class SwapRead(BaseModel):
    """A swap; instants carry the station's UTC offset."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                _EXAMPLE,
                {
                    **_EXAMPLE,
                    "status": "accepted",
                    "decided_by": _TO_USER_ID,
                    "decided_at": "2026-11-26T08:30:00+08:00",
                },
            ]
        }
    )

    id: uuid.UUID
    group_id: uuid.UUID
    week_id: uuid.UUID
    week_start: date = Field(description="The local date of the handoff that starts the week")
    from_volunteer_id: uuid.UUID = Field(description="The week's captain who asked")
    from_name: str
    to_volunteer_id: uuid.UUID = Field(description="The member asked to take the week")
    to_name: str
    status: SwapStatus = Field(description="An open swap past its expiry reads as expired")
    reason: str | None
    requested_by: uuid.UUID | None = Field(description="The account that asked (the captain or staff)")
    decided_by: uuid.UUID | None = Field(description="The account that accepted, declined or cancelled it")
    expires_at: datetime = Field(description="The week's handoff: an open swap lapses then")
    created_at: datetime
    decided_at: datetime | None = Field(description="When it was accepted, declined, cancelled or expired")

    @classmethod
    def of(
        cls, swap: CaptainSwap | LeanRow, week_start: date, from_name: str, to_name: str, zone: ZoneInfo
    ) -> SwapRead:
        """From a record or a lean row of its columns (:data:`yijing.rota.repository.SWAP_SHOWN`), as
        stored: not validated again; its instants in the station's time zone."""
        return read_model(
            cls,
            id=swap.id, group_id=swap.group_id, week_id=swap.week_id, week_start=week_start,
            from_volunteer_id=swap.from_volunteer_id, from_name=from_name,
            to_volunteer_id=swap.to_volunteer_id, to_name=to_name, status=_STATUSES[swap.status],
            reason=swap.reason, requested_by=swap.requested_by, decided_by=swap.decided_by,
            expires_at=swap.expires_at.astimezone(zone), created_at=swap.created_at.astimezone(zone),
            decided_at=swap.decided_at.astimezone(zone) if swap.decided_at else None,
        )  # fmt: skip
