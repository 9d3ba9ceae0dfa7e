from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, LargeBinary, UniqueConstraint, Uuid, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from yijing.columns import enum_column, instant, one_of
from yijing.ids import new_id


class TrainingTopic(StrEnum):
    LAWS_REGULATIONS = "laws_regulations"  # 法律法规
    ORDER_MAINTENANCE = "order_maintenance"  # 秩序维护
    HAZARD_INSPECTION = "hazard_inspection"  # 隐患排查
    DISPUTE_MEDIATION = "dispute_mediation"  # 纠纷调解
    SAFETY_OUTREACH = "safety_outreach"  # 安全宣传
    OTHER = "other"


class TrainingMode(StrEnum):
    OFFLINE = "offline"  # in a room: check-in by the officer or the session's code
    ONLINE = "online"  # on a meeting platform: minutes attended
    HYBRID = "hybrid"  # either


class TrainingStatus(StrEnum):
    SCHEDULED = "scheduled"  # before, during and after the session until the worker settles it
    SETTLED = "settled"  # every enrolled volunteer's attendance decided by the rules in force
    CANCELLED = "cancelled"


class AttendanceStatus(StrEnum):
    PENDING = "pending"  # not settled yet
    PRESENT = "present"
    LATE = "late"
    ABSENT = "absent"
    EXCUSED = "excused"  # by staff, with a reason: never counted as absent


class CheckinMethod(StrEnum):
    OFFICER = "officer"  # checked in by staff in the room
    CODE = "code"  # the volunteer scanned the session's rotating code


class AudienceKind(StrEnum):
    SITE = "site"  # every active volunteer of the site
    GROUP = "group"  # every current member of the group
    VOLUNTEER = "volunteer"  # one named volunteer


class Training(SQLModel, table=True):
    """One training session. ``code_secret`` (never shown) derives the check-in code, which changes every
    minute and is taken only within the session (with grace)."""

    __tablename__ = "trainings"
    __table_args__ = (
        CheckConstraint(one_of("mode", TrainingMode), name="mode_known"),
        CheckConstraint(one_of("status", TrainingStatus), name="status_known"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("mode = 'online' OR place IS NOT NULL", name="offline_has_place"),
        CheckConstraint("mode = 'offline' OR meeting_url IS NOT NULL", name="online_has_link"),
        CheckConstraint("status <> 'cancelled' OR cancel_reason IS NOT NULL", name="cancel_has_reason"),
        CheckConstraint("status <> 'settled' OR rule_version IS NOT NULL", name="settled_names_rule"),
        Index("ix_trainings_station_id_starts_at", "station_id", "starts_at"),
        # The settle job reads the scheduled sessions by their end.
        Index("ix_trainings_scheduled_ends_at", "ends_at", postgresql_where=text("status = 'scheduled'")),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    station_id: uuid.UUID = Field(foreign_key="stations.id")
    title: str = Field(max_length=200)
    topics: list[str] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]")
    )
    mode: TrainingMode = enum_column(TrainingMode, default=TrainingMode.OFFLINE)
    starts_at: datetime = instant()
    ends_at: datetime = instant()
    place: str | None = Field(default=None, max_length=200)
    meeting_url: str | None = Field(default=None, max_length=500)
    trainer: str = Field(max_length=100)
    required: bool = Field(default=True)
    status: TrainingStatus = enum_column(TrainingStatus, default=TrainingStatus.SCHEDULED)
    cancel_reason: str | None = Field(default=None, max_length=500)
    cancelled_at: datetime | None = instant(nullable=True)
    # The attendance rule version the session was settled by.
    rule_version: int | None = Field(default=None)
    settled_at: datetime | None = instant(nullable=True)
    code_secret: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    version: int = Field(default=1)
    created_at: datetime = instant()
    updated_at: datetime = instant(index=True)


class TrainingAudience(SQLModel, table=True):
    """Who a training is for: sites, groups and named volunteers (any mix); enrolment follows it."""

    __tablename__ = "training_audiences"
    __table_args__ = (
        CheckConstraint(one_of("kind", AudienceKind), name="kind_known"),
        CheckConstraint(
            "(kind = 'site') = (site_id IS NOT NULL) AND (kind = 'group') = (group_id IS NOT NULL) "
            "AND (kind = 'volunteer') = (volunteer_id IS NOT NULL)",
            name="names_one_of_its_kind",
        ),
        Index("ix_training_audiences_training_id", "training_id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    training_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("trainings.id", ondelete="CASCADE"), nullable=False)
    )
    kind: AudienceKind = enum_column(AudienceKind, default=AudienceKind.SITE)
    site_id: uuid.UUID | None = Field(default=None, foreign_key="sites.id")
    group_id: uuid.UUID | None = Field(default=None, foreign_key="groups.id")
    volunteer_id: uuid.UUID | None = Field(default=None, foreign_key="volunteers.id")


class TrainingAttendance(SQLModel, table=True):
    """One enrolled volunteer's attendance: the evidence (a check-in, minutes online), then the status the
    settle job decided and the rule version it used. ``site_id`` is the volunteer's site at enrolment: the
    site whose compliance it counts for."""

    __tablename__ = "training_attendance"
    __table_args__ = (
        CheckConstraint(one_of("status", AttendanceStatus), name="status_known"),
        CheckConstraint(
            f"checkin_method IS NULL OR {one_of('checkin_method', CheckinMethod)}",
            name="checkin_method_known",
        ),
        CheckConstraint("(checked_in_at IS NULL) = (checkin_method IS NULL)", name="checkin_has_method"),
        CheckConstraint("online_minutes IS NULL OR online_minutes >= 0", name="minutes_not_negative"),
        CheckConstraint("status <> 'excused' OR excuse_reason IS NOT NULL", name="excuse_has_reason"),
        UniqueConstraint("training_id", "volunteer_id"),
        # Compliance reads a month's attendance by volunteer.
        Index("ix_training_attendance_volunteer_id", "volunteer_id"),
        Index("ix_training_attendance_site_id", "site_id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    training_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("trainings.id", ondelete="CASCADE"), nullable=False)
    )
    volunteer_id: uuid.UUID = Field(foreign_key="volunteers.id")
    station_id: uuid.UUID = Field(foreign_key="stations.id")
    site_id: uuid.UUID = Field(foreign_key="sites.id")
    status: AttendanceStatus = enum_column(AttendanceStatus, default=AttendanceStatus.PENDING)
    checked_in_at: datetime | None = instant(nullable=True)
    checkin_method: str | None = Field(default=None, max_length=32)  # a CheckinMethod
    checked_in_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    online_minutes: int | None = Field(default=None)
    excuse_reason: str | None = Field(default=None, max_length=500)
    excused_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    rule_version: int | None = Field(default=None)
    settled_at: datetime | None = instant(nullable=True)
    updated_at: datetime = instant()


class AttendanceRule(SQLModel, table=True):
    """A version of a station's attendance rules, in force from ``created_at`` until the next version. A
    session is settled by the version in force when it ended; a later version changes no settled session."""

    __tablename__ = "attendance_rules"
    __table_args__ = (
        CheckConstraint("online_present_percent BETWEEN 1 AND 100", name="percent_range"),
        CheckConstraint("late_after_minutes BETWEEN 0 AND 240", name="late_range"),
    )

    station_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True)
    )
    version: int = Field(primary_key=True)
    # Online: present at this share of the session's minutes or more.
    online_present_percent: int = Field(default=80)
    # Offline: a check-in this many minutes after the start or later is late.
    late_after_minutes: int = Field(default=10)
    created_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = instant()


class OnlineAttendanceImport(SQLModel, table=True):
    """A meeting platform's attendance export for one training, waiting for (or read by) its job; the file
    is dropped once read."""

    __tablename__ = "online_attendance_imports"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    training_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("trainings.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    file_name: str = Field(max_length=255)
    file_format: str = Field(max_length=8)  # csv or xlsx
    file_sha256: str = Field(max_length=64)
    content: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    requested_by: uuid.UUID | None = Field(default=None)
    job_run_id: uuid.UUID | None = Field(default=None)
    created_at: datetime = instant()
