"""The follow-up reminder job: reminds a dispute's mediators of a visit due by its station's today (in the
station's own time zone) and flags a visit still not made past its grace, once each however often or
concurrently it runs."""

import asyncio
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from sqlmodel import col

from tests.world import Place, new_volunteer
from yijing.access import Role
from yijing.db import session_scope
from yijing.disputes.jobs import FOLLOWUPS
from yijing.disputes.models import (
    Dispute,
    DisputeEvent,
    DisputeFollowup,
    DisputeKind,
    DisputeMediator,
    DisputeOutcome,
    DisputeParty,
    DisputeStatus,
    FollowupOutcome,
    MediatorRole,
    PartyRole,
)
from yijing.disputes.reminders import OVERDUE_AFTER_DAYS
from yijing.identity.models import User
from yijing.ids import utcnow
from yijing.jobs import service as jobs
from yijing.jobs.catalog import all_jobs
from yijing.notifications.jobs import DELIVER
from yijing.notifications.models import Notification
from yijing.org.models import Station
from yijing.outbox import service as outbox
from yijing.outbox.models import OutboxMessage
from yijing.volunteers.models import Volunteer
from yijing_worker.worker import cron_jobs

PARTY = "林某"
ACCOUNT = "两车主因占用摊位卸货车位发生争吵"


def local_today(timezone: str) -> date:
    return utcnow().astimezone(ZoneInfo(timezone)).date()


async def add_followup(
    session_factory,
    place: Place,
    *,
    days_left: int,
    mediators: Sequence[User | Volunteer] = (),
    reminded: bool = False,
    visited: bool = False,
) -> DisputeFollowup:
    """A resolved parking dispute of the place's site, with a named party, mediated by ``mediators``
    (accounts, or volunteer records with or without one), whose follow-up visit is due ``days_left`` days
    from the station's today: reminded of already, or made already, on request."""
    async with session_scope(session_factory) as session:
        station = await session.get(Station, place.station.id)
        assert station is not None
        dispute = Dispute(
            station_id=place.station.id, site_id=place.site.id, kind=DisputeKind.PARKING, account=ACCOUNT,
            reporter_id=place.users[Role.VOLUNTEER].id, status=DisputeStatus.RESOLVED,
            outcome=DisputeOutcome.APOLOGY, resolved_at=utcnow(), closed_at=utcnow(),
        )  # fmt: skip
        session.add(dispute)
        await session.flush()
        session.add(DisputeParty(dispute_id=dispute.id, position=0, name=PARTY, role=PartyRole.APPLICANT))
        for mediator in mediators:
            if isinstance(mediator, Volunteer):
                row = DisputeMediator(
                    dispute_id=dispute.id,
                    role=MediatorRole.VOLUNTEER,
                    volunteer_id=mediator.id,
                    user_id=mediator.user_id,
                )
            else:
                role = MediatorRole(mediator.role)
                row = DisputeMediator(dispute_id=dispute.id, role=role, user_id=mediator.id)
            session.add(row)
        followup = DisputeFollowup(
            dispute_id=dispute.id, station_id=place.station.id,
            due_on=local_today(station.timezone) + timedelta(days=days_left),
            reminded_at=utcnow() if reminded else None,
            outcome=FollowupOutcome.HOLDING if visited else None,
            visited_at=utcnow() if visited else None,
            visited_by=place.users[Role.OFFICER].id if visited else None,
        )  # fmt: skip
        session.add(followup)
    return followup


async def accountless_volunteer(session_factory, settings, place: Place) -> Volunteer:
    async with session_scope(session_factory) as session:
        volunteer = new_volunteer(settings, place.site, 950)
        session.add(volunteer)
    return volunteer


async def run(session_factory, settings) -> dict[str, Any]:
    return (await jobs.execute(session_factory, settings, FOLLOWUPS, {})).result or {}


async def get_followup(session_factory, followup: DisputeFollowup) -> DisputeFollowup:
    async with session_factory() as session:
        stored = await session.get(DisputeFollowup, followup.id)
        assert stored is not None
        return stored


async def events_of(session_factory, action: str) -> list[DisputeEvent]:
    async with session_factory() as session:
        query = select(DisputeEvent).where(col(DisputeEvent.action) == action)
        return list((await session.scalars(query)).all())


async def notices(session_factory, kind: str) -> list[dict[str, Any]]:
    """The notices of ``kind`` the job asked to deliver (its outbox messages), each as its payload."""
    async with session_factory() as session:
        query = select(OutboxMessage).where(col(OutboxMessage.job_name) == DELIVER.name)
        payloads = [message.arguments["payload"] for message in (await session.scalars(query)).all()]
    return [payload for payload in payloads if payload["kind"] == kind]


async def test_a_visit_due_today_is_reminded_once_to_each_mediator(session_factory, settings, world):
    assert world.own.volunteer is not None
    mediators = [world.own.volunteer, world.user(Role.ASSISTANT)]
    followup = await add_followup(session_factory, world.own, days_left=0, mediators=mediators)
    assert await run(session_factory, settings) == {"reminded": 1, "overdue": 0}
    stored = await get_followup(session_factory, followup)
    assert stored.reminded_at is not None
    assert stored.overdue is False
    # Each mediator's account, the volunteer's too; not the site's staff, nor the parties' names.
    [notice] = await notices(session_factory, "dispute.followup_due")
    assert sorted(notice["recipients"]) == sorted(
        [str(world.user(Role.VOLUNTEER).id), str(world.user(Role.ASSISTANT).id)]
    )
    assert notice["title"] == "纠纷回访到期"
    assert notice["body"] == f"停车纠纷（own night market）回访日期 {followup.due_on}"
    assert notice["link"] == f"/api/v1/disputes/{followup.dispute_id}"
    assert notice["dedupe_key"] == f"dispute.followup_due:{followup.id}"
    [event] = await events_of(session_factory, "remind")
    assert event.dispute_id == followup.dispute_id
    assert event.actor_id is None
    assert event.details == {"followup": str(followup.id), "due_on": str(followup.due_on)}

    assert await run(session_factory, settings) == {"reminded": 0, "overdue": 0}
    assert len(await notices(session_factory, "dispute.followup_due")) == 1
    assert len(await events_of(session_factory, "remind")) == 1
    assert (await get_followup(session_factory, followup)).reminded_at == stored.reminded_at


async def test_visits_not_yet_due_or_already_made_are_left_alone(session_factory, settings, world):
    mediators = [world.user(Role.ASSISTANT)]
    tomorrow = await add_followup(session_factory, world.own, days_left=1, mediators=mediators)
    made = await add_followup(session_factory, world.own, days_left=-5, mediators=mediators, visited=True)
    assert await run(session_factory, settings) == {"reminded": 0, "overdue": 0}
    for followup in (tomorrow, made):
        stored = await get_followup(session_factory, followup)
        assert stored.reminded_at is None
        assert stored.overdue is False
    assert await notices(session_factory, "dispute.followup_due") == []
    assert await notices(session_factory, "dispute.followup_overdue") == []
    assert await events_of(session_factory, "remind") == []


async def test_without_a_mediator_account_the_site_staff_are_reminded(session_factory, settings, world):
    volunteer = await accountless_volunteer(session_factory, settings, world.own)
    followup = await add_followup(session_factory, world.own, days_left=0, mediators=[volunteer])
    assert await run(session_factory, settings) == {"reminded": 1, "overdue": 0}
    [notice] = await notices(session_factory, "dispute.followup_due")
    assert notice["recipients"] == [str(world.user(Role.OFFICER).id)]  # the site's officer
    assert notice["dedupe_key"] == f"dispute.followup_due:{followup.id}"


async def test_a_visit_past_its_grace_is_flagged_overdue_once(session_factory, settings, world):
    mediators = [world.user(Role.ASSISTANT)]
    on_last_day = await add_followup(
        session_factory, world.own, days_left=-OVERDUE_AFTER_DAYS, mediators=mediators, reminded=True
    )
    late = await add_followup(
        session_factory, world.own, days_left=-OVERDUE_AFTER_DAYS - 1, mediators=mediators, reminded=True
    )
    # Never reminded (the worker was down): told of once, as overdue, not twice at once.
    missed = await add_followup(
        session_factory, world.own, days_left=-OVERDUE_AFTER_DAYS - 3, mediators=mediators
    )
    assert await run(session_factory, settings) == {"reminded": 0, "overdue": 2}
    assert (await get_followup(session_factory, on_last_day)).overdue is False
    assert (await get_followup(session_factory, late)).overdue is True
    assert (await get_followup(session_factory, missed)).overdue is True
    assert (await get_followup(session_factory, missed)).reminded_at is None
    told = await notices(session_factory, "dispute.followup_overdue")
    assert sorted(notice["dedupe_key"] for notice in told) == sorted(
        f"dispute.followup_overdue:{followup.id}" for followup in (late, missed)
    )
    # The mediators and the site's staff.
    for notice in told:
        assert notice["recipients"] == [str(world.user(Role.ASSISTANT).id), str(world.user(Role.OFFICER).id)]
        assert notice["title"] == "纠纷回访已逾期"
        assert PARTY not in notice["body"]
        assert ACCOUNT not in notice["body"]
    assert await notices(session_factory, "dispute.followup_due") == []
    assert {event.details["followup"] for event in await events_of(session_factory, "overdue")} == {
        str(late.id),
        str(missed.id),
    }

    assert await run(session_factory, settings) == {"reminded": 0, "overdue": 0}
    assert len(await notices(session_factory, "dispute.followup_overdue")) == 2
    assert len(await events_of(session_factory, "overdue")) == 2


async def test_each_station_counts_days_in_its_own_time_zone(session_factory, settings, world):
    # Kiritimati's day starts 25 hours before Pago Pago's: whatever the hour, one of them is not on UTC's
    # date, so a job counting days in UTC reminds too early in the west or too late in the east.
    for place, timezone in ((world.own, "Pacific/Kiritimati"), (world.other, "Pacific/Pago_Pago")):
        async with session_scope(session_factory) as session:
            await session.execute(
                update(Station).where(col(Station.id) == place.station.id).values(timezone=timezone)
            )
    due = {}
    not_yet = {}
    for place in (world.own, world.other):
        mediators = [place.users[Role.ASSISTANT]]
        due[place.station.id] = await add_followup(session_factory, place, days_left=0, mediators=mediators)
        not_yet[place.station.id] = await add_followup(
            session_factory, place, days_left=1, mediators=mediators
        )
    assert await run(session_factory, settings) == {"reminded": 2, "overdue": 0}
    for followup in due.values():
        assert (await get_followup(session_factory, followup)).reminded_at is not None
    for followup in not_yet.values():
        assert (await get_followup(session_factory, followup)).reminded_at is None


@pytest.mark.committed  # concurrent transactions need connections of their own
async def test_concurrent_runs_remind_and_flag_each_visit_once(
    session_factory, settings, world, redis, run_worker
):
    assert world.own.volunteer is not None
    mediators = [world.own.volunteer, world.user(Role.ASSISTANT)]
    due = [await add_followup(session_factory, world.own, days_left=0, mediators=mediators) for _ in range(5)]
    late = [
        await add_followup(session_factory, world.own, days_left=-5, mediators=mediators, reminded=True)
        for _ in range(5)
    ]
    results = await asyncio.gather(*(run(session_factory, settings) for _ in range(3)))
    assert sum(result["reminded"] for result in results) == 5
    assert sum(result["overdue"] for result in results) == 5
    assert len(await events_of(session_factory, "remind")) == 5
    assert len(await events_of(session_factory, "overdue")) == 5
    assert len(await notices(session_factory, "dispute.followup_due")) == 5
    assert len(await notices(session_factory, "dispute.followup_overdue")) == 5
    # Delivered by the worker: each mediator (and, of an overdue visit, the site's officer) has one notice.
    await outbox.relay(session_factory, redis)
    await run_worker()
    async with session_factory() as session:
        delivered = (
            await session.execute(
                select(col(Notification.recipient_id), col(Notification.dedupe_key)).where(
                    col(Notification.kind).startswith("dispute.")  # not the world's own notices
                )
            )
        ).all()
    mediator_accounts = [world.user(Role.VOLUNTEER).id, world.user(Role.ASSISTANT).id]
    assert sorted(delivered) == sorted(
        [
            *(
                (account, f"dispute.followup_due:{followup.id}")
                for followup in due
                for account in mediator_accounts
            ),
            *(
                (account, f"dispute.followup_overdue:{followup.id}")
                for followup in late
                for account in [*mediator_accounts, world.user(Role.OFFICER).id]
            ),
        ]
    )


async def test_the_job_can_be_requested_by_name(admin_client):
    assert FOLLOWUPS in all_jobs()
    response = await admin_client.post("/api/v1/jobs", json={"name": "disputes.followups"})
    assert response.status_code == 202, response.text
    assert response.json()["name"] == "disputes.followups"


def test_the_worker_checks_every_hour():
    [job] = [job for job in cron_jobs() if job.name == f"cron:{FOLLOWUPS.name}"]
    assert job.minute == 12
    assert job.hour is None
    assert job.run_at_startup
