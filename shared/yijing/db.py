"""The database layer: one async engine per process, one session (one transaction) per request or job.

Repositories ``flush()``; only the edges commit, through :func:`session_scope` (jobs, CLI) or the API's
session dependency. SQLModel's shared ``MetaData`` gets a naming convention so that every constraint has a
predictable name that migrations can refer to.
"""

from __future__ import annotations

import traceback
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from typing import Any
from weakref import WeakKeyDictionary

import asyncpg
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, InvalidatePoolError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlmodel import SQLModel

from yijing.conflicts import clash_error
from yijing.errors import DomainError

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION

SessionFactory = async_sessionmaker[AsyncSession]


# Whether a connection taken from the pool is first checked with a trivial query (three round trips outside
# autocommit, one inside), so that a database restart never fails the first statement after it. The API's
# reads skip the check (:func:`unchecked_connections`): a read that meets a dead connection is retried once
# on a fresh one (yijing_api.middleware), which costs nothing while the database stays up. Everything else
# (writes, jobs, commands) checks.
_check_pooled_connections: ContextVar[bool] = ContextVar("check_pooled_connections", default=True)
# Connections are replaced after this long, before a server or proxy's idle timeout can cut them.
POOL_RECYCLE_SECONDS = 1800


def create_engine(database_url: str, *, pool_size: int = 10, **kwargs: Any) -> AsyncEngine:
    engine = create_async_engine(
        database_url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=POOL_RECYCLE_SECONDS,
        connect_args={"server_settings": {"timezone": "UTC", "application_name": "yijing"}},
        **kwargs,
    )
    event.listen(engine.sync_engine.pool, "checkout", _check_connection)
    return engine


def _check_connection(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """The pool's checkout hook: a dead connection (the server restarted) makes the pool drop every
    connection it holds from before and connect anew, as SQLAlchemy's ``pool_pre_ping`` would."""
    if _check_pooled_connections.get():
        try:
            dbapi_connection.ping()
        except Exception as exc:
            raise InvalidatePoolError() from exc


@contextmanager
def unchecked_connections() -> Iterator[None]:
    """Within the block, pooled connections are used without the check (for callers that retry instead)."""
    token = _check_pooled_connections.set(False)
    try:
        yield
    finally:
        _check_pooled_connections.reset(token)


def is_stale_connection(error: BaseException) -> bool:
    """Whether ``error`` is a connection found dead when used (the pool has then dropped it and every older
    one, so that a retry gets a new connection)."""
    return isinstance(error, DBAPIError) and error.connection_invalidated


def create_session_factory(engine: AsyncEngine) -> SessionFactory:
    # expire_on_commit=False: read models are built from objects after the edge commits.
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


_READ_ONLY_FACTORIES: WeakKeyDictionary[SessionFactory, SessionFactory] = WeakKeyDictionary()


def read_only_sessions(factory: SessionFactory) -> SessionFactory:
    """Sessions on the same pool as ``factory``'s whose statements each commit on their own (autocommit): a
    read of two statements takes two round trips, with no BEGIN and COMMIT around them. For requests that
    only read: a write made through one is not undone if the request fails later."""
    bind = factory.kw["bind"]
    if not isinstance(bind, AsyncEngine):
        return factory  # sessions joining a connection's transaction (the test suite's): they stay in it
    reading = _READ_ONLY_FACTORIES.get(factory)
    if reading is None:
        reading = create_session_factory(bind.execution_options(isolation_level="AUTOCOMMIT"))
        _READ_ONLY_FACTORIES[factory] = reading
    return reading


@asynccontextmanager
async def read_connection(factory: SessionFactory) -> AsyncIterator[AsyncConnection]:
    """A pooled connection of ``factory``'s engine in autocommit, without a session around it: for lean
    reads (``yijing.kit.reads``) that need nothing of the ORM. Taking and returning a connection this way
    costs half of what a session's first statement and its end do (≈150 µs a request). A factory bound to
    a connection (the test suite's, inside its transaction) lends that connection."""
    bind = factory.kw["bind"]
    if not isinstance(bind, AsyncEngine):
        yield bind
        return
    async with read_only_sessions(factory).kw["bind"].connect() as connection:
        yield connection


@asynccontextmanager
async def short_lived_sessions(database_url: str) -> AsyncIterator[SessionFactory]:
    """A small engine for one command or script, disposed when the block ends."""
    engine = create_engine(database_url, pool_size=2)
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


async def ping(factory: SessionFactory) -> None:
    """Raises unless the database answers a trivial query (readiness probes)."""
    async with factory() as session:
        await session.execute(text("SELECT 1"))


@asynccontextmanager
async def session_scope(factory: SessionFactory) -> AsyncIterator[AsyncSession]:
    """One transaction: committed when the block ends normally, rolled back when it raises."""
    async with factory() as session:
        try:
            yield session
            await _commit(session)
        except BaseException as exc:
            await finish_failed_transaction(session, exc)
            raise


async def _commit(session: AsyncSession) -> None:
    """Commit; a registered unique constraint that breaks only now (a write not flushed through
    :mod:`yijing.conflicts`) is its domain error, as it would have been at the flush."""
    try:
        await session.commit()
    except IntegrityError as exc:
        error = clash_error(exc)
        if error is None:
            raise
        raise error from exc


def database_unreachable(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot be reached just now — stopped, starting up, restarting, a
    connection cut, the pool exhausted — rather than a bug: worth a 503 and a retry. Read along the chain of
    causes (SQLAlchemy wraps the driver's error); a refused or missing socket surfaces as a bare OSError, told
    apart from other OSErrors by having come through the database driver."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, DBAPIError) and cause.connection_invalidated:
            return True
        if isinstance(cause, _UNREACHABLE):
            return True
        if isinstance(cause, OSError) and any(
            "/asyncpg/" in frame.filename for frame in traceback.extract_tb(cause.__traceback__)
        ):
            return True
        # SQLAlchemy keeps the driver's error as ``orig`` (a connect error also as the cause).
        cause = cause.__cause__ or (cause.orig if isinstance(cause, DBAPIError) else None)
    return False


_UNREACHABLE = (
    OperationalError,
    InterfaceError,
    PoolTimeout,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,  # "the database system is starting up" (or shutting down)
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.AdminShutdownError,
)


async def finish_failed_transaction(session: AsyncSession, error: BaseException) -> None:
    """Roll back, unless the error is a refusal whose record must be kept (DomainError.keeps_changes)."""
    if isinstance(error, DomainError) and error.keeps_changes:
        await session.commit()
    else:
        await session.rollback()


async def driver_of(connection: AsyncConnection) -> asyncpg.Connection:
    """The asyncpg connection under a pooled one (for COPY and lean reads), taken as it is when the pooled
    connection is in hand: asking for it through ``get_raw_connection`` passes through a greenlet (≈20 µs)."""
    sync = connection.sync_connection
    if sync is not None and not sync.closed and not sync.invalidated:
        pooled = sync.connection
    else:
        pooled = await connection.get_raw_connection()
    driver: asyncpg.Connection | None = pooled.driver_connection
    assert driver is not None
    return driver


async def copy_records(
    session: AsyncSession, table: str, columns: Sequence[str], records: Iterable[Sequence[Any]]
) -> None:
    """Bulk-load rows with PostgreSQL COPY (binary, through asyncpg), inside the session's transaction."""
    driver = await driver_of(await session.connection())
    await driver.copy_records_to_table(table, records=records, columns=list(columns))


@asynccontextmanager
async def _maintenance_connection(database_url: str) -> AsyncIterator[tuple[asyncpg.Connection, str, str]]:
    """A plain asyncpg connection to the server's ``postgres`` database, with the URL's database name
    both raw and quoted as an identifier (identifiers cannot be query parameters)."""
    url = make_url(database_url)
    name = url.database
    if not name:
        raise ValueError("the database URL names no database")
    host = url.query.get("host", url.host)
    connection = await asyncpg.connect(
        database="postgres",
        user=url.username,
        password=url.password,
        port=url.port,
        host=host if isinstance(host, str) else None,
    )
    try:
        yield connection, name, '"' + name.replace('"', '""') + '"'
    finally:
        await connection.close()


async def ensure_database(database_url: str) -> bool:
    """Create the URL's database on its server if it is missing. Returns True when it was created."""
    async with _maintenance_connection(database_url) as (connection, name, quoted):
        if await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
        await connection.execute(f"CREATE DATABASE {quoted}")
        return True


async def drop_database(database_url: str) -> None:
    """Drop the URL's database, ending its connections first (used by the test suite)."""
    async with _maintenance_connection(database_url) as (connection, _name, quoted):
        await connection.execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
