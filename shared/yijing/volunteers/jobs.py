from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from yijing.access import Actor
from yijing.jobs.models import JobRun
from yijing.jobs.registry import JobSpec, register
from yijing.kit.imports import ImportPayload, queue_job
from yijing.personal import PersonalDataProtector
from yijing.volunteers import imports

IMPORT = register(
    JobSpec(
        name="volunteers.import",
        payload_model=ImportPayload,
        handler=imports.run_import,
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
    """Check and store the upload now (a wrong file is a 422 at once), then queue the row-by-row work."""
    upload = await imports.accept_upload(
        session,
        actor,
        station_id=station_id,
        file_name=file_name,
        content=content,
        import_valid_rows=import_valid_rows,
        protector=protector,
    )
    return await queue_job(session, actor, IMPORT, upload, subject="volunteer")
