"""The end-of-month reminder: in the last week of a month on a station's calendar, each site's officer and
assistants hear how many of its active volunteers have not trained yet this month, once per site and
month."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, text, union
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.ids import utcnow
from yijing.jobs.registry import JobContext, JobPayload, JsonDict
from yijing.notifications.jobs import DELIVER, notify_many
from yijing.notifications.models import Notification
from yijing.notifications.service import DeliverPayload
from yijing.org.models import Station
from yijing.outbox.models import OutboxMessage
from yijing.teams.service import site_staff
from yijing.training.compliance import next_month, site_tallies

# Reminded in the month's last week: early enough to hold or join one more training.
LAST_DAYS = 7


class RemindersPayload(JobPayload):
    pass


def reminder_month(today: date) -> date | None:
    """The month to remind of on ``today`` (its first day), or None before its last week."""
    first = today.replace(day=1)
    return first if (next_month(first) - today).days <= LAST_DAYS else None


def dedupe_key(site_id: uuid.UUID, first: date) -> str:
    return f"training.untrained:{site_id}:{first:%Y-%m}"


async def _already_sent(session: AsyncSession, keys: list[str]) -> set[str]:
    """The keys among ``keys`` already queued (in the outbox) or delivered (in an inbox)."""
    queued = select(OutboxMessage.arguments["payload"]["dedupe_key"].astext).where(
        col(OutboxMessage.job_name) == DELIVER.name,
        OutboxMessage.arguments["payload"]["dedupe_key"].astext.in_(keys),
    )
    delivered = select(col(Notification.dedupe_key)).where(col(Notification.dedupe_key).in_(keys))
    return set(await session.scalars(union(queued, delivered)))


async def remind(session: AsyncSession, now: datetime) -> int:
    """Queue the month's notice for each site in its last week with volunteers not trained and staff to
    tell, unless queued before; return how many. Runs hold one lock, so two at once queue each notice once
    (the second sees the first's); the dedupe key keeps a notice delivered twice in one inbox once."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": "training.untrained"}
    )
    notices: list[DeliverPayload] = []
    for station in (await session.scalars(select(Station).order_by(col(Station.id)))).all():
        first = reminder_month(now.astimezone(ZoneInfo(station.timezone)).date())
        if first is None:
            continue
        untrained = {
            site.site_id: (site.site_name, site.volunteers - site.trained)
            for site in await site_tallies(session, station, first)
            if site.trained < site.volunteers
        }
        sent = await _already_sent(session, [dedupe_key(site_id, first) for site_id in untrained])
        for site_id, (site_name, count) in untrained.items():
            key = dedupe_key(site_id, first)
            staff = await site_staff(session, site_id)
            if key in sent or not staff:
                continue
            notices.append(
                DeliverPayload(
                    recipients=staff,
                    kind="training.untrained",
                    title="本月培训尚未完成",
                    body=f"{site_name}：本月还有 {count} 名义警未参加培训",
                    link=f"/api/v1/trainings/compliance?month={first:%Y-%m}&site_id={site_id}",
                    dedupe_key=key,
                )
            )
    await notify_many(session, notices)
    return len(notices)


async def remind_untrained(context: JobContext, payload: RemindersPayload) -> JsonDict:
    return {"sites_reminded": await remind(context.session, utcnow())}
