from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from yijing.kit.reads import LeanRow, by_value, read_model
from yijing.org.schemas import Location
from yijing.patrols.checkins.models import CheckinFlag, CheckinReview, PatrolCheckin
from yijing.patrols.routes.schemas import Code
from yijing.types import JSON_NUMBER, NOT_BLANK, Instant

MAX_BATCH = 1000
COUNTING = frozenset({CheckinReview.NOT_NEEDED, CheckinReview.ACCEPTED})

Accuracy = Annotated[
    float, Field(ge=0, le=10_000, description="The GPS fix's accuracy radius in metres"), JSON_NUMBER
]
ReviewNote = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=NOT_BLANK)]

_CHECKIN_EXAMPLE: dict[str, Any] = {
    "client_id": "7d0e8a52-3c1b-4f1e-9a51-2f0c6b1d9e01",
    "code": "bhl-nm-02-Qx7v",
    "location": {"latitude": 26.14962, "longitude": 119.14281},
    "accuracy_m": 8.0,
    "captured_at": "2023-10-13T20:41:07+08:00",
}


class CheckinCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_CHECKIN_EXAMPLE]})

    client_id: uuid.UUID = Field(
        description="The device's own id for this check-in, made once: sent again, it is stored once"
    )
    code: Code | None = Field(default=None, description="The scanned tag's value; leave out for a free point")
    location: Location = Field(description="Where the device was")
    accuracy_m: Accuracy
    captured_at: Instant = Field(description="When the device captured it (its own clock)")


class CheckinBatch(BaseModel):
    """One check-in, or an offline batch of up to 1,000."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"checkins": [_CHECKIN_EXAMPLE]}]}
    )

    checkins: list[CheckinCreate] = Field(min_length=1, max_length=MAX_BATCH)


class CheckinFlagRead(BaseModel):
    flag: CheckinFlag
    reason: str


_FLAGS, _REVIEWS = by_value(CheckinFlag), by_value(CheckinReview)


class CheckinRead(BaseModel):
    id: uuid.UUID
    patrol_id: uuid.UUID
    volunteer_id: uuid.UUID
    client_id: uuid.UUID
    checkpoint_id: uuid.UUID | None
    code: str | None = Field(description="The scanned code: shown to station staff only")
    location: Location
    accuracy_m: float
    distance_m: float | None = Field(description="Metres from the checkpoint the code names")
    captured_at: datetime
    received_at: datetime
    flags: list[CheckinFlagRead] = Field(description="Why it does not fit its patrol (empty: it fits)")
    review: CheckinReview
    counts: bool = Field(description="Whether it counts toward coverage and minutes: unflagged, or accepted")
    reviewed_by: uuid.UUID | None
    reviewed_at: datetime | None
    review_note: str | None

    @classmethod
    def of(cls, checkin: PatrolCheckin | LeanRow, *, show_code: bool) -> CheckinRead:
        """From a record or a lean row of its columns (:data:`yijing.patrols.checkins.repository.SHOWN`)."""
        values = checkin if isinstance(checkin, LeanRow) else checkin.model_dump()
        return cls.of_values(values, show_code=show_code)

    @classmethod
    def of_values(cls, values: Mapping[str, Any], *, show_code: bool) -> CheckinRead:
        """From a check-in's column values (a row as inserted, a stored record's or a lean row), as stored
        or as validated on the way in: not validated again (a lean row's enumerations are strings)."""
        flags = [
            read_model(CheckinFlagRead, flag=_FLAGS[flag], reason=why)
            for flag, why in values["flags"].items()
        ]
        return read_model(
            cls,
            id=values["id"], patrol_id=values["patrol_id"], volunteer_id=values["volunteer_id"],
            client_id=values["client_id"], checkpoint_id=values["checkpoint_id"],
            code=values["code"] if show_code else None,
            location=read_model(Location, latitude=values["latitude"], longitude=values["longitude"]),
            accuracy_m=values["accuracy_m"], distance_m=values["distance_m"],
            captured_at=values["captured_at"], received_at=values["received_at"], flags=flags,
            review=_REVIEWS[values["review"]], counts=values["review"] in COUNTING,
            reviewed_by=values.get("reviewed_by"), reviewed_at=values.get("reviewed_at"),
            review_note=values.get("review_note"),
        )  # fmt: skip


class CheckinBatchRead(BaseModel):
    items: list[CheckinRead] = Field(description="The stored check-ins, in the order sent")
    stored: int = Field(description="How many were new (0: the whole batch had been stored already)")


class ReviewDecision(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"


class CheckinReviewCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"decision": "accept", "note": "信号差，人在烧烤区，已电话核实"}]},
    )

    decision: ReviewDecision
    note: ReviewNote | None = None


class CheckinFilters(BaseModel):
    """The check-ins list's filters (all of them together)."""

    review: CheckinReview | None = None
    volunteer_id: uuid.UUID | None = None


NoteText = Annotated[str, StringConstraints(min_length=1, max_length=1000, pattern=NOT_BLANK)]


class CheckinNoteCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"text": "此处信号差，定位偏到河对岸"}]}
    )

    text: NoteText


class CheckinNoteRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    checkin_id: uuid.UUID
    author_id: uuid.UUID
    text: str
    created_at: datetime
