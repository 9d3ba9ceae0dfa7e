from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, LargeBinary, UniqueConstraint, Uuid
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from yijing.columns import enum_column, instant, one_of
from yijing.ids import new_id


class Gender(StrEnum):
    MALE = "male"
    FEMALE = "female"


class VolunteerSource(StrEnum):
    """Where a volunteer comes from (the article's recruiting pool)."""

    STALL_OPERATOR = "stall_operator"  # 摊位经营者
    SHOP_OWNER = "shop_owner"  # 商铺店主
    LANDLORD = "landlord"  # 房东
    AREA_LEADER = "area_leader"  # 片长
    BUILDING_CAPTAIN = "building_captain"  # 楼栋长
    COMMUNITY_CADRE = "community_cadre"  # 村社区干部
    SECURITY_GUARD = "security_guard"  # 企事业保安
    RESIDENT = "resident"  # 居民
    OTHER = "other"


class VolunteerStatus(StrEnum):
    APPLIED = "applied"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    RETIRED = "retired"


class Volunteer(SQLModel, table=True):
    """One person serving one station. Phone and ID-card numbers are sealed, fingerprinted and masked
    (see yijing.personal); the ID-card fingerprint makes "one person, one volunteer per station" a
    constraint rather than a hope."""

    __tablename__ = "volunteers"
    __table_args__ = (
        UniqueConstraint("station_id", "id_card_fingerprint"),
        UniqueConstraint("station_id", "badge_number"),
        CheckConstraint(one_of("gender", Gender), name="gender_known"),
        CheckConstraint(one_of("source", VolunteerSource), name="source_known"),
        CheckConstraint(one_of("status", VolunteerStatus), name="status_known"),
        # Keyset pages walk (station, id), (station, status, id) or (site, id) in id order; other filters
        # then read few rows per page.
        Index("ix_volunteers_station_id_id", "station_id", "id"),
        Index("ix_volunteers_station_id_status_id", "station_id", "status", "id"),
        Index("ix_volunteers_site_id_id", "site_id", "id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    station_id: uuid.UUID = Field(foreign_key="stations.id")
    # A site with volunteers cannot be deleted (RESTRICT): move them first.
    site_id: uuid.UUID = Field(foreign_key="sites.id")
    name: str = Field(max_length=100)
    gender: Gender = enum_column(Gender, default=Gender.MALE)
    phone_sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    phone_fingerprint: str = Field(max_length=64)
    phone_masked: str = Field(max_length=11)
    id_card_sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    id_card_fingerprint: str = Field(max_length=64)
    id_card_masked: str = Field(max_length=18)
    source: VolunteerSource = enum_column(VolunteerSource, default=VolunteerSource.OTHER)
    # The stall or household the volunteer represents (摊位/户).
    household_name: str | None = Field(default=None, max_length=100)
    household_address: str | None = Field(default=None, max_length=200)
    badge_number: str | None = Field(default=None, max_length=32)  # 红袖标 armband number
    skills: list[str] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]")
    )
    joined_on: date
    status: VolunteerStatus = enum_column(VolunteerStatus, default=VolunteerStatus.ACTIVE)
    # The account the volunteer signs in with, if any (one account, one volunteer record).
    user_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(Uuid, ForeignKey("users.id", ondelete="SET NULL"), nullable=True, unique=True),
    )
    version: int = Field(default=1)
    created_at: datetime = instant()
    updated_at: datetime = instant(index=True)


class VolunteerStatusChange(SQLModel, table=True):
    """One step of a volunteer's lifecycle (the first row is the status it was enrolled with)."""

    __tablename__ = "volunteer_status_changes"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    volunteer_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("volunteers.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    from_status: str | None = Field(default=None, max_length=32)
    to_status: str = Field(max_length=32)
    action: str = Field(max_length=32)
    reason: str | None = Field(default=None, max_length=500)
    # The user who acted; null for the system (an import job, a command).
    actor_id: uuid.UUID | None = Field(default=None)
    occurred_at: datetime = instant()


class VolunteerImport(SQLModel, table=True):
    """An uploaded enrolment file waiting for (or processed by) its job. The file is kept sealed, since it
    holds ID-card numbers in clear, and dropped once the job has read it."""

    __tablename__ = "volunteer_imports"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    station_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("stations.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    file_name: str = Field(max_length=255)
    file_format: str = Field(max_length=8)  # csv or xlsx
    file_sha256: str = Field(max_length=64)
    content_sealed: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    import_valid_rows: bool = Field(default=False)
    requested_by: uuid.UUID | None = Field(default=None)
    job_run_id: uuid.UUID | None = Field(default=None)
    created_at: datetime = instant()
