"""Lean reads: the rows as dicts of driver values keyed by the select's labels, inside the session's
transaction once it has begun, with IN lists expanded; a parameter the driver would not take as given is
refused before anything runs."""

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Select, func, literal, select
from sqlmodel import col

from yijing.kit import reads
from yijing.org.models import Site, Station


async def test_rows_are_dicts_of_driver_values_keyed_by_label(world, session_factory):
    query: Select[*tuple[Any, ...]] = (
        select(
            col(Station.id).label("station_id"),
            col(Station.name).label("station_name"),
            func.count(col(Site.id)).label("sites"),
            (func.count(col(Site.id)) > 0).label("has_sites"),
        )
        .join(Site, col(Site.station_id) == col(Station.id))
        .where(col(Station.id).in_([world.own.station.id, world.other.station.id]))
        .group_by(col(Station.id), col(Station.name))
        .order_by(col(Station.name))
    )
    async with session_factory() as session:
        rows = await reads.mappings(session, query)
        by_orm = (await session.execute(query)).mappings().all()
    assert rows == [dict(row) for row in by_orm]
    assert {row["station_id"] for row in rows} == {world.own.station.id, world.other.station.id}
    assert all(isinstance(row["station_id"], uuid.UUID) and row["has_sites"] is True for row in rows)
    assert list(rows[0]) == ["station_id", "station_name", "sites", "has_sites"]


async def test_a_read_sees_what_its_transaction_wrote(world, session_factory):
    async with session_factory() as session:
        session.add(Site(station_id=world.own.station.id, name="未提交的网格"))
        await session.flush()
        query: Select[*tuple[Any, ...]] = select(col(Site.name).label("name")).where(
            col(Site.station_id) == world.own.station.id
        )
        assert {"name": "未提交的网格"} in await reads.mappings(session, query)
        await session.rollback()
    async with session_factory() as session:
        assert {"name": "未提交的网格"} not in await reads.mappings(session, query)


async def test_an_empty_answer_and_plain_parameters(world, session_factory):
    query: Select[*tuple[Any, ...]] = select(col(Site.id).label("id")).where(
        col(Site.station_id) == uuid.uuid4(), col(Site.created_at) > datetime(2023, 1, 1, tzinfo=UTC)
    )
    async with session_factory() as session:
        assert await reads.mappings(session, query) == []


async def test_a_parameter_the_driver_would_not_take_as_given_is_refused(session_factory):
    query = select(literal({"kind": "site"}).label("document"))
    async with session_factory() as session:
        with pytest.raises(TypeError, match="lean reads take plain values"):
            await reads.mappings(session, query)
