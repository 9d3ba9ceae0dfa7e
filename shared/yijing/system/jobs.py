from __future__ import annotations

from yijing.jobs.registry import JobSpec, register
from yijing.system.service import HeartbeatPayload, PurgePayload, heartbeat, purge

HEARTBEAT = register(
    JobSpec(
        name="system.heartbeat",
        payload_model=HeartbeatPayload,
        handler=heartbeat,
        summary="Record that a worker is alive (one row per minute)",
        routine=True,
    )
)
PURGE = register(
    JobSpec(
        name="system.purge",
        payload_model=PurgePayload,
        handler=purge,
        summary="Delete relayed outbox rows, heartbeats, sign-in attempts, API-key counts and idempotency "
        "keys past their use",
    )
)
