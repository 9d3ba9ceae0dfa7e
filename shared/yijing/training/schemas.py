from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints
from typing_extensions import TypedDict

from yijing.kit.reads import LeanRow, by_value, read_model
from yijing.training.models import (
    AttendanceStatus,
    AudienceKind,
    CheckinMethod,
    Training,
    TrainingAttendance,
    TrainingAudience,
    TrainingMode,
    TrainingStatus,
    TrainingTopic,
)
from yijing.types import JSON_INTEGER, NOT_BLANK, Address, Instant, Name, QueryBool, Reason

Title = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NOT_BLANK)]
MeetingUrl = Annotated[
    str,
    StringConstraints(min_length=8, max_length=500, pattern=r"^https?://[^\s\x00]+$"),
    Field(description="The online meeting's link (Tencent Meeting, DingTalk…)"),
]
Minutes = Annotated[int, Field(ge=0, le=24 * 60), JSON_INTEGER]
Percent = Annotated[int, Field(ge=1, le=100), JSON_INTEGER]
LateAfter = Annotated[int, Field(ge=0, le=240), JSON_INTEGER]
# The check-in code a session shows (as a QR code or six digits): it changes every minute.
SessionCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]

TOPIC_LABELS_ZH = {
    TrainingTopic.LAWS_REGULATIONS: "法律法规",
    TrainingTopic.ORDER_MAINTENANCE: "秩序维护",
    TrainingTopic.HAZARD_INSPECTION: "隐患排查",
    TrainingTopic.DISPUTE_MEDIATION: "纠纷调解",
    TrainingTopic.SAFETY_OUTREACH: "安全宣传",
    TrainingTopic.OTHER: "其他",
}
ATTENDANCE_LABELS_ZH = {
    AttendanceStatus.PENDING: "待认定",
    AttendanceStatus.PRESENT: "出勤",
    AttendanceStatus.LATE: "迟到",
    AttendanceStatus.ABSENT: "缺勤",
    AttendanceStatus.EXCUSED: "请假",
}

_STATION_ID = "0193a6a4-1111-7c3d-8f2a-3b4c5d6e7f80"
_SITE_ID = "0193a6a4-2222-7c3d-8f2a-3b4c5d6e7f80"
_USER_ID = "0193a6a4-3333-7c3d-8f2a-3b4c5d6e7f80"
_VOLUNTEER_ID = "0193a6a4-5555-7c3d-8f2a-3b4c5d6e7f80"
_TRAINING_ID = "0193a6a4-eeee-7c3d-8f2a-3b4c5d6e7f80"
_EXAMPLE: dict[str, Any] = {
    "title": "夜市义警十月培训：消防隐患排查与纠纷调解",
    "topics": ["hazard_inspection", "dispute_mediation"],
    "mode": "hybrid",
    "starts_at": "2023-10-18T19:30:00+08:00",
    "ends_at": "2023-10-18T21:00:00+08:00",
    "place": "甘蔗派出所三楼会议室",
    "meeting_url": "https://meeting.tencent.com/dm/abc123",
    "trainer": "林警官",
    "required": True,
}


class Audience(BaseModel):
    """Who the training is for: every active volunteer of the sites and the current members of the groups,
    and the volunteers named. At least one of them."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"site_ids": [_SITE_ID], "volunteer_ids": []}]}
    )

    site_ids: list[uuid.UUID] = Field(default_factory=list, max_length=50)
    group_ids: list[uuid.UUID] = Field(default_factory=list, max_length=200)
    volunteer_ids: list[uuid.UUID] = Field(default_factory=list, max_length=1000)


class TrainingCreate(BaseModel):
    """Offline and hybrid trainings name their place; online and hybrid ones their meeting link. At most
    12 hours long."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{**_EXAMPLE, "station_id": _STATION_ID, "audience": {"site_ids": [_SITE_ID]}}]
        },
    )

    station_id: uuid.UUID
    title: Title
    topics: list[TrainingTopic] = Field(min_length=1, max_length=6)
    mode: TrainingMode
    starts_at: Instant
    ends_at: Instant
    place: Address | None = None
    meeting_url: MeetingUrl | None = None
    trainer: Name
    required: bool = Field(default=True, description="Counts toward the monthly 'at least once' duty")
    audience: Audience


class TrainingUpdate(BaseModel):
    """Changes a training that has not started; the audience, given, replaces the old one (enrolment
    follows it)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"place": "甘蔗派出所一楼大厅"}]}
    )

    title: Title | None = None
    topics: list[TrainingTopic] | None = Field(default=None, min_length=1, max_length=6)
    mode: TrainingMode | None = None
    starts_at: Instant | None = None
    ends_at: Instant | None = None
    place: Address | None = None
    meeting_url: MeetingUrl | None = None
    trainer: Name | None = None
    required: bool | None = None
    audience: Audience | None = None


class TrainingFilters(BaseModel):
    """The trainings list's filters (all of them together)."""

    station_id: uuid.UUID | None = None
    site_id: Annotated[uuid.UUID | None, Field(description="With this site in its audience")] = None
    status: TrainingStatus | None = None
    mode: TrainingMode | None = None
    topic: TrainingTopic | None = None
    required: QueryBool | None = None
    starts_after: Annotated[Instant | None, Field(description="Starting at or after")] = None
    starts_before: Annotated[Instant | None, Field(description="Starting before")] = None


_KINDS, _TOPICS, _MODES = by_value(AudienceKind), by_value(TrainingTopic), by_value(TrainingMode)
_TRAINING_STATUSES, _ATTENDANCE_STATUSES = by_value(TrainingStatus), by_value(AttendanceStatus)
_CHECKIN_METHODS = by_value(CheckinMethod)


class AudienceRead(BaseModel):
    kind: AudienceKind
    site_id: uuid.UUID | None
    group_id: uuid.UUID | None
    volunteer_id: uuid.UUID | None

    @classmethod
    def of(cls, audience: TrainingAudience | LeanRow) -> AudienceRead:
        """From a record or a lean row of its columns, as stored: not validated again."""
        return read_model(
            cls, kind=_KINDS[audience.kind], site_id=audience.site_id, group_id=audience.group_id,
            volunteer_id=audience.volunteer_id,
        )  # fmt: skip


class TrainingRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_EXAMPLE,
                    "id": _TRAINING_ID,
                    "station_id": _STATION_ID,
                    "status": "settled",
                    "cancel_reason": None,
                    "cancelled_at": None,
                    "rule_version": 2,
                    "settled_at": "2023-10-18T21:20:00+08:00",
                    "audience": [
                        {"kind": "site", "site_id": _SITE_ID, "group_id": None, "volunteer_id": None}
                    ],
                    "enrolled": 96,
                    "created_by": _USER_ID,
                    "version": 2,
                    "created_at": "2023-10-10T10:00:00+08:00",
                    "updated_at": "2023-10-18T21:20:00+08:00",
                }
            ]
        }
    )

    id: uuid.UUID
    station_id: uuid.UUID
    title: str
    topics: list[TrainingTopic]
    mode: TrainingMode
    starts_at: datetime
    ends_at: datetime
    place: str | None
    meeting_url: str | None
    trainer: str
    required: bool
    status: TrainingStatus
    cancel_reason: str | None
    cancelled_at: datetime | None
    rule_version: int | None = Field(description="The attendance rule version it was settled by")
    settled_at: datetime | None
    audience: list[AudienceRead]
    enrolled: int = Field(description="Volunteers enrolled")
    created_by: uuid.UUID | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, training: Training | LeanRow, audience: list[AudienceRead], enrolled: int) -> TrainingRead:
        """From a record or a lean row of its columns (:data:`yijing.training.repository.SHOWN`), as
        stored: not validated again (a lean row's enumerations are the driver's strings)."""
        return read_model(
            cls,
            id=training.id, station_id=training.station_id, title=training.title,
            topics=[_TOPICS[topic] for topic in training.topics], mode=_MODES[training.mode],
            starts_at=training.starts_at, ends_at=training.ends_at, place=training.place,
            meeting_url=training.meeting_url, trainer=training.trainer, required=training.required,
            status=_TRAINING_STATUSES[training.status], cancel_reason=training.cancel_reason,
            cancelled_at=training.cancelled_at, rule_version=training.rule_version,
            settled_at=training.settled_at, audience=audience, enrolled=enrolled,
            created_by=training.created_by, version=training.version, created_at=training.created_at,
            updated_at=training.updated_at,
        )  # fmt: skip


class CancelTraining(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "台风预警，改期"}]})

    reason: Reason


class AttendanceRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "training_id": _TRAINING_ID,
                    "volunteer_id": _VOLUNTEER_ID,
                    "volunteer_name": "陈美华",
                    "site_id": _SITE_ID,
                    "status": "late",
                    "checked_in_at": "2023-10-18T19:43:10+08:00",
                    "checkin_method": "code",
                    "checked_in_by": None,
                    "online_minutes": None,
                    "excuse_reason": None,
                    "rule_version": 2,
                    "settled_at": "2023-10-18T21:20:00+08:00",
                }
            ]
        }
    )

    training_id: uuid.UUID
    volunteer_id: uuid.UUID
    volunteer_name: str
    site_id: uuid.UUID = Field(
        description="The volunteer's site when enrolled: whose compliance it counts for"
    )
    status: AttendanceStatus
    checked_in_at: datetime | None
    checkin_method: CheckinMethod | None
    checked_in_by: uuid.UUID | None = Field(description="The staff account that checked them in")
    online_minutes: int | None
    excuse_reason: str | None
    rule_version: int | None
    settled_at: datetime | None

    @classmethod
    def of(cls, row: TrainingAttendance | LeanRow, volunteer_name: str) -> AttendanceRead:
        """From a record or a lean row of its columns (:data:`yijing.training.repository.ATTENDANCE_SHOWN`),
        as stored: not validated again."""
        method = row.checkin_method
        return read_model(
            cls,
            training_id=row.training_id, volunteer_id=row.volunteer_id, volunteer_name=volunteer_name,
            site_id=row.site_id, status=_ATTENDANCE_STATUSES[row.status], checked_in_at=row.checked_in_at,
            checkin_method=None if method is None else _CHECKIN_METHODS[method],
            checked_in_by=row.checked_in_by, online_minutes=row.online_minutes,
            excuse_reason=row.excuse_reason, rule_version=row.rule_version, settled_at=row.settled_at,
        )  # fmt: skip


class AttendanceFilters(BaseModel):
    status: AttendanceStatus | None = None
    site_id: uuid.UUID | None = None


class CodeCheckin(BaseModel):
    """A volunteer's check-in with the code the session shows: taken only within the session (15 minutes'
    grace either side) and only for this training."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"code": "482913"}]})

    code: SessionCode


class SessionCodeRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "482913",
                    "valid_until": "2023-10-18T19:44:00+08:00",
                    "qr_payload": "yijing:training:…",
                }
            ]
        }
    )

    code: str
    valid_until: datetime = Field(
        description="When the next code replaces it (the previous one is kept a minute)"
    )
    qr_payload: str = Field(description="What the QR code shown in the room carries")


class ExcuseAttendance(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "夜市出摊，已请假"}]}
    )

    reason: Reason


class OnlineMinutes(BaseModel):
    """Minutes a volunteer attended online, as the meeting platform counts them; sent again, replaced."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"minutes": 75}]})

    minutes: Minutes


class AttendanceRules(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "station_id": _STATION_ID,
                    "version": 2,
                    "online_present_percent": 80,
                    "late_after_minutes": 10,
                    "created_at": "2023-09-01T09:00:00+08:00",
                }
            ]
        }
    )

    station_id: uuid.UUID
    version: int = Field(description="0: the service's defaults, never changed")
    online_present_percent: int = Field(description="Online: present at this share of the minutes or more")
    late_after_minutes: int = Field(description="Offline: checked in this many minutes after the start: late")
    created_at: datetime | None


class AttendanceRulesUpdate(BaseModel):
    """A new version, in force from now: sessions already settled keep the version they were settled by."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"online_present_percent": 80, "late_after_minutes": 10}]},
    )

    online_present_percent: Percent
    late_after_minutes: LateAfter


Month = Annotated[
    str,
    StringConstraints(pattern=r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])$"),
    Field(description="YYYY-MM", examples=["2023-10"]),
]


class ComplianceQuery(BaseModel):
    """Which month and where: the station named, the site's, or the caller's only one; by default the
    station's current month."""

    month: Month | None = None
    station_id: uuid.UUID | None = None
    site_id: uuid.UUID | None = None


class ComplianceFilters(ComplianceQuery):
    trained: Annotated[
        QueryBool | None, Field(description="Only those trained (true) or not yet trained (false)")
    ] = None


_SITE_TALLY: dict[str, JsonValue] = {
    "site_id": _SITE_ID,
    "site_name": "滨河路夜市",
    "volunteers": 96,
    "trained": 91,
    "rate": 0.948,
}


class ComplianceRow(TypedDict):
    """A volunteer's month. A typed dict rather than a model: a file holds thousands of them, taken as the
    database gives them (:mod:`yijing.kit.reads`)."""

    __pydantic_config__ = ConfigDict(  # type: ignore[misc]  # pydantic reads it from a TypedDict
        json_schema_extra={
            "examples": [
                {
                    "volunteer_id": _VOLUNTEER_ID,
                    "volunteer_name": "陈美华",
                    "site_id": _SITE_ID,
                    "site_name": "滨河路夜市",
                    "trained": True,
                    "trainings_attended": 1,
                    "excused": 0,
                }
            ]
        }
    )

    volunteer_id: uuid.UUID
    volunteer_name: str
    site_id: uuid.UUID
    site_name: str
    trained: Annotated[bool, Field(description="Present or late at a required training this month")]
    trainings_attended: int
    excused: Annotated[int, Field(description="Required trainings this month excused")]


class SiteCompliance(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_SITE_TALLY]})

    site_id: uuid.UUID
    site_name: str
    volunteers: int = Field(description="Volunteers who owed the month's training: active, joined by its end")
    trained: int
    rate: float | None = Field(description="trained / volunteers, 0–1 to three decimals; null with none")


class ComplianceReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "month": "2023-10",
                    "station_id": _STATION_ID,
                    "volunteers": 96,
                    "trained": 91,
                    "rate": 0.948,
                    "sites": [_SITE_TALLY],
                }
            ]
        }
    )

    month: str = Field(description="YYYY-MM in the station's time zone")
    station_id: uuid.UUID
    volunteers: int = Field(description="Volunteers of the station's sites (or the site) who owed the month")
    trained: int
    rate: float | None = Field(description="trained / volunteers, 0–1 to three decimals; null with none")
    sites: list[SiteCompliance]
