"""The demo station: loaded once, shaped like the article, and usable through the API at once."""

import csv
import io
import itertools
from datetime import date, timedelta

import httpx
from sqlalchemy import Date, cast, func, select
from sqlmodel import col

from tests.db import count_rows
from yijing import demo
from yijing.db import SessionFactory
from yijing.demo.context import opening
from yijing.disputes.models import Dispute, DisputeStatus
from yijing.groups.models import GroupMembership
from yijing.hazards.models import HazardStatus
from yijing.ids import station_today
from yijing.org.models import Site, Station
from yijing.patrols.logs.models import LogKind, PatrolLog
from yijing.rota.models import CaptainWeek, Unavailability
from yijing.training.models import Training, TrainingAttendance, TrainingAudience, TrainingStatus
from yijing.volunteers.models import Volunteer, VolunteerStatus, VolunteerStatusChange


async def test_the_demo_loads_once_and_works_through_the_api(session_factory, settings, client):
    loaded = await demo.load(session_factory, settings)
    assert loaded is not None
    assert loaded.created
    assert loaded.volunteers == 718
    assert await count_rows(session_factory, Site) == len(demo.SITES)
    assert await count_rows(session_factory, VolunteerStatusChange) >= 718
    async with session_factory() as session:
        sources = (
            await session.execute(select(col(Volunteer.source), func.count()).group_by(col(Volunteer.source)))
        ).all()
        statuses = dict(
            (
                await session.execute(
                    select(col(Volunteer.status), func.count()).group_by(col(Volunteer.status))
                )
            ).all()
        )
    assert len(sources) >= 8  # the article's sources, nearly all of them
    assert statuses["active"] > 650
    assert {"applied", "suspended", "retired"} <= set(statuses)

    again = await demo.load(session_factory, settings)
    assert again is not None
    assert not again.created
    assert await count_rows(session_factory, Volunteer) == 718
    assert await count_rows(session_factory, Station) == 1

    # The printed accounts sign in; the volunteer sees their own record, the officer the teams.
    async def sign_in(account: demo.DemoAccount) -> dict[str, str]:
        response = await client.post(
            "/api/v1/auth/token", data={"username": account.phone, "password": demo.DEFAULT_PASSWORD}
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    mine = await client.get("/api/v1/me/volunteer", headers=await sign_in(demo.VOLUNTEER))
    assert mine.status_code == 200
    assert mine.json()["name"] == demo.VOLUNTEER.name
    officer = await sign_in(demo.OFFICERS[0])
    sites = {
        site["name"]: site["id"]
        for site in (await client.get("/api/v1/sites", headers=officer)).json()["items"]
    }
    rental = (await client.get(f"/api/v1/sites/{sites['洽浦出租屋片区']}/team", headers=officer)).json()
    assert rental["gaps"] == [{"post": "assistant", "missing": 1}]
    plaza = f"/api/v1/sites/{sites['万家广场']}/team"
    before = (await client.get(plaza, params={"at": "2023-07-20T12:00:00+08:00"}, headers=officer)).json()
    assert before["officer"]["name"] == demo.FORMER_OFFICER.name
    now = (await client.get(plaza, headers=officer)).json()
    assert now["officer"]["name"] == demo.OFFICERS[1].name
    assert now["complete"] is True
    summary = (await client.get("/api/v1/volunteers/summary", headers=officer)).json()
    assert summary["total"] == 718

    volunteer = await sign_in(demo.VOLUNTEER)
    await _groups_and_rota(session_factory, client, loaded.groups, officer, volunteer)
    await _hazards(client, loaded.hazards, await sign_in(demo.LEADER), volunteer)
    await _patrols(client, loaded.patrols, officer, volunteer)
    await _disputes(session_factory, client, loaded.disputes, officer)
    await _trainings(session_factory, client, loaded.trainings, officer)
    await _statistics(client, loaded.incidents, officer)


async def _groups_and_rota(
    session_factory: SessionFactory,
    client: httpx.AsyncClient,
    made: int,
    officer: dict[str, str],
    volunteer: dict[str, str],
) -> None:
    """Every active volunteer in a group of about ten, every group with a captain now and months of rota."""
    async with session_factory() as session:
        grouped = select(col(GroupMembership.volunteer_id)).where(col(GroupMembership.left_at).is_(None))
        active = col(Volunteer.status) == VolunteerStatus.ACTIVE
        ungrouped = await session.scalar(
            select(func.count()).where(active, col(Volunteer.id).not_in(grouped))
        )
        serving = await session.scalar(select(func.count()).where(active))
        away = (await session.scalars(select(Unavailability))).all()
        weeks = (await session.scalars(select(CaptainWeek))).all()
    assert ungrouped == 0
    page = await client.get("/api/v1/groups", params={"limit": 200}, headers=officer)
    assert page.status_code == 200, page.text
    groups = page.json()["items"]
    assert len(groups) == made > 0
    assert page.json()["next_cursor"] is None
    sizes = [group["member_count"] for group in groups]
    assert sum(sizes) == serving
    assert all(8 <= size <= 10 for size in sizes), sizes

    today = station_today(demo.TIMEZONE.key)
    history = {"from": str(today - timedelta(weeks=20)), "to": str(today + timedelta(weeks=10))}
    for group in groups:
        captain = await client.get(f"/api/v1/groups/{group['id']}/captain", headers=officer)
        assert captain.status_code == 200, captain.text
        assert captain.json()["next"] is not None
        rota = (
            await client.get(f"/api/v1/groups/{group['id']}/rota", params=history, headers=officer)
        ).json()
        starts = [date.fromisoformat(week["week_start"]) for week in rota]
        assert all(later - earlier == timedelta(weeks=1) for earlier, later in itertools.pairwise(starts))
        assert sum(week["started"] for week in rota) >= 8 + 1  # eight weeks past, and the current one
        assert starts[-1] >= today + timedelta(weeks=7)

    # The members away were passed over (their weeks went to others), and one week was chosen by hand.
    assert len(away) >= 4
    for record in away:
        overlapping = [
            week
            for week in weeks
            if week.volunteer_id == record.volunteer_id
            and week.week_start <= record.ends_on
            and week.week_start + timedelta(days=6) >= record.starts_on
        ]
        assert overlapping == []
    assert [week.source for week in weeks if week.source != "rotation"] == ["override"]

    # The demo volunteer sees their own group (and no other), its captain and rota.
    mine = (await client.get("/api/v1/me/volunteer", headers=volunteer)).json()
    async with session_factory() as session:
        own = await session.scalar(
            select(col(GroupMembership.group_id)).where(
                col(GroupMembership.volunteer_id) == mine["id"], col(GroupMembership.left_at).is_(None)
            )
        )
    assert own is not None
    group = await client.get(f"/api/v1/groups/{own}", headers=volunteer)
    assert group.status_code == 200, group.text
    assert group.json()["name"] == "第1组"
    assert (await client.get(f"/api/v1/groups/{own}/captain", headers=volunteer)).status_code == 200
    rota = (await client.get(f"/api/v1/groups/{own}/rota", headers=volunteer)).json()
    assert any(week["source"] == "override" and week["volunteer_id"] == mine["id"] for week in rota)
    other = next(item["id"] for item in groups if item["id"] != str(own))
    assert (await client.get(f"/api/v1/groups/{other}", headers=volunteer)).status_code == 404


async def test_only_an_empty_database_gets_the_demo_on_run(session_factory, settings, world):
    assert await demo.load(session_factory, settings, only_if_empty=True) is None
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).where(col(Station.name) == demo.STATION_NAME)) == 0


async def _hazards(
    client: httpx.AsyncClient, made: int, leader: dict[str, str], volunteer: dict[str, str]
) -> None:
    """Hazards in every state, the article's 133 eliminated among them, each with a history that ends in its
    status; the volunteer follows their night market's, with photos."""
    hazards: list[dict] = []
    cursor = None
    while True:
        params = {"limit": 200} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/hazards", params=params, headers=leader)).json()
        hazards += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(hazards) == made
    statuses = {status: sum(h["status"] == status for h in hazards) for status in HazardStatus}
    assert statuses[HazardStatus.ELIMINATED] == 133
    assert all(count > 0 for count in statuses.values()), statuses
    assert any(h["overdue"] for h in hazards)
    for hazard in hazards[:40]:
        events = (await client.get(f"/api/v1/hazards/{hazard['id']}/events", headers=leader)).json()
        changes = [event for event in events if event["to_status"] is not None]
        assert (changes[-1]["to_status"] if changes else "reported") == hazard["status"]
        times = [event["occurred_at"] for event in events]
        assert times == sorted(times)
    summary = (await client.get("/api/v1/hazards/summary", headers=leader)).json()
    assert len(summary["sites"]) == len(demo.SITES)
    mine = (await client.get("/api/v1/hazards", params={"limit": 200}, headers=volunteer)).json()["items"]
    night_market = {h["site_id"] for h in mine}
    assert len(night_market) == 1
    open_ones = [h for h in mine if h["status"] in ("reported", "verified", "rectifying")]
    photos = (await client.get(f"/api/v1/hazards/{open_ones[0]['id']}/attachments", headers=volunteer)).json()
    photo = await client.get(photos[0]["href"], headers=volunteer)
    assert photo.status_code == 200
    assert photo.headers["content-type"] == "image/jpeg"


async def _patrols(
    client: httpx.AsyncClient, made: int, officer: dict[str, str], volunteer: dict[str, str]
) -> None:
    """The night market's route, its checkpoints in order along the market (their codes for staff only), and
    a patrol every night since the pilot began: the article's drink-driving persuasion on 13 October 2023,
    written by the demo volunteer, the stall keeper who stopped the driver."""
    assert made > 1000 * 10  # some twelve hundred nights, each with members and check-ins
    routes = (await client.get("/api/v1/patrol-routes", headers=volunteer)).json()["items"]
    assert [route["name"] for route in routes] == [demo.patrols.ROUTE_NAME]
    url = f"/api/v1/patrol-routes/{routes[0]['id']}"
    checkpoints = (await client.get(url, headers=officer)).json()["checkpoints"]
    assert [point["position"] for point in checkpoints] == list(range(1, len(demo.patrols.CHECKPOINTS) + 1))
    assert all(point["code"] for point in checkpoints)
    assert all(
        point["code"] is None for point in (await client.get(url, headers=volunteer)).json()["checkpoints"]
    )
    night = {"starts_after": "2023-10-13T00:00:00+08:00", "starts_before": "2023-10-14T00:00:00+08:00"}
    [patrol] = (await client.get("/api/v1/patrols", params=night, headers=officer)).json()["items"]
    assert (patrol["status"], patrol["settled_at"] is not None) == ("completed", True)
    logs = (await client.get(f"/api/v1/patrols/{patrol['id']}/logs", headers=volunteer)).json()["items"]
    [persuasion] = [log for log in logs if log["topic"] == "drink_driving" and log["volunteer_id"]]
    assert "卤味摊" in persuasion["text"]
    overview = (
        await client.get("/api/v1/stats/overview", params={"period": "2023-10"}, headers=officer)
    ).json()
    figures = {figure["metric"]: figure["value"] for figure in overview["figures"]}
    assert figures["patrols_held"] + figures["patrols_missed"] == 31  # a patrol each night of October
    assert figures["persuasions"] >= 1
    assert figures["patrol_minutes"] > 31 * 200


async def _disputes(
    session_factory: SessionFactory, client: httpx.AsyncClient, made: int, officer: dict[str, str]
) -> None:
    """The article's 258 disputes settled from 1 July to 26 October 2023, read back through the statistics
    API for exactly that period and counted in the records; the quarrel outside the barbecue shop is linked
    to its patrol's log entry."""
    assert made > 258 * 5  # more than three years of evenings
    span = {"from": "2023-07-01", "to": "2023-10-26"}
    overview = (await client.get("/api/v1/stats/overview", params=span, headers=officer)).json()
    figures = {figure["metric"]: figure["value"] for figure in overview["figures"]}
    assert figures["disputes_resolved"] == 258
    assert 0 < figures["disputes_escalated"] < 10
    resolved_on = cast(func.timezone(demo.TIMEZONE.key, col(Dispute.resolved_at)), Date)
    async with session_factory() as session:
        settled = await session.scalar(
            select(func.count()).where(
                col(Dispute.status) == DisputeStatus.RESOLVED,
                resolved_on.between(date(2023, 7, 1), date(2023, 10, 26)),
            )
        )
        statuses = dict(
            (
                await session.execute(select(col(Dispute.status), func.count()).group_by(col(Dispute.status)))
            ).all()
        )
        quarrel = await session.scalar(
            select(col(Dispute.source))
            .join(PatrolLog, col(PatrolLog.dispute_id) == col(Dispute.id))
            .where(col(PatrolLog.kind) == LogKind.DISPUTE)
        )
    assert settled == 258
    assert set(statuses) == set(DisputeStatus)
    assert quarrel == "patrol"
    summary = (
        await client.get("/api/v1/disputes/summary", params={"month": "2023-10"}, headers=officer)
    ).json()
    assert len(summary["sites"]) == len(demo.SITES)
    assert summary["total"]["by_kind"]["parking"] + summary["total"]["by_kind"]["quarrel"] > (
        summary["total"]["reported"] / 2
    )
    assert summary["total"]["share_within_10_minutes"] > 0.7


async def _trainings(
    session_factory: SessionFactory, client: httpx.AsyncClient, made: int, officer: dict[str, str]
) -> None:
    """Every site has a settled training in each month since it joined the pilot, up to the last complete
    month; about nine volunteers in ten trained in a month."""
    held_in = func.to_char(func.timezone(demo.TIMEZONE.key, col(Training.starts_at)), "YYYY-MM")
    async with session_factory() as session:
        held = set(
            (
                await session.execute(
                    select(col(TrainingAudience.site_id), held_in)
                    .join(Training, col(Training.id) == col(TrainingAudience.training_id))
                    .where(col(Training.status) == TrainingStatus.SETTLED)
                )
            ).all()
        )
        sites = (await session.execute(select(col(Site.id), col(Site.name)))).all()
    assert made == len(held)
    last_month = station_today(demo.TIMEZONE.key).replace(day=1) - timedelta(days=1)
    names = [site.name for site in demo.SITES]
    for site_id, name in sites:
        month = opening(names.index(name)).date().replace(day=1)
        while month <= last_month:
            assert (site_id, f"{month:%Y-%m}") in held, (name, month)
            month = (month + timedelta(days=32)).replace(day=1)
    answer = await client.get("/api/v1/trainings/compliance", params={"month": "2023-10"}, headers=officer)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert len(report["sites"]) == len(demo.SITES)
    for site in report["sites"]:
        assert 0.8 <= site["rate"] <= 0.97, site
    listed = await client.get(
        "/api/v1/trainings/compliance/volunteers/export",
        params={"month": "2023-10", "format": "csv"},
        headers=officer,
    )
    assert listed.status_code == 200, listed.text
    rows = list(csv.DictReader(io.StringIO(listed.content.decode("utf-8-sig"))))
    assert len(rows) == report["volunteers"]
    assert sum(row["trained"] == "true" for row in rows) == report["trained"]
    assert sum(int(row["excused"]) for row in rows) > 0
    # Their statistics: sessions held and attendances, counted from the records.
    async with session_factory() as session:
        attended = await session.scalar(
            select(func.count()).where(col(TrainingAttendance.status).in_(("present", "late")))
        )
    overview = (await client.get("/api/v1/stats/overview", headers=officer)).json()
    figures = {figure["metric"]: figure["running_total"] for figure in overview["figures"]}
    assert (figures["trainings_held"], figures["training_attendances"]) == (made, attended)
    series = await client.get(
        "/api/v1/stats/series",
        params={
            "metric": "volunteers_trained",
            "granularity": "month",
            "from": "2023-10-01",
            "to": "2023-10-31",
        },
        headers=officer,
    )
    assert [point["value"] for point in series.json()["points"]] == [report["trained"]]


async def _statistics(client: httpx.AsyncClient, made: int, officer: dict[str, str]) -> None:
    """A newcomer's first statistics call (the last complete month) shows the article's changes."""
    assert made > 5000
    answer = (await client.get("/api/v1/stats/incidents", headers=officer)).json()
    assert answer["period"]["data_status"] == "final"
    crime = next(row for row in answer["rows"] if row["key"] == "illegal_crime")
    assert (crime["yoy"]["percent"], crime["mom"]["percent"]) == (-71.5, -48.9)
    tags = (await client.get("/api/v1/stats/incidents", params={"by": "tag"}, headers=officer)).json()
    changes = {row["key"]: (row["yoy"]["percent"], row["mom"]["percent"]) for row in tags["rows"]}
    assert changes["floating_population"] == (-72.1, -53.3)
    assert changes["porn_gambling"] == (-43.4, -41.3)
    overview = (await client.get("/api/v1/stats/overview", headers=officer)).json()
    figures = {figure["metric"]: figure for figure in overview["figures"]}
    assert figures["volunteers_active"]["running_total"] > 650
    assert figures["hazards_eliminated"]["running_total"] == 133
