"""Disputes' monthly summary: every figure equals a count of the records it summarises (months read in the
station's time zone), the total is the sum of the sites, reach and roles; and disputes as a statistics
source, recounted when their days change."""

import random
import statistics
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from tests.stats.test_stats import settle
from tests.world import World
from yijing.access import Role
from yijing.db import session_scope
from yijing.disputes.models import (
    Dispute,
    DisputeKind,
    DisputeOutcome,
    DisputeSource,
    DisputeStatus,
    EscalationTarget,
)
from yijing.ids import station_today, utcnow
from yijing.org.models import Site
from yijing.stats.jobs import queue_recompute

SHANGHAI = ZoneInfo("Asia/Shanghai")
SUMMARY = "/api/v1/disputes/summary"
# October 2023 in Shanghai runs from 2023-09-30 16:00 UTC to 2023-10-31 16:00 UTC.
OCTOBER_STARTS = datetime(2023, 9, 30, 16, tzinfo=UTC)
OCTOBER_ENDS = datetime(2023, 10, 31, 16, tzinfo=UTC)


def dispute(
    world: World,
    site_id: uuid.UUID,
    status: DisputeStatus,
    reported_at: datetime,
    *,
    mediated_after: timedelta | None = None,
    closed_after: timedelta | None = None,
    kind: DisputeKind = DisputeKind.PARKING,
    outcome: DisputeOutcome = DisputeOutcome.SETTLED_ON_SPOT,
    escalated_to: EscalationTarget = EscalationTarget.POLICE_CASE,
) -> Dispute:
    """A dispute of the own station, its clocks and closing fields as the lifecycle leaves them."""
    mediating_at = None if mediated_after is None else reported_at + mediated_after
    closed_at = None if closed_after is None else reported_at + closed_after
    resolved = status is DisputeStatus.RESOLVED
    record = Dispute(
        station_id=world.own.station.id, site_id=site_id, kind=kind, source=DisputeSource.RESIDENT,
        occurred_at=reported_at - timedelta(minutes=5), reported_at=reported_at, account="两车主因车位争执",
        party_count=2, reporter_id=world.user(Role.OFFICER).id, status=status,
        mediating_at=mediating_at,
        intervention_seconds=None if mediated_after is None else int(mediated_after.total_seconds()),
        closed_at=closed_at,
    )  # fmt: skip
    if resolved:
        assert closed_after is not None
        record.outcome = outcome
        record.resolved_at = closed_at
        record.resolution_seconds = int(closed_after.total_seconds())
        record.agreement_text = "双方同意错峰停车" if outcome is DisputeOutcome.WRITTEN_AGREEMENT else None
        record.compensation_amount = Decimal("200.00") if outcome is DisputeOutcome.COMPENSATION else None
    elif status is DisputeStatus.ESCALATED:
        record.escalated_to, record.escalation_reference = escalated_to, "闽侯甘蔗 2023-1013-07"
    elif status is DisputeStatus.FAILED:
        record.failure_reason = "一方拒绝调解"
    return record


def mixed(world: World, sites: list[uuid.UUID], count: int) -> list[Dispute]:
    """``count`` disputes of every status, kind, outcome and destination across ``sites``, reported around
    October 2023 and its edges in Shanghai time (some of September's first mediated or closed in October,
    some of October's closed in November)."""
    rng = random.Random(15)
    edges = [OCTOBER_STARTS, OCTOBER_ENDS]
    made = []
    for number in range(count):
        if number % 3 == 0:  # within an hour of a month's edge, on either side
            reported = rng.choice(edges) + timedelta(minutes=rng.randint(-60, 60))
        else:
            reported = OCTOBER_STARTS + timedelta(days=rng.uniform(-6, 37))
        status = rng.choice(list(DisputeStatus))
        opened = status is not DisputeStatus.REPORTED
        mediated = timedelta(minutes=rng.choice((2, 9, 10, 11, 45, 60 * 30))) if opened else None
        closed = None
        if status not in {DisputeStatus.REPORTED, DisputeStatus.MEDIATING}:
            assert mediated is not None
            closed = mediated + timedelta(minutes=rng.choice((7, 25, 48, 60 * 24 * 3)))
        made.append(
            dispute(
                world, rng.choice(sites), status, reported.replace(microsecond=0), mediated_after=mediated,
                closed_after=closed, kind=rng.choice(list(DisputeKind)),
                outcome=rng.choice(list(DisputeOutcome)), escalated_to=rng.choice(list(EscalationTarget)),
            )
        )  # fmt: skip
    return made


def in_october(moment: datetime | None) -> bool:
    return moment is not None and f"{moment.astimezone(SHANGHAI):%Y-%m}" == "2023-10"


def expected(disputes: list[Dispute]) -> dict:
    """The figures, counted from the records themselves."""
    reported = [d for d in disputes if in_october(d.reported_at)]
    closed = [d for d in disputes if in_october(d.closed_at)]
    resolved = [d for d in closed if d.status is DisputeStatus.RESOLVED]
    escalated = [d for d in closed if d.status is DisputeStatus.ESCALATED]
    mediated = [d for d in disputes if in_october(d.mediating_at)]
    prompt = [d for d in mediated if d.intervention_seconds is not None and d.intervention_seconds <= 600]
    minutes = [d.resolution_seconds / 60 for d in resolved if d.resolution_seconds is not None]
    return {
        "reported": len(reported),
        "by_kind": {kind.value: sum(d.kind is kind for d in reported) for kind in DisputeKind},
        "resolved": len(resolved),
        "by_outcome": {value.value: sum(d.outcome == value for d in resolved) for value in DisputeOutcome},
        "escalated": len(escalated),
        "by_destination": {to.value: sum(d.escalated_to == to for d in escalated) for to in EscalationTarget},
        "failed": sum(d.status is DisputeStatus.FAILED for d in closed),
        "interventions": len(mediated),
        "within_10_minutes": len(prompt),
        "share_within_10_minutes": round(len(prompt) / len(mediated), 3) if mediated else None,
        "median_minutes_to_resolution": round(statistics.median(minutes), 1) if minutes else None,
    }


def figures_of(row: dict) -> dict:
    """A site's row without the site's names."""
    return {key: value for key, value in row.items() if key not in ("site_id", "site_name", "station_id")}


async def second_site(session_factory, world: World) -> Site:
    async with session_scope(session_factory) as session:
        site = Site(station_id=world.own.station.id, name="万家广场")
        session.add(site)
    return site


async def summary(client, world: World, role: Role = Role.OFFICER, **params) -> dict:
    response = await client.get(SUMMARY, params=params, headers=world.headers(role))
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_figures_are_counts_of_the_records(client, world, session_factory):
    plaza = await second_site(session_factory, world)
    sites = [world.own.site.id, plaza.id]
    disputes = mixed(world, sites, 36)
    async with session_scope(session_factory) as session:
        session.add_all(disputes)
    answer = await summary(client, world, month="2023-10", station_id=str(world.own.station.id))
    assert answer["month"] == "2023-10"
    by_site = {row["site_id"]: row for row in answer["sites"]}
    assert [row["site_name"] for row in answer["sites"]] == sorted([world.own.site.name, plaza.name])
    for site_id in sites:
        row = by_site[str(site_id)]
        assert row["station_id"] == str(world.own.station.id)
        assert figures_of(row) == expected([d for d in disputes if d.site_id == site_id]), site_id
    assert answer["total"] == expected(disputes)
    # The data reaches every edge: each kind of figure is there to be counted, and some are not October's.
    total = answer["total"]
    assert min(total["reported"], total["resolved"], total["escalated"], total["failed"]) > 0
    assert 0 < total["within_10_minutes"] < total["interventions"]
    assert sum(in_october(d.reported_at) for d in disputes) < len(disputes)
    # The total is the sum of the sites (but for the share and the median, which are not sums).
    for key in ("reported", "resolved", "escalated", "failed", "interventions", "within_10_minutes"):
        assert total[key] == sum(row[key] for row in answer["sites"]), key
    for key in ("by_kind", "by_outcome", "by_destination"):
        assert total[key] == {name: sum(row[key][name] for row in answer["sites"]) for name in total[key]}
    one = await summary(client, world, month="2023-10", site_id=str(plaza.id))
    assert [row["site_id"] for row in one["sites"]] == [str(plaza.id)]
    assert one["total"] == expected([d for d in disputes if d.site_id == plaza.id])


async def test_a_site_without_disputes_has_zeros_and_no_rates(client, world):
    answer = await summary(client, world, month="2019-02")
    [site] = answer["sites"]
    assert site["site_id"] == str(world.own.site.id)
    assert (site["reported"], site["resolved"], site["interventions"]) == (0, 0, 0)
    assert set(site["by_kind"].values()) == {0}
    assert set(site["by_kind"]) == {kind.value for kind in DisputeKind}
    assert set(site["by_destination"]) == {to.value for to in EscalationTarget}
    assert (site["share_within_10_minutes"], site["median_minutes_to_resolution"]) == (None, None)
    assert answer["total"] == figures_of(site)


async def test_the_month_is_the_stations_current_one_by_default(client, world, session_factory):
    this_month = f"{station_today(world.own.station.timezone):%Y-%m}"
    before = await summary(client, world)
    assert before["month"] == this_month
    async with session_scope(session_factory) as session:
        session.add(
            dispute(world, world.own.site.id, DisputeStatus.REPORTED, utcnow() - timedelta(seconds=5))
        )
    after = await summary(client, world)
    assert after["total"]["reported"] == before["total"]["reported"] + 1
    assert after == await summary(client, world, month=this_month)


async def test_the_summary_stays_within_reach(client, world):
    officer = world.headers(Role.OFFICER)
    for params, code in (
        ({"station_id": str(world.other.station.id)}, "station_not_found"),
        ({"site_id": str(world.other.site.id)}, "site_not_found"),
        ({"site_id": str(uuid.uuid4())}, "site_not_found"),
    ):
        response = await client.get(SUMMARY, params=params, headers=officer)
        assert (response.status_code, response.json()["code"]) == (404, code), params
    mine = await summary(client, world)
    assert [row["site_id"] for row in mine["sites"]] == [str(world.own.site.id)]
    everything = await summary(client, world, Role.ADMIN)
    assert {row["site_id"] for row in everything["sites"]} == {
        str(world.own.site.id),
        str(world.other.site.id),
    }
    key = {"X-API-Key": world.api_keys["stats"][1]}
    keyed = await client.get(SUMMARY, params={"month": "2023-10"}, headers=key)
    assert keyed.status_code == 200, keyed.text
    assert [row["site_id"] for row in keyed.json()["sites"]] == [str(world.own.site.id)]
    assert (await client.get(SUMMARY, headers=world.headers(Role.VOLUNTEER))).status_code == 403
    for month in ("2023-13", "2023-1", "october"):
        response = await client.get(SUMMARY, params={"month": month}, headers=officer)
        assert response.status_code == 422, month
        assert response.json()["errors"][0]["field"] == "query.month"


async def test_disputes_are_a_statistics_source(client, world, session_factory, settings, redis, run_worker):
    late = OCTOBER_ENDS - timedelta(minutes=30)  # 31 October, 23:30 in Shanghai
    disputes = [
        dispute(world, world.own.site.id, DisputeStatus.RESOLVED, late, mediated_after=timedelta(minutes=3),
                closed_after=timedelta(minutes=45), outcome=DisputeOutcome.APOLOGY),  # resolved on 1 November
        *(
            dispute(world, world.own.site.id, DisputeStatus.RESOLVED, OCTOBER_STARTS + timedelta(days=day),
                    mediated_after=timedelta(minutes=5), closed_after=timedelta(minutes=40), outcome=outcome)
            for day, outcome in (
                (3, DisputeOutcome.SETTLED_ON_SPOT), (4, DisputeOutcome.SETTLED_ON_SPOT),
                (12, DisputeOutcome.WRITTEN_AGREEMENT),
            )
        ),
        dispute(world, world.own.site.id, DisputeStatus.ESCALATED, OCTOBER_STARTS + timedelta(days=20),
                mediated_after=timedelta(minutes=5), closed_after=timedelta(hours=2),
                escalated_to=EscalationTarget.MEDIATION_COMMITTEE, kind=DisputeKind.NEIGHBOUR),
    ]  # fmt: skip
    async with session_scope(session_factory) as session:
        session.add_all(disputes)
        days = {
            moment.astimezone(SHANGHAI).date()
            for record in disputes
            for moment in (record.reported_at, record.closed_at)
            if moment is not None
        }
        # What a write of the disputes service asks for: the days it touched, recounted.
        await queue_recompute(session, "disputes", world.own.station.id, days)
    await settle(session_factory, settings, redis, run_worker, check=False)
    officer = world.headers(Role.OFFICER)

    async def total(metric: str, dimension: str | None, first: str, last: str) -> int:
        params = {"metric": metric, "from": first, "to": last} | (
            {"dimension": dimension} if dimension else {}
        )
        response = await client.get("/api/v1/stats/series", params=params, headers=officer)
        assert response.status_code == 200, response.text
        return sum(point["value"] or 0 for point in response.json()["points"])

    october = ("2023-10-01", "2023-10-31")
    assert await total("disputes_resolved", None, *october) == 3
    assert await total("disputes_resolved", "outcome:settled_on_spot", *october) == 2
    assert await total("disputes_resolved", "outcome:written_agreement", *october) == 1
    assert await total("disputes_resolved", "outcome:apology", *october) == 0
    assert await total("disputes_resolved", "outcome:apology", "2023-11-01", "2023-11-30") == 1
    assert await total("disputes_reported", None, *october) == 5
    assert await total("disputes_reported", "kind:neighbour", *october) == 1
    assert await total("disputes_escalated", "to:mediation_committee", *october) == 1
    # The nightly check finds the same figures, and the overview shows them.
    await settle(session_factory, settings, redis, run_worker)
    overview = await client.get("/api/v1/stats/overview", params={"period": "2023-10"}, headers=officer)
    figures = {figure["metric"]: figure["value"] for figure in overview.json()["figures"]}
    assert [figures[f"disputes_{name}"] for name in ("reported", "resolved", "escalated")] == [5, 3, 1]
