from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from yijing.access import Actor
from yijing.incidents import imports
from yijing.incidents.models import IncidentImport
from yijing.jobs.registry import JobSpec, register
from yijing.kit.imports import ImportPayload, queue_job

IMPORT = register(
    JobSpec(
        name="incidents.import",
        payload_model=ImportPayload,
        handler=imports.run_import,
        summary="Store the incidents of an uploaded CSV file",
        timeout_seconds=3600,
        requestable=False,  # started by an upload (POST /api/v1/incidents/imports), never by name
    )
)


async def request_import(
    session: AsyncSession, actor: Actor, *, file_name: str, content: bytes, keep_valid_rows: bool
) -> IncidentImport:
    """Check and store the upload now (a wrong file is a 422 at once), then queue the rows' work."""
    upload = await imports.accept_upload(
        session, actor, file_name=file_name, content=content, keep_valid_rows=keep_valid_rows
    )
    await queue_job(session, actor, IMPORT, upload, subject="incident")
    return upload.record
