"""The database layer: one async engine per process, one session (one transaction) per request or job.

Repositories ``flush()``; only the edges commit, through :func:`session_scope` (jobs, CLI) or the API's
session dependency. SQLModel's shared ``MetaData`` gets a naming convention so that every constraint has a
predictable name that migrations can refer to.
"""

from __future__ import annotations

import traceback
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
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


def create_engine(database_url: str, *, pool_size: int = 10, **kwargs: Any) -> AsyncEngine:
    return create_async_engine(
        database_url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,  # survive a database restart without failing the first request after it
        connect_args={"server_settings": {"timezone": "UTC", "application_name": "yijing"}},
        **kwargs,
    )


def create_session_factory(engine: AsyncEngine) -> SessionFactory:
    # expire_on_commit=False: read models are built from objects after the edge commits.
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


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


async def copy_records(
    session: AsyncSession, table: str, columns: Sequence[str], records: Iterable[Sequence[Any]]
) -> None:
    """Bulk-load rows with PostgreSQL COPY (binary, through asyncpg), inside the session's transaction."""
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
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
