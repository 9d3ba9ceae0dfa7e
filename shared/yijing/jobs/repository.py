from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.access import StationScope
from yijing.ids import utcnow
from yijing.jobs.models import JobRun, JobStatus
from yijing.kit import repository as kit
from yijing.kit.reads import LeanRow, Reader

# New and changed records that no declared unique constraint can refuse.
save = kit.save


async def get(session: AsyncSession, run_id: uuid.UUID, *, for_update: bool = False) -> JobRun | None:
    return await kit.get(session, JobRun, run_id, for_update=for_update)


# What a run's read model shows (JobRead): a read of runs selects only these.
SHOWN = (
    col(JobRun.id), col(JobRun.name), col(JobRun.status), col(JobRun.payload), col(JobRun.progress_done),
    col(JobRun.progress_total), col(JobRun.result), col(JobRun.error), col(JobRun.attempts),
    col(JobRun.created_at), col(JobRun.started_at), col(JobRun.finished_at), col(JobRun.updated_at),
)  # fmt: skip
_SHOWN = select(*SHOWN)  # built once: a select of many columns costs more to build than to run


async def read(reader: Reader, run_id: uuid.UUID, scope: StationScope) -> LeanRow | None:
    """A run as its read model shows it, if it ran for a station within ``scope`` (one of no station: for
    county-wide callers only). Lean, its statement built once per scope (:func:`kit.read_within`)."""
    return await kit.read_within(reader, _SHOWN, JobRun, run_id, scope)


async def lock_for_execution(session: AsyncSession, run_id: uuid.UUID) -> None:
    """Serialise executions of one run (arq may deliver a job twice) without locking the row itself, so
    that progress updates from the running job are never blocked."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": f"job_run:{run_id}"}
    )


async def set_progress(session: AsyncSession, run_id: uuid.UUID, done: int, total: int | None) -> None:
    await session.execute(
        update(JobRun)
        .where(col(JobRun.id) == run_id)
        .values(progress_done=done, progress_total=total, updated_at=utcnow())
    )


async def mark_succeeded(session: AsyncSession, run_id: uuid.UUID, result: dict[str, Any] | None) -> None:
    """An UPDATE rather than an ORM write: progress columns were changed by other transactions meanwhile."""
    now = utcnow()
    await session.execute(
        update(JobRun)
        .where(col(JobRun.id) == run_id)
        .values(
            status=JobStatus.SUCCEEDED,
            result=result,
            error=None,
            finished_at=now,
            updated_at=now,
            progress_done=func.coalesce(JobRun.progress_total, JobRun.progress_done),
        )
    )
