"""How many round trips to PostgreSQL the measured requests make (issue 18 sets their targets): each is
asserted here so that the number cannot grow back unnoticed. A round trip is whatever the driver sends:
a statement, a BEGIN, COMMIT or ROLLBACK, a connection check — counted by asyncpg itself, on every
connection the pool hands out meanwhile."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from yijing.access import Role

# What asyncpg sends once on a new connection, the first time a statement uses a type it has not seen yet:
# not a round trip of the request (the pool hands out its connections in turn, some of them new).
ASYNCPG_INTROSPECTION = ("typeinfo_tree", "set_config('jit'")


@contextmanager
def counting(engine: AsyncEngine) -> Iterator[list[str]]:
    """What is sent to PostgreSQL meanwhile on connections of ``engine``'s pool: the statements SQLAlchemy
    executes (prepared statements, which asyncpg does not log), and what asyncpg sends on its own (BEGIN,
    COMMIT, ROLLBACK, a connection check: its query log)."""
    sent: list[str] = []
    logging: list[Any] = []

    def statement(_connection: Any, _cursor: Any, query: str, *_: object) -> None:
        sent.append(query)

    def command(record: Any) -> None:
        if not any(mark in record.query for mark in ASYNCPG_INTROSPECTION):
            sent.append(record.query)

    def checkout(dbapi_connection: Any, *_: object) -> None:
        logging.append(dbapi_connection.driver_connection)
        logging[-1].add_query_logger(command)

    event.listen(engine.sync_engine, "before_cursor_execute", statement)
    event.listen(engine.sync_engine.pool, "checkout", checkout)
    try:
        yield sent
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", statement)
        event.remove(engine.sync_engine.pool, "checkout", checkout)
        for connection in logging:
            connection.remove_query_logger(command)


# A list or a get: the caller's lookup and the read (it made 7: the pool's check of the connection — BEGIN,
# `;`, ROLLBACK —, BEGIN, the two, COMMIT). Each statistics endpoint: the caller's lookup, the stations it
# counts and one statement for every figure, period and comparison (the overview made 83, the meta 219).
ROUND_TRIPS = {
    "volunteers list": 2,
    "hazard get": 2,
    "incident statistics": 3,
    "statistics overview": 3,
    "statistics series": 3,
    "statistics meta": 3,
}


@pytest.mark.committed  # real transactions: a request's own BEGIN and COMMIT are what is counted
async def test_the_measured_requests_round_trips(client, world, engine):
    officer = world.headers(Role.OFFICER)
    assert world.own.hazard is not None
    requests = {
        "volunteers list": ("/api/v1/volunteers", {"limit": 50}),
        "hazard get": (f"/api/v1/hazards/{world.own.hazard.id}", {}),
        "incident statistics": ("/api/v1/stats/incidents", {"period": "2023-10"}),
        "statistics overview": ("/api/v1/stats/overview", {"period": "2023-10"}),
        "statistics series": (
            "/api/v1/stats/series",
            {"metric": "volunteers_active", "granularity": "month", "from": "2023-01-01", "to": "2023-10-31"},
        ),
        "statistics meta": ("/api/v1/stats/meta", {}),
    }
    counted = {}
    for name, (path, params) in requests.items():
        await client.get(path, params=params, headers=officer)  # a warm pool and statement cache
        with counting(engine) as sent:
            response = await client.get(path, params=params, headers=officer)
        assert response.status_code == 200, response.text
        counted[name] = sent
    shown = {name: [" ".join(query.split())[:90] for query in sent] for name, sent in counted.items()}
    assert {name: len(sent) for name, sent in counted.items()} == ROUND_TRIPS, shown
