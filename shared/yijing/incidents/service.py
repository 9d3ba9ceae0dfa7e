"""Receiving incidents from the police's own systems (a JSON batch now, or a CSV file through a job), and
the code lists that classify them. Every stored change queues a recount of the days it touched."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing import conflicts
from yijing.access import Actor, Role, StationScope
from yijing.audit import service as audit
from yijing.errors import InvalidInput
from yijing.ids import utcnow
from yijing.incidents import repository
from yijing.incidents.errors import ImportNotFound
from yijing.incidents.models import CodeKind, IncidentCode, IncidentImport
from yijing.incidents.schemas import CodeRead, CodeVersionCreate, ImportRead, IncidentBatch, IngestResult
from yijing.jobs import repository as jobs_repository
from yijing.jobs.schemas import JobRead
from yijing.kit.reads import Reader
from yijing.stats.jobs import queue_recompute


async def store_staged(
    session: AsyncSession,
    reach: StationScope,
    records: str,
    *,
    all_or_nothing: bool,
    refused_before: bool = False,
    error_limit: int | None = None,
) -> repository.Merged:
    """Check and merge the staged records (a table, or ``StagedFile.records``) of the stations in reach,
    and queue the recount of every day whose figures changed. All or nothing: one refused record (or one
    refused before staging) stores none."""
    merged = await repository.merge(
        session,
        records,
        reach,
        store=not (all_or_nothing and refused_before),
        all_or_nothing=all_or_nothing,
        now=utcnow(),
        limit=error_limit,
    )
    for station_id, days in merged.days.items():
        await queue_recompute(session, "incidents", station_id, days)
    return merged


async def store(
    session: AsyncSession, reach: StationScope, records: Sequence[tuple[Any, ...]], *, all_or_nothing: bool
) -> repository.Merged:
    """``store_staged`` for records in STAGING_COLUMNS order."""
    staging = await repository.stage(session, records)
    return await store_staged(session, reach, staging, all_or_nothing=all_or_nothing)


async def ingest(session: AsyncSession, actor: Actor, batch: IncidentBatch) -> IngestResult:
    """All or nothing: one refused record refuses the batch, naming every refused record."""
    records = [
        (
            index,
            batch.source_system,
            record.source_ref,
            record.station_id,
            record.site_id,
            record.occurred_at,
            record.class_code,
            sorted(set(record.tags)),
        )
        for index, record in enumerate(batch.incidents)
    ]
    merged = await store(session, actor.scope, records, all_or_nothing=True)
    if merged.errors:
        errors = [
            {
                "field": f"body.incidents[{error['row']}].{error['column']}",
                "message": error["message"],
                "message_zh": repository.PROBLEMS_ZH[error["message"]],
                "code": "invalid_reference",
            }
            for error in merged.errors
        ]
        raise InvalidInput(
            f"{len(errors)} of {merged.received} records refused; nothing stored",
            zh=f"{merged.received} 条记录中有 {len(errors)} 条被拒收，均未保存",
            errors=errors,
        )
    return IngestResult(
        received=merged.received,
        created=merged.created,
        updated=merged.updated,
        unchanged=merged.received - merged.created - merged.updated,
    )


# Files


def _import_reach(actor: Actor) -> ColumnElement[bool]:
    """The uploads the caller may read: those it uploaded, or all of them for county admins."""
    if actor.role is Role.ADMIN:
        return true()
    uploader = actor.principal.id if actor.principal else None
    # Not "=": an upload without an uploader stays readable by a caller without a principal, as it was.
    return col(IncidentImport.requested_by).is_not_distinct_from(uploader)


async def read_import(reader: Reader, actor: Actor, import_id: uuid.UUID) -> ImportRead:
    """An upload within the caller's reach with its job run (its progress and, once done, its outcome),
    read lean."""
    upload = await repository.read_import(reader, import_id, _import_reach(actor))
    if upload is None:
        raise ImportNotFound(f"no incident import {import_id}", zh=f"未找到警情导入记录 {import_id}")
    run = None
    if upload.job_run_id is not None:  # the upload's reach is checked: its run is read wherever it ran
        run = await jobs_repository.read(reader, upload.job_run_id, StationScope.everywhere())
    return ImportRead.of(upload, JobRead.of(run) if run else None)


async def read_upload(session: AsyncSession, record: IncidentImport) -> ImportRead:
    """An upload just stored, with the run it queued (both in the session: the write made them)."""
    run = await jobs_repository.get(session, record.job_run_id) if record.job_run_id else None
    return ImportRead.of(record, JobRead.of(run) if run else None)


# Code lists


async def codes(reader: Reader, kind: CodeKind | None) -> list[CodeRead]:
    return [CodeRead.of(code) for code in await repository.codes(reader, kind)]


async def add_code_version(session: AsyncSession, actor: Actor, data: CodeVersionCreate) -> IncidentCode:
    """A code's new meaning from ``valid_from`` (or a new code). The version before ends the day before:
    incidents keep the meaning of their day, and comparisons across the change say so."""
    latest = await repository.latest_code(session, data.kind, data.code, for_update=True)
    if latest is not None and data.valid_from <= latest.valid_from:
        message = f"must be after {latest.valid_from}, when version {latest.version} began"
        zh = f"须晚于 {latest.valid_from}（第 {latest.version} 版的生效日期）"
        raise InvalidInput.on("body.valid_from", message, "not_after_current", zh=zh)
    if latest is not None and (latest.valid_to is None or latest.valid_to >= data.valid_from):
        latest.valid_to = data.valid_from - timedelta(days=1)  # a retired code stays retired until then
    code = IncidentCode(
        kind=data.kind,
        code=data.code,
        version=1 if latest is None else latest.version + 1,
        label_zh=data.label_zh,
        label_en=data.label_en,
        valid_from=data.valid_from,
    )
    await conflicts.add(session, code)
    await audit.record(
        session,
        actor,
        "incident.code.add",
        target_type="incident_code",
        target_id=f"{code.kind}:{code.code}",
        station_id=None,
        changes=data.model_dump(mode="json"),
    )
    return code
