from __future__ import annotations

from yijing.jobs.registry import JobSpec, register
from yijing.patrols.plans.service import PlansPayload, make_due_patrols

MAKE_PATROLS = register(
    JobSpec(
        name="patrols.plans",
        payload_model=PlansPayload,
        handler=make_due_patrols,
        summary="Make each repeating patrol plan's patrols up to its horizon, each plan's day once",
        timeout_seconds=900,
    )
)
