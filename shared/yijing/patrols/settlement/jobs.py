from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from yijing.jobs.registry import JobSpec, register
from yijing.outbox import service as outbox
from yijing.patrols.settlement import repository
from yijing.patrols.settlement.service import ResettlePayload, SettlePayload, resettle, settle_due

SETTLE = register(
    JobSpec(
        name="patrols.settle",
        payload_model=SettlePayload,
        handler=settle_due,
        summary="Settle patrols whose window has closed: missed or auto-closed, checkpoint results, verified "
        "minutes, alerts (idempotent)",
        timeout_seconds=900,
    )
)
RESETTLE = register(
    JobSpec(
        name="patrols.resettle",
        payload_model=ResettlePayload,
        handler=resettle,
        summary="Compute a settled patrol's checkpoint results and verified minutes again",
        requestable=False,
    )
)


async def queue_resettle(session: AsyncSession, patrol_id: uuid.UUID) -> None:
    """Ask for the patrol to be settled again once the caller's transaction commits, if it is settled. The
    patrol's row is locked until then: a sweep that settled it first has committed (so it is settled again
    here); a sweep after the lock skips it until the caller has committed, and counts the change."""
    if await repository.lock_settled(session, patrol_id):
        await outbox.emit(session, RESETTLE, ResettlePayload(patrol_id=patrol_id))
