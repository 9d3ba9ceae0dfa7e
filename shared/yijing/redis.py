"""Redis connections for arq: the API's enqueuing client and the worker's settings, from one URL."""

from __future__ import annotations

from arq.connections import ArqRedis, RedisSettings

# Short timeouts: a readiness probe or an after-commit relay must not hang on a dead Redis.
CONNECT_TIMEOUT_SECONDS = 2.0
SOCKET_TIMEOUT_SECONDS = 5.0


def arq_redis(url: str) -> ArqRedis:
    """A lazily connecting client: building it never fails, so the API starts (and writes, through the
    outbox) while Redis is down; each use reconnects."""
    client: ArqRedis = ArqRedis.from_url(
        url, socket_connect_timeout=CONNECT_TIMEOUT_SECONDS, socket_timeout=SOCKET_TIMEOUT_SECONDS
    )
    return client


def redis_settings(url: str) -> RedisSettings:
    settings = RedisSettings.from_dsn(url)
    settings.conn_timeout = int(CONNECT_TIMEOUT_SECONDS)
    return settings
