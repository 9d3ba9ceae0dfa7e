from __future__ import annotations

import uuid

from pydantic import Field

from yijing.db import session_scope
from yijing.ids import utcnow
from yijing.jobs.registry import JobContext, JobPayload, JobSpec, JsonDict, register
from yijing.rota import repository
from yijing.rota.reconcile import reconcile_group

# Groups reconciled per run at most; the next run (a minute later) takes the rest.
BATCH = 20_000


class ReconcilePayload(JobPayload):
    group_ids: list[uuid.UUID] | None = Field(
        default=None, max_length=1000, description="Only these groups; by default every group that needs it"
    )


async def reconcile(context: JobContext, payload: ReconcilePayload) -> JsonDict:
    """One transaction per group (its rota is planned under the group's row lock), so a slow group holds up
    no other, and two workers running this at once store one captain per group-week."""
    now = utcnow()
    if payload.group_ids is None:
        group_ids = list(await repository.groups_needing_reconcile(context.session, now, BATCH))
    else:
        group_ids = payload.group_ids
    totals = {"groups": 0, "weeks_inserted": 0, "weeks_changed": 0, "weeks_removed": 0, "notices": 0}
    for done, group_id in enumerate(group_ids, start=1):
        async with session_scope(context.session_factory) as session:
            outcome = await reconcile_group(session, group_id, now)
        if outcome is not None:
            totals["groups"] += 1
            totals["weeks_inserted"] += outcome.inserted
            totals["weeks_changed"] += outcome.changed
            totals["weeks_removed"] += outcome.removed
            totals["notices"] += outcome.notices
        if done % 500 == 0:
            await context.report_progress(done, len(group_ids))
    return totals


RECONCILE = register(
    JobSpec(
        name="rota.reconcile",
        payload_model=ReconcilePayload,
        handler=reconcile,
        summary="Store captain weeks up to each group's horizon, re-plan after changes, send handoff notices",
        timeout_seconds=900,
    )
)
