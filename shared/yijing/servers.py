"""Resolve which PostgreSQL and Redis a command talks to: the configured URLs, or embedded servers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from yijing.db import ensure_database
from yijing.embedded import EmbeddedServers
from yijing.settings import Environment, Settings

EMBEDDED_DATABASE = "yijing"


@contextmanager
def resolved_settings(settings: Settings, *, need_redis: bool = True) -> Iterator[Settings]:
    """Settings with the URLs filled in: embedded servers are started for any URL left unset (and stopped
    when the block ends), and the database is created if it does not exist yet. Commands that never touch
    Redis pass ``need_redis=False``, so they can run beside a running ``yijing run``."""
    need_redis = need_redis and settings.redis_url is None
    if settings.database_url is not None and not need_redis:
        asyncio.run(ensure_database(settings.database_url))
        yield settings
        return
    if settings.env is Environment.PRODUCTION:
        raise RuntimeError("production needs YIJING_DATABASE_URL and YIJING_REDIS_URL")
    with EmbeddedServers(
        settings.data_dir / settings.env.value,
        database=EMBEDDED_DATABASE,
        need_postgres=settings.database_url is None,
        need_redis=need_redis,
    ) as embedded:
        resolved = settings.model_copy(
            update={
                "database_url": settings.database_url or embedded.database_url,
                "redis_url": settings.redis_url or embedded.redis_url,
            }
        )
        assert resolved.database_url is not None
        asyncio.run(ensure_database(resolved.database_url))
        yield resolved
