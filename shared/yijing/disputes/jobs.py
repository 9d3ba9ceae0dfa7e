from __future__ import annotations

from yijing.disputes.reminders import FollowupsPayload, check_followups
from yijing.jobs.registry import JobSpec, register

FOLLOWUPS = register(
    JobSpec(
        name="disputes.followups",
        payload_model=FollowupsPayload,
        handler=check_followups,
        summary="Remind mediators of follow-up visits due and flag those past their grace (idempotent)",
    )
)
