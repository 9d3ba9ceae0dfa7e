"""Statistics: exact counts by the station's calendar, year-on-year and month-on-month change with their
periods, missing data shown as missing (never zero), recounts of only the days a change touched, scoping
per caller, and the same figures as JSON, CSV and XLSX with ETags."""

import asyncio
import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import delete, select, update
from sqlmodel import col

from tests.world import make_api_key
from yijing.access import ApiScope, Role
from yijing.db import session_scope
from yijing.ids import station_today
from yijing.jobs import service as jobs
from yijing.org.models import Site
from yijing.outbox import service as outbox
from yijing.stats.jobs import CHECK, RECOMPUTE
from yijing.stats.models import DailyRollup, RollupDay
from yijing.stats.periods import date_range, parse
from yijing.stats.service import percent_change
from yijing_worker.worker import cron_jobs


@pytest.fixture
async def keys(world, session_factory, settings) -> dict[str, dict[str, str]]:
    """Per station: a key that writes incidents and reads statistics."""
    made = {}
    for place in ("own", "other"):
        _, key = await make_api_key(
            session_factory,
            settings,
            [ApiScope.INCIDENTS_WRITE, ApiScope.STATS_READ],
            [getattr(world, place).station.id],
        )
        made[place] = {"X-API-Key": key}
    return made


def incidents(world, counts: dict[str, int], day: str, place: str = "own", tags: list[str] | None = None):
    """``counts`` incidents per class on ``day`` (noon, Shanghai time)."""
    station = str(getattr(world, place).station.id)
    return [
        {
            "source_ref": f"{place}-{day}-{code}-{'.'.join(tags or [])}-{n}",
            "station_id": station,
            "occurred_at": f"{day}T12:00:00+08:00",
            "class_code": code,
            "tags": tags or [],
        }
        for code, count in counts.items()
        for n in range(count)
    ]


async def send(client, headers, records):
    for start in range(0, len(records), 1000):
        response = await client.post(
            "/api/v1/incidents",
            json={"source_system": "jq110", "incidents": records[start : start + 1000]},
            headers=headers,
        )
        assert response.status_code == 200, response.text


async def settle(session_factory, settings, redis, run_worker, *, check: bool = True):
    """What the worker does: the queued recounts, then (as each night) the full check."""
    await outbox.relay(session_factory, redis)
    await run_worker()
    if check:
        await jobs.execute(session_factory, settings, CHECK, {})


async def stats(client, headers, **params) -> dict:
    response = await client.get("/api/v1/stats/incidents", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def row(answer: dict, key: str) -> dict:
    return next(item for item in answer["rows"] if item["key"] == key)


def test_percent_change_is_rounded_half_away_from_zero():
    assert percent_change(47, 92) == -48.9
    assert percent_change(47, 165) == -71.5
    assert percent_change(3, 8) == -62.5
    assert percent_change(1, 0) is None
    assert percent_change(0, 4) == -100.0
    assert percent_change(1, 3) == -66.7


def test_periods_and_what_they_are_compared_with():
    october = parse("2023-10")
    assert (october.before().label, october.year_earlier().label) == ("2023-09", "2022-10")
    q1 = parse("2024-Q1")
    assert (q1.before().start, q1.before().end) == (date(2023, 10, 1), date(2024, 1, 1))
    leap = date_range(date(2024, 2, 1), date(2024, 2, 29))
    assert (leap.year_earlier().start, leap.year_earlier().last) == (date(2023, 2, 1), date(2023, 2, 28))
    assert (leap.before().start, leap.before().last) == (date(2024, 1, 3), date(2024, 1, 31))
    assert parse("2024").before().label == "2023"


async def test_the_articles_figures_come_out_exactly(
    client, world, keys, session_factory, settings, redis, run_worker
):
    records = (
        incidents(world, {"illegal_crime": 165}, "2022-10-10")
        + incidents(world, {"illegal_crime": 92}, "2023-09-10")
        + incidents(world, {"illegal_crime": 47}, "2023-10-10")
        + incidents(world, {"public_order": 154}, "2022-10-11", tags=["floating_population"])
        + incidents(world, {"public_order": 92}, "2023-09-11", tags=["floating_population"])
        + incidents(world, {"public_order": 43}, "2023-10-11", tags=["floating_population"])
    )
    await send(client, keys["own"], records)
    await send(client, keys["own"], records)  # sent twice: counted once
    await settle(session_factory, settings, redis, run_worker)
    answer = await stats(client, keys["own"], period="2023-10")
    assert answer["period"]["starts_at"] == "2023-10-01T00:00:00+08:00"
    assert answer["period"]["data_status"] == "final"
    crime = row(answer, "illegal_crime")
    assert crime["current"] == 47
    assert crime["yoy"] == {"base": 165, "change": -118, "percent": -71.5}
    assert crime["mom"] == {"base": 92, "change": -45, "percent": -48.9}
    assert answer["yoy_period"]["label"] == "2022-10"
    assert answer["mom_period"]["ends_at"] == "2023-10-01T00:00:00+08:00"
    tags = await stats(client, keys["own"], period="2023-10", by="tag")
    floating = row(tags, "floating_population")
    assert (floating["current"], floating["yoy"]["percent"], floating["mom"]["percent"]) == (43, -72.1, -53.3)
    assert answer["total"]["current"] == 47 + 43


async def test_an_incident_just_before_midnight_counts_in_its_local_month(
    client, world, keys, session_factory, settings, redis, run_worker
):
    station = str(world.own.station.id)
    await send(
        client,
        keys["own"],
        [
            {
                "source_ref": "late",
                "station_id": station,
                "occurred_at": "2023-10-31T23:30:00+08:00",
                "class_code": "fire",
            },
            {
                "source_ref": "utc-late",
                "station_id": station,
                "occurred_at": "2023-10-31T17:00:00Z",
                "class_code": "fire",
            },  # 1 November, 01:00 in Shanghai
        ],
    )
    await settle(session_factory, settings, redis, run_worker)
    assert row(await stats(client, keys["own"], period="2023-10"), "fire")["current"] == 1
    assert row(await stats(client, keys["own"], period="2023-11"), "fire")["current"] == 1


async def test_leap_days_and_date_ranges(client, world, keys, session_factory, settings, redis, run_worker):
    await send(
        client,
        keys["own"],
        incidents(world, {"traffic": 2}, "2024-02-29")
        + incidents(world, {"traffic": 4}, "2023-02-28")
        + incidents(world, {"traffic": 1}, "2024-01-15"),
    )
    await settle(session_factory, settings, redis, run_worker)
    february = row(await stats(client, keys["own"], period="2024-02"), "traffic")
    assert (february["current"], february["yoy"]["base"], february["yoy"]["percent"]) == (2, 4, -50.0)
    ranged = await stats(client, keys["own"], **{"from": "2024-02-01", "to": "2024-02-29"})
    assert ranged["period"]["label"] == "2024-02-01/2024-02-29"
    assert ranged["yoy_period"]["last_day"] == "2023-02-28"
    assert (ranged["mom_period"]["first_day"], ranged["mom_period"]["last_day"]) == (
        "2024-01-03",
        "2024-01-31",
    )
    assert row(ranged, "traffic")["mom"]["base"] == 1


async def test_a_zero_base_and_a_missing_month(
    client, world, keys, session_factory, settings, redis, run_worker
):
    # Data begins in September 2023: August is missing (no data), not zero.
    await send(
        client,
        keys["own"],
        incidents(world, {"fire": 1}, "2023-09-01") + incidents(world, {"dispute": 3}, "2023-10-02"),
    )
    await settle(session_factory, settings, redis, run_worker)
    october = await stats(client, keys["own"], period="2023-10")
    dispute = row(october, "dispute")
    assert dispute["mom"] == {"base": 0, "change": 3, "percent": None}  # September had none: a real zero
    assert dispute["yoy"] == {"base": None, "change": None, "percent": None}  # October 2022: missing
    assert october["yoy_period"]["data_status"] == "missing"
    august = await stats(client, keys["own"], period="2023-08")
    assert august["period"]["data_status"] == "missing"
    assert row(august, "fire")["current"] is None
    assert august["total"]["current"] is None
    series = (
        await client.get(
            "/api/v1/stats/series",
            params={"metric": "incidents", "from": "2023-08-01", "to": "2023-10-31"},
            headers=keys["own"],
        )
    ).json()
    assert [(point["value"], point["data_status"]) for point in series["points"]] == [
        (None, "missing"),
        (1, "final"),
        (3, "final"),
    ]


async def test_a_changed_old_record_recounts_its_days_only(
    client, world, keys, session_factory, settings, redis, run_worker
):
    station = str(world.own.station.id)
    await send(
        client,
        keys["own"],
        incidents(world, {"fire": 2}, "2023-03-05") + incidents(world, {"fire": 1}, "2023-03-20"),
    )
    await settle(session_factory, settings, redis, run_worker)
    async with session_factory() as session:
        before = dict(
            (
                await session.execute(
                    select(col(RollupDay.day), col(RollupDay.computed_at)).where(
                        col(RollupDay.source) == "incidents"
                    )
                )
            ).all()
        )
    moved = incidents(world, {"fire": 2}, "2023-03-05")[0] | {
        "occurred_at": "2023-04-02T08:00:00+08:00",
        "class_code": "traffic",
    }
    await send(client, keys["own"], [moved])
    await settle(session_factory, settings, redis, run_worker, check=False)
    async with session_factory() as session:
        after = dict(
            (
                await session.execute(
                    select(col(RollupDay.day), col(RollupDay.computed_at)).where(
                        col(RollupDay.source) == "incidents"
                    )
                )
            ).all()
        )
    recounted = {day for day in after if after[day] != before.get(day)}
    assert recounted == {date(2023, 3, 5), date(2023, 4, 2)}
    for period, fire, traffic in (
        ("2023-03", 2, 0),
        ("2023-04", 0, 1),
        ("2023-Q1", 2, 0),
        ("2023-Q2", 0, 1),
        ("2023", 2, 1),
    ):
        answer = await stats(client, keys["own"], period=period)
        assert (row(answer, "fire")["current"], row(answer, "traffic")["current"]) == (fire, traffic), period
    assert station


async def test_the_nightly_check_repairs_drift(
    client, world, keys, session_factory, settings, redis, run_worker
):
    await send(
        client,
        keys["own"],
        incidents(world, {"fire": 3}, "2023-05-05") + incidents(world, {"fire": 1}, "2023-05-06"),
    )
    await settle(session_factory, settings, redis, run_worker)
    async with session_scope(session_factory) as session:
        await session.execute(
            update(DailyRollup).where(col(DailyRollup.day) == date(2023, 5, 5)).values(value=99)
        )
    assert row(await stats(client, keys["own"], period="2023-05"), "fire")["current"] == 100
    result = (await jobs.execute(session_factory, settings, CHECK, {"sources": ["incidents"]})).result or {}
    assert result["incidents"]["days_repaired"] == 1
    assert row(await stats(client, keys["own"], period="2023-05"), "fire")["current"] == 4
    again = (await jobs.execute(session_factory, settings, CHECK, {"sources": ["incidents"]})).result or {}
    assert again["incidents"] == {"days_repaired": 0, "figures_written": 0, "days_marked": 0}


async def test_the_nightly_check_rewrites_only_the_figures_that_drifted(
    client, world, keys, session_factory, settings, redis, run_worker
):
    station = world.own.station.id
    await send(
        client,
        keys["own"],
        incidents(world, {"fire": 3, "traffic": 2}, "2023-05-05", tags=["minors"])
        + incidents(world, {"fire": 1}, "2023-05-06"),
    )
    await settle(session_factory, settings, redis, run_worker)
    # A check right after one finds nothing to repair, in any source (a snapshot is taken anew each time).
    nothing = {"days_repaired": 0, "figures_written": 0, "days_marked": 0}
    agreed = (await jobs.execute(session_factory, settings, CHECK, {})).result or {}
    assert {name: figures for name, figures in agreed.items() if name != "volunteers_active"} == {
        name: nothing for name in agreed if name != "volunteers_active"
    }

    def figure(day: date, dimension: str):
        return (col(DailyRollup.day) == day) & (col(DailyRollup.dimension) == dimension)

    async with session_scope(session_factory) as session:
        await session.execute(
            update(DailyRollup).where(figure(date(2023, 5, 5), "class:fire")).values(value=9)
        )
        await session.execute(delete(DailyRollup).where(figure(date(2023, 5, 6), "class:fire")))
        session.add(
            DailyRollup(
                station_id=station,
                day=date(2023, 5, 7),
                metric="incidents",
                dimension="class:dispute",
                value=2,
            )
        )

    async def stored() -> tuple[dict, dict]:
        async with session_factory() as session:
            figures = await session.execute(select(DailyRollup).where(col(DailyRollup.metric) == "incidents"))
            days = await session.execute(
                select(col(RollupDay.day), col(RollupDay.computed_at)).where(
                    col(RollupDay.source) == "incidents"
                )
            )
            return {
                (rollup.day, rollup.dimension): (rollup.value, rollup.computed_at)
                for rollup in figures.scalars()
            }, dict(days.all())

    figures_before, days_before = await stored()
    result = (await jobs.execute(session_factory, settings, CHECK, {"sources": ["incidents"]})).result or {}
    # A wrong figure and a missing one written again, a figure of no record dropped: three days repaired.
    assert result["incidents"] == {"days_repaired": 3, "figures_written": 2, "days_marked": 0}
    figures_after, days_after = await stored()
    assert {key: value for key, (value, _) in figures_after.items()} == {
        (date(2023, 5, 5), "class:fire"): 3,
        (date(2023, 5, 5), "class:traffic"): 2,
        (date(2023, 5, 5), "tag:minors"): 5,
        (date(2023, 5, 6), "class:fire"): 1,
    }
    rewritten = {key for key in figures_after if figures_after[key] != figures_before.get(key)}
    assert rewritten == {(date(2023, 5, 5), "class:fire"), (date(2023, 5, 6), "class:fire")}
    recounted = {day for day in days_after if days_after[day] != days_before[day]}
    assert recounted == {date(2023, 5, 5), date(2023, 5, 6), date(2023, 5, 7)}
    again = (await jobs.execute(session_factory, settings, CHECK, {"sources": ["incidents"]})).result or {}
    assert again["incidents"] == nothing
    assert await stored() == (figures_after, days_after)


async def test_a_stations_figures_are_its_own(
    client, world, keys, session_factory, settings, redis, run_worker
):
    await send(client, keys["own"], incidents(world, {"fire": 5}, "2023-10-05"))
    await send(client, keys["other"], incidents(world, {"fire": 2}, "2023-10-05", place="other"))
    await settle(session_factory, settings, redis, run_worker)
    assert row(await stats(client, keys["other"], period="2023-10"), "fire")["current"] == 2
    response = await client.get(
        "/api/v1/stats/incidents",
        params={"period": "2023-10", "station_id": str(world.own.station.id)},
        headers=keys["other"],
    )
    assert response.status_code == 404
    officer = await stats(client, world.headers(Role.OFFICER), period="2023-10")
    assert (officer["station_id"], row(officer, "fire")["current"]) == (str(world.own.station.id), 5)
    county = await stats(client, world.headers(Role.ADMIN), period="2023-10")
    assert (county["station_id"], row(county, "fire")["current"]) == (None, 7)
    other_site = await client.get(
        "/api/v1/stats/incidents",
        params={"site_id": str(world.other.site.id)},
        headers=world.headers(Role.OFFICER),
    )
    assert other_site.status_code == 404
    by_site = await stats(client, world.headers(Role.OFFICER), period="2023-10", by="site")
    assert [(item["key"], item["current"]) for item in by_site["rows"]] == [
        (str(world.own.site.id), 0),
        ("none", 5),
    ]
    volunteer = await client.get("/api/v1/stats/incidents", headers=world.headers(Role.VOLUNTEER))
    assert volunteer.status_code == 403


async def test_csv_and_xlsx_hold_the_json_figures(
    client, world, keys, session_factory, settings, redis, run_worker
):
    await send(
        client,
        keys["own"],
        incidents(world, {"fire": 3, "traffic": 1}, "2023-10-05")
        + incidents(world, {"fire": 1}, "2023-09-05"),
    )
    await settle(session_factory, settings, redis, run_worker)
    answer = await stats(client, keys["own"], period="2023-10")
    as_csv = await client.get(
        "/api/v1/stats/incidents/export", params={"period": "2023-10"}, headers=keys["own"]
    )
    assert as_csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert as_csv.content.decode("utf-8-sig").startswith("period,data_status,by,key,")
    assert "\r\n" in as_csv.text
    lines = list(csv.DictReader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    as_xlsx = await client.get(
        "/api/v1/stats/incidents/export", params={"period": "2023-10", "format": "xlsx"}, headers=keys["own"]
    )
    sheet = load_workbook(io.BytesIO(as_xlsx.content)).active
    assert sheet is not None
    header, *cells = [list(values) for values in sheet.iter_rows(values_only=True)]
    assert header == list(lines[0])
    expected = [*answer["rows"], answer["total"]]
    assert [line["key"] for line in lines] == [item["key"] for item in expected]
    for line, cell_row, item in zip(lines, cells, expected, strict=True):
        sheet_line = dict(zip(header, cell_row, strict=True))
        for field, value in (
            ("current", item["current"]),
            ("mom_base", item["mom"]["base"]),
            ("mom_percent", item["mom"]["percent"]),
        ):
            assert line[field] == ("" if value is None else str(value)), (item["key"], field)
            assert sheet_line[field] == value, (item["key"], field)


async def test_an_unchanged_answer_is_a_304(
    client, world, keys, session_factory, settings, redis, run_worker
):
    await send(client, keys["own"], incidents(world, {"fire": 1}, "2023-10-05"))
    await settle(session_factory, settings, redis, run_worker)
    first = await client.get("/api/v1/stats/incidents", params={"period": "2023-10"}, headers=keys["own"])
    etag = first.headers["etag"]
    again = await client.get(
        "/api/v1/stats/incidents", params={"period": "2023-10"}, headers=keys["own"] | {"If-None-Match": etag}
    )
    assert again.status_code == 304
    assert again.content == b""
    await send(client, keys["own"], incidents(world, {"fire": 2}, "2023-10-06"))
    await settle(session_factory, settings, redis, run_worker, check=False)
    changed = await client.get(
        "/api/v1/stats/incidents", params={"period": "2023-10"}, headers=keys["own"] | {"If-None-Match": etag}
    )
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag


async def test_a_code_redefined_within_the_periods_is_marked(
    client, world, keys, session_factory, settings, redis, run_worker
):
    body = {
        "kind": "tag",
        "code": "floating_population",
        "label_zh": "涉流动人口",
        "label_en": "Floating population (new rule)",
        "valid_from": "2023-10-01",
    }
    assert (
        await client.post("/api/v1/incidents/codes", json=body, headers=world.headers(Role.ADMIN))
    ).status_code == 201
    await send(client, keys["own"], incidents(world, {"fire": 1}, "2023-10-05", tags=["floating_population"]))
    await settle(session_factory, settings, redis, run_worker)
    answer = await stats(client, keys["own"], period="2023-10", by="tag")
    floating = row(answer, "floating_population")
    assert floating["comparable"] is False
    assert "2023-10-01" in floating["note"]
    assert row(answer, "porn_gambling")["comparable"] is True


async def test_the_overview_and_meta(client, world, keys, session_factory, settings, redis, run_worker):
    await send(client, keys["own"], incidents(world, {"fire": 2}, "2023-10-05"))
    await settle(session_factory, settings, redis, run_worker)
    overview = (
        await client.get("/api/v1/stats/overview", params={"period": "2023-10"}, headers=keys["own"])
    ).json()
    figures = {figure["metric"]: figure for figure in overview["figures"]}
    assert figures["incidents"]["value"] == 2
    assert figures["volunteers_active"]["running_total"] == 1  # the world's volunteer, snapshot of today
    assert figures["hazards_found"]["running_total"] == 1
    meta = (await client.get("/api/v1/stats/meta", headers=keys["own"])).json()
    incidents_meta = next(source for source in meta["sources"] if source["source"] == "incidents")
    assert incidents_meta["first_day"] == "2023-10-05"
    assert incidents_meta["months"][-1]["data_status"] == "provisional"  # this month, not over yet


async def test_bad_periods_are_refused(client, keys):
    for params in (
        {"period": "9999-12"},
        {"period": "1000"},
        {"from": "0001-01-01", "to": "0001-01-05"},
        {"period": "2023-13"},
        {"period": "2023-Q5"},
        {"period": "23"},
        {"from": "2023-10-01"},
        {"period": "2023-10", "from": "2023-10-01", "to": "2023-10-02"},
        {"from": "2023-10-05", "to": "2023-10-01"},
        {"compare": "wow"},
        {"by": "month"},
    ):
        response = await client.get("/api/v1/stats/incidents", params=params, headers=keys["own"])
        assert response.status_code == 422, params


async def test_hazard_and_volunteer_figures_follow_their_records(
    client, world, session_factory, settings, redis, run_worker
):
    officer = world.headers(Role.OFFICER)
    report = await client.post(
        "/api/v1/hazards",
        json={"site_id": str(world.own.site.id), "category": "fire", "description": "灭火器过期"},
        headers=officer,
    )
    url = f"/api/v1/hazards/{report.json()['id']}"
    await client.post(f"{url}/verify", json={}, headers=officer)
    await client.post(
        f"{url}/eliminate", json={"inspection_note": "已更换"}, headers=world.headers(Role.ASSISTANT)
    )
    await settle(session_factory, settings, redis, run_worker, check=False)  # the recounts the writes queued
    this_month = station_today(world.own.station.timezone).strftime("%Y-%m")
    overview = (
        await client.get("/api/v1/stats/overview", params={"period": this_month}, headers=officer)
    ).json()
    figures = {figure["metric"]: figure for figure in overview["figures"]}
    assert figures["hazards_found"]["value"] == 2  # and the world's own, reported today too
    assert figures["hazards_eliminated"]["value"] == 1
    assert figures["hazards_closed_not_fixed"]["value"] == 0
    await client.post(f"{url}/reopen", json={"note": "复发"}, headers=officer)
    await settle(session_factory, settings, redis, run_worker, check=False)
    overview = (
        await client.get("/api/v1/stats/overview", params={"period": this_month}, headers=officer)
    ).json()
    assert {figure["metric"]: figure["value"] for figure in overview["figures"]}["hazards_eliminated"] == 0


@pytest.mark.committed  # concurrent transactions need connections of their own
async def test_recounts_of_one_day_at_once_agree(client, world, keys, session_factory, settings):
    await send(client, keys["own"], incidents(world, {"fire": 3}, "2023-10-05"))
    payload = {"source": "incidents", "station_id": str(world.own.station.id), "days": ["2023-10-05"]}
    runs = await asyncio.gather(
        *(jobs.execute(session_factory, settings, RECOMPUTE, payload) for _ in range(4))
    )
    assert [run.result["figures"] for run in runs if run.result] == [1, 1, 1, 1]
    async with session_factory() as session:
        figures = (
            await session.scalars(select(DailyRollup).where(col(DailyRollup.day) == date(2023, 10, 5)))
        ).all()
    assert [(figure.dimension, figure.value) for figure in figures] == [("class:fire", 3)]


def test_the_worker_checks_every_night():
    [job] = [job for job in cron_jobs() if job.name == "cron:stats.check"]
    assert (job.hour, job.minute) == (2, 15)


async def test_snapshot_series_by_dimension_and_safe_spreadsheet_cells(
    client, world, keys, session_factory, settings, redis, run_worker
):
    async with session_scope(session_factory) as session:
        await session.execute(
            update(Site).where(col(Site.id) == world.own.site.id).values(name="=HYPERLINK(1)")
        )
    await send(client, keys["own"], incidents(world, {"fire": 1}, "2023-10-05"))
    await settle(session_factory, settings, redis, run_worker)
    today = station_today(world.own.station.timezone).isoformat()
    params = {"metric": "volunteers_active", "from": today, "to": today, "granularity": "day"}
    everyone = (await client.get("/api/v1/stats/series", params=params, headers=keys["own"])).json()
    landlords = (
        await client.get(
            "/api/v1/stats/series", params=params | {"dimension": "source:landlord"}, headers=keys["own"]
        )
    ).json()
    # The day is counted: no landlord among the active volunteers is a real zero (the total is 1).
    assert (everyone["points"][-1]["value"], landlords["points"][-1]["value"]) == (1, 0)
    as_csv = await client.get(
        "/api/v1/stats/incidents/export",
        params={"period": "2023-10", "by": "site", "format": "csv"},
        headers=keys["own"],
    )
    assert "'=HYPERLINK(1)" in as_csv.text
