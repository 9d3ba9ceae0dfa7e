"""Keeping each group's stored rota in step with its members: materialise the current week and the weeks up
to the group's horizon, re-plan the weeks that have not started when an input changed, tell the members
what moved, and send handoff notices. Run by the API after each change (in the same transaction) and by
the worker's frequent reconcile job; it is idempotent, serialised per group by a row lock, and inserts
weeks with ON CONFLICT DO NOTHING, so any number of runs leave one captain per group-week."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from yijing.db import session_scope
from yijing.groups.models import Group
from yijing.ids import new_id, utcnow
from yijing.jobs.registry import JobContext, JobPayload, JsonDict
from yijing.notifications.jobs import notify
from yijing.notifications.service import DeliverPayload
from yijing.rota import repository
from yijing.rota.models import CaptainSource, CaptainWeek
from yijing.rota.planner import Member, Pick, plan
from yijing.rota.weeks import Handoff, Week
from yijing.volunteers.models import VolunteerStatus


def handoff_of(group: Group, timezone: str) -> Handoff:
    return Handoff(group.handoff_weekday, group.handoff_time, ZoneInfo(timezone))


@dataclass
class Outcome:
    inserted: int = 0
    changed: int = 0
    removed: int = 0
    notices: int = 0
    # (week start, volunteer who lost it or None, volunteer who gained it or None)
    moves: list[tuple[CaptainWeek | Week, uuid.UUID | None, uuid.UUID | None]] = field(default_factory=list)


async def reconcile_group(session: AsyncSession, group_id: uuid.UUID, now: datetime) -> Outcome | None:
    """Bring one group's rota up to date at ``now``; None when the group no longer exists."""
    group = await repository.lock_group(session, group_id)
    if group is None:
        return None
    handoff = handoff_of(group, await repository.station_timezone(session, group.station_id))
    current = handoff.week_start(now)
    last = current + timedelta(weeks=group.horizon_weeks)
    started = await repository.last_started_week(session, group.id, now)
    # Weeks never stored while no reconcile ran (the worker was down) are planned now, in order; weeks
    # stored and started are history, never changed.
    first = started.week_start + timedelta(weeks=1) if started else current
    weeks = [handoff.week(first + timedelta(weeks=index)) for index in range((last - first).days // 7 + 1)]
    stored = {week.week_start: week for week in await repository.unstarted_weeks(session, group.id, now)}

    memberships = await repository.memberships_for_planning(session, group.id, weeks[0].starts_at)
    members = [
        Member(m.volunteer_id, m.joined_at, m.left_at, order, status is VolunteerStatus.ACTIVE)
        for order, (m, status) in enumerate(memberships)
    ]
    unavailable = await repository.unavailable_days(
        session, [m.volunteer_id for m in members], weeks[0].start
    )
    picks = plan(weeks, members, unavailable, await repository.last_turns(session, group.id, now))

    outcome = Outcome()
    eligible = {week.start: {m.volunteer_id for m in members if m.in_group_for(week)} for week in weeks}
    new_weeks = []
    for pick in picks:
        row = stored.pop(pick.week.start, None)
        if row is None:
            new_weeks.append(_new_week(group, pick))
            outcome.moves.append((pick.week, None, pick.volunteer_id))
        else:
            await _replan(row, pick, eligible[pick.week.start], outcome, now)
    outcome.inserted = await repository.insert_weeks(session, new_weeks)
    for row in stored.values():  # weeks nobody can captain any more, or beyond a shortened horizon
        outcome.moves.append((row, row.volunteer_id, None))
        outcome.removed += 1
        await repository.delete(session, row)
    group.planned_until = last
    group.plan_checked_at = now
    await session.flush()
    # Only weeks that replace a plan members knew are news; a newly stored week is announced by its notices.
    moves = [(_start(week), lost, gained) for week, lost, gained in outcome.moves if lost is not None]
    await tell_of_moves(session, group, moves, f"replan:{now.isoformat()}")
    outcome.notices = await _send_handoff_notices(session, group, now)
    return outcome


def _new_week(group: Group, pick: Pick) -> dict[str, object]:
    return {
        "id": new_id(),
        "group_id": group.id,
        "station_id": group.station_id,
        "week_start": pick.week.start,
        "starts_at": pick.week.starts_at,
        "ends_at": pick.week.ends_at,
        "volunteer_id": pick.volunteer_id,
        "rotation_volunteer_id": pick.volunteer_id,
        "source": pick.source,
    }


async def _replan(
    row: CaptainWeek, pick: Pick, eligible: set[uuid.UUID], outcome: Outcome, now: datetime
) -> None:
    """Update a stored week that has not started. A swap or override stands while its captain is still an
    eligible member; the week only records whose rota turn it is."""
    row.rotation_volunteer_id = pick.volunteer_id
    explicit = row.source in (CaptainSource.SWAP, CaptainSource.OVERRIDE)
    if explicit and row.volunteer_id in eligible:
        return
    if row.volunteer_id == pick.volunteer_id and row.source == pick.source:
        return
    outcome.moves.append((row, row.volunteer_id, pick.volunteer_id))
    outcome.changed += 1
    row.volunteer_id = pick.volunteer_id
    row.source = pick.source
    row.reason = "the chosen captain left the group or cannot serve" if explicit else None
    row.sequence += 1
    row.updated_at = now


def _start(week: CaptainWeek | Week) -> date:
    return week.week_start if isinstance(week, CaptainWeek) else week.start


def _label(week: CaptainWeek | Week) -> str:
    return f"{_start(week):%Y-%m-%d} 起的一周"


async def tell_of_moves(
    session: AsyncSession,
    group: Group,
    moves: Sequence[tuple[date, uuid.UUID | None, uuid.UUID | None]],
    event: str,
) -> None:
    """Tell members with accounts which captain weeks (by start date) they lost or gained; ``event``
    names the change, so each notice is delivered once."""
    people = [volunteer for _, lost, gained in moves for volunteer in (lost, gained) if volunteer is not None]
    accounts = await repository.user_ids_of(session, people)
    for week_start, lost, gained in moves:
        for volunteer, title in ((lost, "您的义警队长值班已取消"), (gained, "您已被安排担任义警队长")):
            if volunteer is None or volunteer not in accounts:
                continue
            await notify(
                session,
                DeliverPayload(
                    recipients=[accounts[volunteer]],
                    kind="captain.plan_changed",
                    title=title,
                    body=f"{group.name}：{week_start:%Y-%m-%d} 起的一周。",
                    link=f"/api/v1/groups/{group.id}/rota",
                    dedupe_key=f"captain.plan_changed:{group.id}:{week_start}:{volunteer}:{event}",
                ),
            )


async def _send_handoff_notices(session: AsyncSession, group: Group, now: datetime) -> int:
    """A day before a captain's week, and at its handoff: each once per week and captain."""
    sent = 0
    weeks = await repository.weeks_due_for_notice(session, group.id, now)
    accounts = await repository.user_ids_of(session, [week.volunteer_id for week in weeks])
    for week in weeks:
        kind = "reminder" if week.starts_at > now else "handoff"
        if not await repository.record_notice(session, week.id, week.volunteer_id, kind):
            continue
        sent += 1
        if week.volunteer_id not in accounts:
            continue
        title = "明天起由您担任义警队长" if kind == "reminder" else "本周由您担任义警队长"
        await notify(
            session,
            DeliverPayload(
                recipients=[accounts[week.volunteer_id]],
                kind=f"captain.{kind}",
                title=title,
                body=f"{group.name}：{_label(week)}。",
                link=f"/api/v1/groups/{group.id}/captain",
                dedupe_key=f"captain.{kind}:{week.id}:{week.volunteer_id}",
            ),
        )
    return sent


# The worker's job

# Groups reconciled per run at most; the next run (a minute later) takes the rest.
BATCH = 20_000


class ReconcilePayload(JobPayload):
    group_ids: list[uuid.UUID] | None = Field(
        default=None, max_length=1000, description="Only these groups; by default every group that needs it"
    )


async def reconcile_groups(context: JobContext, payload: ReconcilePayload) -> JsonDict:
    """One transaction per group (its rota is planned under the group's row lock), so a slow group holds up
    no other, and two workers running this at once store one captain per group-week."""
    now = utcnow()
    if payload.group_ids is None:
        group_ids = list(await repository.groups_needing_reconcile(context.session, now, BATCH))
    else:
        group_ids = payload.group_ids
    totals = {"groups": 0, "weeks_inserted": 0, "weeks_changed": 0, "weeks_removed": 0, "notices": 0}
    for done, group_id in enumerate(group_ids, start=1):
        async with session_scope(context.session_factory) as session:
            outcome = await reconcile_group(session, group_id, now)
        if outcome is not None:
            totals["groups"] += 1
            totals["weeks_inserted"] += outcome.inserted
            totals["weeks_changed"] += outcome.changed
            totals["weeks_removed"] += outcome.removed
            totals["notices"] += outcome.notices
        if done % 500 == 0:
            await context.report_progress(done, len(group_ids))
    return totals
