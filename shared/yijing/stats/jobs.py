from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from yijing.access import StationScope
from yijing.db import session_scope
from yijing.ids import utcnow
from yijing.jobs.registry import JobContext, JobPayload, JobSpec, JsonDict, register
from yijing.org import repository as org_repository
from yijing.outbox import service as outbox
from yijing.stats import rollups
from yijing.stats.sources import SOURCES

MAX_DAYS = 1000


class RecomputePayload(JobPayload):
    source: str = Field(min_length=1, max_length=32)
    station_id: uuid.UUID
    days: list[date] = Field(max_length=MAX_DAYS)


async def recompute(context: JobContext, payload: RecomputePayload) -> JsonDict:
    source = SOURCES[payload.source]
    written = await rollups.recompute_days(
        context.session, source, payload.station_id, sorted(set(payload.days)), utcnow()
    )
    return {"source": source.name, "days": len(set(payload.days)), "figures": written}


RECOMPUTE = register(
    JobSpec(
        name="stats.recompute",
        payload_model=RecomputePayload,
        handler=recompute,
        summary="Recompute a station's daily figures of one source for the days its records changed",
        requestable=False,
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


class CheckPayload(JobPayload):
    sources: list[str] | None = Field(default=None, description="Only these sources; by default every one")


async def check(context: JobContext, payload: CheckPayload) -> JsonDict:
    """Every source in its own transaction, so one slow source holds up no other."""
    stations = await org_repository.station_ids(context.session, StationScope.everywhere())
    outcome: JsonDict = {}
    for name in payload.sources or list(SOURCES):
        async with session_scope(context.session_factory) as session:
            result = await rollups.check(session, SOURCES[name], stations, utcnow())
        outcome[name] = {
            "days_repaired": result.days_repaired,
            "figures_written": result.figures_written,
            "days_marked": result.days_marked,
        }
    return outcome


CHECK = register(
    JobSpec(
        name="stats.check",
        payload_model=CheckPayload,
        handler=check,
        summary="Recompute every daily figure, repair the days that drifted, mark the days covered",
        timeout_seconds=3600,
    )
)
