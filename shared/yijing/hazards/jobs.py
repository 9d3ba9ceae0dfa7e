from __future__ import annotations

from yijing.hazards.deadlines import DeadlinesPayload, check_deadlines
from yijing.jobs.registry import JobSpec, register

DEADLINES = register(
    JobSpec(
        name="hazards.deadlines",
        payload_model=DeadlinesPayload,
        handler=check_deadlines,
        summary="Flag hazards past their rectification deadline and remind of deadlines near (idempotent)",
    )
)
