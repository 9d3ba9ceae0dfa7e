from __future__ import annotations

import hashlib
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from yijing.access import Actor
from yijing.audit import service as audit
from yijing.errors import InvalidInput
from yijing.jobs import service as jobs
from yijing.jobs.models import JobRun
from yijing.jobs.registry import JobSpec, register
from yijing.org import repository as org_repository
from yijing.org.errors import StationNotFound
from yijing.personal import PersonalDataProtector
from yijing.uploads import detect_format, off_loop
from yijing.volunteers import repository
from yijing.volunteers.imports import ImportPayload, read_sheet, run_import
from yijing.volunteers.models import VolunteerImport

IMPORT = register(
    JobSpec(
        name="volunteers.import",
        payload_model=ImportPayload,
        handler=run_import,
        summary="Validate an uploaded enrolment file and enrol its volunteers",
        timeout_seconds=900,
        requestable=False,  # started by an upload (POST /api/v1/volunteers/imports), never by name
    )
)


async def request_import(
    session: AsyncSession,
    actor: Actor,
    *,
    station_id: uuid.UUID | None,
    file_name: str,
    content: bytes,
    import_valid_rows: bool,
    protector: PersonalDataProtector,
) -> JobRun:
    """Check the file's shape now (so a wrong file is a 422 at once), then queue the row-by-row work."""
    principal = actor.principal
    station_id = station_id or (principal.station_id if principal else None)
    if station_id is None:
        raise InvalidInput(
            "say which station the volunteers join",
            errors=[
                {"field": "body.station_id", "message": "required for county accounts", "code": "missing"}
            ],
        )
    if await org_repository.get_station(session, station_id, actor.scope) is None:
        raise StationNotFound(f"no station {station_id}")
    file_format = detect_format(content)
    rows = await off_loop(read_sheet, content)
    record = VolunteerImport(
        station_id=station_id,
        file_name=file_name,
        file_format=file_format,
        file_sha256=hashlib.sha256(content).hexdigest(),
        content_sealed=protector.seal_bytes(content),
        import_valid_rows=import_valid_rows,
        requested_by=principal.id if principal else None,
    )
    await repository.add(session, record)
    run = await jobs.request_run(
        session,
        IMPORT,
        ImportPayload(import_id=record.id),
        station_id=station_id,
        requested_by=record.requested_by,
    )
    record.job_run_id = run.id
    await repository.add(session, record)
    await audit.record(
        session,
        actor,
        "volunteer.import.request",
        target_type="volunteer_import",
        target_id=record.id,
        station_id=station_id,
        changes={"file_name": record.file_name, "rows": len(rows), "file_sha256": record.file_sha256},
    )
    return run
