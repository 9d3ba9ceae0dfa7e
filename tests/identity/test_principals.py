"""Principals are explicit: the anonymous caller reaches no station, the system every station."""

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from tests.world import PASSWORD
from yijing.access import SYSTEM, Actor, StationScope
from yijing.audit.models import AuditEvent
from yijing.errors import NotFound
from yijing.org import service as org_service
from yijing.org.models import Station


async def stations_reached(session_factory, scope: StationScope) -> int:
    async with session_factory() as session:
        query = select(func.count()).select_from(Station).where(scope.clause(col(Station.id)))
        return int(await session.scalar(query) or 0)


async def test_an_anonymous_caller_reaches_no_station_and_the_system_every_one(world, session_factory):
    anonymous = Actor.anonymous("request-1", "10.0.0.1")
    assert anonymous.scope == StationScope.nowhere()
    assert not anonymous.scope.reaches(world.own.station.id)
    assert (anonymous.kind, SYSTEM.kind) == ("anonymous", "system")
    assert SYSTEM.scope.reaches(world.other.station.id)
    assert await stations_reached(session_factory, anonymous.scope) == 0
    assert await stations_reached(session_factory, SYSTEM.scope) == 2
    # Through a service: a station read with the anonymous caller's scope is not found.
    async with session_factory() as session:
        assert (
            await org_service.get_station(session, SYSTEM, world.own.station.id)
        ).id == world.own.station.id
        with pytest.raises(NotFound):
            await org_service.get_station(session, anonymous, world.own.station.id)


async def test_a_public_routes_caller_is_audited_as_anonymous(client, world, session_factory):
    phone = world.phones[world.own.users[next(iter(world.own.users))].id]
    answer = await client.post("/api/v1/auth/token", data={"username": phone, "password": PASSWORD + "x"})
    assert answer.status_code == 401, answer.text
    async with session_factory() as session:
        kinds = (
            await session.scalars(
                select(col(AuditEvent.actor_type)).where(col(AuditEvent.action) == "auth.login_failed")
            )
        ).all()
    assert kinds == ["anonymous"]
