"""Hazard benchmarks: a station with 100,000 hazards over two years across 20 sites. Pages of the list with
filters, the per-site summary, a hazard's history, a report, a photo upload, and the deadline job when
thousands are due and when nothing is."""

from __future__ import annotations

import io
import random
import time
from collections.abc import Awaitable, Callable
from datetime import date, timedelta

import httpx
from asgi_lifespan import LifespanManager
from PIL import Image
from sqlalchemy import insert, text

from bench.common import report, station_with_sites, timed
from tests.world import add_user, sign_in_directly
from yijing.access import Role
from yijing.db import session_scope, short_lived_sessions
from yijing.hazards.jobs import DEADLINES
from yijing.hazards.models import OPEN_STATUSES, Hazard, HazardCategory, HazardSeverity, HazardStatus
from yijing.ids import new_id, utcnow
from yijing.jobs import service as jobs_service
from yijing.org.models import Site
from yijing.settings import Settings
from yijing_api.main import create_app

HAZARDS = 100_000
OPEN_DUE = 5_000  # open hazards past their deadline when the deadline job first runs
PAGES = 200
BATCH = 10_000


async def seed(settings: Settings) -> tuple[list[Site], dict[str, str], str]:
    """The station, its sites and hazards (most closed, OPEN_DUE open and past their deadline, the rest open
    and not yet due); an officer's headers and one hazard's id."""
    assert settings.database_url
    rng = random.Random(11)
    now = utcnow()
    today = now.date()
    async with short_lived_sessions(settings.database_url) as factory, session_scope(factory) as session:
        station, sites = await station_with_sites(session, "隐患压测派出所", 20)
        officer = await add_user(session, settings, Role.OFFICER, station.id, "13700000003", 3)
        token = await sign_in_directly(session, settings, officer)
        closed = [HazardStatus.ELIMINATED] * 8 + [HazardStatus.NOT_HAZARD, HazardStatus.NOT_HAZARD]
        rows = []
        for serial in range(HAZARDS):
            created = now - timedelta(days=rng.uniform(0, 730))
            status = rng.choice(closed) if serial >= OPEN_DUE * 3 else rng.choice(sorted(OPEN_STATUSES))
            due = serial < OPEN_DUE
            rows.append(
                {
                    "id": new_id(), "station_id": station.id, "site_id": sites[serial % 20].id,
                    "category": rng.choice(list(HazardCategory)),
                    "severity": rng.choice(list(HazardSeverity)),
                    "source": "patrol", "description": f"隐患{serial}", "reporter_id": officer.id,
                    "reporter_role": "officer", "status": status, "overdue": False, "version": 1,
                    "deadline": today + timedelta(days=-2 if due else rng.randint(3, 30)),
                    "eliminated_at": created + timedelta(days=3) if status == "eliminated" else None,
                    "closed_at": created + timedelta(days=3) if status not in OPEN_STATUSES else None,
                    "created_at": created, "updated_at": created,
                }
            )  # fmt: skip
        for start in range(0, HAZARDS, BATCH):
            await session.execute(insert(Hazard), rows[start : start + BATCH])
        hazard_id = str(rows[-1]["id"])
    async with short_lived_sessions(settings.database_url) as factory, session_scope(factory) as session:
        await session.execute(text("ANALYZE hazards"))
    return sites, {"Authorization": f"Bearer {token}"}, hazard_id


def photo() -> bytes:
    output = io.BytesIO()
    Image.effect_noise((1600, 1200), 40).convert("RGB").save(output, format="JPEG", quality=85)
    return output.getvalue()


def listing(client: httpx.AsyncClient, params: dict[str, str]) -> Callable[[], Awaitable[httpx.Response]]:
    return lambda: client.get("/api/v1/hazards", params=params)


async def bench_hazards(settings: Settings) -> None:
    started = time.perf_counter()
    sites, headers, hazard_id = await seed(settings)
    print(f"{'seed ' + format(HAZARDS, ',') + ' hazards':<34} {time.perf_counter() - started:8.1f} s")
    assert settings.database_url
    async with short_lived_sessions(settings.database_url) as factory:
        started = time.perf_counter()
        first = await jobs_service.execute(factory, settings, DEADLINES, {})
        flagged = time.perf_counter() - started
        started = time.perf_counter()
        second = await jobs_service.execute(factory, settings, DEADLINES, {})
        idle = time.perf_counter() - started
    assert first.result is not None
    assert first.result["overdue"] == OPEN_DUE, first.result
    assert second.result == {"overdue": 0, "reminded": 0}, second.result
    print(f"{'deadline job, 5,000 overdue':<34} {flagged:8.2f} s  (events and notices included)")
    print(f"{'deadline job, nothing due':<34} {idle * 1000:8.1f} ms")
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", headers=headers) as client:
            cases: dict[str, dict[str, str]] = {
                "no filter": {},
                "status=rectifying": {"status": "rectifying"},
                "overdue=true": {"overdue": "true"},
                "site + category": {"site_id": str(sites[7].id), "category": "fire"},
            }
            for name, params in cases.items():
                response = await client.get("/api/v1/hazards", params=params)
                assert response.status_code == 200, response.text
                report(f"hazards list 50, {name}", await timed(listing(client, params), PAGES))
            month = {"month": f"{date.today():%Y-%m}"}
            report(
                "hazards summary (20 sites, 100k)",
                await timed(lambda: client.get("/api/v1/hazards/summary", params=month), 50),
            )
            report(
                "hazard history",
                await timed(lambda: client.get(f"/api/v1/hazards/{hazard_id}/events"), PAGES),
            )
            body = {"site_id": str(sites[0].id), "category": "fire", "description": "灭火器过期"}
            report("report a hazard", await timed(lambda: client.post("/api/v1/hazards", json=body), PAGES))
            pictures = [photo() for _ in range(20)]
            uploads = iter(pictures)
            size = sum(len(picture) for picture in pictures) / len(pictures) / 1e6
            report(
                f"upload a {size:.1f} MB JPEG, GPS stripped",
                await timed(
                    lambda: client.post(
                        f"/api/v1/hazards/{hazard_id}/attachments",
                        files={"file": ("photo.jpg", next(uploads), "image/jpeg")},
                        data={"strip_gps": "true"},
                    ),
                    len(pictures),
                ),
            )
