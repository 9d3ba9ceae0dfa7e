"""The test harness: real PostgreSQL and Redis, each test isolated.

Servers: ``YIJING_DATABASE_URL`` / ``YIJING_REDIS_URL`` when set (the database named in the URL is only used
to reach the server: the suite creates its own database and drops it at the end; the Redis database in the
URL is flushed before every test), otherwise embedded servers under ``.data/test``.

Parallel runs (``make test`` runs ``pytest -n auto``, pytest-xdist): each worker process has a database of its
own, its own Redis database (the URL's, then the ones below it) or embedded servers of its own under
``.data/test/<worker>``, and its own app and world; nothing is shared between workers.

Isolation: every test starts with empty tables and an empty Redis database. The app is built once; most tests
run inside a transaction that is rolled back at their end (cheap), tests marked ``committed`` and tests that
run the worker commit for real and truncate afterwards (see ``session_factory``).
"""

from __future__ import annotations

import asyncio
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from arq.worker import Worker
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker

from tests.world import World, build_world
from yijing import migrate
from yijing.access import Role
from yijing.db import SessionFactory, create_engine, create_session_factory, drop_database, ensure_database
from yijing.embedded import EmbeddedServers
from yijing.models import metadata
from yijing.redis import GuardedRedis, arq_redis
from yijing.settings import Environment, Settings
from yijing_api.main import create_app
from yijing_worker import worker as worker_module


def worker_index(worker_id: str) -> int:
    """0 for a run without pytest-xdist (``master``) and for its first worker ``gw0``, N for ``gwN``."""
    return int(worker_id.removeprefix("gw")) if worker_id.startswith("gw") else 0


def redis_url_of_worker(url: str, index: int) -> str:
    """The Redis database ``index`` places below the URL's own (wrapping within Redis's default 16), so that
    parallel workers never flush each other's data."""
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    if "db" in query:  # unix://path?db=N
        query["db"] = str((int(query["db"]) - index) % 16)
        return f"{url.partition('?')[0]}?{urllib.parse.urlencode(query)}"
    database = int(parts.path.strip("/") or 0)  # redis://host:port/N
    return urllib.parse.urlunsplit(parts._replace(path=f"/{(database - index) % 16}"))


@pytest.fixture(scope="session")
def server_urls(worker_id: str) -> Iterator[tuple[str, str]]:
    """(database server URL, Redis URL): configured ones, or embedded servers started for this worker."""
    configured = Settings(_env_file=None, env=Environment.TEST)
    own_redis_url = (
        redis_url_of_worker(configured.redis_url, worker_index(worker_id)) if configured.redis_url else None
    )
    if not configured.uses_embedded_servers:
        assert configured.database_url
        assert own_redis_url
        yield configured.database_url, own_redis_url
        return
    with EmbeddedServers(
        configured.data_dir / "test" / worker_id,
        database="postgres",
        need_postgres=configured.database_url is None,
        need_redis=configured.redis_url is None,
    ) as embedded:
        database_url = configured.database_url or embedded.database_url
        redis_url = own_redis_url or embedded.redis_url
        assert database_url
        assert redis_url
        yield database_url, redis_url


@pytest.fixture(scope="session")
def settings(server_urls: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings pointing at a fresh, migrated database of this test run's own."""
    server_url, redis_url = server_urls
    database_url = make_url(server_url).set(database=f"yijing_test_{uuid.uuid4().hex[:12]}")
    url = database_url.render_as_string(hide_password=False)
    asyncio.run(ensure_database(url))
    migrate.upgrade(url)
    try:
        yield Settings(
            _env_file=None,
            env=Environment.TEST,
            database_url=url,
            redis_url=redis_url,
            log_json=False,
            attachments_dir=tmp_path_factory.mktemp("attachments"),
        )
    finally:
        asyncio.run(drop_database(url))


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    assert settings.database_url
    engine = create_engine(settings.database_url, pool_size=5)
    yield engine
    await engine.dispose()


def fixtures_of(item: pytest.Item) -> list[str]:
    return list(getattr(item, "fixturenames", ()))


def commits_for_real(item: pytest.Item) -> bool:
    """Whether a test needs real commits: it is marked ``committed``, or it runs the worker (whose jobs
    take their own connections)."""
    return item.get_closest_marker("committed") is not None or "run_worker" in fixtures_of(item)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the tests in three groups, each in its files' order: those in a rolled-back transaction of their
    own, those on the shared world (see :class:`SharedWorld`), then those that commit for real."""
    items.sort(key=lambda item: 2 if commits_for_real(item) else int("world" in fixtures_of(item)))


class Tables:
    """Whether the tables may hold rows a committed test left behind."""

    dirty = True  # a run may start on a database an earlier, interrupted run filled

    @classmethod
    async def empty(cls, engine: AsyncEngine) -> None:
        """Truncate every table (the code lists the migration ships are reference data: kept, and put back
        as shipped)."""
        tables = ", ".join(
            f'"{table.name}"' for table in metadata.sorted_tables if table.name != "incident_codes"
        )
        async with engine.begin() as connection:
            # Replica mode skips triggers for this transaction only: the audit log's append-only guard
            # would (rightly) refuse the truncation otherwise.
            await connection.execute(text("SET LOCAL session_replication_role = replica"))
            await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            await connection.execute(
                text("DELETE FROM incident_codes WHERE version > 1 OR valid_from <> DATE '2000-01-01'")
            )
            await connection.execute(
                text("UPDATE incident_codes SET valid_to = NULL WHERE valid_to IS NOT NULL")
            )
        cls.dirty = False

    @classmethod
    async def ready(cls, engine: AsyncEngine) -> None:
        """Empty tables for the next test. Where none should have been committed, a cheap check that none
        were: a test that commits without being marked would leave rows the next tests would see."""
        if cls.dirty:
            await cls.empty(engine)
            return
        async with engine.connect() as connection:
            leaked = await connection.scalar(
                text("SELECT EXISTS (SELECT 1 FROM stations) OR EXISTS (SELECT 1 FROM users)")
            )
        if leaked:
            await cls.empty(engine)
            pytest.fail("the previous test committed rows for real: mark it `committed`")


def joining(connection: AsyncConnection) -> SessionFactory:
    """Sessions inside ``connection``'s transaction: their commits only release a savepoint."""
    return async_sessionmaker(
        connection, expire_on_commit=False, autoflush=False, join_transaction_mode="create_savepoint"
    )


class SharedWorld:
    """The world (see ``tests.world``), built once in a transaction that stays open; each test that uses it
    runs inside a savepoint of that transaction, rolled back at its end.

    The transaction's rows are never committed: tests that do not use the world never see them, and they
    run before it is built, since an insert that clashes with an uncommitted unique value would wait for it.
    It ends before the first test that commits for real (a TRUNCATE would wait for it too)."""

    def __init__(self, engine: AsyncEngine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.connection: AsyncConnection | None = None
        self.world: World | None = None

    async def open(self) -> tuple[AsyncConnection, World]:
        if self.connection is None or self.world is None:
            await Tables.ready(self.engine)
            self.connection = await self.engine.connect()
            await self.connection.begin()
            self.world = await build_world(joining(self.connection), self.settings)
        return self.connection, self.world

    async def close(self) -> None:
        connection, self.connection, self.world = self.connection, None, None
        if connection is not None:
            try:
                await connection.rollback()
            finally:
                await connection.close()


@pytest.fixture(scope="session")
async def shared_world(engine: AsyncEngine, settings: Settings) -> AsyncIterator[SharedWorld]:
    shared = SharedWorld(engine, settings)
    yield shared
    await shared.close()


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[ArqRedis]:
    assert settings.redis_url
    client = arq_redis(settings.redis_url)
    yield client
    await client.aclose()


@pytest.fixture(autouse=True)
async def session_factory(
    request: pytest.FixtureRequest, engine: AsyncEngine, redis: ArqRedis, shared_world: SharedWorld
) -> AsyncIterator[SessionFactory]:
    """The test's database, empty at the start (but for the shared world, where the test uses it), and an
    empty Redis database.

    Most tests run inside a transaction that is rolled back at the end: every session the factory makes
    (the API's, the test's own) joins it. Tests that need real commits (see :func:`commits_for_real`) get
    the real thing and truncate the tables afterwards."""
    await redis.flushdb()
    if commits_for_real(request.node):
        await shared_world.close()
        await Tables.ready(engine)
        try:
            yield create_session_factory(engine)
        finally:
            Tables.dirty = True
    elif "world" in request.fixturenames:
        connection, _ = await shared_world.open()
        savepoint = await connection.begin_nested()
        try:
            yield joining(connection)
        finally:
            try:
                await savepoint.rollback()
            except Exception:
                # The test broke the transaction (say, two requests at once on its one connection, which a
                # test must mark ``committed``): build the world again for the next test.
                await shared_world.close()
                raise
    else:
        await shared_world.close()
        await Tables.ready(engine)
        async with engine.connect() as connection:
            transaction = await connection.begin()
            try:
                yield joining(connection)
            finally:
                await transaction.rollback()


@pytest.fixture(scope="session")
async def shared_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The app, built and started once for the whole run; each test points it at its own database
    transaction and its own Redis client (so that one test's tripped Redis breaker never reaches another)."""
    app = create_app(settings)
    async with LifespanManager(app):
        yield app


AppFactory = Callable[..., Awaitable[httpx.AsyncClient]]


def http_client(app: object, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
    # raise_app_exceptions=False: a 500 must reach the test as a response, as it would reach a client.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=headers)


@pytest.fixture
async def app(
    shared_app: FastAPI, session_factory: SessionFactory, settings: Settings
) -> AsyncIterator[FastAPI]:
    """The shared app, on the test's database and a Redis client of the test's own."""
    assert settings.redis_url
    shared_app.state.session_factory = session_factory
    shared_app.state.redis = GuardedRedis(settings.redis_url)
    try:
        yield shared_app
    finally:
        await shared_app.state.redis.aclose()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(app) as client:
        yield client


@pytest.fixture
async def make_client(settings: Settings, session_factory: SessionFactory) -> AsyncIterator[AppFactory]:
    """Builds an app of its own (with other settings or extra routes) and an httpx client on it. On the
    test's database, it joins the test's transaction."""
    managers: list[LifespanManager] = []
    clients: list[httpx.AsyncClient] = []

    async def factory(
        app_settings: Settings | None = None,
        customise: Callable[[FastAPI], None] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.AsyncClient:
        app_settings = app_settings or settings
        app = create_app(app_settings)
        if customise is not None:
            customise(app)
        manager = LifespanManager(app)
        await manager.__aenter__()
        managers.append(manager)
        if app_settings.database_url == settings.database_url:
            app.state.session_factory = session_factory
        client = http_client(manager.app, headers)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.aclose()
    for manager in reversed(managers):
        await manager.__aexit__(None, None, None)


WorkerRunner = Callable[..., Awaitable[Worker]]


@pytest.fixture
def run_worker(settings: Settings) -> WorkerRunner:
    """Runs a real arq worker in burst mode (until the queue is empty) on its own Redis connection, and
    returns it for its counters."""

    async def run(
        redis_url: str | None = None,
        *,
        functions: list[Any] | None = None,
        cron_jobs: list[Any] | None = None,
        worker_settings: Settings | None = None,
    ) -> Worker:
        worker = Worker(
            functions=functions if functions is not None else worker_module.functions(),
            cron_jobs=cron_jobs,
            redis_pool=arq_redis(redis_url or settings.redis_url or ""),
            burst=True,
            poll_delay=0.05,
            handle_signals=False,
            on_startup=worker_module.startup,
            on_shutdown=worker_module.shutdown,
            ctx={"settings": worker_settings or settings},
            max_jobs=4,
        )
        try:
            await worker.main()
        finally:
            await worker.close()
        return worker

    return run


@pytest.fixture
async def world(
    request: pytest.FixtureRequest,
    session_factory: SessionFactory,
    settings: Settings,
    shared_world: SharedWorld,
) -> World:
    """Two stations with a user of every role each, and a county admin, all signed in: the shared one, or,
    for a test that commits for real, one of its own."""
    if commits_for_real(request.node):
        return await build_world(session_factory, settings)
    _, world = await shared_world.open()
    return world


@pytest.fixture
async def admin_client(app: FastAPI, world: World) -> AsyncIterator[httpx.AsyncClient]:
    """A client signed in as the county admin."""
    async with http_client(app, world.headers(Role.ADMIN)) as client:
        yield client
