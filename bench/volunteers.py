"""Volunteer benchmarks: pages of a station with 100,000 volunteers (with filters, each page must be one
SQL query on the volunteers table), and an import of a 10,000-row file through the real job."""

from __future__ import annotations

import csv
import io
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from bench.common import report, station_with_sites, timed
from tests.world import add_user, id_card_number, sign_in_directly
from yijing.access import Role
from yijing.db import session_scope, short_lived_sessions
from yijing.jobs import service as jobs_service
from yijing.org.models import Site
from yijing.personal import id_card_check_code, protector_for
from yijing.settings import Settings
from yijing.volunteers import repository
from yijing.volunteers.jobs import IMPORT
from yijing.volunteers.models import Gender, VolunteerSource, VolunteerStatus
from yijing.volunteers.schemas import VolunteerCreate
from yijing.volunteers.service import volunteer_row
from yijing_api.main import create_app

VOLUNTEERS = 100_000
IMPORT_ROWS = 10_000
PAGES = 200


@contextmanager
def statements_on(table: str) -> Iterator[list[str]]:
    """Every SQL statement issued meanwhile that reads ``table``."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if f"FROM {table}" in statement:
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


def _card(serial: int) -> str:
    """A valid ID-card number, distinct below serial 100,000 (birth date and sequence from its digits)."""
    born = f"{1960 + serial // 10_000}{1 + serial // 1000 % 10:02d}{1 + serial // 100 % 10:02d}"
    first17 = f"350121{born}{serial % 100:03d}"
    return first17 + id_card_check_code(first17)


async def seed(
    settings: Settings, station_name: str = "压测派出所", officer_phone: str = "13700000001"
) -> tuple[list[Site], dict[str, str]]:
    """A station with ten sites and VOLUNTEERS volunteers of every status and source; an officer's headers."""
    assert settings.database_url
    protector = protector_for(settings.personal_data_key)
    rng = random.Random(7)
    async with short_lived_sessions(settings.database_url) as factory, session_scope(factory) as session:
        station, sites = await station_with_sites(session, station_name, 10)
        rows = []
        for serial in range(VOLUNTEERS):
            data = VolunteerCreate.model_construct(
                name=f"义警{serial}", gender=Gender.FEMALE, phone=f"13{serial:09d}",
                id_card_number=_card(serial),
                site_id=sites[serial % 10].id, source=rng.choice(list(VolunteerSource)), household_name=None,
                household_address=None, badge_number=f"B{serial}", skills=[], joined_on=date(2023, 7, 1),
                status=VolunteerStatus.ACTIVE, user_id=None,
            )  # fmt: skip
            row = volunteer_row(data, station.id, date(2023, 7, 1), protector)
            rows.append(row | {"status": rng.choice(list(VolunteerStatus))})
        await repository.insert_new(session, rows)
        officer = await add_user(session, settings, Role.OFFICER, station.id, officer_phone, 1)
        token = await sign_in_directly(session, settings, officer)
    async with short_lived_sessions(settings.database_url) as factory, session_scope(factory) as session:
        await session.execute(text("ANALYZE volunteers"))
    return sites, {"Authorization": f"Bearer {token}"}


def import_file(site_name: str) -> bytes:
    text_file = io.StringIO()
    writer = csv.writer(text_file)
    writer.writerow(
        ["姓名", "性别", "手机号", "身份证号", "站点", "来源", "摊位/户", "袖标号", "技能", "加入日期"]
    )
    for serial in range(IMPORT_ROWS):
        writer.writerow(
            [f"导入{serial}", "女", f"15{serial:09d}", id_card_number(serial), site_name, "房东",
             f"{serial}号", f"IMP-{serial}", "急救、调解", "2023-08-01"]
        )  # fmt: skip
    return text_file.getvalue().encode("utf-8-sig")


def page(client: httpx.AsyncClient, params: dict[str, str]) -> Callable[[], Awaitable[httpx.Response]]:
    return lambda: client.get("/api/v1/volunteers", params=params)


async def bench_volunteers(settings: Settings) -> None:
    started = time.perf_counter()
    sites, headers = await seed(settings)
    print(f"{'seed ' + format(VOLUNTEERS, ',') + ' volunteers':<34} {time.perf_counter() - started:8.1f} s")
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", headers=headers) as client:
            site = str(sites[3].id)
            cases: dict[str, dict[str, str]] = {
                "no filter": {},
                "status + source": {"status": "suspended", "source": "landlord"},
                "site + status": {"site_id": site, "status": "active"},
                "name search (q=义警9999)": {"q": "义警9999"},
                "phone suffix (q=4321)": {"q": "4321"},
            }
            for name, params in cases.items():
                with statements_on("volunteers") as statements:
                    response = await client.get("/api/v1/volunteers", params=params)
                assert response.status_code == 200, response.text
                assert len(statements) == 1, statements
                report(f"list 50, {name}", await timed(page(client, params), PAGES))
            print(f"{'SQL queries on volunteers per page':<34} 1 (checked for every filter above)")
            deep = (await client.get("/api/v1/volunteers", params={"limit": 200, "status": "active"})).json()
            after = {"status": "active", "cursor": deep["next_cursor"]}
            report("list 50, active, after a cursor", await timed(page(client, after), PAGES))
            report(
                "volunteers summary (100k)", await timed(lambda: client.get("/api/v1/volunteers/summary"), 50)
            )

            content = import_file(sites[0].name)
            started = time.perf_counter()
            upload = await client.post(
                "/api/v1/volunteers/imports", files={"file": ("bench.csv", content, "text/csv")}
            )
            uploaded = time.perf_counter() - started
            assert upload.status_code == 202, upload.text
            run = upload.json()
    assert settings.database_url
    async with short_lived_sessions(settings.database_url) as factory:
        started = time.perf_counter()
        execution = await jobs_service.execute(factory, settings, IMPORT, run["payload"], run_id=run["id"])
        elapsed = time.perf_counter() - started
    assert execution.result is not None
    assert execution.result["created"] == IMPORT_ROWS, execution.result
    print(f"{'import upload (10,000-row CSV)':<34} {uploaded * 1000:8.0f} ms  ({len(content) / 1e6:.1f} MB)")
    print(
        f"{'import job (10,000 rows)':<34} {elapsed:8.2f} s  {IMPORT_ROWS / elapsed:8.0f} rows/s  "
        f"created={execution.result['created']}"
    )
