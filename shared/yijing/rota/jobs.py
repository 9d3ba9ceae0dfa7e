from __future__ import annotations

from yijing.jobs.registry import JobSpec, register
from yijing.rota.reconcile import ReconcilePayload, reconcile_groups

RECONCILE = register(
    JobSpec(
        name="rota.reconcile",
        payload_model=ReconcilePayload,
        handler=reconcile_groups,
        summary="Store captain weeks up to each group's horizon, re-plan after changes, send handoff notices",
        timeout_seconds=900,
        routine=True,  # every minute
    )
)
