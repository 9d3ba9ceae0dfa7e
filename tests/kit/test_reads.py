"""Lean reads: the rows as dicts of driver values keyed by the select's labels, inside the session's
transaction once it has begun, with IN lists expanded, or on a pooled connection of their own; a parameter
the driver would not take as given is refused before anything runs. And the ids bulk writes make in SQL."""

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Select, func, literal, select, text
from sqlmodel import col

from yijing.db import read_connection, session_scope
from yijing.ids import uuid7_sql
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


async def test_a_read_on_a_connection_of_a_test_transaction_sees_what_it_wrote(world, session_factory):
    """A factory joining a connection's transaction (the suite's) lends that connection to lean reads."""
    query: Select[*tuple[Any, ...]] = select(col(Site.name).label("name"))
    async with session_factory() as session:
        session.add(Site(station_id=world.own.station.id, name="连接上读到的网格"))
        await session.flush()
        async with read_connection(session_factory) as connection:
            assert {"name": "连接上读到的网格"} in await reads.mappings(connection, query)


@pytest.mark.committed  # the engine's own pool
async def test_a_read_on_a_pooled_connection_of_its_own(session_factory, engine):
    """A lean read needs no session: a pooled connection in autocommit, back in the pool afterwards."""
    async with session_scope(session_factory) as session:
        station = Station(name="自有连接派出所", division_code="350121", timezone="Asia/Shanghai")
        session.add(station)
    query: Select[*tuple[Any, ...]] = select(col(Station.name).label("name")).where(
        col(Station.id) == station.id
    )
    checked_out = engine.pool.checkedout()
    async with read_connection(session_factory) as connection:
        assert await reads.mappings(connection, query) == [{"name": "自有连接派出所"}]
        pooled = await connection.get_raw_connection()
        assert getattr(pooled.dbapi_connection, "autocommit", None) is True
        assert engine.pool.checkedout() == checked_out + 1
    assert engine.pool.checkedout() == checked_out


async def test_ids_made_in_sql_are_time_ordered_uuids_counting_on_within_a_statement(session_factory):
    async with session_factory() as session:
        made = (
            (
                await session.execute(
                    text(f"SELECT {uuid7_sql('n')} FROM generate_series(1, 2000) AS n ORDER BY n")  # noqa: S608
                )
            )
            .scalars()
            .all()
        )
    assert len(set(made)) == 2000
    assert all(made_id.version == 7 and made_id.variant == uuid.RFC_4122 for made_id in made)
    assert made == sorted(made)  # one statement, within a few milliseconds: counted on by n
    milliseconds = int.from_bytes(made[0].bytes[:6]) / 1000
    assert abs(datetime.now(UTC).timestamp() - milliseconds) < 60
