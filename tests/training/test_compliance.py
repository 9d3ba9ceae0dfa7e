"""Monthly training compliance: each figure is a count of attendance records (months read in the station's
time zone), excused is not trained, the volunteers' list pages and filters, CSV and XLSX hold the sites' and
the volunteers' rows, the site filter, reach, and the statistics' rollups agree."""

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

from openpyxl import load_workbook

from tests.stats.test_stats import settle
from tests.world import World, new_volunteer
from yijing.access import Role
from yijing.db import session_scope
from yijing.ids import station_today
from yijing.org.models import Site
from yijing.training.models import (
    AttendanceStatus,
    Training,
    TrainingAttendance,
    TrainingMode,
    TrainingStatus,
)
from yijing.training.service import recount
from yijing.volunteers.models import Volunteer, VolunteerStatus

COMPLIANCE = "/api/v1/trainings/compliance"
VOLUNTEERS = f"{COMPLIANCE}/volunteers"
# October 2023 in Shanghai runs from 2023-09-30 16:00 UTC to 2023-10-31 16:00 UTC.
OCTOBER_STARTS = datetime(2023, 9, 30, 16, tzinfo=UTC)
OCTOBER_ENDS = datetime(2023, 10, 31, 16, tzinfo=UTC)


def training(
    world: World,
    starts_at: datetime,
    *,
    status: TrainingStatus = TrainingStatus.SETTLED,
    required: bool = True,
    place: str = "own",
) -> Training:
    """An offline training of the place's station, settled (by the default rules) unless told otherwise."""
    settled = status is TrainingStatus.SETTLED
    return Training(
        station_id=(world.own if place == "own" else world.other).station.id, title="义警月度培训",
        topics=["laws_regulations"], mode=TrainingMode.OFFLINE, starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=2), place="甘蔗派出所三楼会议室", trainer="林警官",
        required=required, status=status, rule_version=0 if settled else None,
        settled_at=starts_at + timedelta(hours=3) if settled else None,
        cancel_reason="台风预警" if status is TrainingStatus.CANCELLED else None, code_secret=b"s" * 32,
    )  # fmt: skip


def attended(held: Training, volunteer: Volunteer, status: AttendanceStatus) -> TrainingAttendance:
    return TrainingAttendance(
        training_id=held.id, volunteer_id=volunteer.id, station_id=volunteer.station_id,
        site_id=volunteer.site_id, status=status,
        excuse_reason="夜市出摊，已请假" if status is AttendanceStatus.EXCUSED else None,
    )  # fmt: skip


async def report(client, world: World, role: Role = Role.OFFICER, **params: str) -> dict:
    response = await client.get(COMPLIANCE, params=params, headers=world.headers(role))
    assert response.status_code == 200, response.text
    return response.json()


async def listed(client, world: World, limit: int = 200, **params: str) -> list[dict]:
    """Every row of the volunteers' list, page after page."""
    rows: list[dict] = []
    cursor = None
    while True:
        page_params = {"limit": str(limit)} | ({"cursor": cursor} if cursor else {})
        response = await client.get(
            VOLUNTEERS, params=params | page_params, headers=world.headers(Role.OFFICER)
        )
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= limit
        rows += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return rows


async def add_site(session_factory, world: World, settings, count: int) -> tuple[Site, list[Volunteer]]:
    """A second site of the own station with ``count`` active volunteers."""
    async with session_scope(session_factory) as session:
        site = Site(station_id=world.own.station.id, name="万家广场")
        session.add(site)
        await session.flush()
        volunteers = [new_volunteer(settings, site, 700 + number) for number in range(count)]
        session.add_all(volunteers)
    return site, volunteers


async def test_compliance_is_a_count_of_attendance_records(client, world, session_factory, settings):
    plaza, volunteers = await add_site(session_factory, world, settings, 8)
    first, second, excused_only, absent_only, late, twice, november_only, optional_only = volunteers
    october = training(world, OCTOBER_STARTS + timedelta(days=10))
    # 31 October 23:30 to 1 November 01:30 in Shanghai: October's (its start's), though it ends in November.
    midnight = training(world, OCTOBER_ENDS - timedelta(minutes=30))
    # 1 November 00:30 in Shanghai: still 31 October in UTC, yet November's.
    november = training(world, OCTOBER_ENDS + timedelta(minutes=30))
    optional = training(world, OCTOBER_STARTS + timedelta(days=3), required=False)
    cancelled = training(world, OCTOBER_STARTS + timedelta(days=4), status=TrainingStatus.CANCELLED)
    scheduled = training(world, OCTOBER_STARTS + timedelta(days=5), status=TrainingStatus.SCHEDULED)
    records = [
        attended(october, first, AttendanceStatus.PRESENT),
        attended(midnight, second, AttendanceStatus.PRESENT),
        attended(october, excused_only, AttendanceStatus.EXCUSED),
        attended(midnight, excused_only, AttendanceStatus.EXCUSED),
        attended(october, absent_only, AttendanceStatus.ABSENT),
        attended(midnight, late, AttendanceStatus.LATE),
        attended(october, twice, AttendanceStatus.PRESENT),
        attended(midnight, twice, AttendanceStatus.LATE),
        attended(november, november_only, AttendanceStatus.PRESENT),
        attended(optional, optional_only, AttendanceStatus.PRESENT),
        # Neither a cancelled nor an unsettled training trains anyone.
        attended(cancelled, absent_only, AttendanceStatus.PENDING),
        attended(scheduled, absent_only, AttendanceStatus.PRESENT),
    ]
    async with session_scope(session_factory) as session:
        session.add_all([october, midnight, november, optional, cancelled, scheduled])
        await session.flush()
        session.add_all(records)

    answer = await report(client, world, month="2023-10", station_id=str(world.own.station.id))
    assert answer["month"] == "2023-10"
    assert answer["station_id"] == str(world.own.station.id)
    listing = await listed(client, world, month="2023-10", station_id=str(world.own.station.id))
    # In name order, whatever the page size.
    assert [row["volunteer_name"] for row in listing] == sorted(row["volunteer_name"] for row in listing)
    assert await listed(client, world, limit=3, month="2023-10") == listing
    rows = {row["volunteer_id"]: row for row in listing}
    counted = {october.id, midnight.id}  # settled, required, starting in October in Shanghai
    for volunteer in volunteers:
        mine = [record for record in records if record.volunteer_id == volunteer.id]
        present = [r for r in mine if r.training_id in counted and r.status in {"present", "late"}]
        excused = [r for r in mine if r.training_id in counted and r.status == "excused"]
        assert rows[str(volunteer.id)] == {
            "volunteer_id": str(volunteer.id), "volunteer_name": volunteer.name, "site_id": str(plaza.id),
            "site_name": plaza.name, "trained": bool(present), "trainings_attended": len(present),
            "excused": len(excused),
        }, volunteer.name  # fmt: skip
    assert [rows[str(v.id)]["trained"] for v in volunteers] == [
        True,
        True,
        False,
        False,
        True,
        True,
        False,
        False,
    ]
    assert rows[str(excused_only.id)]["excused"] == 2  # excused twice: still not trained
    assert rows[str(twice.id)]["trainings_attended"] == 2
    sites = {row["site_id"]: row for row in answer["sites"]}
    assert sites[str(plaza.id)] == {
        "site_id": str(plaza.id), "site_name": plaza.name, "volunteers": 8, "trained": 4, "rate": 0.5
    }  # fmt: skip
    own = sites[str(world.own.site.id)]
    assert own["volunteers"] == sum(row["site_id"] == str(world.own.site.id) for row in listing)
    assert own["trained"] == 0
    assert (answer["volunteers"], answer["trained"]) == (len(listing), 4)
    assert answer["rate"] == round(4 / len(listing), 3)
    # The list's filter: who is not trained yet, who is.
    untrained = await listed(client, world, limit=2, month="2023-10", trained="false")
    assert untrained == [row for row in listing if not row["trained"]]
    assert await listed(client, world, month="2023-10", trained="true") == [
        r for r in listing if r["trained"]
    ]

    # November holds the session that started after its midnight, not the one that ended after it.
    november_rows = await listed(client, world, month="2023-11", trained="true")
    assert [row["volunteer_id"] for row in november_rows] == [str(november_only.id)]


async def test_the_month_counts_only_volunteers_active_in_it(client, world, session_factory, settings):
    plaza, [serving, retired, joined_later] = await add_site(session_factory, world, settings, 3)
    async with session_scope(session_factory) as session:
        for volunteer, fields in (
            (retired, {"status": VolunteerStatus.RETIRED}),
            (joined_later, {"joined_on": datetime(2023, 11, 2).date()}),
        ):
            stored = await session.get(Volunteer, volunteer.id)
            assert stored is not None
            for name, value in fields.items():
                setattr(stored, name, value)
    answer = await report(client, world, month="2023-10", site_id=str(plaza.id))
    rows = await listed(client, world, month="2023-10", site_id=str(plaza.id))
    assert [row["volunteer_id"] for row in rows] == [str(serving.id)]
    assert answer["sites"] == [
        {"site_id": str(plaza.id), "site_name": plaza.name, "volunteers": 1, "trained": 0, "rate": 0.0}
    ]


async def test_a_site_without_volunteers_has_no_rate(client, world, session_factory, settings):
    plaza, _ = await add_site(session_factory, world, settings, 0)
    answer = await report(client, world, month="2023-10", site_id=str(plaza.id))
    assert answer["sites"] == [
        {"site_id": str(plaza.id), "site_name": plaza.name, "volunteers": 0, "trained": 0, "rate": None}
    ]
    assert (answer["volunteers"], answer["rate"]) == (0, None)
    assert await listed(client, world, month="2023-10", site_id=str(plaza.id)) == []


def text(value: object) -> str:
    """A cell as text to compare: lower case (booleans as JSON writes them), numbers as floats (a sheet
    keeps 0.0 as 0)."""
    try:
        return repr(float(str(value)))
    except ValueError:
        return str(value).lower()


def table(response) -> list[list[str]]:
    """A CSV or XLSX answer's lines."""
    assert response.status_code == 200, response.text
    if response.headers["content-type"].startswith("text/csv"):
        lines = csv.reader(io.StringIO(response.content.decode("utf-8-sig")))
        return [[text(cell) for cell in line] for line in lines]
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    return [[text(cell) for cell in row] for row in sheet.iter_rows(values_only=True)]


def as_lines(rows: list[dict]) -> list[list[str]]:
    return [list(rows[0])] + [[text(value) for value in row.values()] for row in rows]


async def test_csv_and_xlsx_hold_the_sites_and_the_volunteers_rows(client, world, session_factory, settings):
    _, volunteers = await add_site(session_factory, world, settings, 2)
    october = training(world, OCTOBER_STARTS + timedelta(days=10))
    async with session_scope(session_factory) as session:
        session.add(october)
        await session.flush()
        session.add(attended(october, volunteers[0], AttendanceStatus.LATE))
    params = {"month": "2023-10"}
    answer = await report(client, world, month="2023-10")
    rows = sorted(
        await listed(client, world, month="2023-10"),
        key=lambda row: (row["site_name"], row["volunteer_name"]),
    )
    officer = world.headers(Role.OFFICER)
    xlsx = params | {"format": "xlsx"}

    response = await client.get(f"{COMPLIANCE}/export", params=params | {"format": "csv"}, headers=officer)
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="training-compliance-2023-10.csv"' in response.headers["content-disposition"]
    assert table(response) == as_lines(answer["sites"])
    assert table(await client.get(f"{COMPLIANCE}/export", params=xlsx, headers=officer)) == as_lines(
        answer["sites"]
    )

    response = await client.get(f"{VOLUNTEERS}/export", params=params, headers=officer)  # CSV by default
    assert 'filename="training-compliance-volunteers-2023-10.csv"' in response.headers["content-disposition"]
    lines = table(response)
    assert lines == as_lines(rows)  # every row (no page), by site and name
    assert [line[lines[0].index("trained")] for line in lines[1:]].count("true") == 1
    assert table(await client.get(f"{VOLUNTEERS}/export", params=xlsx, headers=officer)) == as_lines(rows)
    untrained = await client.get(
        f"{VOLUNTEERS}/export", params=params | {"format": "xlsx", "trained": "false"}, headers=officer
    )
    assert table(untrained) == as_lines([row for row in rows if not row["trained"]])


async def test_the_site_filter_and_the_default_month(client, world, session_factory, settings):
    plaza, _ = await add_site(session_factory, world, settings, 1)
    whole = await report(client, world, month="2023-10")
    assert {row["site_id"] for row in whole["sites"]} == {str(world.own.site.id), str(plaza.id)}
    one = await report(client, world, month="2023-10", site_id=str(plaza.id))
    assert [row["site_id"] for row in one["sites"]] == [str(plaza.id)]
    everyone = await listed(client, world, month="2023-10")
    plaza_rows = await listed(client, world, month="2023-10", site_id=str(plaza.id))
    assert plaza_rows == [row for row in everyone if row["site_id"] == str(plaza.id)] != []
    this_month = f"{station_today(world.own.station.timezone):%Y-%m}"
    assert (await report(client, world))["month"] == this_month


async def test_compliance_stays_within_reach(client, world):
    officer = world.headers(Role.OFFICER)
    for params, code in (
        ({"station_id": str(world.other.station.id)}, "station_not_found"),
        ({"site_id": str(world.other.site.id)}, "site_not_found"),
        ({"site_id": str(uuid.uuid4())}, "site_not_found"),
        # A site of another station than the one named.
        ({"site_id": str(world.own.site.id), "station_id": str(world.other.station.id)}, "site_not_found"),
    ):
        for path in (COMPLIANCE, VOLUNTEERS):
            response = await client.get(path, params=params, headers=officer)
            assert (response.status_code, response.json()["code"]) == (404, code), (path, params)
    for path in (COMPLIANCE, VOLUNTEERS):
        assert (await client.get(path, headers=world.headers(Role.VOLUNTEER))).status_code == 403
    # A county admin reaches every station: which one is asked for must be said.
    response = await client.get(COMPLIANCE, headers=world.headers(Role.ADMIN))
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "query.station_id"
    other = await report(client, world, Role.ADMIN, station_id=str(world.other.station.id), month="2023-10")
    assert [row["site_id"] for row in other["sites"]] == [str(world.other.site.id)]
    key = {"X-API-Key": world.api_keys["stats"][1]}
    keyed = await client.get(COMPLIANCE, params={"month": "2023-10"}, headers=key)
    assert keyed.status_code == 200, keyed.text
    assert keyed.json()["station_id"] == str(world.own.station.id)
    for month in ("2023-13", "2023-1", "october"):
        for path in (COMPLIANCE, VOLUNTEERS):
            response = await client.get(path, params={"month": month}, headers=officer)
            assert response.status_code == 422, month
            assert response.json()["errors"][0]["field"] == "query.month"
    response = await client.get(VOLUNTEERS, params={"trained": "maybe"}, headers=officer)
    assert response.json()["errors"][0]["field"] == "query.trained"


async def test_the_statistics_count_trainings_attendances_and_the_months_trained(
    client, world, session_factory, settings, redis, run_worker
):
    plaza, [first, second, late, twice, optional_only, november_only] = await add_site(
        session_factory, world, settings, 6
    )
    october = training(world, OCTOBER_STARTS + timedelta(days=10))
    midnight = training(world, OCTOBER_ENDS - timedelta(minutes=30))  # October's, though it ends in November
    november = training(world, OCTOBER_ENDS + timedelta(minutes=30))
    optional = training(world, OCTOBER_STARTS + timedelta(days=3), required=False)
    cancelled = training(world, OCTOBER_STARTS + timedelta(days=4), status=TrainingStatus.CANCELLED)
    held = [october, midnight, november, optional]
    async with session_scope(session_factory) as session:
        session.add_all([*held, cancelled])
        await session.flush()
        session.add_all(
            [
                attended(october, first, AttendanceStatus.PRESENT),
                attended(midnight, second, AttendanceStatus.PRESENT),
                attended(midnight, late, AttendanceStatus.LATE),
                attended(october, twice, AttendanceStatus.PRESENT),
                attended(midnight, twice, AttendanceStatus.LATE),
                attended(optional, optional_only, AttendanceStatus.PRESENT),
                attended(november, november_only, AttendanceStatus.PRESENT),
                attended(cancelled, first, AttendanceStatus.PENDING),
            ]
        )
        for record in held:  # what settling each one asks for
            await recount(session, record)
    await settle(session_factory, settings, redis, run_worker, check=False)
    officer = world.headers(Role.OFFICER)

    async def total(metric: str, month: str, **params: str) -> int:
        first_day = f"{month}-01"
        last_day = f"{month}-{30 if month.endswith('11') else 31}"
        asked = {"metric": metric, "from": first_day, "to": last_day} | params
        response = await client.get("/api/v1/stats/series", params=asked, headers=officer)
        assert response.status_code == 200, response.text
        return sum(point["value"] or 0 for point in response.json()["points"])

    assert await total("trainings_held", "2023-10") == 3  # the optional one too; not the cancelled one
    assert await total("trainings_held", "2023-11") == 1
    assert await total("training_attendances", "2023-10") == 6
    assert await total("training_attendances", "2023-10", dimension="status:late") == 2
    # Each volunteer once, at required trainings: the month's sum is the compliance endpoint's figure.
    assert await total("volunteers_trained", "2023-10") == 4
    assert (await report(client, world, month="2023-10", site_id=str(plaza.id)))["trained"] == 4
    assert await total("volunteers_trained", "2023-11") == 1

    # Excused after the session was settled: the month's figures are recounted.
    response = await client.post(
        f"/api/v1/trainings/{october.id}/attendance/{first.id}/excuse",
        json={"reason": "夜市出摊，已请假"},
        headers=officer,
    )
    assert response.status_code == 200, response.text
    await settle(session_factory, settings, redis, run_worker, check=False)
    assert await total("volunteers_trained", "2023-10") == 3
    assert await total("training_attendances", "2023-10") == 5
    await settle(session_factory, settings, redis, run_worker)  # the nightly check finds the same
    overview = await client.get("/api/v1/stats/overview", params={"period": "2023-10"}, headers=officer)
    figures = {figure["metric"]: figure["value"] for figure in overview.json()["figures"]}
    assert [figures[name] for name in ("trainings_held", "training_attendances", "volunteers_trained")] == [
        3,
        5,
        3,
    ]
