"""``kill -9`` of the worker in the middle of a job (a volunteer import of 19,000 rows): a new worker runs
the job again, and the import has exactly one effect."""

import time
import uuid

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import col

from tests.faults.stack import Stack, kill, wait_for
from tests.volunteers.test_imports import csv_file, rows_for
from yijing.access import Role
from yijing.audit.models import AuditEvent
from yijing.db import SessionFactory, short_lived_sessions
from yijing.jobs.models import JobRun, JobStatus
from yijing.volunteers.models import Volunteer, VolunteerStatusChange

pytestmark = pytest.mark.faults

# Serials 1,000-19,999: ID cards all distinct (see tests.world.id_card_number), none a world volunteer's.
FIRST_SERIAL = 1_000
ROWS = 19_000  # near the most a file may hold (20,000): long enough to be killed in the middle
START_WITHIN_SECONDS = 60.0
# A new worker takes the job up once arq's in-progress mark of the dead one expires; the bound keeps the run
# short, so a mark that lives for the longest job's timeout (an hour) fails here.
RETRY_WITHIN_SECONDS = 60.0


async def run_of(factory: SessionFactory, run_id: str) -> JobRun:
    async with factory() as session:
        run = await session.get(JobRun, uuid.UUID(run_id))
        assert run is not None
        return run


async def count(factory: SessionFactory, query) -> int:
    async with factory() as session:
        return int(await session.scalar(query) or 0)


async def test_a_job_whose_worker_is_killed_runs_again_with_one_effect(make_stack, figures):
    stack = await make_stack()
    world = stack.world
    stack.start_api()
    stack.start_worker()
    content = csv_file(rows_for(world, range(FIRST_SERIAL, FIRST_SERIAL + ROWS)))
    async with httpx.AsyncClient(base_url=stack.base, timeout=60) as client:
        response = await client.post(
            "/api/v1/volunteers/imports",
            files={"file": ("名单.csv", content, "text/csv")},
            headers=world.headers(Role.OFFICER),
        )
    assert response.status_code == 202, response.text
    run_id = response.json()["id"]
    async with short_lived_sessions(stack.database_url) as factory:
        await killed_in_the_middle_and_run_again(stack, factory, run_id, figures)


async def killed_in_the_middle_and_run_again(stack: Stack, factory: SessionFactory, run_id: str, figures):
    station_id = stack.world.own.station.id
    volunteers = select(func.count()).select_from(Volunteer).where(col(Volunteer.station_id) == station_id)
    before = await count(factory, volunteers)

    async def in_the_middle() -> bool:
        run = await run_of(factory, run_id)
        return run.status is JobStatus.RUNNING and run.progress_done > 0

    started = await wait_for(in_the_middle, START_WITHIN_SECONDS, interval=0.02)
    assert started is not None, f"the import did not start within {START_WITHIN_SECONDS} s"
    assert stack.worker is not None
    kill(stack.worker)
    killed = await run_of(factory, run_id)
    figures(f"import progress at the kill (of {killed.progress_total})", killed.progress_done)
    assert killed.status is JobStatus.RUNNING, "the import finished before the kill: it is too short"
    assert await count(factory, volunteers) == before, "a killed import left volunteers behind"

    stack.start_worker()
    restarted_at = time.monotonic()

    async def settled() -> bool:
        return (await run_of(factory, run_id)).status in (JobStatus.SUCCEEDED, JobStatus.FAILED)

    retried = await wait_for(settled, RETRY_WITHIN_SECONDS)
    figures(
        "seconds from the new worker's start until the import had run again",
        time.monotonic() - restarted_at if retried is not None else "never",
    )
    run = await run_of(factory, run_id)
    assert retried is not None, f"the import was not run again within {RETRY_WITHIN_SECONDS} s: {run.status}"
    assert run.status is JobStatus.SUCCEEDED, run.error
    assert run.attempts == 2
    assert run.result is not None
    # One effect: every row enrolled once, by the second attempt alone (the first left nothing to skip).
    assert (run.result["created"], run.result["skipped_existing"]) == (ROWS, 0)
    assert await count(factory, volunteers) == before + ROWS
    enrolments = select(func.count()).select_from(VolunteerStatusChange)
    assert await count(factory, enrolments.where(col(VolunteerStatusChange.action) == "import")) == ROWS
    reports = select(func.count()).select_from(AuditEvent).where(col(AuditEvent.action) == "volunteer.import")
    assert await count(factory, reports) == 1
