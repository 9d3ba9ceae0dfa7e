"""Jobs used only by tests: their effect is countable (each execution emits one outbox message), so a test
can tell one execution from two."""

import asyncio

from yijing.jobs.registry import JobContext, JobPayload, JobSpec, JsonDict
from yijing.outbox import service as outbox
from yijing.system.jobs import HEARTBEAT
from yijing.system.service import HeartbeatPayload


class CountingPayload(JobPayload):
    fail_with: str | None = None
    total: int = 3


async def counting(context: JobContext, payload: CountingPayload) -> JsonDict:
    for done in range(payload.total):
        await context.report_progress(done, payload.total)
    await outbox.emit(context.session, HEARTBEAT, HeartbeatPayload())
    if payload.fail_with == "value":
        raise ValueError("bad data in row 7")
    if payload.fail_with == "connection":
        raise ConnectionError("database went away")
    return {"counted": True}


COUNTING = JobSpec(name="tests.counting", payload_model=CountingPayload, handler=counting, summary="count")


async def slow(context: JobContext, payload: CountingPayload) -> JsonDict:
    await asyncio.sleep(30)
    return {}


SLOW = JobSpec(
    name="tests.slow",
    payload_model=CountingPayload,
    handler=slow,
    summary="slow",
    max_tries=1,
    timeout_seconds=1,
)
