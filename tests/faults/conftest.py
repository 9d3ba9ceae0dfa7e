"""Fault tests (``make faults``): each test starts its own Redis, API and worker processes, on a database of
its own, so that it can kill and pause them. They share one embedded PostgreSQL cluster unless a test
restarts PostgreSQL itself. None of them touches the servers the rest of the suite uses."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.faults.stack import Stack
from tests.world import build_world
from yijing import migrate
from yijing.db import ensure_database, short_lived_sessions
from yijing.embedded import EmbeddedPostgres, EmbeddedRedis
from yijing.settings import Environment, Settings

# (test, figure, value): printed as each is measured (visible with -s) and again at the end of the run.
_FIGURES: list[tuple[str, str, str]] = []


@pytest.fixture(autouse=True)
def clean_state() -> None:
    """Replaces the suite's per-test cleaning: these tests never use the suite's servers."""


@pytest.fixture(autouse=True)
def quiet_http_log(caplog: pytest.LogCaptureFixture) -> None:
    """A failure's report shows the test's own lines, not one per request of thousands."""
    caplog.set_level(logging.WARNING, logger="httpx")


@contextlib.contextmanager
def embedded_cluster() -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL cluster in a temporary folder, stopped and removed at the end. Not under pytest's own
    temporary root: run as root, the server runs as a user of its own that must traverse the folder's
    parents, and every other pytest run on the machine resets that root to mode 0700."""
    with tempfile.TemporaryDirectory(prefix="yijing-faults-", ignore_cleanup_errors=True) as folder:
        server = EmbeddedPostgres(Path(folder), "postgres")
        try:
            server.start()
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[EmbeddedPostgres]:
    """The cluster the fault tests share (every test on a database of its own)."""
    with embedded_cluster() as server:
        yield server


@pytest.fixture
def private_postgres() -> Iterator[EmbeddedPostgres]:
    """A cluster for a test that stops and restarts PostgreSQL."""
    with embedded_cluster() as server:
        yield server


StackFactory = Callable[..., Awaitable[Stack]]


@pytest.fixture
async def make_stack(tmp_path: Path, postgres_cluster: EmbeddedPostgres) -> AsyncIterator[StackFactory]:
    """Builds a stack: a fresh migrated database with the test world on ``postgres`` (the shared cluster
    by default) and a Redis of its own; API and worker start when the test asks. Every process is killed
    at the end, pass or fail."""
    stacks: list[Stack] = []

    async def factory(postgres: EmbeddedPostgres | None = None) -> Stack:
        server = postgres or postgres_cluster
        folder = tmp_path / f"stack{len(stacks)}"
        folder.mkdir()
        redis = EmbeddedRedis(folder / "redis")  # its address is known before it starts
        url = make_url(server.url).set(database=f"yijing_faults_{uuid.uuid4().hex[:12]}")
        database_url = url.render_as_string(hide_password=False)
        await ensure_database(database_url)
        await asyncio.to_thread(migrate.upgrade, database_url)
        settings = Settings(
            _env_file=None,
            env=Environment.TEST,
            database_url=database_url,
            redis_url=redis.url,
            log_json=False,
            attachments_dir=folder / "attachments",
        )
        async with short_lived_sessions(database_url) as sessions:
            world = await build_world(sessions, settings)
        redis.start()
        stack = Stack(folder, redis, settings, world)
        stacks.append(stack)
        return stack

    yield factory
    for stack in stacks:
        stack.close()


Figures = Callable[[str, object], None]


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Figures:
    """Records a measured figure for the run's summary."""

    def record(name: str, value: object) -> None:
        text = f"{value:.3f}" if isinstance(value, float) else str(value)
        _FIGURES.append((request.node.name, name, text))
        print(f"[{request.node.name}] {name}: {text}")

    return record


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _FIGURES:
        return
    terminalreporter.section("fault test figures")
    for test, name, text in _FIGURES:
        terminalreporter.write_line(f"{test}: {name} = {text}")
