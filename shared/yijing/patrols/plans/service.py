"""Repeating patrol plans and the concrete patrols they make ahead.

A plan's days are the days of its weekdays from ``first_day`` (to ``last_day``); each gets one patrol
(``patrols.plan_id``, ``plan_day``), made from today in the station's time zone up to ``horizon_days``
ahead: right after the plan is made or changed (in the same transaction) and by the worker's hourly job as
days come within the horizon. A day whose shift is already over gets none.

Times are wall-clock times in the station's zone on the plan's day (``stations.timezone``): a patrol starts
at 19:00 local on either side of a DST change, its UTC offset changes. A start or end the zone skips
(spring forward) moves on by the gap (02:30 in a 02:00→03:00 gap is 03:30); one it repeats (fall back) is
its first occurrence. So a night shift across a change lasts an hour more or less than on the clock, and a
shift lying wholly in a gap is not made that day.

Members and leader are worked out per patrol by :func:`yijing.patrols.service.crew`, as when a patrol is
planned by hand: the volunteers named and the group's active members then; the leader named, else the
group's captain of that patrol's week (if the rota has planned it). Checked strictly when the plan is made
or changed; on later days a volunteer no longer active is left out (and a day with nobody left is skipped).

Idempotent: the plan's row is locked while its patrols are made, and each patrol is inserted with ON
CONFLICT (plan_id, plan_day) DO NOTHING, so the job run twice, or by two workers at once, makes each day
once. ``made_until`` records progress and is no edit: it changes neither the version nor ``updated_at``.

Changing a plan re-makes its patrols still to come (planned, start in the future) in the same transaction:
they are deleted and made again from the new plan (new ids); a patrol already started, over, cancelled, or
with check-ins or log entries never changes (its day keeps it). Retiring a plan cancels its patrols still to
come, with the reason given.

Audit: the plan's create, update and retire (the latter two with the patrols removed or cancelled), and one
``patrol_plan.make`` event per plan and run that made patrols, listing them by day (by the caller when a
request made them, by the system in the job), rather than one per patrol."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import Field
from pydantic_core import to_jsonable_python
from sqlalchemy.ext.asyncio import AsyncSession

from yijing.access import SYSTEM, Actor
from yijing.audit import service as audit
from yijing.db import session_scope
from yijing.errors import InvalidInput, check_version
from yijing.ids import new_id, utcnow
from yijing.jobs.registry import JobContext, JobPayload, JsonDict
from yijing.kit.lifecycle import Lifecycle
from yijing.kit.pagination import Page, PageParams, page_of
from yijing.kit.reads import LeanRow, Reader
from yijing.kit.versions import apply_changes
from yijing.patrols import repository as patrols_repository
from yijing.patrols import service as patrols
from yijing.patrols.models import MAX_HOURS, PatrolStatus
from yijing.patrols.plans import repository
from yijing.patrols.plans.errors import PatrolPlanNotFound, PlanRetired
from yijing.patrols.plans.models import PatrolPlan
from yijing.patrols.plans.schemas import (
    NEXT_PATROLS,
    PatrolPlanCreate,
    PatrolPlanDetail,
    PatrolPlanFilters,
    PatrolPlanRead,
    PatrolPlanUpdate,
    PlanMemberRead,
    PlanStatus,
    RetireAction,
)
from yijing.patrols.routes import repository as routes_repository
from yijing.patrols.routes.errors import PatrolRouteNotFound, RouteRetired
from yijing.patrols.routes.models import PatrolRoute
from yijing.rota import repository as rota_repository

PLAN = "patrol_plan"


class PlanAction(StrEnum):
    RETIRE = "retire"  # in use → retired: kept, with the patrols it made; its patrols to come are cancelled


# Retired is final: a patrol walked on other days or times from then on is a new plan (or a changed one).
LIFECYCLE = Lifecycle(
    "patrol plan", {PlanAction.RETIRE: ({PlanStatus.IN_USE}, PlanStatus.RETIRED)}, subject_zh="巡防计划"
)


def status_of(plan: PatrolPlan | LeanRow) -> PlanStatus:
    return PlanStatus.IN_USE if plan.retired_at is None else PlanStatus.RETIRED


def _allowed(status: PlanStatus) -> list[str]:
    return [str(action) for action in LIFECYCLE.allowed(status)]


def read(plan: PatrolPlan | LeanRow) -> PatrolPlanRead:
    status = status_of(plan)
    return PatrolPlanRead.of(plan, status, _allowed(status))


async def detail(reader: Reader, plan: PatrolPlan | LeanRow) -> PatrolPlanDetail:
    """The plan with its members and next patrols (read lean), from its record or a lean row."""
    members = [PlanMemberRead.of(member) for member in await repository.members(reader, plan.id)]
    coming = await repository.next_patrols(reader, plan.id, utcnow(), NEXT_PATROLS)
    status = status_of(plan)
    return PatrolPlanDetail.with_details(
        plan, status, _allowed(status), members, [patrols.read(patrol) for patrol in coming]
    )


async def _record(
    session: AsyncSession, actor: Actor, action: str, plan: PatrolPlan, changes: dict[str, Any]
) -> None:
    await audit.record(
        session, actor, f"{PLAN}.{action}", target_type=PLAN, target_id=plan.id, station_id=plan.station_id,
        changes=changes,
    )  # fmt: skip


# Reading


def _not_found(plan_id: uuid.UUID) -> PatrolPlanNotFound:
    return PatrolPlanNotFound(f"no patrol plan {plan_id}", zh=f"未找到巡防计划 {plan_id}")


async def read_plan(reader: Reader, actor: Actor, plan_id: uuid.UUID) -> PatrolPlanDetail:
    """A plan within the caller's reach, with its members and next patrols (read lean)."""
    row = await repository.read(reader, plan_id, actor.scope)
    if row is None:
        raise _not_found(plan_id)
    return await detail(reader, row)


async def list_plans(
    reader: Reader, actor: Actor, filters: PatrolPlanFilters, page: PageParams
) -> Page[PatrolPlanRead]:
    plans = await repository.list_plans(reader, actor.scope, filters, page)
    return page_of(plans, page.limit, read)


# Days and times


def _check_shape(start_time: time, end_time: time, first_day: date, last_day: date | None) -> None:
    if last_day is not None and last_day < first_day:
        raise InvalidInput.on(
            "body.last_day", "must be on or after first_day", "ends_before_first", zh="不得早于 first_day"
        )
    start, end = (moment.hour * 60 + moment.minute for moment in (start_time, end_time))
    minutes = end - start if end > start else end - start + 24 * 60
    if minutes > MAX_HOURS * 60:
        message = f"a patrol lasts at most {MAX_HOURS} hours (an end at or before the start is the next day)"
        zh = f"一次巡防最长 {MAX_HOURS} 小时（结束时间不晚于开始时间的，视为次日结束）"
        raise InvalidInput.on("body.end_time", message, "too_long", zh=zh)


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The instant of the wall-clock time ``at`` on ``day`` in ``zone``. With fold 0 (PEP 495) a time in a
    spring-forward gap takes the offset before the change, which moves it on by the gap; a time repeated at
    fall back is its first occurrence."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def shift(plan: PatrolPlan, day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The planned start and end of the plan's patrol on ``day``."""
    end_day = day + timedelta(days=1) if plan.end_time <= plan.start_time else day
    return local_instant(day, plan.start_time, zone), local_instant(end_day, plan.end_time, zone)


# Making patrols


async def make_patrols(
    session: AsyncSession, actor: Actor, plan: PatrolPlan, now: datetime
) -> list[uuid.UUID]:
    """Make the plan's patrols from today (or the day after ``made_until``) to its horizon; the new
    patrols' ids. The caller holds the plan's row lock. A plan whose route was retired makes none."""
    route = await routes_repository.get_route(session, plan.route_id, SYSTEM.scope)
    if plan.retired_at is not None or route is None or route.retired_at is not None:
        return []
    zone = ZoneInfo(await rota_repository.station_timezone(session, plan.station_id))
    today = now.astimezone(zone).date()
    until = today + timedelta(days=plan.horizon_days)
    if plan.last_day is not None:
        until = min(until, plan.last_day)
    first = max(plan.first_day, today)
    if plan.made_until is not None:
        first = max(first, plan.made_until + timedelta(days=1))
    rows, crews = await _patrol_rows(session, plan, route, zone, first, until, now)
    made = await repository.insert_patrols(session, rows)
    if made:
        members = [
            {"patrol_id": patrol_id, "volunteer_id": volunteer_id, "source": source}
            for patrol_id, day in made
            for volunteer_id, source in crews[day].members.items()
        ]
        await patrols_repository.add_members(session, members)
        by_day = {str(day): str(patrol_id) for patrol_id, day in sorted(made, key=lambda item: item[1])}
        await _record(session, actor, "make", plan, {"patrols": by_day})
    if plan.made_until is None or until > plan.made_until:
        plan.made_until = until
        await repository.save(session, plan)
    return [patrol_id for patrol_id, _ in made]


async def _patrol_rows(
    session: AsyncSession,
    plan: PatrolPlan,
    route: PatrolRoute,
    zone: ZoneInfo,
    first: date,
    until: date,
    now: datetime,
) -> tuple[list[dict[str, Any]], dict[date, patrols.Crew]]:
    """The rows of the plan's patrols from ``first`` to ``until`` and each day's crew."""
    named = await repository.member_ids(session, plan.id)
    rows: list[dict[str, Any]] = []
    crews: dict[date, patrols.Crew] = {}
    for offset in range((until - first).days + 1):
        day = first + timedelta(days=offset)
        if day.isoweekday() not in plan.weekdays:
            continue
        start, end = shift(plan, day, zone)
        if end <= now or end <= start:  # over already, or wholly in a spring-forward gap
            continue
        chosen = await patrols.crew(
            session, SYSTEM.scope, route, group_id=plan.group_id, volunteer_ids=named,
            leader_volunteer_id=plan.leader_volunteer_id, start=start, lenient=True,
        )  # fmt: skip
        if not chosen.members:
            continue
        crews[day] = chosen
        rows.append(
            {
                "id": new_id(),
                "station_id": plan.station_id,
                "site_id": plan.site_id,
                "route_id": plan.route_id,
                "group_id": plan.group_id,
                "planned_start": start,
                "planned_end": end,
                "leader_volunteer_id": chosen.leader,
                "status": PatrolStatus.PLANNED,
                "plan_id": plan.id,
                "plan_day": day,
                "auto_closed": False,
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
    return rows, crews


# Planning and changing


async def create_plan(session: AsyncSession, actor: Actor, data: PatrolPlanCreate) -> PatrolPlan:
    route = await routes_repository.get_route(session, data.route_id, actor.scope)
    if route is None:
        raise PatrolRouteNotFound(f"no patrol route {data.route_id}", zh=f"未找到巡防路线 {data.route_id}")
    if route.retired_at is not None:
        raise RouteRetired(
            f"the patrol route {route.id} is retired: no new patrols walk it",
            zh=f"巡防路线 {route.id} 已停用，不能再安排新的巡防",
        )
    _check_shape(data.start_time, data.end_time, data.first_day, data.last_day)
    now = utcnow()
    named = list(dict.fromkeys(data.volunteer_ids))
    await patrols.crew(
        session, actor.scope, route, group_id=data.group_id, volunteer_ids=named,
        leader_volunteer_id=data.leader_volunteer_id, start=now,
    )  # fmt: skip
    plan = PatrolPlan(
        station_id=route.station_id, site_id=route.site_id, route_id=route.id, group_id=data.group_id,
        leader_volunteer_id=data.leader_volunteer_id, weekdays=data.weekdays, start_time=data.start_time,
        end_time=data.end_time, first_day=data.first_day, last_day=data.last_day,
        horizon_days=data.horizon_days,
    )  # fmt: skip
    await repository.save(session, plan)
    await repository.set_members(session, plan.id, named)
    await _record(session, actor, "create", plan, data.model_dump(mode="json", exclude_none=True))
    await make_patrols(session, actor, plan, now)
    return plan


async def _plan_to_change(
    session: AsyncSession, actor: Actor, plan_id: uuid.UUID, expected_version: int | None
) -> PatrolPlan:
    """The plan, locked for this transaction (the job making its patrols waits), after the caller's If-Match
    is checked."""
    plan = await repository.get(session, plan_id, actor.scope, for_update=True)
    if plan is None:
        raise _not_found(plan_id)
    check_version(plan.version, expected_version)
    return plan


_REMOVABLE = frozenset({"group_id", "leader_volunteer_id", "last_day"})


async def update_plan(
    session: AsyncSession,
    actor: Actor,
    plan_id: uuid.UUID,
    data: PatrolPlanUpdate,
    expected_version: int | None,
) -> PatrolPlan:
    plan = await _plan_to_change(session, actor, plan_id, expected_version)
    if plan.retired_at is not None:
        raise PlanRetired(
            f"the patrol plan {plan.id} is retired: it takes no edits",
            zh=f"巡防计划 {plan.id} 已停用，不能再修改",
        )
    route = await routes_repository.get_route(session, plan.route_id, actor.scope)
    if route is None or route.retired_at is not None:
        raise RouteRetired(
            f"the patrol route {plan.route_id} is retired: no new patrols walk it",
            zh=f"巡防路线 {plan.route_id} 已停用，不能再安排新的巡防",
        )
    # Fields as given (a dump would turn times into text). Null removes the group, the named leader or the
    # last day; any other field sent as null stays as it is.
    given = {name: getattr(data, name) for name in data.model_fields_set - {"volunteer_ids"}}
    updates = {name: value for name, value in given.items() if value is not None or name in _REMOVABLE}
    _check_shape(
        updates.get("start_time", plan.start_time), updates.get("end_time", plan.end_time),
        updates.get("first_day", plan.first_day), updates.get("last_day", plan.last_day),
    )  # fmt: skip
    named_before = await repository.member_ids(session, plan.id)
    named = named_before if data.volunteer_ids is None else list(dict.fromkeys(data.volunteer_ids))
    now = utcnow()
    await patrols.crew(
        session, actor.scope, route, group_id=updates.get("group_id", plan.group_id), volunteer_ids=named,
        leader_volunteer_id=updates.get("leader_volunteer_id", plan.leader_volunteer_id), start=now,
    )  # fmt: skip
    changes = apply_changes(plan, updates)
    if set(named) != set(named_before):
        await repository.set_members(session, plan.id, named)
        changes["volunteer_ids"] = [str(volunteer_id) for volunteer_id in named]
        if len(changes) == 1:  # only the names changed: apply_changes bumped nothing
            plan.version += 1
            plan.updated_at = now
    if not changes:
        return plan
    removed = await repository.remove_unstarted(session, plan.id, now)
    plan.made_until = None  # made again from today
    await repository.save(session, plan)
    removed_ids = [str(patrol_id) for patrol_id in removed]
    # apply_changes leaves days and times as they are: the audit log stores JSON.
    await _record(
        session, actor, "update", plan, to_jsonable_python(changes) | {"patrols_removed": removed_ids}
    )
    await make_patrols(session, actor, plan, now)
    return plan


async def take_action(
    session: AsyncSession,
    actor: Actor,
    plan_id: uuid.UUID,
    action: PlanAction,
    body: RetireAction,
    expected_version: int | None,
) -> PatrolPlan:
    plan = await _plan_to_change(session, actor, plan_id, expected_version)
    previous = status_of(plan)
    target = LIFECYCLE.require(previous, action)
    now = utcnow()
    # Retiring is the only action: the status is whether the plan has a retired_at.
    plan.retired_at = plan.updated_at = now
    plan.version += 1
    await repository.save(session, plan)
    cancelled = await repository.cancel_unstarted(session, plan.id, now, body.reason)
    changes = {
        "from": str(previous),
        "to": str(target),
        "reason": body.reason,
        "patrols_cancelled": [str(patrol_id) for patrol_id in cancelled],
    }
    await _record(session, actor, str(action), plan, changes)
    return plan


# The worker's job

# Plans served per run at most; the next run takes the rest.
BATCH = 5_000


class PlansPayload(JobPayload):
    plan_ids: list[uuid.UUID] | None = Field(
        default=None, max_length=1000, description="Only these plans; by default every plan that is due"
    )


async def make_due_patrols(context: JobContext, payload: PlansPayload) -> JsonDict:
    """Make every due plan's patrols up to its horizon. One transaction per plan, under the plan's row
    lock, so that a slow plan holds up no other and two workers at once make each day once."""
    now = utcnow()
    if payload.plan_ids is None:
        plan_ids = list(await repository.due_plan_ids(context.session, now, BATCH))
    else:
        plan_ids = payload.plan_ids
    totals = {"plans": 0, "patrols": 0}
    for plan_id in plan_ids:
        async with session_scope(context.session_factory) as session:
            plan = await repository.get(session, plan_id, SYSTEM.scope, for_update=True)
            if plan is None:
                continue
            made = await make_patrols(session, SYSTEM, plan, now)
        totals["plans"] += 1
        totals["patrols"] += len(made)
    return totals
