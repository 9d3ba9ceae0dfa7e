"""Redis stopped for 30 s, and (separately) paused with SIGSTOP for 30 s, while phones report hazards and
people sign in: every write succeeds, sign-in stays under a second throughout, and the jobs the writes emitted
run once Redis is back, with neither the API nor the worker restarted."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import pytest

from tests.faults.stack import Stack, alive, follow_up, followed_up, hazard_report, wait_for
from tests.world import PASSWORD
from yijing.access import Role

pytestmark = pytest.mark.faults

OUTAGE_SECONDS = 30.0
BEFORE_SECONDS = 3.0
AFTER_SECONDS = 5.0
# Paced so that the load itself leaves a two-core machine room: the password hash alone takes 0.1-0.5 s.
WRITE_EVERY_SECONDS = 0.5
SIGN_IN_EVERY_SECONDS = 1.0
# The bound for sign-in during an outage and after it. A client that waits for a hung Redis costs
# each sign-in its socket timeouts (seconds).
SIGN_IN_BOUND_SECONDS = 1.0
# Follow-up jobs wait for the worker's periodic outbox relay (every 10 s) after Redis is back.
FOLLOW_UP_SECONDS = 60.0
CLIENT_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Sample:
    phase: str  # before, during or after (the outage)
    seconds: float
    outcome: str  # the status code, or the transport error's name


@dataclass
class Load:
    """Calls at a steady pace, each timed and tagged with the phase of the outage it started in."""

    phase: str = "before"
    done: asyncio.Event = field(default_factory=asyncio.Event)

    async def repeat(
        self, every: float, call: Callable[[], Awaitable[httpx.Response]], samples: list[Sample]
    ) -> None:
        """``call`` every ``every`` seconds (at once after a slower call) until done, or a minute late."""
        deadline = time.monotonic() + BEFORE_SECONDS + OUTAGE_SECONDS + AFTER_SECONDS + 60
        while not self.done.is_set() and time.monotonic() < deadline:
            started, phase = time.monotonic(), self.phase
            try:
                outcome = str((await call()).status_code)
            except httpx.TransportError as exc:
                outcome = type(exc).__name__
            elapsed = time.monotonic() - started
            samples.append(Sample(phase, elapsed, outcome))
            await asyncio.sleep(max(0.0, every - elapsed))


async def begin_outage(stack: Stack, outage: str) -> None:
    if outage == "stopped":
        await asyncio.to_thread(stack.redis.stop)  # SIGTERM: Redis saves its snapshot, the queue survives
    else:
        stack.redis_process().suspend()  # SIGSTOP: connections stay open, nothing answers


async def end_outage(stack: Stack, outage: str) -> None:
    if outage == "stopped":
        await asyncio.to_thread(stack.redis.start)
    else:
        stack.redis_process().resume()


@pytest.mark.parametrize("outage", ["stopped", "paused"])
async def test_writes_and_sign_ins_ride_out_a_redis_outage(make_stack, figures, outage):
    stack = await make_stack()
    world = stack.world
    worker = stack.start_worker()
    api = stack.start_api()
    reporter = world.headers(Role.ASSISTANT)  # the site's officer is notified of each report
    officer_phone = world.phones[world.own.users[Role.OFFICER].id]
    writes: list[Sample] = []
    sign_ins: list[Sample] = []
    load = Load()
    async with (
        httpx.AsyncClient(base_url=stack.base, timeout=CLIENT_TIMEOUT_SECONDS) as writer,
        httpx.AsyncClient(base_url=stack.base, timeout=CLIENT_TIMEOUT_SECONDS) as signer,
    ):

        def write() -> Awaitable[httpx.Response]:
            return writer.post("/api/v1/hazards", json=hazard_report(world), headers=reporter)

        def sign_in() -> Awaitable[httpx.Response]:
            return signer.post("/api/v1/auth/token", data={"username": officer_phone, "password": PASSWORD})

        # Not measured: a fresh process's first requests load code and open connections.
        assert (await write()).status_code == 201
        assert (await sign_in()).status_code == 200
        callers = [
            asyncio.create_task(load.repeat(WRITE_EVERY_SECONDS, write, writes)),
            asyncio.create_task(load.repeat(SIGN_IN_EVERY_SECONDS, sign_in, sign_ins)),
        ]
        try:
            await asyncio.sleep(BEFORE_SECONDS)
            load.phase = "during"
            await begin_outage(stack, outage)
            await asyncio.sleep(OUTAGE_SECONDS)
        finally:
            await end_outage(stack, outage)
        redis_back_at = time.monotonic()
        load.phase = "after"
        await asyncio.sleep(AFTER_SECONDS)
        load.done.set()
        await asyncio.gather(*callers)

    failures = []
    for phase in ("before", "during", "after"):
        phase_sign_ins = [sample.seconds for sample in sign_ins if sample.phase == phase]
        phase_writes = [sample.seconds for sample in writes if sample.phase == phase]
        figures(f"sign-ins {phase} the outage", len(phase_sign_ins))
        figures(f"sign-in latency max {phase} the outage (s)", max(phase_sign_ins, default=0.0))
        figures(f"writes {phase} the outage", len(phase_writes))
        figures(f"write latency max {phase} the outage (s)", max(phase_writes, default=0.0))
    refused_writes = [sample for sample in writes if sample.outcome != "201"]
    if refused_writes:
        failures.append(f"{len(refused_writes)} of {len(writes)} writes failed: {refused_writes[:5]}")
    refused_sign_ins = [sample for sample in sign_ins if sample.outcome != "200"]
    if refused_sign_ins:
        failures.append(f"{len(refused_sign_ins)} of {len(sign_ins)} sign-ins failed: {refused_sign_ins[:5]}")
    measured = [sample for sample in sign_ins if sample.phase != "before"]
    slow = [sample for sample in measured if sample.seconds >= SIGN_IN_BOUND_SECONDS]
    if slow:
        failures.append(f"{len(slow)} sign-ins took {SIGN_IN_BOUND_SECONDS} s or more: {slow[:5]}")
    if not alive(api):
        failures.append(f"the API exited (code {api.returncode}); see its log in {stack.folder}")
    if not alive(worker):
        failures.append(f"the worker exited (code {worker.returncode}); see its log in {stack.folder}")
    else:
        # The writes' jobs (the officer's notifications, statistics recounts) run without any restart.
        drained = await wait_for(lambda: followed_up(stack), FOLLOW_UP_SECONDS)
        figures(
            f"seconds from Redis's return until all follow-up jobs had run (load for {AFTER_SECONDS:g} s)",
            time.monotonic() - redis_back_at if drained is not None else "never",
        )
        if drained is None:
            progress = await follow_up(stack)
            failures.append(f"follow-up jobs had not all run {FOLLOW_UP_SECONDS} s on: {progress}")
    assert failures == [], "\n".join(failures)
