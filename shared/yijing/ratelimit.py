"""Fixed-window counters in Redis, for per-key request limits. Redis may be unavailable: the caller then
counts somewhere else (a limit must not switch off), and learns it from ``None``."""

from __future__ import annotations

import time
from dataclasses import dataclass

from arq.connections import ArqRedis

from yijing.redis import GuardedRedis, RedisUnavailable


@dataclass(frozen=True)
class Window:
    count: int
    retry_after: int  # seconds until the window ends


def current_window(window_seconds: int, now: float | None = None) -> tuple[int, int]:
    """(the window's start, in seconds since the epoch; seconds until it ends)."""
    now = time.time() if now is None else now
    start = int(now) // window_seconds * window_seconds
    return start, start + window_seconds - int(now)


async def hit(redis: GuardedRedis, key: str, window_seconds: int) -> Window | None:
    """Count one event in the current window of ``key``. None when Redis is unavailable."""
    start, retry_after = current_window(window_seconds)
    bucket = f"ratelimit:{key}:{start // window_seconds}"

    async def count(client: ArqRedis) -> int:
        async with client.pipeline(transaction=True) as pipe:
            pipe.incr(bucket)
            pipe.expire(bucket, window_seconds)
            counted, _ = await pipe.execute()
        return int(counted)

    try:
        return Window(count=await redis.call(count), retry_after=retry_after)
    except RedisUnavailable:
        return None
