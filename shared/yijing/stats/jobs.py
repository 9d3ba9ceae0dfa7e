from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from yijing.jobs.registry import JobSpec, register
from yijing.outbox import service as outbox
from yijing.stats.rollups import MAX_DAYS, CheckPayload, RecomputePayload, check_sources, recompute_station

RECOMPUTE = register(
    JobSpec(
        name="stats.recompute",
        payload_model=RecomputePayload,
        handler=recompute_station,
        summary="Recompute a station's daily figures of one source for the days its records changed",
        requestable=False,
        routine=True,
    )
)
CHECK = register(
    JobSpec(
        name="stats.check",
        payload_model=CheckPayload,
        handler=check_sources,
        summary="Recompute every daily figure, repair the days that drifted, mark the days covered",
        timeout_seconds=3600,
    )
)


async def queue_recompute(
    session: AsyncSession, source: str, station_id: uuid.UUID, days: Iterable[date]
) -> None:
    """Ask for the days' figures to be recomputed once the caller's transaction commits."""
    unique = sorted(set(days))
    for start in range(0, len(unique), MAX_DAYS):
        payload = RecomputePayload(
            source=source, station_id=station_id, days=unique[start : start + MAX_DAYS]
        )
        await outbox.emit(session, RECOMPUTE, payload)
