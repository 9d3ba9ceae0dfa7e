"""Follow-up visits (回访) kept by the worker: a visit due by its station's today is reminded of once to the
dispute's mediators, and one still not made some days after its day is flagged overdue once and its
mediators and site staff told."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.disputes.models import Dispute, DisputeEvent, DisputeFollowup, DisputeKind, DisputeMediator
from yijing.disputes.schemas import KIND_LABELS_ZH
from yijing.ids import utcnow
from yijing.jobs.registry import JobContext, JobPayload, JsonDict
from yijing.kit import repository as kit
from yijing.notifications.jobs import notify_many
from yijing.notifications.service import DeliverPayload
from yijing.org.models import Site, Station
from yijing.teams.service import site_staff

# A visit means reaching the parties (a call, a knock at the door), which may take a few tries: the mediator
# reminded on the due day has this many days before the visit is flagged and the site's staff told.
OVERDUE_AFTER_DAYS = 2


class FollowupsPayload(JobPayload):
    pass


def _station_today(now: datetime) -> ColumnElement[date]:
    return func.date(func.timezone(col(Station.timezone), now))


async def mark_overdue(session: AsyncSession, now: datetime) -> Sequence[DisputeFollowup]:
    """Flag the visits still to make more than ``OVERDUE_AFTER_DAYS`` days after their day (station time),
    and return them. A visit is flagged by one statement once, so two runs at the same time flag (and
    notify) it once."""
    statement = (
        update(DisputeFollowup)
        .where(
            col(DisputeFollowup.outcome).is_(None),
            col(DisputeFollowup.overdue).is_(False),
            col(DisputeFollowup.station_id) == col(Station.id),
            col(DisputeFollowup.due_on) < _station_today(now) - OVERDUE_AFTER_DAYS,
        )
        .values(overdue=True)
        .returning(DisputeFollowup)
    )
    return (await session.scalars(select(DisputeFollowup).from_statement(statement))).all()


async def mark_reminded(session: AsyncSession, now: datetime) -> Sequence[DisputeFollowup]:
    """Record a reminder for the visits still to make that are due by their station's today and have had
    none, and return them. An overdue visit gets none: run after :func:`mark_overdue`, a visit first seen
    already past its grace (the worker was down) is told of once, as overdue."""
    statement = (
        update(DisputeFollowup)
        .where(
            col(DisputeFollowup.outcome).is_(None),
            col(DisputeFollowup.reminded_at).is_(None),
            col(DisputeFollowup.overdue).is_(False),
            col(DisputeFollowup.station_id) == col(Station.id),
            col(DisputeFollowup.due_on) <= _station_today(now),
        )
        .values(reminded_at=now)
        .returning(DisputeFollowup)
    )
    return (await session.scalars(select(DisputeFollowup).from_statement(statement))).all()


@dataclass(frozen=True)
class _Case:
    """What a notice about a dispute's visit names: never its parties or its account."""

    kind: DisputeKind
    site_id: uuid.UUID
    site_name: str
    mediators: list[uuid.UUID]  # the mediators' accounts


async def _cases(session: AsyncSession, dispute_ids: set[uuid.UUID]) -> dict[uuid.UUID, _Case]:
    mediators: defaultdict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    named = (
        select(col(DisputeMediator.dispute_id), col(DisputeMediator.user_id))
        .where(col(DisputeMediator.dispute_id).in_(dispute_ids))
        .order_by(col(DisputeMediator.id))
    )
    for dispute_id, user_id in (await session.execute(named)).all():
        if user_id is not None:  # a volunteer without an account cannot be told
            mediators[dispute_id].append(user_id)
    query = (
        select(col(Dispute.id), col(Dispute.kind), col(Dispute.site_id), col(Site.name))
        .join(Site, col(Site.id) == col(Dispute.site_id))
        .where(col(Dispute.id).in_(dispute_ids))
    )
    return {
        dispute_id: _Case(kind, site_id, site_name, mediators[dispute_id])
        for dispute_id, kind, site_id, site_name in (await session.execute(query)).all()
    }


def _event(followup: DisputeFollowup, action: str, now: datetime) -> DisputeEvent:
    return DisputeEvent(
        dispute_id=followup.dispute_id,
        action=action,
        actor_id=None,
        details={"followup": str(followup.id), "due_on": str(followup.due_on)},
        occurred_at=now,
    )


def _notice(
    followup: DisputeFollowup, case: _Case, staff: dict[uuid.UUID, list[uuid.UUID]], *, overdue: bool
) -> DeliverPayload | None:
    """The notice of a visit due (to the mediators' accounts, or to the site's staff when no mediator has
    one) or overdue (to both); None with no one to tell."""
    recipients = [*case.mediators, *staff[case.site_id]] if overdue else case.mediators or staff[case.site_id]
    if not recipients:
        return None
    kind = "dispute.followup_overdue" if overdue else "dispute.followup_due"
    return DeliverPayload(
        recipients=list(dict.fromkeys(recipients)),
        kind=kind,
        title="纠纷回访已逾期" if overdue else "纠纷回访到期",
        body=f"{KIND_LABELS_ZH[case.kind]}（{case.site_name}）回访日期 {followup.due_on}"
        + (" 已过，尚未回访" if overdue else ""),
        link=f"/api/v1/disputes/{followup.dispute_id}",
        dedupe_key=f"{kind}:{followup.id}",
    )


async def check_followups(context: JobContext, payload: FollowupsPayload) -> JsonDict:
    """Flag the visits past their grace and remind of those due. Each visit is flagged (or reminded) by one
    conditional update, so a second run, or two at once, sends nothing twice; the notices' dedupe keys hold
    even if the outbox delivers one twice."""
    now = utcnow()
    session = context.session
    overdue = await mark_overdue(session, now)
    reminded = await mark_reminded(session, now)
    cases = await _cases(session, {followup.dispute_id for followup in [*overdue, *reminded]})
    sites = {case.site_id for case in cases.values()}
    staff = {site_id: await site_staff(session, site_id) for site_id in sites}
    await kit.save_all(
        session,
        [_event(followup, "overdue", now) for followup in overdue]
        + [_event(followup, "remind", now) for followup in reminded],
    )
    notices = [_notice(followup, cases[followup.dispute_id], staff, overdue=True) for followup in overdue] + [
        _notice(followup, cases[followup.dispute_id], staff, overdue=False) for followup in reminded
    ]
    await notify_many(session, [notice for notice in notices if notice is not None])
    return {"reminded": len(reminded), "overdue": len(overdue)}
