"""The demo station: loaded once, shaped like the article, and usable through the API at once."""

from sqlalchemy import func, select
from sqlmodel import col

from tests.db import count_rows
from yijing import demo
from yijing.org.models import Site, Station
from yijing.volunteers.models import Volunteer, VolunteerStatusChange


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


async def test_only_an_empty_database_gets_the_demo_on_run(session_factory, settings, world):
    assert await demo.load(session_factory, settings, only_if_empty=True) is None
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).where(col(Station.name) == demo.STATION_NAME)) == 0
