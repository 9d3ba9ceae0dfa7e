"""PostgreSQL stopped and started again while clients read: meanwhile the API answers 503 (a problem
document, never a 500, never a hang), and it serves again once PostgreSQL is back, without a restart."""

import asyncio
import time
from dataclasses import dataclass

import httpx
import pytest

from tests.faults.stack import alive, wait_for
from yijing.access import Role

pytestmark = pytest.mark.faults

UP_SECONDS = 2.0
DOWN_SECONDS = 5.0
READ_EVERY_SECONDS = 0.1
# "Not hanging": an answer during the outage comes at once (tens of milliseconds). Generous, for a loaded
# two-core machine; a read that waits for a database connection instead takes a pool or connect timeout
# (30 s and more).
ANSWER_WITHIN_SECONDS = 5.0
RECOVER_WITHIN_SECONDS = 10.0
CLIENT_TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True)
class Read:
    started: float
    seconds: float
    outcome: str  # the status code, or the transport error's name
    problem: bool  # answered application/problem+json

    @property
    def ended(self) -> float:
        return self.started + self.seconds


def since(moment: float, event: float | None) -> float | str:
    return event - moment if event is not None else "never"


async def test_reads_answer_503_while_postgres_restarts_then_recover(private_postgres, make_stack, figures):
    stack = await make_stack(private_postgres)
    api = stack.start_api()
    headers = stack.world.headers(Role.OFFICER)
    reads: list[Read] = []
    done = asyncio.Event()

    async def reader(client: httpx.AsyncClient) -> None:
        deadline = time.monotonic() + UP_SECONDS + DOWN_SECONDS + RECOVER_WITHIN_SECONDS + UP_SECONDS + 30
        while not done.is_set() and time.monotonic() < deadline:
            started = time.monotonic()
            try:
                response = await client.get("/api/v1/hazards", headers=headers)
                outcome = str(response.status_code)
                problem = response.headers.get("content-type", "").startswith("application/problem+json")
            except httpx.TransportError as exc:
                outcome, problem = type(exc).__name__, False
            reads.append(Read(started, time.monotonic() - started, outcome, problem))
            await asyncio.sleep(READ_EVERY_SECONDS)

    async with httpx.AsyncClient(base_url=stack.base, timeout=CLIENT_TIMEOUT_SECONDS) as client:
        task = asyncio.create_task(reader(client))
        try:
            await asyncio.sleep(UP_SECONDS)
            stopping = time.monotonic()
            await asyncio.to_thread(private_postgres.stop)
            stopped = time.monotonic()
            await asyncio.sleep(DOWN_SECONDS)
            starting = time.monotonic()
        finally:
            await asyncio.to_thread(private_postgres.start)
        started = time.monotonic()

        async def recovered() -> bool:
            return any(read.started >= started and read.outcome == "200" for read in reads)

        await wait_for(recovered, RECOVER_WITHIN_SECONDS, interval=READ_EVERY_SECONDS)
        await asyncio.sleep(UP_SECONDS)
        done.set()
        await task

    before = [read for read in reads if read.ended < stopping]
    down = [read for read in reads if read.started >= stopped and read.ended < starting]
    after = [read for read in reads if read.started >= started]
    first_503 = next((r.ended for r in reads if r.started >= stopping and r.outcome == "503"), None)
    first_200 = next((read.ended for read in after if read.outcome == "200"), None)
    figures("reads while PostgreSQL was down", len(down))
    figures("answers while it was down", sorted({read.outcome for read in down}))
    figures("read latency max while it was down (s)", max((read.seconds for read in down), default=0.0))
    figures("seconds from the stop until the first 503", since(stopping, first_503))
    figures("seconds from the start until the first 200", since(started, first_200))

    slowest = max(read.seconds for read in reads)
    figures("read latency max over the whole run (s)", slowest)

    assert {read.outcome for read in before} == {"200"}
    # Meanwhile: 503 problem documents, at once. Reads that straddle the stop or the start may be either.
    assert down, f"no read was answered while PostgreSQL was down (the slowest took {slowest:.1f} s)"
    wrong = [read for read in down if read.outcome != "503" or not read.problem]
    assert wrong == [], f"{len(wrong)} of {len(down)} reads while down: no 503 problem: {wrong[:3]}"
    assert slowest < ANSWER_WITHIN_SECONDS, "a read hung"
    assert {read.outcome for read in reads} <= {"200", "503"}
    # Back without a restart: the same API process serves every read once PostgreSQL is up again.
    assert first_200 is not None, f"no read succeeded within {RECOVER_WITHIN_SECONDS} s of PostgreSQL's start"
    assert {read.outcome for read in after if read.started > first_200} == {"200"}
    assert alive(api)
