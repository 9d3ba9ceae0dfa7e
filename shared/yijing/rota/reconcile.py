"""Keeping each group's stored rota in step with its members: materialise the current week and the weeks up
to the group's horizon, re-plan the weeks that have not started when an input changed, tell the members
what moved, and send handoff notices. Run by the API after each change (in the same transaction) and by
the worker's frequent reconcile job; it is idempotent, serialised per group by a row lock, and inserts
weeks with ON CONFLICT DO NOTHING, so any number of runs leave one captain per group-week."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from yijing.db import session_scope
from yijing.groups.models import Group
from yijing.ids import new_id, utcnow
from yijing.jobs.registry import JobContext, JobPayload, JsonDict
from yijing.notifications.jobs import notify, notify_many
from yijing.notifications.service import DeliverPayload
from yijing.rota import repository
from yijing.rota.models import CaptainSource, CaptainWeek
from yijing.rota.planner import Member, Pick, plan
from yijing.rota.repository import PlanningMembership
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


async def reconcile_group(session: AsyncSession, group_id: uuid.UUID, now: datetime) -> Outcome | None:
    """Bring one group's rota up to date at ``now``; None when the group no longer exists."""
    groups = await repository.lock_groups(session, [group_id])
    return await reconcile_locked(session, groups, now) if groups else None


async def reconcile_locked(session: AsyncSession, groups: Sequence[Group], now: datetime) -> Outcome:
    """Bring the rotas of ``groups`` (whose rows the caller holds locked) up to date at ``now``: the same
    dozen statements for one group or a thousand, each reading or writing all of them at once."""
    if not groups:
        return Outcome()
    group_ids = [group.id for group in groups]
    zones = await repository.station_timezones(session, {group.station_id for group in groups})
    started = await repository.last_started_week_starts(session, group_ids, now)
    weeks = {
        group.id: _weeks_to_plan(
            group, handoff_of(group, zones[group.station_id]), started.get(group.id), now
        )
        for group in groups
    }
    stored = await repository.unstarted_weeks_of(session, group_ids, now)
    # Read from the earliest first week of them all; each group keeps those of its own (see _members).
    memberships = await repository.memberships_for_planning(
        session, group_ids, min(planned[0].starts_at for planned in weeks.values())
    )
    unavailable = await repository.unavailable_days(
        session,
        list({m.volunteer_id for group_memberships in memberships.values() for m in group_memberships}),
        min(planned[0].start for planned in weeks.values()),
    )
    turns = await repository.last_turns(session, group_ids, now)

    outcome = Outcome()
    new_weeks: list[dict[str, object]] = []
    moves: dict[uuid.UUID, list[tuple[date, uuid.UUID | None, uuid.UUID | None]]] = {}
    for group in groups:
        group_weeks = weeks[group.id]
        members = _members(memberships.get(group.id, []), group_weeks[0])
        picks = plan(group_weeks, members, unavailable, turns.get(group.id, {}))
        unplanned = {week.week_start: week for week in stored.get(group.id, [])}
        group_moves = moves[group.id] = []
        for pick in picks:
            row = unplanned.pop(pick.week.start, None)
            if row is None:
                new_weeks.append(_new_week(group, pick))
            elif move := _replan(row, pick, members, now):
                group_moves.append(move)
                outcome.changed += 1
        for row in unplanned.values():  # weeks nobody can captain any more, or beyond a shortened horizon
            group_moves.append((row.week_start, row.volunteer_id, None))
            outcome.removed += 1
            await repository.delete(session, row)
        group.planned_until = group_weeks[-1].start
        group.plan_checked_at = now
    outcome.inserted = await repository.insert_weeks(session, new_weeks)
    await session.flush()
    # Only weeks that replace a plan members knew are news; a newly stored week is announced by its notices.
    for group in groups:
        if moves[group.id]:
            await tell_of_moves(session, group, moves[group.id], f"replan:{now.isoformat()}")
    outcome.notices = await _send_handoff_notices(session, groups, now)
    return outcome


def _weeks_to_plan(group: Group, handoff: Handoff, last_started: date | None, now: datetime) -> list[Week]:
    """The current week up to the group's horizon. Weeks never stored while no reconcile ran (the worker was
    down) are planned now, in order; weeks stored and started are history, never changed."""
    current = handoff.week_start(now)
    last = current + timedelta(weeks=group.horizon_weeks)
    first = last_started + timedelta(weeks=1) if last_started else current
    return [handoff.week(first + timedelta(weeks=index)) for index in range((last - first).days // 7 + 1)]


def _members(memberships: Sequence[PlanningMembership], first: Week) -> list[Member]:
    """The members to plan with, in join order: a membership that ended before the first week to plan never
    counts (nor takes a place in the order)."""
    current = [m for m in memberships if m.left_at is None or m.left_at >= first.starts_at]
    return [
        Member(m.volunteer_id, m.joined_at, m.left_at, order, m.status is VolunteerStatus.ACTIVE)
        for order, m in enumerate(current)
    ]


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


def _replan(
    row: CaptainWeek, pick: Pick, members: Sequence[Member], now: datetime
) -> tuple[date, uuid.UUID | None, uuid.UUID | None] | None:
    """Update a stored week that has not started; the move (week start, who lost it, who gained it) when its
    captain changed. A swap or override stands while its captain is still an eligible member; the week only
    records whose rota turn it is."""
    row.rotation_volunteer_id = pick.volunteer_id
    explicit = row.source in (CaptainSource.SWAP, CaptainSource.OVERRIDE)
    if explicit and any(m.volunteer_id == row.volunteer_id and m.in_group_for(pick.week) for m in members):
        return None
    if row.volunteer_id == pick.volunteer_id and row.source == pick.source:
        return None
    move = (row.week_start, row.volunteer_id, pick.volunteer_id)
    row.volunteer_id = pick.volunteer_id
    row.source = pick.source
    row.reason = "the chosen captain left the group or cannot serve" if explicit else None
    row.sequence += 1
    row.updated_at = now
    return move


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


async def _send_handoff_notices(session: AsyncSession, groups: Sequence[Group], now: datetime) -> int:
    """A day before a captain's week, and at its handoff: each once per week and captain."""
    weeks = await repository.weeks_due_for_notice(session, [group.id for group in groups], now)
    due = [(week, "reminder" if week.starts_at > now else "handoff") for week in weeks]
    sent = await repository.record_notices(
        session, [(week.id, week.volunteer_id, kind) for week, kind in due]
    )
    accounts = await repository.user_ids_of(session, [week.volunteer_id for week in weeks])
    names = {group.id: group.name for group in groups}
    await notify_many(
        session,
        [
            DeliverPayload(
                recipients=[accounts[week.volunteer_id]],
                kind=f"captain.{kind}",
                title="明天起由您担任义警队长" if kind == "reminder" else "本周由您担任义警队长",
                body=f"{names[week.group_id]}：{week.week_start:%Y-%m-%d} 起的一周。",
                link=f"/api/v1/groups/{week.group_id}/captain",
                dedupe_key=f"captain.{kind}:{week.id}:{week.volunteer_id}",
            )
            for week, kind in due
            if (week.id, week.volunteer_id, kind) in sent and week.volunteer_id in accounts
        ],
    )
    return len(sent)


# The worker's job

# Groups reconciled per run at most; the next run (a minute later) takes the rest.
BATCH = 20_000
# Groups reconciled in one transaction, with a dozen statements for them all: a few hundred keep each
# statement's lists short and each group's row locked for a fraction of a second.
GROUPS_PER_TRANSACTION = 500


class ReconcilePayload(JobPayload):
    group_ids: list[uuid.UUID] | None = Field(
        default=None, max_length=1000, description="Only these groups; by default every group that needs it"
    )


async def reconcile_groups(context: JobContext, payload: ReconcilePayload) -> JsonDict:
    """GROUPS_PER_TRANSACTION groups at a time, in one transaction under their row locks. The locks are taken
    with SKIP LOCKED, so a batch never waits for a group that a request or another worker holds: those groups
    are reconciled afterwards one by one, each in its own transaction once its lock is free. So two workers
    running this at once store one captain per group-week."""
    now = utcnow()
    if payload.group_ids is None:
        group_ids = list(await repository.groups_needing_reconcile(context.session, now, BATCH))
    else:
        group_ids = payload.group_ids
    totals = {"groups": 0, "weeks_inserted": 0, "weeks_changed": 0, "weeks_removed": 0, "notices": 0}

    def add(outcome: Outcome, groups: int) -> None:
        totals["groups"] += groups
        totals["weeks_inserted"] += outcome.inserted
        totals["weeks_changed"] += outcome.changed
        totals["weeks_removed"] += outcome.removed
        totals["notices"] += outcome.notices

    for begin in range(0, len(group_ids), GROUPS_PER_TRANSACTION):
        batch = group_ids[begin : begin + GROUPS_PER_TRANSACTION]
        async with session_scope(context.session_factory) as session:
            groups = await repository.lock_groups(session, batch, skip_locked=True)
            add(await reconcile_locked(session, groups, now), len(groups))
        taken = {group.id for group in groups}
        for group_id in (group_id for group_id in batch if group_id not in taken):
            async with session_scope(context.session_factory) as session:
                outcome = await reconcile_group(session, group_id, now)
            if outcome is not None:  # None: the group no longer exists
                add(outcome, 1)
        await context.report_progress(begin + len(batch), len(group_ids))
    return totals
