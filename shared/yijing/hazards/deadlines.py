"""Rectification deadlines kept by the worker: open hazards past their deadline are flagged overdue and
their reporter and site staff told; deadlines near are reminded of once each."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from yijing.hazards import repository
from yijing.hazards.models import Hazard
from yijing.hazards.service import event_row, tell
from yijing.ids import utcnow
from yijing.jobs.registry import JobContext, JobPayload, JsonDict
from yijing.teams.service import site_staff


class DeadlinesPayload(JobPayload):
    pass


async def _recipients(session: AsyncSession, hazards: Sequence[Hazard]) -> dict[uuid.UUID, list[uuid.UUID]]:
    """Per site, its officer's and assistants' accounts (asked once per site)."""
    staff: dict[uuid.UUID, list[uuid.UUID]] = {}
    for hazard in hazards:
        if hazard.site_id not in staff:
            staff[hazard.site_id] = await site_staff(session, hazard.site_id)
    return staff


async def check_deadlines(context: JobContext, payload: DeadlinesPayload) -> JsonDict:
    """Flag open hazards past their deadline and remind of deadlines near. Each hazard is flagged (or
    reminded for a deadline) by one conditional update, so a second run, or two at once, sends nothing
    twice; the notices' dedupe keys hold even if the outbox delivers one twice."""
    now = utcnow()
    session = context.session
    overdue = await repository.mark_overdue(session, now)
    reminded = await repository.mark_reminded(session, now, context.settings.hazard_reminder_days)
    staff = await _recipients(session, [*overdue, *reminded])
    await repository.insert_events(
        session,
        [event_row(hazard, "overdue", None, details={"deadline": str(hazard.deadline)}) for hazard in overdue]
        + [
            event_row(hazard, "remind", None, details={"deadline": str(hazard.deadline)})
            for hazard in reminded
        ],
    )
    for hazard in overdue:
        await tell(
            session, hazard, [hazard.reporter_id, *staff[hazard.site_id]], "hazard.overdue", "隐患整改已逾期",
            f"整改期限 {hazard.deadline} 已过：{hazard.description[:200]}", key=str(hazard.deadline),
        )  # fmt: skip
    for hazard in reminded:
        await tell(
            session, hazard, staff[hazard.site_id], "hazard.deadline_near", "隐患整改即将到期",
            f"整改期限 {hazard.deadline}：{hazard.description[:200]}", key=str(hazard.deadline),
        )  # fmt: skip
    return {"overdue": len(overdue), "reminded": len(reminded)}
