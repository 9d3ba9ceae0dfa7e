from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint
from sqlmodel import Field, SQLModel

from yijing.columns import enum_column, instant, json_column
from yijing.ids import new_id


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class JobRun(SQLModel, table=True):
    """One requested execution of a registered job, readable by clients while it runs."""

    __tablename__ = "job_runs"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'succeeded', 'failed')", name="status_known"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(max_length=100, index=True)
    payload: dict[str, Any] = json_column()
    status: JobStatus = enum_column(JobStatus, default=JobStatus.QUEUED)
    progress_done: int = Field(default=0)
    progress_total: int | None = Field(default=None)
    result: dict[str, Any] | None = json_column(nullable=True)
    error: str | None = Field(default=None, max_length=2000)
    # Whose run it is: runs a station's staff asked for (an import) are readable by that station's staff;
    # operators' runs (no station) by county admins only.
    station_id: uuid.UUID | None = Field(default=None, index=True)
    requested_by: uuid.UUID | None = Field(default=None)
    attempts: int = Field(default=0)
    created_at: datetime = instant()
    started_at: datetime | None = instant(nullable=True)
    finished_at: datetime | None = instant(nullable=True)
    updated_at: datetime = instant()
