"""A job's follow-up jobs are relayed right after the job's own commit, as a request's are: they run in
the same burst of the worker, without waiting for the periodic outbox relay."""

from sqlalchemy import func, select
from sqlmodel import col

from tests.hazards.test_deadlines import add_hazard
from yijing.hazards.jobs import DEADLINES
from yijing.notifications.models import Notification
from yijing.outbox.models import OutboxMessage


async def test_notices_a_job_emits_are_delivered_in_the_same_burst(session_factory, world, redis, run_worker):
    await add_hazard(session_factory, world.own, days_left=-1)
    await redis.enqueue_job(DEADLINES.name)
    # No cron jobs in this worker: nothing but the job itself can relay what it emits.
    worker = await run_worker()
    async with session_factory() as session:
        notices = await session.scalar(
            select(func.count()).select_from(Notification).where(col(Notification.kind) != "test")
        )
        unsent = await session.scalar(
            select(func.count()).select_from(OutboxMessage).where(col(OutboxMessage.relayed_at).is_(None))
        )
    assert notices, "the overdue notices were not delivered"
    assert unsent == 0
    assert worker.jobs_complete > 1  # the deadline job, then the deliveries it emitted
