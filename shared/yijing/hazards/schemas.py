from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlmodel import col

from yijing.hazards.models import (
    AttachmentKind,
    Hazard,
    HazardAttachment,
    HazardCategory,
    HazardSeverity,
    HazardSource,
    HazardStatus,
    ReporterRole,
)
from yijing.kit.reads import LeanRow, by_value, read_model
from yijing.org.schemas import Location
from yijing.types import JSON_INTEGER, NOT_BLANK, Address, CalendarDate, Instant, QueryBool

Description = Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=NOT_BLANK)]
Party = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, pattern=NOT_BLANK),
    Field(description="Who must fix it: the stall, landlord or business (e.g. A-017 鱼丸摊 陈美华)"),
]
Agency = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, pattern=NOT_BLANK),
    Field(description="The agency that takes the hazard over, e.g. 县消防救援大队 (the county fire brigade)"),
]
Note = Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=NOT_BLANK)]
Days = Annotated[int, Field(ge=1, le=365), JSON_INTEGER]

# Chinese labels, for notifications and people reading exports.
STATUS_LABELS_ZH = {
    HazardStatus.REPORTED: "已上报",
    HazardStatus.VERIFIED: "已核实",
    HazardStatus.RECTIFYING: "整改中",
    HazardStatus.ELIMINATED: "已消除",
    HazardStatus.DUPLICATE: "重复上报",
    HazardStatus.NOT_HAZARD: "不构成隐患",
    HazardStatus.REFERRED: "已移交",
}

_HAZARD_ID = "0193a6a4-7777-7c3d-8f2a-3b4c5d6e7f80"
_SITE_ID = "0193a6a4-2222-7c3d-8f2a-3b4c5d6e7f80"
_EXAMPLE: dict[str, Any] = {
    "site_id": _SITE_ID,
    "category": "fire",
    "severity": "high",
    "source": "patrol",
    "description": "A-区 17 号摊位液化气罐紧挨油锅，无防护",
    "location": {"latitude": 26.1526, "longitude": 119.1417},
    "address": "滨河路夜市 A 区 17 号",
    "responsible_party": "A-017 鱼丸摊 陈美华",
}


class HazardCreate(BaseModel):
    """The station is the site's station. A report made offline carries the device's own ``client_id``
    and ``captured_at``: sending it again returns the stored report instead of a second one."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    **_EXAMPLE,
                    "client_id": "6f1c2b9e-3d4a-4b5c-9d8e-7f6a5b4c3d2e",
                    "captured_at": "2026-11-28T21:40:00+08:00",
                }
            ]
        },
    )

    site_id: uuid.UUID
    category: HazardCategory
    severity: HazardSeverity = HazardSeverity.MEDIUM
    source: HazardSource = HazardSource.PATROL
    description: Description
    location: Location | None = None
    address: Address | None = None
    responsible_party: Party | None = None
    client_id: uuid.UUID | None = Field(
        default=None, description="The reporting device's own id for this report (offline reports)"
    )
    captured_at: Instant | None = Field(
        default=None, description="When the hazard was found, if earlier: at most 30 days ago"
    )
    deadline: CalendarDate | None = Field(
        default=None,
        description="Last day for the fix (station time); staff only. Default: the station's period for "
        "the severity from the day the report arrives (see /api/v1/hazards/deadline-rules/{station_id})",
    )


class HazardUpdate(BaseModel):
    """Staff correct a report. The status changes only through the actions; null clears ``location``,
    ``address`` and ``responsible_party``. A new severity keeps the deadline unless one is given too."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"severity": "critical", "deadline": "2026-12-01"}]}
    )

    site_id: uuid.UUID | None = None
    category: HazardCategory | None = None
    severity: HazardSeverity | None = None
    source: HazardSource | None = None
    description: Description | None = None
    location: Location | None = None
    address: Address | None = None
    responsible_party: Party | None = None
    deadline: CalendarDate | None = None


class HazardFilters(BaseModel):
    """The hazards list's filters (all of them together; a repeated ``status`` means any of them)."""

    station_id: uuid.UUID | None = None
    site_id: uuid.UUID | None = None
    status: Annotated[
        list[HazardStatus] | None, Field(description="Any of these statuses (repeat the parameter)")
    ] = None
    category: HazardCategory | None = None
    severity: HazardSeverity | None = None
    overdue: Annotated[
        QueryBool | None,
        Field(description="true: open and past the deadline; false: not flagged (closed ones included)"),
    ] = None
    reporter_id: Annotated[uuid.UUID | None, Field(description="Reported by this account")] = None
    reported_after: Annotated[
        Instant | None, Field(description="Reached the service at or after (not the capture time)")
    ] = None
    reported_before: Annotated[Instant | None, Field(description="Reached the service before")] = None
    updated_after: Instant | None = None


_CATEGORIES, _SEVERITIES = by_value(HazardCategory), by_value(HazardSeverity)
_SOURCES, _REPORTER_ROLES, _STATUSES = by_value(HazardSource), by_value(ReporterRole), by_value(HazardStatus)


class HazardRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_EXAMPLE,
                    "id": _HAZARD_ID,
                    "station_id": "0193a6a4-1111-7c3d-8f2a-3b4c5d6e7f80",
                    "reporter_id": "0193a6a4-3333-7c3d-8f2a-3b4c5d6e7f80",
                    "reporter_role": "captain",
                    "reporter_volunteer_id": "0193a6a4-5555-7c3d-8f2a-3b4c5d6e7f80",
                    "client_id": None,
                    "captured_at": None,
                    "deadline": "2026-12-01",
                    "overdue": False,
                    "status": "rectifying",
                    "allowed_actions": ["eliminate", "duplicate", "dismiss", "refer"],
                    "duplicate_of_id": None,
                    "referred_to": None,
                    "eliminated_at": None,
                    "closed_at": None,
                    "version": 3,
                    "created_at": "2026-11-28T21:41:02+08:00",
                    "updated_at": "2026-11-29T09:15:00+08:00",
                }
            ]
        }
    )

    id: uuid.UUID
    station_id: uuid.UUID
    site_id: uuid.UUID
    category: HazardCategory
    severity: HazardSeverity
    source: HazardSource
    description: str
    location: Location | None
    address: str | None
    responsible_party: str | None
    reporter_id: uuid.UUID = Field(description="The account that reported it")
    reporter_role: ReporterRole = Field(
        description="What the reporter was then (captain: serving their week)"
    )
    reporter_volunteer_id: uuid.UUID | None
    client_id: uuid.UUID | None
    captured_at: datetime | None
    deadline: date = Field(description="Last day for the fix, in the station's time zone")
    overdue: bool = Field(description="Open past its deadline")
    status: HazardStatus
    allowed_actions: list[str] = Field(description="The actions the status allows now")
    duplicate_of_id: uuid.UUID | None = Field(description="The original report (status duplicate)")
    referred_to: str | None = Field(description="The agency it went to (status referred)")
    eliminated_at: datetime | None
    closed_at: datetime | None = Field(description="When it was eliminated or closed without a fix")
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, hazard: Hazard | LeanRow, allowed_actions: list[str]) -> HazardRead:
        """From a record or a lean row of :data:`SHOWN`'s columns, as stored: not validated again (a lean
        row's enumerations are the driver's strings)."""
        location = None
        if hazard.latitude is not None and hazard.longitude is not None:
            location = Location.model_construct(latitude=hazard.latitude, longitude=hazard.longitude)
        fields = {name: getattr(hazard, name) for name in _STORED_AS_SHOWN}
        return read_model(
            cls,
            **fields,
            category=_CATEGORIES[hazard.category],
            severity=_SEVERITIES[hazard.severity],
            source=_SOURCES[hazard.source],
            reporter_role=_REPORTER_ROLES[hazard.reporter_role],
            status=_STATUSES[hazard.status],
            location=location,
            allowed_actions=allowed_actions,
        )


# The read model's fields that are columns of the hazard, shown as stored.
_ENUMERATIONS = ("category", "severity", "source", "reporter_role", "status")
_STORED_AS_SHOWN = tuple(
    sorted(set(HazardRead.model_fields) - {"location", "allowed_actions", *_ENUMERATIONS})
)
# The columns a hazard's read model is made of: what a lean read of hazards selects.
SHOWN = tuple(
    col(getattr(Hazard, name)) for name in (*_STORED_AS_SHOWN, *_ENUMERATIONS, "latitude", "longitude")
)


class ActionNote(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"note": "现场核实属实"}]})

    note: Note | None = Field(default=None, description="Kept in the hazard's history")


class RectifyAction(ActionNote):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "note": "已下达整改通知书",
                    "responsible_party": "A-017 鱼丸摊 陈美华",
                    "deadline": "2026-12-03",
                }
            ]
        },
    )

    responsible_party: Party | None = None
    deadline: CalendarDate | None = Field(default=None, description="A new last day for the fix")


class EliminateAction(ActionNote):
    """Evidence is required: an ``after`` photo attached to the hazard, or an inspection note written by
    someone other than the reporter."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"inspection_note": "复查：气罐已移至防护柜，配备灭火器", "note": "整改到位"}]
        },
    )

    inspection_note: Note | None = Field(
        default=None, description="What the checker saw on re-inspection (not the reporter)"
    )


class DuplicateAction(ActionNote):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"duplicate_of": _HAZARD_ID, "note": "同一摊位"}]}
    )

    duplicate_of: uuid.UUID = Field(description="The original report, of the same station")


class DismissAction(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"note": "核查为正常经营用电，不构成隐患"}]}
    )

    note: Note = Field(description="Why it is not a hazard")


class ReferAction(ActionNote):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"agency": "县消防救援大队", "note": "涉及建筑消防设施"}]},
    )

    agency: Agency


class HazardReopenAction(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"note": "复查发现气罐又移回油锅旁"}]}
    )

    note: Note = Field(description="Why it is open again")


class HazardEventRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "0193a6a4-8888-7c3d-8f2a-3b4c5d6e7f80",
                    "action": "verify",
                    "from_status": "reported",
                    "to_status": "verified",
                    "note": "现场核实属实",
                    "actor_id": "0193a6a4-3333-7c3d-8f2a-3b4c5d6e7f80",
                    "details": {},
                    "occurred_at": "2026-11-29T09:15:00+08:00",
                }
            ]
        },
    )

    id: uuid.UUID
    action: str = Field(
        description="report, update, attach, the action taken (verify, rectify, eliminate, duplicate, "
        "dismiss, refer, reopen), remind or overdue"
    )
    from_status: HazardStatus | None = Field(description="Set on actions")
    to_status: HazardStatus | None = Field(description="Set on actions")
    note: str | None
    actor_id: uuid.UUID | None = Field(description="The user who acted; null for the system")
    details: dict[str, Any] = Field(description="What changed: fields, the photo, the deadline")
    occurred_at: datetime


class AttachmentRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "0193a6a4-9999-7c3d-8f2a-3b4c5d6e7f80",
                    "hazard_id": _HAZARD_ID,
                    "kind": "after",
                    "media_type": "image/jpeg",
                    "size_bytes": 482113,
                    "width": 1920,
                    "height": 1440,
                    "sha256": "9f2c…",
                    "gps_stripped": True,
                    "file_name": "IMG_2041.jpg",
                    "uploaded_by": "0193a6a4-3333-7c3d-8f2a-3b4c5d6e7f80",
                    "created_at": "2026-11-30T10:02:00+08:00",
                    "href": f"/api/v1/hazards/{_HAZARD_ID}/attachments/0193a6a4-9999-7c3d-8f2a-3b4c5d6e7f80",
                }
            ]
        },
    )

    id: uuid.UUID
    hazard_id: uuid.UUID
    kind: AttachmentKind
    media_type: str
    size_bytes: int
    width: int
    height: int
    sha256: str = Field(description="Of the stored file")
    gps_stripped: bool
    file_name: str
    uploaded_by: uuid.UUID | None
    created_at: datetime
    href: str = Field(description="Where to download the file")

    @classmethod
    def of(cls, attachment: HazardAttachment) -> AttachmentRead:
        return cls.model_validate(
            {
                **attachment.model_dump(),
                "href": f"/api/v1/hazards/{attachment.hazard_id}/attachments/{attachment.id}",
            }
        )


class ClosedNotFixed(BaseModel):
    duplicate: int
    not_hazard: int
    referred: int


class SiteHazardSummary(BaseModel):
    site_id: uuid.UUID
    site_name: str
    station_id: uuid.UUID
    open: int = Field(description="Reported, verified or rectifying now")
    overdue: int = Field(description="Open and past the deadline now")
    eliminated: int = Field(description="Eliminated in the month (fixed and checked)")
    closed_not_fixed: ClosedNotFixed = Field(
        description="Closed in the month without a fix: never eliminated"
    )
    median_days_to_eliminate: float | None = Field(
        description="Over the hazards eliminated in the month, from finding to elimination; null when none"
    )


class HazardSummary(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "month": "2026-11",
                    "sites": [
                        {
                            "site_id": _SITE_ID,
                            "site_name": "滨河路夜市",
                            "station_id": "0193a6a4-1111-7c3d-8f2a-3b4c5d6e7f80",
                            "open": 6,
                            "overdue": 1,
                            "eliminated": 41,
                            "closed_not_fixed": {"duplicate": 3, "not_hazard": 2, "referred": 1},
                            "median_days_to_eliminate": 2.4,
                        }
                    ],
                }
            ]
        }
    )

    month: str = Field(description="YYYY-MM, each site's month in its station's time zone")
    sites: list[SiteHazardSummary]


class DeadlineRules(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "station_id": "0193a6a4-1111-7c3d-8f2a-3b4c5d6e7f80",
                    "days": {"low": 30, "medium": 7, "high": 3, "critical": 1},
                    "defaults": {"low": 30, "medium": 7, "high": 3, "critical": 1},
                }
            ]
        }
    )

    station_id: uuid.UUID
    days: dict[HazardSeverity, int] = Field(description="Days to fix, by severity: the station's rules")
    defaults: dict[HazardSeverity, int] = Field(description="The service's defaults")


class DeadlineRulesUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"days": {"critical": 1, "high": 2}}]}
    )

    days: dict[HazardSeverity, Days] = Field(
        min_length=1, description="Days to fix for the severities given; the others keep their rule"
    )
