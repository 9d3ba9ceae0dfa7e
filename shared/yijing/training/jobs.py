from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from yijing.access import Actor
from yijing.jobs.models import JobRun
from yijing.jobs.registry import JobSpec, register
from yijing.kit.imports import ImportPayload, queue_job
from yijing.personal import PersonalDataProtector
from yijing.training import imports
from yijing.training.reminders import RemindersPayload, remind_untrained
from yijing.training.settlement import SettlePayload, settle_due

SETTLE = register(
    JobSpec(
        name="training.settle",
        payload_model=SettlePayload,
        handler=settle_due,
        summary="Settle every enrolled volunteer's attendance of the sessions that have closed, by the rule "
        "version in force when each ended (idempotent)",
        timeout_seconds=900,
    )
)
IMPORT_ONLINE_ATTENDANCE = register(
    JobSpec(
        name="training.import_online_attendance",
        payload_model=ImportPayload,
        handler=imports.run_import,
        summary="Read a meeting platform's attendance export and store each volunteer's online minutes",
        timeout_seconds=900,
        # Started by an upload (POST /api/v1/trainings/{training_id}/online-attendance), never by name.
        requestable=False,
    )
)


async def request_import(
    session: AsyncSession,
    actor: Actor,
    *,
    training_id: uuid.UUID,
    file_name: str,
    content: bytes,
    protector: PersonalDataProtector,
) -> JobRun:
    """Check and store the upload now (a wrong file is a 422 at once), then queue the row-by-row work."""
    upload = await imports.accept_upload(
        session, actor, training_id=training_id, file_name=file_name, content=content, protector=protector
    )
    return await queue_job(session, actor, IMPORT_ONLINE_ATTENDANCE, upload, subject="training_attendance")


COMPLIANCE_REMINDERS = register(
    JobSpec(
        name="training.compliance_reminders",
        payload_model=RemindersPayload,
        handler=remind_untrained,
        summary="In a month's last week, tell each site's staff how many of its volunteers have not trained "
        "yet (once per site and month)",
    )
)
