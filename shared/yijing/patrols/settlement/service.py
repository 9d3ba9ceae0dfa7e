"""Settling patrols after their window closes, and reading their coverage.

The rules:

- **Due.** A patrol is due once ``planned_end + SHIFT_GRACE`` has passed (the grace in which a check-in
  still fits the shift; the window "closes" then), unless it is cancelled (never settled) or settled already
  (``settled_at`` set).
- **Status.** Settling moves a planned patrol (nobody started it) to ``missed`` and an in-progress one to
  ``completed`` with ``auto_closed`` true and ``ended_at`` the window's close; a completed (or missed) one
  keeps its status. Each change is audited (``patrol.miss``, ``patrol.auto_complete``; actor SYSTEM).
- **Counting check-ins.** Those unflagged (review ``not_needed``) or flagged and accepted; a pending or a
  rejected one counts toward nothing.
- **Checkpoint results.** One per checkpoint of the patrol's route: ``hit`` when its first counting check-in
  was captured at or before the planned end, ``late`` when after, ``missed`` when there is none; with the
  first one's capture time and how many there are.
- **Verified minutes.** Per member, from their counting check-ins only, each capture time clipped to the
  planned window [start, end]: the whole minutes (rounded down) from the first to the last (0 with fewer than
  two), the count, and the clipped first and last times.
- **Once.** The sweep takes due patrols in batches, each row locked with SKIP LOCKED and settled in a
  transaction of its own: two workers at once take different patrols; a second run finds nothing due.
  Results and minutes are replaced, never added to, so computing them again gives the same rows.
- **Reviews.** A review that makes a check-in count (an acceptance) of a settled patrol queues a re-settle
  (``patrols.resettle``, through the outbox): outcomes and minutes computed again; the status stays.
- **Statistics.** The days settled (or re-settled) patrols count on are recounted (the ``patrols`` source).
- **Alerts.** A patrol settled as missed, or with missed checkpoints, is told once to its site's officer and
  assistants (notifications keyed by kind and patrol, so a message delivered twice shows once).

Coverage reads: a settled patrol's stored rows; an unsettled one's computed now by the same queries, with
``not_yet`` for a checkpoint not reached while its window is still open."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from yijing.access import SYSTEM, Actor, StationScope
from yijing.audit import service as audit
from yijing.db import session_scope
from yijing.ids import utcnow
from yijing.jobs.registry import JobContext, JobPayload, JsonDict
from yijing.notifications.jobs import notify_many
from yijing.notifications.service import DeliverPayload
from yijing.org import repository as org_repository
from yijing.org.errors import SiteNotFound
from yijing.patrols import service as patrols
from yijing.patrols.models import SHIFT_GRACE, Patrol, PatrolStatus
from yijing.patrols.settlement import repository
from yijing.patrols.settlement.schemas import (
    CheckpointCounts,
    CheckpointCoverage,
    CoverageOutcome,
    CoverageSummary,
    MemberMinutes,
    PatrolCounts,
    PatrolCoverage,
    SiteCoverage,
)
from yijing.stats.jobs import queue_recompute
from yijing.teams.service import site_staff

# Patrols settled per transaction, one statement each for their statuses, results and minutes: a backlog
# (the worker stopped for a day) is still a few batches.
BATCH = 2000
# The audited action of each status settling sets.
ACTIONS = {PatrolStatus.MISSED: "miss", PatrolStatus.COMPLETED: "auto_complete"}


class SettlePayload(JobPayload):
    pass


class ResettlePayload(JobPayload):
    patrol_id: uuid.UUID = Field(description="A settled patrol whose counting check-ins changed")


async def _store_outcomes(session: AsyncSession, patrol_ids: Sequence[uuid.UUID]) -> None:
    await repository.replace_outcomes(session, patrol_ids)
    await repository.store_minutes(session, patrol_ids)


async def _recount(session: AsyncSession, patrols_settled: Sequence[Any]) -> None:
    """Queue the statistics' recount of the days the patrols count on (their planned start's local day)."""
    zones: dict[uuid.UUID, ZoneInfo] = {}
    days: dict[uuid.UUID, set[date]] = {}
    for row in patrols_settled:
        if row.station_id not in zones:
            station = await org_repository.get_station(session, row.station_id, StationScope.everywhere())
            assert station is not None  # a station with patrols cannot be deleted
            zones[row.station_id] = ZoneInfo(station.timezone)
        days.setdefault(row.station_id, set()).add(row.planned_start.astimezone(zones[row.station_id]).date())
    for station_id, station_days in days.items():
        await queue_recompute(session, "patrols", station_id, station_days)


async def settle_batch(session: AsyncSession, limit: int = BATCH) -> Sequence[Any]:
    """Settle up to ``limit`` due patrols no other transaction holds; returns them (see
    :func:`repository.settle_due`)."""
    now = utcnow()
    settled = await repository.settle_due(session, now, SHIFT_GRACE, limit)
    if not settled:
        return settled
    await _store_outcomes(session, [row.id for row in settled])
    await _recount(session, settled)
    events = []
    for row in settled:
        if row.status != row.previous:
            changes: dict[str, Any] = {"from": str(row.previous), "to": str(row.status)}
            if row.status is PatrolStatus.COMPLETED:
                changes |= {"auto_closed": True, "ended_at": row.ended_at.isoformat()}
            events.append(
                audit.event(
                    SYSTEM, f"{patrols.PATROL}.{ACTIONS[row.status]}", target_type=patrols.PATROL,
                    target_id=row.id, station_id=row.station_id, changes=changes,
                )
            )  # fmt: skip
    await audit.record_many(session, events)
    await _tell_staff(session, settled)
    return settled


async def _tell_staff(session: AsyncSession, settled: Sequence[Any]) -> None:
    """Tell each site's officer and assistants of its patrols missed, or settled with missed checkpoints."""
    facts = {fact.patrol_id: fact for fact in await repository.notice_facts(session, [r.id for r in settled])}
    staff: dict[uuid.UUID, list[uuid.UUID]] = {}
    notices = []
    for row in settled:
        fact = facts[row.id]
        missed = row.status is PatrolStatus.MISSED
        if not missed and not fact.missed:
            continue
        if row.site_id not in staff:
            staff[row.site_id] = await site_staff(session, row.site_id)
        if not staff[row.site_id]:
            continue
        zone = ZoneInfo(fact.timezone)
        when = f"{row.planned_start.astimezone(zone):%Y-%m-%d %H:%M}–{row.planned_end.astimezone(zone):%H:%M}"
        if missed:
            kind, title, body = "patrol.missed", "巡防未开展", f"{fact.route_name} {when}：无人开始这次巡防。"
        else:
            kind, title = "patrol.checkpoints_missed", "巡防漏检点位"
            names = "、".join(fact.missed)
            body = f"{fact.route_name} {when}：{len(fact.missed)}/{fact.checkpoints} 个点位未到（{names}）。"
        notices.append(
            DeliverPayload(
                recipients=staff[row.site_id], kind=kind, title=title, body=body[:2000],
                link=f"/api/v1/patrols/{row.id}/coverage", dedupe_key=f"{kind}:{row.id}",
            )
        )  # fmt: skip
    await notify_many(session, notices)


async def settle_due(context: JobContext, payload: SettlePayload) -> JsonDict:
    """The sweep: every due patrol, a batch per transaction, until none is left that no one else holds."""
    totals = {"settled": 0, "missed": 0, "auto_closed": 0}
    while True:
        async with session_scope(context.session_factory) as session:
            settled = await settle_batch(session)
        totals["settled"] += len(settled)
        totals["missed"] += sum(row.status is PatrolStatus.MISSED for row in settled)
        totals["auto_closed"] += sum(row.previous is PatrolStatus.IN_PROGRESS for row in settled)
        if len(settled) < BATCH:
            return totals


async def resettle(context: JobContext, payload: ResettlePayload) -> JsonDict:
    """Compute a settled patrol's outcomes and minutes again (its status stays). A patrol not settled yet
    is left to the sweep, which will count everything."""
    session = context.session
    if not await repository.lock_settled(session, payload.patrol_id):
        return {"resettled": False}
    await _store_outcomes(session, [payload.patrol_id])
    await repository.mark_settled(session, payload.patrol_id, utcnow())
    patrol = await session.get(Patrol, payload.patrol_id)
    assert patrol is not None  # locked above
    await _recount(session, [patrol])
    return {"resettled": True}


# Reads


def _outcome(stored: str, still_open: bool) -> CoverageOutcome:
    outcome = CoverageOutcome(stored)
    return CoverageOutcome.NOT_YET if still_open and outcome is CoverageOutcome.MISSED else outcome


async def coverage(session: AsyncSession, actor: Actor, patrol_id: uuid.UUID) -> PatrolCoverage:
    patrol = await patrols.get_patrol(session, actor, patrol_id)
    closes_at = patrol.planned_end + SHIFT_GRACE
    if patrol.settled_at is not None:
        outcomes = await repository.stored_outcomes(session, patrol.id)
        minutes = await repository.stored_minutes(session, patrol.id)
        still_open = False
    else:
        outcomes = await repository.live_outcomes(session, patrol.id)
        minutes = await repository.live_minutes(session, patrol.id)
        still_open = utcnow() < closes_at
    return PatrolCoverage(
        patrol_id=patrol.id, status=patrol.status, planned_start=patrol.planned_start,
        planned_end=patrol.planned_end, window_closes_at=closes_at, settled_at=patrol.settled_at,
        checkpoints=[
            CheckpointCoverage(
                checkpoint_id=row.checkpoint_id, position=row.position, name=row.name,
                outcome=_outcome(row.outcome, still_open), first_reached_at=row.first_reached_at,
                checkins=row.checkins,
            )
            for row in outcomes
        ],
        members=[
            MemberMinutes(
                volunteer_id=row.volunteer_id, name=row.name, verified_minutes=row.verified_minutes,
                verified_checkins=row.verified_checkins, first_verified_at=row.first_verified_at,
                last_verified_at=row.last_verified_at,
            )
            for row in minutes
        ],
    )  # fmt: skip


def _site(row: Any) -> SiteCoverage:
    outcomes = row.checkpoints_hit + row.checkpoints_late + row.checkpoints_missed
    reached = row.checkpoints_hit + row.checkpoints_late
    return SiteCoverage(
        site_id=row.site_id, site_name=row.site_name, station_id=row.station_id,
        patrols=PatrolCounts(
            planned=row.planned, completed=row.completed, missed=row.missed, cancelled=row.cancelled
        ),
        checkpoints=CheckpointCounts(
            hit=row.checkpoints_hit, late=row.checkpoints_late, missed=row.checkpoints_missed
        ),
        coverage_percent=round(100 * reached / outcomes, 1) if outcomes else None,
        verified_minutes=row.verified_minutes,
    )  # fmt: skip


async def summarise(
    session: AsyncSession, actor: Actor, *, month: str, site_id: uuid.UUID | None
) -> CoverageSummary:
    # Figures for a site out of reach would read as "none there": not found instead.
    if site_id is not None and await org_repository.get_site(session, site_id, actor.scope) is None:
        raise SiteNotFound(f"no site {site_id}", zh=f"未找到站点 {site_id}")
    year, number = month.split("-")
    rows = await repository.site_coverage(
        session, actor.scope, month=date(int(year), int(number), 1), site_id=site_id
    )
    return CoverageSummary(month=month, sites=[_site(row) for row in rows])
