from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, LargeBinary, String, UniqueConstraint, Uuid
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

from yijing.columns import instant
from yijing.ids import new_id


class CodeKind(StrEnum):
    CLASS = "class"  # an incident's one primary class
    TAG = "tag"  # any number per incident


class IncidentCode(SQLModel, table=True):
    """One entry of a versioned code list: a code means one thing between its validity dates. A redefined
    category gets a new version from the day it changes, so a comparison across that day can say so."""

    __tablename__ = "incident_codes"
    __table_args__ = (
        CheckConstraint("kind IN ('class', 'tag')", name="kind_known"),
        CheckConstraint("code ~ '^[a-z][a-z0-9_]{0,47}$'", name="code_shape"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="valid_range"),
    )

    kind: str = Field(primary_key=True, max_length=8)  # a CodeKind
    code: str = Field(primary_key=True, max_length=48)
    version: int = Field(primary_key=True)
    label_zh: str = Field(max_length=50)
    label_en: str = Field(max_length=100)
    valid_from: date
    # The last day it is valid; None: still valid.
    valid_to: date | None = Field(default=None)


class Incident(SQLModel, table=True):
    """A police incident alert as the source system reported it. ``occurred_on`` is the day in the
    station's time zone, fixed when the record is stored, so rollups group by a plain column."""

    __tablename__ = "incidents"
    __table_args__ = (
        # Idempotent by the source system's own reference: a record sent again updates, never duplicates.
        UniqueConstraint("source_system", "source_ref"),
        # Recounting a station's days reads by day. (Few indexes: a bulk import maintains each one.)
        Index("ix_incidents_station_id_occurred_on", "station_id", "occurred_on"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    station_id: uuid.UUID = Field(foreign_key="stations.id")
    site_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(Uuid, ForeignKey("sites.id", ondelete="SET NULL"), nullable=True)
    )
    source_system: str = Field(max_length=32)
    source_ref: str = Field(max_length=64)
    occurred_at: datetime = instant()
    occurred_on: date
    class_code: str = Field(max_length=48)
    tags: list[str] = Field(
        default_factory=list, sa_column=Column(ARRAY(String(48)), nullable=False, server_default="{}")
    )
    version: int = Field(default=1)
    received_at: datetime = instant()
    updated_at: datetime = instant()


class IncidentImport(SQLModel, table=True):
    """An uploaded CSV of incidents waiting for (or processed by) its job; the file is dropped once read."""

    __tablename__ = "incident_imports"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    # The stations the uploader reached when it asked (None: every station): the job checks rows against it.
    station_ids: list[str] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    keep_valid_rows: bool = Field(default=False)
    file_name: str = Field(max_length=255)
    file_sha256: str = Field(max_length=64)
    content: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    # The user or API key that uploaded it: only it (and county admins) may read the outcome.
    requested_by: uuid.UUID | None = Field(default=None)
    job_run_id: uuid.UUID | None = Field(default=None)
    created_at: datetime = instant()
