from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

_FEED: dict[str, Any] = {
    "id": "0193a6a4-cccc-7c3d-8f2a-3b4c5d6e7f80",
    "station_id": "0193a6a4-1111-7c3d-8f2a-3b4c5d6e7f80",
    "group_id": "0193a6a4-8888-7c3d-8f2a-3b4c5d6e7f80",
    "volunteer_id": None,
    "created_by": "0193a6a4-2222-7c3d-8f2a-3b4c5d6e7f80",
    "created_at": "2026-11-29T10:00:00+08:00",
    "revoked_at": None,
}


class CalendarFeedRead(BaseModel):
    """A secret calendar address for a group's or a volunteer's captain weeks (its token is never shown
    again)."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={"examples": [{**_FEED, "revoked_at": "2026-12-02T09:30:00+08:00"}]},
    )

    id: uuid.UUID
    station_id: uuid.UUID
    group_id: uuid.UUID | None = Field(description="The group whose captain weeks the feed lists, or null")
    volunteer_id: uuid.UUID | None = Field(
        description="The volunteer whose captain weeks (in any group) the feed lists, or null"
    )
    created_by: uuid.UUID | None = Field(description="The user who created it")
    created_at: datetime
    revoked_at: datetime | None = Field(description="Once set, the address answers 404")


class CalendarFeedCreated(CalendarFeedRead):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {**_FEED, "url": "/api/v1/calendars/q3Jx0vYb8fKc2LmN4pR6sT8uW0yA2cE4gI6kM8oQ0sU.ics"}
            ]
        }
    )

    url: str = Field(
        description="The feed's address under this service, shown this once: subscribe to it in a calendar "
        "app. Anyone holding it reads the feed, without signing in, until the feed is revoked."
    )
