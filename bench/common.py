"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from yijing.org.models import Site, Station


def report(name: str, samples: list[float]) -> None:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    print(
        f"{name:<34} n={len(samples):>5}  median={statistics.median(samples) * 1000:7.2f} ms  "
        f"p95={p95 * 1000:7.2f} ms  throughput={len(samples) / sum(samples):8.0f}/s"
    )


async def station_with_sites(session: AsyncSession, name: str, sites: int) -> tuple[Station, list[Site]]:
    """A station in Asia/Shanghai with ``sites`` sites named 网格0, 网格1, …"""
    station = Station(name=name, division_code="350121", timezone="Asia/Shanghai")
    session.add(station)
    await session.flush()
    made = [Site(station_id=station.id, name=f"网格{index}") for index in range(sites)]
    session.add_all(made)
    await session.flush()
    return station, made


async def timed(call: Callable[[], Awaitable[object]], times: int) -> list[float]:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return samples
