"""Migrations build exactly the schema the models describe, and can be undone."""

import asyncio
import uuid

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import make_url

from yijing import migrate
from yijing.db import create_engine, drop_database, ensure_database
from yijing.models import metadata


async def test_models_and_migrations_agree(engine):
    async with engine.connect() as connection:
        differences = await connection.run_sync(
            lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}), metadata
            )
        )
    assert differences == []


def test_migrations_downgrade_to_nothing_and_upgrade_again(settings):
    url = make_url(settings.database_url).set(database=f"yijing_migrations_{uuid.uuid4().hex[:8]}")
    scratch = url.render_as_string(hide_password=False)
    asyncio.run(ensure_database(scratch))
    try:
        migrate.upgrade(scratch)
        migrate.downgrade(scratch, "base")
        assert asyncio.run(_tables(scratch)) == {"alembic_version"}
        migrate.upgrade(scratch)
        assert asyncio.run(_tables(scratch)) == {"alembic_version", *metadata.tables}
    finally:
        asyncio.run(drop_database(scratch))


async def _tables(url: str) -> set[str]:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as connection:
            rows = await connection.exec_driver_sql(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            )
            return {row[0] for row in rows}
    finally:
        await engine.dispose()
