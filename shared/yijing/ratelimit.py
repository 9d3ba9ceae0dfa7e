"""Fixed-window counters in Redis, for login throttling and per-key request limits. If Redis cannot be
reached the limiter lets the request through (and logs it): a broken limiter must not lock everyone out."""

from __future__ import annotations

import time
from dataclasses import dataclass

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Window:
    count: int
    retry_after: int  # seconds until the window ends


async def hit(redis: Redis, key: str, window_seconds: int) -> Window | None:
    """Count one event in the current window of ``key``. None when Redis is unavailable."""
    window = int(time.time()) // window_seconds
    bucket = f"ratelimit:{key}:{window}"
    try:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.incr(bucket)
            pipe.expire(bucket, window_seconds)
            count, _ = await pipe.execute()
    except (RedisError, OSError):
        log.warning("rate_limit_unavailable", key=key)
        return None
    return Window(count=int(count), retry_after=window_seconds - int(time.time()) % window_seconds)


async def count(redis: Redis, key: str, window_seconds: int) -> Window | None:
    """Events counted so far in the current window, without counting one more."""
    window = int(time.time()) // window_seconds
    try:
        value = await redis.get(f"ratelimit:{key}:{window}")
    except (RedisError, OSError):
        log.warning("rate_limit_unavailable", key=key)
        return None
    return Window(count=int(value or 0), retry_after=window_seconds - int(time.time()) % window_seconds)


async def reset(redis: Redis, key: str, window_seconds: int) -> None:
    window = int(time.time()) // window_seconds
    try:
        await redis.delete(f"ratelimit:{key}:{window}")
    except (RedisError, OSError):
        log.warning("rate_limit_unavailable", key=key)
