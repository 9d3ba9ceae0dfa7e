from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, UniqueConstraint, Uuid
from sqlmodel import Field, SQLModel

from yijing.columns import enum_column, instant, one_of
from yijing.ids import new_id


class LogKind(StrEnum):
    OBSERVATION = "observation"  # 巡查记录: something seen, nothing done
    PERSUASION = "persuasion"  # 安全劝导: someone talked out of a risk (a topic says which)
    OUTREACH = "outreach"  # 安全宣传: leaflets handed out, a talk given (a topic says which)
    INTERVENTION = "intervention"  # 现场处置: stepped in (a crowd, a blocked lane, a lost child)
    HAZARD_FOUND = "hazard_found"  # 发现隐患: made or linked a hazard
    # 纠纷: a dispute met on patrol, with its case (made or linked through the disputes service) when it
    # needed one.
    DISPUTE = "dispute"


class LogTopic(StrEnum):
    """What a persuasion or outreach was about."""

    DRINK_DRIVING = "drink_driving"  # 酒驾
    FIRE_SAFETY = "fire_safety"  # 消防安全
    ANTI_FRAUD = "anti_fraud"  # 反诈
    TRAFFIC_SAFETY = "traffic_safety"  # 交通安全
    THEFT_PREVENTION = "theft_prevention"  # 防盗
    LEAFLETS = "leaflets"  # 发放传单
    TALK = "talk"  # 宣讲
    OTHER = "other"


class PatrolLog(SQLModel, table=True):
    """One entry of a patrol's log, never edited. ``client_id`` is the device's id for it: sent again it is
    stored once (``fingerprint`` tells a resend from a different entry reusing the id)."""

    __tablename__ = "patrol_logs"
    __table_args__ = (
        UniqueConstraint("station_id", "client_id"),
        CheckConstraint(one_of("kind", LogKind), name="kind_known"),
        CheckConstraint(f"topic IS NULL OR {one_of('topic', LogTopic)}", name="topic_known"),
        CheckConstraint("people IS NULL OR people >= 0", name="people_not_negative"),
        CheckConstraint("kind <> 'hazard_found' OR hazard_id IS NOT NULL", name="hazard_found_links_hazard"),
        CheckConstraint("kind = 'dispute' OR dispute_id IS NULL", name="only_dispute_links_dispute"),
        # A patrol's log in the order things happened.
        Index("ix_patrol_logs_patrol_id_occurred_at", "patrol_id", "occurred_at"),
        Index("ix_patrol_logs_station_id_occurred_at", "station_id", "occurred_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    station_id: uuid.UUID = Field(foreign_key="stations.id")
    patrol_id: uuid.UUID = Field(sa_column=Column(Uuid, ForeignKey("patrols.id"), nullable=False))
    client_id: uuid.UUID
    fingerprint: str = Field(max_length=64)
    author_id: uuid.UUID = Field(foreign_key="users.id")
    # The author's volunteer record, when a volunteer wrote it.
    volunteer_id: uuid.UUID | None = Field(default=None, foreign_key="volunteers.id")
    kind: LogKind = enum_column(LogKind, default=LogKind.OBSERVATION)
    topic: str | None = Field(default=None, max_length=32)  # a LogTopic
    # How many people it reached (persuaded, given leaflets, in the crowd), when counted.
    people: int | None = None
    text: str = Field(max_length=2000)
    latitude: float | None = None
    longitude: float | None = None
    occurred_at: datetime = instant()
    received_at: datetime = instant()
    hazard_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(Uuid, ForeignKey("hazards.id"), nullable=True, index=True)
    )
    dispute_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(Uuid, ForeignKey("disputes.id"), nullable=True, index=True)
    )


class PatrolLogPhoto(SQLModel, table=True):
    """A photo of a log entry. The bytes live in the attachment store under ``storage_key``."""

    __tablename__ = "patrol_log_photos"
    __table_args__ = (
        # The same upload sent twice (a retry from a phone) is stored once.
        UniqueConstraint("log_id", "upload_sha256", "gps_stripped"),
        Index("ix_patrol_log_photos_log_id_id", "log_id", "id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    log_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("patrol_logs.id", ondelete="CASCADE"), nullable=False)
    )
    media_type: str = Field(max_length=32)
    size_bytes: int
    width: int
    height: int
    upload_sha256: str = Field(max_length=64)
    sha256: str = Field(max_length=64)
    gps_stripped: bool = Field(default=False)
    file_name: str = Field(max_length=255)
    storage_key: str = Field(max_length=255)
    uploaded_by: uuid.UUID | None = Field(default=None)
    created_at: datetime = instant()
