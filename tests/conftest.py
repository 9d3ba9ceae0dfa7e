"""The test harness: real PostgreSQL and Redis, each test isolated.

Servers: ``YIJING_DATABASE_URL`` / ``YIJING_REDIS_URL`` when set (the database named in the URL is only used
to reach the server: the suite creates its own database and drops it at the end; the Redis database in the
URL is flushed before every test), otherwise embedded servers under ``.data/test``. Isolation: every test
starts with empty tables and an empty Redis database.
"""

from __future__ import annotations

import asyncio
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
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.world import World, build_world
from yijing import migrate
from yijing.access import Role
from yijing.db import SessionFactory, create_engine, create_session_factory, drop_database, ensure_database
from yijing.embedded import EmbeddedServers
from yijing.models import metadata
from yijing.redis import arq_redis
from yijing.settings import Environment, Settings
from yijing_api.main import create_app
from yijing_worker import worker as worker_module


@pytest.fixture(scope="session")
def server_urls() -> Iterator[tuple[str, str]]:
    """(database server URL, Redis URL): configured ones, or embedded servers started for this run."""
    configured = Settings(_env_file=None, env=Environment.TEST)
    if not configured.uses_embedded_servers:
        assert configured.database_url
        assert configured.redis_url
        yield configured.database_url, configured.redis_url
        return
    with EmbeddedServers(
        configured.data_dir / "test",
        database="postgres",
        need_postgres=configured.database_url is None,
        need_redis=configured.redis_url is None,
    ) as embedded:
        database_url = configured.database_url or embedded.database_url
        redis_url = configured.redis_url or embedded.redis_url
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


@pytest.fixture(scope="session")
def session_factory(engine: AsyncEngine) -> SessionFactory:
    return create_session_factory(engine)


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[ArqRedis]:
    assert settings.redis_url
    client = arq_redis(settings.redis_url)
    yield client
    await client.aclose()


@pytest.fixture(autouse=True)
async def clean_state(engine: AsyncEngine, redis: ArqRedis) -> None:
    """Every test starts from empty tables and an empty Redis database. (Redis's circuit breaker needs no
    reset: each app has its own, and each test builds its own apps.)"""
    # The code lists the migration ships are reference data: kept, and put back as shipped.
    tables = ", ".join(
        f'"{table.name}"' for table in metadata.sorted_tables if table.name != "incident_codes"
    )
    async with engine.begin() as connection:
        # Replica mode skips triggers for this transaction only: the audit log's append-only guard would
        # (rightly) refuse the truncation otherwise.
        await connection.execute(text("SET LOCAL session_replication_role = replica"))
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        await connection.execute(
            text("DELETE FROM incident_codes WHERE version > 1 OR valid_from <> DATE '2000-01-01'")
        )
        await connection.execute(text("UPDATE incident_codes SET valid_to = NULL WHERE valid_to IS NOT NULL"))
    await redis.flushdb()


AppFactory = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def make_client(settings: Settings) -> AsyncIterator[AppFactory]:
    """Builds an app (optionally with other settings or extra routes) and an httpx client on it."""
    managers: list[LifespanManager] = []
    clients: list[httpx.AsyncClient] = []

    async def factory(
        app_settings: Settings | None = None,
        customise: Callable[[FastAPI], None] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.AsyncClient:
        app = create_app(app_settings or settings)
        if customise is not None:
            customise(app)
        manager = LifespanManager(app)
        await manager.__aenter__()
        managers.append(manager)
        # raise_app_exceptions=False: a 500 must reach the test as a response, as it would reach a client.
        transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=False)
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=headers)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.aclose()
    for manager in reversed(managers):
        await manager.__aexit__(None, None, None)


@pytest.fixture
async def client(make_client: AppFactory) -> httpx.AsyncClient:
    return await make_client()


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
async def world(session_factory: SessionFactory, settings: Settings) -> World:
    """Two stations with a user of every role each, and a county admin, all signed in."""
    return await build_world(session_factory, settings)


@pytest.fixture
async def admin_client(make_client: AppFactory, world: World) -> httpx.AsyncClient:
    """A client signed in as the county admin."""
    return await make_client(headers=world.headers(Role.ADMIN))
