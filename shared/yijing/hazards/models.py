from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, UniqueConstraint, Uuid, text
from sqlmodel import Field, SQLModel

from yijing.columns import enum_column, instant, json_column, one_of
from yijing.ids import new_id


class HazardCategory(StrEnum):
    FIRE = "fire"  # 消防
    PUBLIC_SECURITY = "public_security"  # 治安
    TRAFFIC = "traffic"  # 交通
    BUILDING = "building"  # 建筑 / structural
    ELECTRICAL = "electrical"  # 用电
    OTHER = "other"


class HazardSeverity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class HazardSource(StrEnum):
    PATROL = "patrol"  # 巡逻
    INSPECTION = "inspection"  # 检查
    RESIDENT_REPORT = "resident_report"  # 群众反映
    OTHER = "other"


class HazardStatus(StrEnum):
    REPORTED = "reported"
    VERIFIED = "verified"
    RECTIFYING = "rectifying"
    ELIMINATED = "eliminated"  # fixed, and the fix checked
    # Closed without a fix: never counted as eliminated.
    DUPLICATE = "duplicate"
    NOT_HAZARD = "not_hazard"
    REFERRED = "referred"


OPEN_STATUSES = frozenset({HazardStatus.REPORTED, HazardStatus.VERIFIED, HazardStatus.RECTIFYING})
CLOSED_NOT_FIXED = frozenset({HazardStatus.DUPLICATE, HazardStatus.NOT_HAZARD, HazardStatus.REFERRED})


class ReporterRole(StrEnum):
    """What the reporter was when reporting: a captain is a volunteer serving their group's week."""

    VOLUNTEER = "volunteer"
    CAPTAIN = "captain"
    ASSISTANT = "assistant"
    OFFICER = "officer"
    LEADER = "leader"
    ADMIN = "admin"


class AttachmentKind(StrEnum):
    BEFORE = "before"  # the hazard as found
    AFTER = "after"  # the fix: evidence for elimination
    OTHER = "other"


class Hazard(SQLModel, table=True):
    __tablename__ = "hazards"
    __table_args__ = (
        CheckConstraint(one_of("category", HazardCategory), name="category_known"),
        CheckConstraint(one_of("severity", HazardSeverity), name="severity_known"),
        CheckConstraint(one_of("source", HazardSource), name="source_known"),
        CheckConstraint(one_of("status", HazardStatus), name="status_known"),
        CheckConstraint(one_of("reporter_role", ReporterRole), name="reporter_role_known"),
        CheckConstraint(
            "status <> 'duplicate' OR duplicate_of_id IS NOT NULL", name="duplicate_has_original"
        ),
        CheckConstraint("status <> 'referred' OR referred_to IS NOT NULL", name="referral_names_agency"),
        CheckConstraint("status <> 'eliminated' OR eliminated_at IS NOT NULL", name="eliminated_has_time"),
        # An offline report sent twice is stored once: the device's own id for it is unique per station.
        UniqueConstraint("station_id", "client_id"),
        # Keyset pages walk (station, id), (station, status, id) or (site, id); the deadline job reads open
        # hazards by deadline.
        Index("ix_hazards_station_id_id", "station_id", "id"),
        Index("ix_hazards_station_id_status_id", "station_id", "status", "id"),
        Index("ix_hazards_site_id_id", "site_id", "id"),
        Index(
            "ix_hazards_open_deadline",
            "deadline",
            postgresql_where=text("status IN ('reported', 'verified', 'rectifying')"),
        ),
        # Overdue hazards are few: their list pages read only them.
        Index("ix_hazards_overdue_station_id_id", "station_id", "id", postgresql_where=text("overdue")),
        # The summary finds a month's closed hazards by closing time.
        Index("ix_hazards_closed_at", "closed_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    station_id: uuid.UUID = Field(foreign_key="stations.id")
    # A site with hazards cannot be deleted (RESTRICT).
    site_id: uuid.UUID = Field(foreign_key="sites.id")
    category: HazardCategory = enum_column(HazardCategory, default=HazardCategory.OTHER)
    severity: HazardSeverity = enum_column(HazardSeverity, default=HazardSeverity.MEDIUM)
    source: HazardSource = enum_column(HazardSource, default=HazardSource.PATROL)
    description: str = Field(max_length=2000)
    latitude: float | None = Field(default=None)
    longitude: float | None = Field(default=None)
    address: str | None = Field(default=None, max_length=200)
    # The stall, landlord or business that must fix it.
    responsible_party: str | None = Field(default=None, max_length=200)
    reporter_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    reporter_role: ReporterRole = enum_column(ReporterRole, default=ReporterRole.VOLUNTEER)
    reporter_volunteer_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(Uuid, ForeignKey("volunteers.id", ondelete="SET NULL"), nullable=True),
    )
    # Offline reports: the device's id for the report and when it was captured.
    client_id: uuid.UUID | None = Field(default=None)
    captured_at: datetime | None = instant(nullable=True)
    # The last day (station time) for the fix; overdue once the station's today is after it.
    deadline: date
    overdue: bool = Field(default=False)
    # The deadline a reminder went out for (a changed deadline earns a new reminder).
    reminded_for: date | None = Field(default=None)
    status: HazardStatus = enum_column(HazardStatus, default=HazardStatus.REPORTED)
    duplicate_of_id: uuid.UUID | None = Field(default=None, foreign_key="hazards.id")
    referred_to: str | None = Field(default=None, max_length=200)
    eliminated_at: datetime | None = instant(nullable=True)
    closed_at: datetime | None = instant(nullable=True)
    version: int = Field(default=1)
    created_at: datetime = instant(index=True)
    updated_at: datetime = instant(index=True)


class HazardEvent(SQLModel, table=True):
    """One entry of a hazard's history: a report, an action, a change of fields, a photo, a deadline
    passing. Actions record the status before and after."""

    __tablename__ = "hazard_events"
    __table_args__ = (Index("ix_hazard_events_hazard_id_id", "hazard_id", "id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    hazard_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("hazards.id", ondelete="CASCADE"), nullable=False)
    )
    action: str = Field(max_length=32)
    from_status: str | None = Field(default=None, max_length=32)
    to_status: str | None = Field(default=None, max_length=32)
    note: str | None = Field(default=None, max_length=2000)
    # The user who acted; null for the system (the deadline job).
    actor_id: uuid.UUID | None = Field(default=None)
    details: dict[str, Any] = json_column()
    occurred_at: datetime = instant()


class HazardAttachment(SQLModel, table=True):
    """A photo of a hazard. The bytes live in the attachment store under ``storage_key``."""

    __tablename__ = "hazard_attachments"
    __table_args__ = (
        CheckConstraint(one_of("kind", AttachmentKind), name="kind_known"),
        # The same upload sent twice (a retry from a phone) is stored once; asked to strip the position, it
        # is another file.
        UniqueConstraint("hazard_id", "upload_sha256", "gps_stripped"),
        Index("ix_hazard_attachments_hazard_id_id", "hazard_id", "id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    hazard_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("hazards.id", ondelete="CASCADE"), nullable=False)
    )
    kind: AttachmentKind = enum_column(AttachmentKind, default=AttachmentKind.BEFORE)
    media_type: str = Field(max_length=32)
    size_bytes: int
    width: int
    height: int
    # Of the bytes uploaded (for spotting a repeat) and of the bytes stored (after GPS stripping).
    upload_sha256: str = Field(max_length=64)
    sha256: str = Field(max_length=64)
    gps_stripped: bool = Field(default=False)
    file_name: str = Field(max_length=255)
    storage_key: str = Field(max_length=255)
    uploaded_by: uuid.UUID | None = Field(default=None)
    created_at: datetime = instant()


class HazardDeadlineRule(SQLModel, table=True):
    """A station's rectification period for one severity; severities without a rule use the defaults."""

    __tablename__ = "hazard_deadline_rules"
    __table_args__ = (CheckConstraint(one_of("severity", HazardSeverity), name="severity_known"),)

    station_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True)
    )
    severity: str = Field(primary_key=True, max_length=32)
    days: int
    updated_at: datetime = instant()
