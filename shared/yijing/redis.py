"""Redis connections from one URL: the API's request-path client (short deadlines behind a circuit breaker),
and arq's client and settings for the worker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog
from arq.connections import ArqRedis, RedisSettings
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = structlog.get_logger(__name__)

# The worker's (and scripts') timeouts: a dead Redis is noticed, but a slow one is waited for.
CONNECT_TIMEOUT_SECONDS = 2.0
SOCKET_TIMEOUT_SECONDS = 5.0
# The request path's: a hung Redis may cost a request this much, and only one request per cool-down.
REQUEST_TIMEOUT_SECONDS = 0.25
BREAKER_COOLDOWN_SECONDS = 5.0

T = TypeVar("T")


class RedisUnavailable(RedisConnectionError):
    """Redis refused, failed or did not answer in time, or it did so recently and the breaker is open."""


def arq_redis(url: str) -> ArqRedis:
    """A lazily connecting client: building it never fails; each use reconnects."""
    client: ArqRedis = ArqRedis.from_url(
        url, socket_connect_timeout=CONNECT_TIMEOUT_SECONDS, socket_timeout=SOCKET_TIMEOUT_SECONDS
    )
    return client


def redis_settings(url: str) -> RedisSettings:
    settings = RedisSettings.from_dsn(url)
    settings.conn_timeout = int(CONNECT_TIMEOUT_SECONDS)
    return settings


class GuardedRedis:
    """Redis for the request path, behind a circuit breaker. Every call has a short deadline; a call that
    fails opens the breaker, and for a cool-down every call fails at once without touching Redis; then one
    trial call goes through, and its outcome closes the breaker or opens it again. A hung Redis so costs
    one request a fraction of a second per cool-down, instead of every request a socket timeout.

    One per process (the API keeps it on ``app.state``). Building it never fails: it connects lazily."""

    def __init__(
        self,
        url: str | None = None,
        *,
        client: ArqRedis | None = None,
        timeout: float = REQUEST_TIMEOUT_SECONDS,
        cooldown: float = BREAKER_COOLDOWN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Connect to ``url`` (a client of its own, closed by :meth:`aclose`), or guard a ``client`` that
        someone else owns and closes (the arq worker's pool)."""
        if client is None:
            if url is None:
                raise ValueError("give a Redis URL or a client")
            client = ArqRedis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
            self._owns_client = True
        else:
            self._owns_client = False
        self.client: ArqRedis = client
        self.timeout = timeout
        self.cooldown = cooldown
        self._clock = clock
        self._open_until: float | None = None  # None: closed
        self._trial_running = False

    @property
    def is_open(self) -> bool:
        """Whether a call now would fail at once."""
        if self._open_until is None:
            return False
        return self._trial_running or self._clock() < self._open_until

    async def call(self, operation: Callable[[ArqRedis], Awaitable[T]]) -> T:
        """``operation(client)`` within the deadline, or :class:`RedisUnavailable`. Errors Redis answers with
        (a wrong type, a script error) pass through and leave the breaker as it is: Redis is there."""
        if self.is_open:
            raise RedisUnavailable("Redis failed recently; waiting for the breaker's cool-down")
        trial = self._open_until is not None
        if trial:
            self._trial_running = True
        try:
            async with asyncio.timeout(self.timeout):
                result = await operation(self.client)
        except (RedisConnectionError, RedisTimeoutError, OSError, TimeoutError) as exc:
            self._open(exc)
            raise RedisUnavailable(f"Redis is unavailable: {type(exc).__name__}: {exc}") from exc
        finally:
            if trial:
                self._trial_running = False
        if self._open_until is not None:
            self._open_until = None
            log.info("redis_breaker_closed")
        return result

    def _open(self, error: BaseException) -> None:
        if self._open_until is None:
            log.warning(
                "redis_breaker_opened", error=f"{type(error).__name__}: {error}", cooldown=self.cooldown
            )
        self._open_until = self._clock() + self.cooldown

    async def aclose(self) -> None:
        if self._owns_client:
            await self.client.aclose()
