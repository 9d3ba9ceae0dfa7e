"""Each site's groups of ten ("每十户为一组") and their weekly captains, since each site opened."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from yijing.access import SYSTEM, Actor, Principal, StationScope
from yijing.demo.context import TIMEZONE, DemoContext, opening
from yijing.demo.org import OFFICERS, VOLUNTEER
from yijing.groups import repository as group_repository
from yijing.groups import service as group_service
from yijing.groups.models import Group
from yijing.identity.models import User
from yijing.ids import utcnow
from yijing.rota import repository as rota_repository
from yijing.rota import service as rota_service
from yijing.rota.models import Unavailability
from yijing.rota.reconcile import handoff_of, reconcile_group
from yijing.rota.schemas import OverrideRequest, UnavailabilityCreate
from yijing.volunteers.models import Volunteer

GROUP_SIZE = 10  # "每十户为一组"
# The captain weeks stored before now (the groups themselves date from each site's opening), and how often
# the history is reconciled: within the groups' eight-week horizon, so the stored weeks run on unbroken, as
# if the worker had been running all along. A few months keep loading the demo to seconds.
HISTORY = timedelta(weeks=16)
HISTORY_STEP = timedelta(weeks=4)


async def load(demo: DemoContext) -> int:
    """Each site's active volunteers in groups of ten since the site opened, made as auto-assign makes them,
    and HISTORY of captain weeks: the rota reconciled every HISTORY_STEP up to now, as the worker would have
    done. A few members were away at times (the rota passed them over, or will), and an officer has chosen
    one coming week's captain of the demo volunteer's group by hand."""
    session, station_id, users = demo.session, demo.station.id, demo.users
    now = utcnow()
    since = now - HISTORY
    site_groups: list[list[uuid.UUID]] = []
    for index, site in enumerate(demo.sites):
        opened = opening(index)
        assigned = await group_service.auto_assign(
            session, SYSTEM, site.id, GROUP_SIZE, now=since, joined_at=opened
        )
        site_groups.append([group.id for group in assigned.groups])
        for made in assigned.groups:
            group = await session.get(Group, made.id)
            assert group is not None
            group.created_at = group.updated_at = opened
    await _time_away(session, station_id, site_groups, since, users[OFFICERS[0].phone])
    every = [group_id for groups in site_groups for group_id in groups]
    for group_id in every:
        moment = since + HISTORY_STEP
        while moment < now:
            await reconcile_group(session, group_id, moment)
            moment += HISTORY_STEP
    volunteer = await session.get(Volunteer, demo.keeper_id)
    assert volunteer is not None
    volunteer.user_id = users[VOLUNTEER.phone].id
    await session.flush()
    for group_id in every:
        await reconcile_group(session, group_id, now)
    await _upcoming(session, _actor(users[OFFICERS[0].phone], station_id), site_groups, volunteer, now)
    return sum(len(groups) for groups in site_groups)


def _actor(user: User, station_id: uuid.UUID) -> Actor:
    """A staff member acting through the services, as through the API (for the audit log and reach)."""
    scope = StationScope(frozenset({station_id}))
    return Actor(Principal(kind="user", id=user.id, scope=scope, role=user.role, station_id=station_id))


async def _members(session: AsyncSession, group_id: uuid.UUID) -> list[Volunteer]:
    """In join order: the order the rota first gives them turns in."""
    return [volunteer for _, volunteer in await group_repository.members(session, group_id)]


# Members away in the past, recorded before the history is planned, each over the week the rota would have
# made them captain (so it passed them over): (site, group, weeks after the rota began, days, reason). Weeks
# from the tenth on: the first nine were planned when the groups were made.
_AWAY = (
    (0, 0, 9, 13, "回老家探亲"),
    (0, 2, 11, 6, "外出进货"),
    (1, 0, 12, 13, "住院手术"),
    (3, 1, 14, 6, "外出务工"),
)


async def _time_away(
    session: AsyncSession,
    station_id: uuid.UUID,
    site_groups: list[list[uuid.UUID]],
    since: datetime,
    officer: User,
) -> None:
    for site, group_index, weeks, days, reason in _AWAY:
        group = await session.get(Group, site_groups[site][group_index])
        assert group is not None
        members = await _members(session, group.id)
        starts_on = handoff_of(group, TIMEZONE.key).week_start(since) + timedelta(weeks=weeks)
        recorded = datetime.combine(starts_on - timedelta(days=10), datetime.min.time(), TIMEZONE)
        await rota_repository.save(
            session,
            Unavailability(
                volunteer_id=members[weeks % len(members)].id, station_id=station_id, starts_on=starts_on,
                ends_on=starts_on + timedelta(days=days), reason=reason, created_by=officer.id,
                created_at=recorded,
            ),
        )  # fmt: skip


async def _upcoming(
    session: AsyncSession,
    officer: Actor,
    site_groups: list[list[uuid.UUID]],
    volunteer: Volunteer,
    now: datetime,
) -> None:
    """Through the services, as an officer would: two captains of coming weeks away (the rota re-plans), and
    a coming week of the demo volunteer's group given to them by hand."""
    for site, group_index, weeks, days, reason in ((0, 1, 2, 9, "陪护家人就医"), (2, 0, 3, 6, "外出学习")):
        group = await group_service.get_group(session, officer, site_groups[site][group_index])
        week_start = handoff_of(group, TIMEZONE.key).week_start(now) + timedelta(weeks=weeks)
        planned = await rota_repository.week_by_start(session, group.id, week_start)
        assert planned is not None
        away = UnavailabilityCreate(
            starts_on=week_start, ends_on=week_start + timedelta(days=days), reason=reason
        )
        await rota_service.add_unavailability(session, officer, planned.volunteer_id, away)
    membership = await group_repository.open_membership(session, volunteer.id)
    assert membership is not None
    group = await group_service.get_group(session, officer, membership.group_id)
    next_week = handoff_of(group, TIMEZONE.key).week_start(now) + timedelta(weeks=1)
    for week_start in (next_week, next_week + timedelta(weeks=1)):
        planned = await rota_repository.week_by_start(session, group.id, week_start)
        if planned is not None and planned.volunteer_id != volunteer.id:
            request = OverrideRequest(
                volunteer_id=volunteer.id, reason="夜市周末促销活动，由熟悉摊位的队员带班"
            )
            await rota_service.override(session, officer, group.id, week_start, request)
            return
