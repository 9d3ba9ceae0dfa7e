from __future__ import annotations

import hashlib

from sqlalchemy.ext.asyncio import AsyncSession

from yijing.access import Actor
from yijing.audit import service as audit
from yijing.incidents import repository
from yijing.incidents.imports import ImportPayload, read_csv, run_import
from yijing.incidents.models import IncidentImport
from yijing.jobs import service as jobs
from yijing.jobs.registry import JobSpec, register
from yijing.uploads import off_loop

IMPORT = register(
    JobSpec(
        name="incidents.import",
        payload_model=ImportPayload,
        handler=run_import,
        summary="Store the incidents of an uploaded CSV file",
        timeout_seconds=3600,
        requestable=False,  # started by an upload (POST /api/v1/incidents/imports), never by name
    )
)


async def request_import(
    session: AsyncSession, actor: Actor, *, file_name: str, content: bytes, keep_valid_rows: bool
) -> IncidentImport:
    """Check the header now (a wrong file is a 422 at once), then queue the rows' work."""
    await off_loop(read_csv, content)
    stations = actor.scope.stations
    record = IncidentImport(
        station_ids=None if stations is None else sorted(str(station) for station in stations),
        keep_valid_rows=keep_valid_rows,
        file_name=file_name,
        file_sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        requested_by=actor.principal.id if actor.principal else None,
    )
    await repository.add_import(session, record)
    # A run of one station's uploader is that station's (its staff see it); others are the county's.
    only_station = next(iter(stations)) if stations is not None and len(stations) == 1 else None
    run = await jobs.request_run(
        session,
        IMPORT,
        ImportPayload(import_id=record.id),
        station_id=only_station,
        requested_by=actor.user_id,
    )
    record.job_run_id = run.id
    await repository.add_import(session, record)
    await audit.record(
        session,
        actor,
        "incident.import.request",
        target_type="incident_import",
        target_id=record.id,
        station_id=only_station,
        changes={"file_name": file_name, "file_sha256": record.file_sha256},
    )
    return record
