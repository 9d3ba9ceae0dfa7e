"""Repeating patrol plans: planning one makes its patrols up to the horizon; bad plans are refused naming the
field, with nothing stored; the list's filters and pages; a change re-makes the patrols to come and keeps
those started; retiring cancels them; local times across DST changes (and in the gap); the job run twice,
or by workers racing, makes each day once; the default leader follows the captain rota."""

import asyncio
import itertools
import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update
from sqlmodel import col

from tests.world import new_volunteer
from yijing.access import SYSTEM, Role
from yijing.db import session_scope
from yijing.groups.models import Group, GroupMembership
from yijing.ids import utcnow
from yijing.jobs import service as jobs
from yijing.org.models import Station
from yijing.patrols.checkins.models import PatrolCheckin
from yijing.patrols.models import Patrol, PatrolStatus
from yijing.patrols.plans import service
from yijing.patrols.plans.jobs import MAKE_PATROLS
from yijing.patrols.plans.models import PatrolPlan
from yijing.patrols.routes.models import PatrolRoute
from yijing.rota import repository as rota_repository
from yijing.rota.reconcile import reconcile_group

PLANS = "/api/v1/patrol-plans"
SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
EVERY_DAY = [1, 2, 3, 4, 5, 6, 7]
_serials = itertools.count(7000)


def tomorrow() -> date:
    return utcnow().astimezone(SHANGHAI).date() + timedelta(days=1)


def plan_body(world, **fields) -> dict:
    return {
        "route_id": str(world.own.route.id),
        "volunteer_ids": [str(world.own.volunteer.id)],
        "weekdays": EVERY_DAY,
        "start_time": "19:00",
        "end_time": "23:00",
        "first_day": tomorrow().isoformat(),
    } | fields


async def create(client, world, **fields) -> dict:
    response = await client.post(PLANS, json=plan_body(world, **fields), headers=world.headers(Role.OFFICER))
    assert response.status_code == 201, response.text
    return response.json()


async def patrols_of(session_factory, plan_id) -> list[Patrol]:
    async with session_factory() as session:
        query = select(Patrol).where(col(Patrol.plan_id) == plan_id).order_by(col(Patrol.plan_day))
        return list((await session.scalars(query)).all())


def day_of(patrol: Patrol) -> date:
    assert patrol.plan_day is not None
    return patrol.plan_day


async def plans_of_station(session_factory, station_id) -> int:
    async with session_factory() as session:
        query = select(func.count()).where(col(PatrolPlan.station_id) == station_id)
        return int(await session.scalar(query) or 0)


async def audit_actions(client, world, target_id) -> list[str]:
    events = await client.get(
        "/api/v1/audit-events", params={"target_id": str(target_id)}, headers=world.headers(Role.ADMIN)
    )
    return sorted(event["action"] for event in events.json()["items"])


def local(moment: datetime, zone: ZoneInfo = SHANGHAI) -> datetime:
    return moment.astimezone(zone)


async def test_staff_plan_a_daily_patrol_and_its_patrols_are_made_to_the_horizon(
    client, world, session_factory
):
    created = await client.post(PLANS, json=plan_body(world), headers=world.headers(Role.OFFICER))
    assert created.status_code == 201, created.text
    plan = created.json()
    assert created.headers["location"] == f"{PLANS}/{plan['id']}"
    assert created.headers["etag"] == '"1"'
    first = tomorrow()
    shape = ("weekdays", "start_time", "end_time", "first_day", "last_day", "horizon_days")
    assert [plan[key] for key in shape] == [EVERY_DAY, "19:00", "23:00", first.isoformat(), None, 14]
    assert (plan["station_id"], plan["site_id"], plan["status"], plan["allowed_actions"]) == (
        str(world.own.station.id), str(world.own.site.id), "in_use", ["retire"],
    )  # fmt: skip
    # Made up to today + 14 in the station's zone: tomorrow's and the 13 days after it.
    assert plan["made_until"] == (first + timedelta(days=13)).isoformat()
    assert plan["members"] == [{"id": str(world.own.volunteer.id), "name": world.own.volunteer.name}]
    assert len(plan["next_patrols"]) == 5
    made = await patrols_of(session_factory, plan["id"])
    assert [patrol.plan_day for patrol in made] == [first + timedelta(days=n) for n in range(14)]
    for patrol in made:
        assert local(patrol.planned_start).replace(tzinfo=None) == datetime.combine(day_of(patrol), time(19))
        assert patrol.planned_end - patrol.planned_start == timedelta(hours=4)
        assert (patrol.status, patrol.leader_volunteer_id) == (PatrolStatus.PLANNED, None)
    assert [item["id"] for item in plan["next_patrols"]] == [str(patrol.id) for patrol in made[:5]]

    read = await client.get(f"{PLANS}/{plan['id']}", headers=world.headers(Role.ASSISTANT))
    assert read.status_code == 200, read.text
    assert (read.json(), read.headers["etag"]) == (plan, '"1"')
    assert await audit_actions(client, world, plan["id"]) == ["patrol_plan.create", "patrol_plan.make"]
    # A volunteer sees the patrols, not the plan.
    assert (
        await client.get(f"{PLANS}/{plan['id']}", headers=world.headers(Role.VOLUNTEER))
    ).status_code == 403


async def test_an_end_at_or_before_the_start_is_the_next_day(client, world, session_factory):
    plan = await create(client, world, start_time="22:00", end_time="02:00", horizon_days=1)
    [patrol] = await patrols_of(session_factory, plan["id"])
    assert local(patrol.planned_start).replace(tzinfo=None) == datetime.combine(tomorrow(), time(22))
    assert local(patrol.planned_end).replace(tzinfo=None) == datetime.combine(
        tomorrow() + timedelta(days=1), time(2)
    )
    # Equal times are a whole day: longer than a patrol lasts.
    refused = await client.post(
        PLANS,
        json=plan_body(world, start_time="19:00", end_time="19:00"),
        headers=world.headers(Role.OFFICER),
    )
    assert refused.status_code == 422, refused.text
    assert [(error["field"], error["code"]) for error in refused.json()["errors"]] == [
        ("body.end_time", "too_long")
    ]


@pytest.mark.parametrize(
    ("case", "fields", "status", "field"),
    [
        ("weekday 0", {"weekdays": [0]}, 422, "body.weekdays.0"),
        ("weekday 8", {"weekdays": [1, 8]}, 422, "body.weekdays.1"),
        ("no weekdays", {"weekdays": []}, 422, "body.weekdays"),
        ("horizon 61", {"horizon_days": 61}, 422, "body.horizon_days"),
        ("horizon 0", {"horizon_days": 0}, 422, "body.horizon_days"),
        ("thirteen hours", {"start_time": "19:00", "end_time": "08:00"}, 422, "body.end_time"),
        ("not a time", {"start_time": "24:00"}, 422, "body.start_time"),
        (
            "last day before first",
            {"last_day": "2026-01-01", "first_day": "2026-01-02"},
            422,
            "body.last_day",
        ),
        ("not a day", {"first_day": "2026-02-30"}, 422, "body.first_day"),
        (
            "unknown volunteer",
            {"volunteer_ids": ["0193a6a4-0000-7c3d-8f2a-3b4c5d6e7f80"]},
            422,
            "body.volunteer_ids",
        ),
        ("no members", {"volunteer_ids": []}, 422, "body.volunteer_ids"),
        ("retired route", {}, 409, "route_retired"),
        ("another station's route", {}, 404, "patrol_route_not_found"),
    ],
)
async def test_bad_plans_are_refused_and_store_nothing(
    case, fields, status, field, client, world, session_factory
):
    body = plan_body(world, **fields)
    if case == "retired route":
        async with session_scope(session_factory) as session:
            await session.execute(
                update(PatrolRoute)
                .where(col(PatrolRoute.id) == world.own.route.id)
                .values(retired_at=utcnow())
            )
    elif case == "another station's route":
        body["route_id"] = str(world.other.route.id)
    response = await client.post(PLANS, json=body, headers=world.headers(Role.OFFICER))
    assert response.status_code == status, f"{case}: {response.text}"
    problem = response.json()
    if status == 422:
        assert field in [error["field"] for error in problem["errors"]], problem
    else:
        assert problem["code"] == field, problem
    assert await plans_of_station(session_factory, world.own.station.id) == 1  # the world's
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).where(col(Patrol.plan_id).is_not(None))) == 0


async def test_only_staff_plan_and_another_stations_plan_is_not_found(client, world):
    refused = await client.post(PLANS, json=plan_body(world), headers=world.headers(Role.VOLUNTEER))
    assert refused.status_code == 403
    url = f"{PLANS}/{world.other.plan.id}"
    officer = world.headers(Role.OFFICER)
    assert (await client.get(url, headers=officer)).status_code == 404
    assert (await client.patch(url, json={"horizon_days": 7}, headers=officer)).status_code == 404
    assert (await client.post(f"{url}/retire", json={"reason": "停"}, headers=officer)).status_code == 404
    assert (await client.get(url, headers=world.headers(Role.ADMIN))).status_code == 200


async def test_list_filters_and_pages(client, world, session_factory):
    async with session_scope(session_factory) as session:
        route = PatrolRoute(station_id=world.own.station.id, site_id=world.own.site.id, name="夜市后街")
        session.add(route)
    daily = await create(client, world, horizon_days=1)
    weekend = await create(client, world, route_id=str(route.id), weekdays=[6, 7], horizon_days=1)
    retired = await client.post(
        f"{PLANS}/{weekend['id']}/retire", json={"reason": "后街改造"}, headers=world.headers(Role.OFFICER)
    )
    assert retired.status_code == 200, retired.text
    own, mine = str(world.own.plan.id), world.headers(Role.LEADER)

    async def ids(**params) -> list[str]:
        response = await client.get(PLANS, params=params, headers=mine)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await ids() == [own, daily["id"], weekend["id"]]
    assert await ids(status="in_use") == [own, daily["id"]]
    assert await ids(status="retired") == [weekend["id"]]
    assert await ids(route_id=str(route.id)) == [weekend["id"]]
    assert await ids(site_id=str(world.own.site.id), route_id=str(world.own.route.id)) == [own, daily["id"]]
    assert await ids(site_id=str(world.other.site.id)) == []
    seen, cursor = [], None
    while True:
        page = (
            await client.get(
                PLANS, params={"limit": 1} | ({"cursor": cursor} if cursor else {}), headers=mine
            )
        ).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [own, daily["id"], weekend["id"]]
    assert (await client.get(PLANS, params={"status": "lost"}, headers=mine)).status_code == 422


async def test_a_change_remakes_the_patrols_to_come_and_keeps_those_started(client, world, session_factory):
    plan = await create(client, world)
    url, officer = f"{PLANS}/{plan['id']}", world.headers(Role.OFFICER)
    before = await patrols_of(session_factory, plan["id"])
    started = await client.post(f"/api/v1/patrols/{before[0].id}/start", headers=officer)
    assert started.status_code == 200, started.text

    body = {"weekdays": [5, 6, 7], "start_time": "20:00", "end_time": "23:30"}
    changed = await client.patch(url, json=body, headers=officer | {"If-Match": '"1"'})
    assert changed.status_code == 200, changed.text
    assert (changed.headers["etag"], changed.json()["weekdays"], changed.json()["start_time"]) == (
        '"2"', [5, 6, 7], "20:00",
    )  # fmt: skip
    after = await patrols_of(session_factory, plan["id"])
    kept, remade = after[0], after[1:]
    assert (kept.id, kept.status, local(kept.planned_start).hour) == (
        before[0].id,
        PatrolStatus.IN_PROGRESS,
        19,
    )
    expected = [day.plan_day for day in before[1:] if day_of(day).isoweekday() in (5, 6, 7)]
    assert [patrol.plan_day for patrol in remade] == expected
    assert not {patrol.id for patrol in remade} & {patrol.id for patrol in before}
    for patrol in remade:
        assert (local(patrol.planned_start).time(), local(patrol.planned_end).time()) == (
            time(20),
            time(23, 30),
        )
    events = await client.get(
        "/api/v1/audit-events", params={"action": "patrol_plan.update"}, headers=world.headers(Role.ADMIN)
    )
    [event] = events.json()["items"]
    assert event["changes"]["start_time"] == "20:00:00"
    assert sorted(event["changes"]["patrols_removed"]) == sorted(str(patrol.id) for patrol in before[1:])

    stale = await client.patch(url, json={"horizon_days": 7}, headers=officer | {"If-Match": '"1"'})
    assert stale.status_code == 412
    same = await client.patch(url, json={}, headers=officer)
    assert same.json()["version"] == 2
    assert [patrol.id for patrol in await patrols_of(session_factory, plan["id"])] == [p.id for p in after]
    for bad, field in (
        ({"end_time": "09:00"}, "body.end_time"),
        ({"last_day": "2020-01-01"}, "body.last_day"),
        ({"weekdays": [9]}, "body.weekdays.0"),
        ({"leader_volunteer_id": str(world.other.volunteer.id)}, "body.leader_volunteer_id"),
    ):
        refused = await client.patch(url, json=bad, headers=officer)
        assert refused.status_code == 422, refused.text
        assert field in [error["field"] for error in refused.json()["errors"]]
    assert (await client.patch(url, json={}, headers=world.headers(Role.VOLUNTEER))).status_code == 403


async def test_retiring_cancels_the_patrols_to_come(client, world, session_factory):
    plan = await create(client, world, horizon_days=3)
    url, officer = f"{PLANS}/{plan['id']}", world.headers(Role.OFFICER)
    before = await patrols_of(session_factory, plan["id"])
    await client.post(f"/api/v1/patrols/{before[0].id}/start", headers=officer)
    assert (await client.post(f"{url}/retire", json={}, headers=officer)).status_code == 422
    stale = await client.post(
        f"{url}/retire", json={"reason": "夜市停业"}, headers=officer | {"If-Match": '"2"'}
    )
    assert stale.status_code == 412

    retired = await client.post(
        f"{url}/retire", json={"reason": "夜市停业"}, headers=officer | {"If-Match": '"1"'}
    )
    assert retired.status_code == 200, retired.text
    assert (retired.json()["status"], retired.json()["allowed_actions"], retired.headers["etag"]) == (
        "retired", [], '"2"',
    )  # fmt: skip
    after = await patrols_of(session_factory, plan["id"])
    assert [(patrol.status, patrol.cancel_reason) for patrol in after] == [
        (PatrolStatus.IN_PROGRESS, None),
        *[(PatrolStatus.CANCELLED, "夜市停业")] * (len(before) - 1),
    ]
    again = await client.post(f"{url}/retire", json={"reason": "再停"}, headers=officer)
    assert (again.status_code, again.json()["code"], again.json()["current_status"]) == (
        409, "transition_not_allowed", "retired",
    )  # fmt: skip
    edit = await client.patch(url, json={"horizon_days": 7}, headers=officer)
    assert (edit.status_code, edit.json()["code"]) == (409, "plan_retired")
    assert await audit_actions(client, world, plan["id"]) == [
        "patrol_plan.create", "patrol_plan.make", "patrol_plan.retire",
    ]  # fmt: skip
    # The job leaves a retired plan alone.
    async with session_scope(session_factory) as session:
        await session.execute(
            update(PatrolPlan).where(col(PatrolPlan.id) == plan["id"]).values(made_until=None)
        )
    run = await jobs.execute(session_factory, world.settings, MAKE_PATROLS, {})
    assert run.result == {"plans": 0, "patrols": 0}


async def make_at(session_factory, plan_id, now: datetime) -> list:
    """Run the plan's making as the job would at ``now``."""
    async with session_scope(session_factory) as session:
        plan = await session.get(PatrolPlan, plan_id, with_for_update=True)
        assert plan is not None
        return await service.make_patrols(session, SYSTEM, plan, now)


async def in_berlin(session_factory, world) -> None:
    async with session_scope(session_factory) as session:
        await session.execute(
            update(Station).where(col(Station.id) == world.own.station.id).values(timezone="Europe/Berlin")
        )


async def test_a_daily_plan_keeps_its_local_time_across_both_dst_changes(client, world, session_factory):
    await in_berlin(session_factory, world)
    plan = await create(client, world, first_day="2027-03-21")  # nothing yet: beyond the horizon
    assert await patrols_of(session_factory, plan["id"]) == []
    # Two runs of the job, a week before each change: each makes the 15 days of its horizon.
    await make_at(session_factory, plan["id"], datetime(2027, 3, 21, 8, tzinfo=UTC))
    await make_at(session_factory, plan["id"], datetime(2027, 10, 24, 8, tzinfo=UTC))
    made = await patrols_of(session_factory, plan["id"])
    assert len(made) == 30
    for patrol in made:
        start, end = local(patrol.planned_start, BERLIN), local(patrol.planned_end, BERLIN)
        assert (start.date(), start.time(), end.time()) == (patrol.plan_day, time(19), time(23))
        summer = date(2027, 3, 28) <= day_of(patrol) < date(2027, 10, 31)
        assert patrol.planned_start.astimezone(UTC).hour == (17 if summer else 18), patrol.plan_day
        assert patrol.planned_end - patrol.planned_start == timedelta(hours=4)
    assert {patrol.plan_day for patrol in made} >= {date(2027, 3, 28), date(2027, 10, 31)}


async def test_a_time_the_zone_skips_moves_on_and_a_repeated_one_is_the_first(client, world, session_factory):
    await in_berlin(session_factory, world)
    # Sundays at 02:30: on 28 March 2027 02:00 jumps to 03:00, on 31 October 03:00 falls back to 02:00.
    plan = await create(
        client, world, weekdays=[7], start_time="02:30", end_time="04:00", first_day="2027-03-21"
    )
    await make_at(session_factory, plan["id"], datetime(2027, 3, 20, 12, tzinfo=UTC))
    await make_at(session_factory, plan["id"], datetime(2027, 10, 24, 12, tzinfo=UTC))
    shifts = {
        patrol.plan_day: (patrol.planned_start.astimezone(UTC), patrol.planned_end.astimezone(UTC))
        for patrol in await patrols_of(session_factory, plan["id"])
    }
    assert shifts[date(2027, 3, 21)] == (
        datetime(2027, 3, 21, 1, 30, tzinfo=UTC),
        datetime(2027, 3, 21, 3, tzinfo=UTC),
    )
    # 02:30 does not exist: 03:30 CEST (the gap's hour later), to 04:00 CEST.
    assert shifts[date(2027, 3, 28)] == (
        datetime(2027, 3, 28, 1, 30, tzinfo=UTC),
        datetime(2027, 3, 28, 2, tzinfo=UTC),
    )
    assert local(shifts[date(2027, 3, 28)][0], BERLIN).time() == time(3, 30)
    # 02:30 happens twice: the first (CEST, +02:00); 04:00 is CET.
    assert shifts[date(2027, 10, 31)] == (
        datetime(2027, 10, 31, 0, 30, tzinfo=UTC),
        datetime(2027, 10, 31, 3, tzinfo=UTC),
    )


async def test_the_job_run_twice_makes_each_day_once(world, session_factory, settings):
    async with session_scope(session_factory) as session:
        plan = PatrolPlan(
            station_id=world.own.station.id, site_id=world.own.site.id, route_id=world.own.route.id,
            group_id=world.own.group.id, weekdays=EVERY_DAY, start_time=time(19), end_time=time(23),
            first_day=tomorrow(),
        )  # fmt: skip
        session.add(plan)
    first = await jobs.execute(session_factory, settings, MAKE_PATROLS, {})
    assert first.result == {"plans": 1, "patrols": 14}
    second = await jobs.execute(session_factory, settings, MAKE_PATROLS, {})
    assert second.result == {"plans": 0, "patrols": 0}
    # Even told to start over, it makes no day twice.
    async with session_scope(session_factory) as session:
        await session.execute(update(PatrolPlan).where(col(PatrolPlan.id) == plan.id).values(made_until=None))
    again = await jobs.execute(session_factory, settings, MAKE_PATROLS, {"plan_ids": [str(plan.id)]})
    assert again.result == {"plans": 1, "patrols": 0}
    made = await patrols_of(session_factory, plan.id)
    assert [patrol.plan_day for patrol in made] == [tomorrow() + timedelta(days=n) for n in range(14)]
    # The group's one member walks each, as the captain of every week.
    assert {patrol.leader_volunteer_id for patrol in made} == {world.own.volunteer.id}


@pytest.mark.committed  # concurrent transactions need connections of their own
async def test_workers_racing_make_each_day_once(world, session_factory, settings):
    async with session_scope(session_factory) as session:
        plans = [
            PatrolPlan(
                station_id=world.own.station.id,
                site_id=world.own.site.id,
                route_id=world.own.route.id,
                group_id=world.own.group.id,
                weekdays=EVERY_DAY,
                start_time=time(19),
                end_time=time(23),
                first_day=tomorrow(),
                horizon_days=horizon,
            )
            for horizon in (14, 30, 60)
        ]
        session.add_all(plans)
    runs = await asyncio.gather(
        *(jobs.execute(session_factory, settings, MAKE_PATROLS, {}) for _ in range(3))
    )
    assert sum(run.result["patrols"] for run in runs if run.result) == 14 + 30 + 60
    async with session_factory() as session:
        query = select(
            col(Patrol.plan_id), func.count(), func.count(func.distinct(col(Patrol.plan_day)))
        ).where(col(Patrol.plan_id).is_not(None))
        counts = {
            plan_id: (rows, days)
            for plan_id, rows, days in (await session.execute(query.group_by(col(Patrol.plan_id)))).all()
        }
    assert counts == {plans[0].id: (14, 14), plans[1].id: (30, 30), plans[2].id: (60, 60)}


async def test_the_default_leader_is_each_weeks_captain(client, world, session_factory, settings):
    async with session_scope(session_factory) as session:
        group = Group(station_id=world.own.station.id, site_id=world.own.site.id, name="夜市第2组")
        session.add(group)
        volunteers = [new_volunteer(settings, world.own.site, next(_serials)) for _ in range(3)]
        session.add_all(volunteers)
        await session.flush()
        for volunteer in volunteers:
            session.add(
                GroupMembership(
                    group_id=group.id, volunteer_id=volunteer.id, joined_at=datetime(2020, 1, 1, tzinfo=UTC)
                )
            )
        await session.flush()
        await reconcile_group(session, group.id, utcnow())
    plan = await create(client, world, group_id=str(group.id), volunteer_ids=[], horizon_days=21)
    made = await patrols_of(session_factory, plan["id"])
    assert len(made) == 21
    async with session_factory() as session:
        for patrol in made:
            week = await rota_repository.week_at(session, group.id, patrol.planned_start)
            assert week is not None
            assert patrol.leader_volunteer_id == week.volunteer_id, patrol.plan_day
    # Three weeks, three captains in turn.
    assert len({patrol.leader_volunteer_id for patrol in made}) == 3


async def test_a_patrol_with_check_ins_is_kept_and_a_retired_route_stops_the_plan(
    client, world, session_factory, settings
):
    plan = await create(client, world, horizon_days=2)
    url, officer = f"{PLANS}/{plan['id']}", world.headers(Role.OFFICER)
    scanned, other = await patrols_of(session_factory, plan["id"])
    checkpoint = world.own.checkpoint
    async with session_scope(session_factory) as session:
        session.add(
            PatrolCheckin(
                station_id=world.own.station.id,
                patrol_id=scanned.id,
                volunteer_id=world.own.volunteer.id,
                client_id=uuid.uuid4(),
                fingerprint="0" * 64,
                checkpoint_id=checkpoint.id,
                code=checkpoint.code,
                latitude=checkpoint.latitude,
                longitude=checkpoint.longitude,
                accuracy_m=5,
                distance_m=0,
                captured_at=utcnow(),
                received_at=utcnow(),
            )
        )
    changed = await client.patch(url, json={"start_time": "18:30"}, headers=officer)
    assert changed.status_code == 200, changed.text
    kept, remade = await patrols_of(session_factory, plan["id"])
    assert (kept.id, local(kept.planned_start).time()) == (scanned.id, time(19))
    assert remade.id != other.id
    assert local(remade.planned_start).time() == time(18, 30)

    async with session_scope(session_factory) as session:
        await session.execute(
            update(PatrolRoute).where(col(PatrolRoute.id) == world.own.route.id).values(retired_at=utcnow())
        )
        await session.execute(
            update(PatrolPlan).where(col(PatrolPlan.id) == plan["id"]).values(made_until=None)
        )
    refused = await client.patch(url, json={"horizon_days": 7}, headers=officer)
    assert (refused.status_code, refused.json()["code"]) == (409, "route_retired")
    run = await jobs.execute(session_factory, settings, MAKE_PATROLS, {})
    assert run.result == {"plans": 0, "patrols": 0}
