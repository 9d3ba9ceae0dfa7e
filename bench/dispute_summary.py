"""Dispute summary benchmark: 100,000 disputes over 3 sites and 24 months, the monthly summary through the
service (every site and the total, by kind, outcome and destination, prompt interventions, the median time to
resolution) against one plain SQL aggregate over the same month's rows through bare asyncpg (target: the
summary within 1.5×), for the current month and for a full month a year ago."""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.common import station_with_sites
from tests.world import add_user
from yijing.access import SYSTEM, Role
from yijing.db import copy_records, session_scope, short_lived_sessions
from yijing.disputes import summary
from yijing.disputes.models import DisputeKind, DisputeOutcome, DisputeStatus, EscalationTarget
from yijing.ids import new_id, utcnow
from yijing.settings import Settings

DISPUTES = 100_000
SITES = 3
MONTHS = 24
RUNS = 30  # of each, after a warm-up; medians reported
SHANGHAI = ZoneInfo("Asia/Shanghai")

# The month's figures in one statement, by site, as one would write it by hand for one station: the month's
# bounds in Shanghai given as instants, every figure the summary gives (its total aside). The baseline.
_IN = "{column} >= $2 AND {column} < $3"
_REPORTED = _IN.format(column="reported_at")
_CLOSED = _IN.format(column="closed_at")
_MEDIATED = _IN.format(column="mediating_at")
AGGREGATE = f"""
SELECT site_id,
    count(*) FILTER (WHERE {_REPORTED}) AS reported,
    {", ".join(f"count(*) FILTER (WHERE {_REPORTED} AND kind = '{kind}')" for kind in DisputeKind)},
    count(*) FILTER (WHERE {_CLOSED} AND status = 'resolved') AS resolved,
    {", ".join(f"count(*) FILTER (WHERE {_CLOSED} AND outcome = '{value}')" for value in DisputeOutcome)},
    count(*) FILTER (WHERE {_CLOSED} AND status = 'escalated') AS escalated,
    {", ".join(f"count(*) FILTER (WHERE {_CLOSED} AND escalated_to = '{to}')" for to in EscalationTarget)},
    count(*) FILTER (WHERE {_CLOSED} AND status = 'failed') AS failed,
    count(*) FILTER (WHERE {_MEDIATED}) AS interventions,
    count(*) FILTER (WHERE {_MEDIATED} AND intervention_seconds <= 600) AS within_10_minutes,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY resolution_seconds / 60.0)
        FILTER (WHERE {_CLOSED} AND status = 'resolved') AS median_minutes
FROM disputes
WHERE station_id = $1 AND ({_REPORTED} OR {_CLOSED} OR {_MEDIATED})
GROUP BY site_id
"""  # noqa: S608 — built from the enums above, no input


def _row(
    rng: random.Random, station_id: Any, site_id: Any, reporter_id: Any, reported: datetime
) -> dict[str, Any]:
    """A dispute reported at ``reported``: mostly resolved within the hour, some escalated or failed, the
    last days' partly still open."""
    roll = rng.random()
    recent = utcnow() - reported < timedelta(days=3)
    status = (
        rng.choice((DisputeStatus.REPORTED, DisputeStatus.MEDIATING)) if recent and roll < 0.5
        else DisputeStatus.ESCALATED if roll < 0.05
        else DisputeStatus.FAILED if roll < 0.07
        else DisputeStatus.RESOLVED
    )  # fmt: skip
    mediating = (
        reported + timedelta(minutes=rng.randint(1, 30)) if status is not DisputeStatus.REPORTED else None
    )
    closed = (
        mediating + timedelta(minutes=rng.randint(5, 90))
        if mediating is not None and status is not DisputeStatus.MEDIATING
        else None
    )
    outcome = rng.choice(list(DisputeOutcome)) if status is DisputeStatus.RESOLVED else None
    handed_on = {"escalated_to": rng.choice(list(EscalationTarget)).value, "escalation_reference": "2024-001"}
    return {
        "id": new_id(), "station_id": station_id, "site_id": site_id, "kind": rng.choice(list(DisputeKind)),
        "source": "resident", "patrol_id": None, "address": None, "latitude": None, "longitude": None,
        "occurred_at": reported, "reported_at": reported, "account": "停车纠纷", "risk_of_violence": False,
        "party_count": 2, "reporter_id": reporter_id, "client_id": None, "status": status.value,
        "outcome": outcome.value if outcome else None,
        "agreement_text": "协议" if outcome is DisputeOutcome.WRITTEN_AGREEMENT else None,
        "compensation_amount": Decimal("200.00") if outcome is DisputeOutcome.COMPENSATION else None,
        "escalated_to": None, "escalation_reference": None,
        "failure_reason": "拒绝调解" if status is DisputeStatus.FAILED else None,
        "mediating_at": mediating,
        "intervention_seconds": int((mediating - reported).total_seconds()) if mediating else None,
        "resolved_at": closed if status is DisputeStatus.RESOLVED else None,
        "resolution_seconds": int((closed - reported).total_seconds())
        if closed and status is DisputeStatus.RESOLVED else None,
        "closed_at": closed, "version": 1, "created_at": reported, "updated_at": reported,
    } | (handed_on if status is DisputeStatus.ESCALATED else {})  # fmt: skip


async def seed(settings: Settings) -> Any:
    """The station (Asia/Shanghai), its sites and disputes, COPYed in; its id."""
    assert settings.database_url
    rng = random.Random(15)
    now = utcnow()
    async with short_lived_sessions(settings.database_url) as factory, session_scope(factory) as session:
        station, sites = await station_with_sites(session, "纠纷压测派出所", SITES)
        officer = await add_user(session, settings, Role.OFFICER, station.id, "13700000015", 15)
        rows = [
            _row(
                rng,
                station.id,
                sites[serial % SITES].id,
                officer.id,
                now - timedelta(days=rng.uniform(0.1, MONTHS * 30.4)),
            )
            for serial in range(DISPUTES)
        ]
        columns = list(rows[0])
        await copy_records(
            session, "disputes", columns, [tuple(row[name] for name in columns) for row in rows]
        )
    async with short_lived_sessions(settings.database_url) as factory, session_scope(factory) as session:
        await session.execute(text("ANALYZE disputes"))
    return station.id


def _bounds(month: date) -> tuple[datetime, datetime]:
    following = (month + timedelta(days=32)).replace(day=1)
    return (
        datetime.combine(month, datetime.min.time(), SHANGHAI).astimezone(UTC),
        datetime.combine(following, datetime.min.time(), SHANGHAI).astimezone(UTC),
    )


async def bench_dispute_summary(settings: Settings) -> None:
    assert settings.database_url
    started = time.perf_counter()
    station_id = await seed(settings)
    print(f"{'seed ' + format(DISPUTES, ',') + ' disputes':<34} {time.perf_counter() - started:8.1f} s")
    this_month = utcnow().astimezone(SHANGHAI).date().replace(day=1)
    a_year_ago = (this_month - timedelta(days=360)).replace(day=1)
    dsn = make_url(settings.database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        async with short_lived_sessions(settings.database_url) as factory, factory() as session:
            for month in (this_month, a_year_ago):
                label = f"{month:%Y-%m}"
                samples: dict[str, list[float]] = {"summary": [], "aggregate": []}
                answer = rows = None
                for run in range(RUNS + 1):
                    begun = time.perf_counter()
                    answer = await summary.summarise(
                        session, SYSTEM, station_id=station_id, site_id=None, month=label,
                        default_timezone=SHANGHAI,
                    )  # fmt: skip
                    elapsed = time.perf_counter() - begun
                    begun = time.perf_counter()
                    rows = await connection.fetch(AGGREGATE, station_id, *_bounds(month))
                    floor = time.perf_counter() - begun
                    if run:  # the first of each warms the caches
                        samples["summary"].append(elapsed)
                        samples["aggregate"].append(floor)
                assert answer is not None
                assert rows is not None
                figures = (
                    "reported",
                    "resolved",
                    "escalated",
                    "failed",
                    "interventions",
                    "within_10_minutes",
                )
                same = [getattr(answer.total, name) for name in figures] == [
                    sum(row[name] for row in rows) for name in figures
                ]
                service, floor = (statistics.median(samples[name]) for name in ("summary", "aggregate"))
                print(
                    f"{'dispute summary ' + label:<34} runs={RUNS}  median={service * 1000:7.2f} ms  "
                    f"({service / floor:.2f}× the aggregate; target ≤ 1.5×)  reported={answer.total.reported}"
                )
                print(
                    f"{'  same month, one SQL aggregate':<34} runs={RUNS}  median={floor * 1000:7.2f} ms  "
                    f"(asyncpg; same counts: {'yes' if same else 'NO'})"
                )
    finally:
        await connection.close()
