from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from yijing.jobs.registry import JobSpec, register
from yijing.notifications.service import DeliverPayload, deliver
from yijing.outbox import service as outbox

DELIVER = register(
    JobSpec(
        name="notifications.deliver",
        payload_model=DeliverPayload,
        handler=deliver,
        summary="Write a notification into each recipient's inbox (once per event)",
        requestable=False,
        routine=True,
    )
)


async def notify(session: AsyncSession, payload: DeliverPayload) -> None:
    """Ask for ``payload`` to reach its recipients once the caller's transaction commits."""
    await outbox.emit(session, DELIVER, payload)


async def notify_many(session: AsyncSession, payloads: Sequence[DeliverPayload]) -> None:
    """:func:`notify` for many notices (a job's batch), in one INSERT."""
    await outbox.emit_many(session, DELIVER, payloads)
