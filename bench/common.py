"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from yijing.org.models import Site, Station

Answer = TypeVar("Answer")
Baseline = TypeVar("Baseline")


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


@dataclass
class Comparison(Generic[Answer, Baseline]):
    """Two ways to the same figures, timed in interleaved runs: the last answer of each, and the medians."""

    service: Answer
    statement: Baseline
    service_median: float
    statement_median: float
    runs: int

    def print(self, name: str, figures: str, same: bool, *, target: float | None = 1.5) -> None:
        ratio = self.service_median / self.statement_median
        goal = f"; target ≤ {target}×" if target else ""
        print(
            f"{name:<34} runs={self.runs}  median={self.service_median * 1000:7.2f} ms  "
            f"({ratio:.2f}× the statement{goal})  {figures}"
        )
        floor = f"median={self.statement_median * 1000:7.2f} ms"
        print(
            f"{'  same rows, one SQL statement':<34} runs={self.runs}  {floor}  "
            f"(asyncpg; same figures: {'yes' if same else 'NO'})"
        )


async def compare(
    service: Callable[[], Awaitable[Answer]], statement: Callable[[], Awaitable[Baseline]], runs: int = 30
) -> Comparison[Answer, Baseline]:
    """Each way ``runs`` times, interleaved, after a warm-up of each (so that both read warm caches)."""
    samples: tuple[list[float], list[float]] = ([], [])
    for run in range(runs + 1):
        begun = time.perf_counter()
        answer = await service()
        middle = time.perf_counter()
        baseline = await statement()
        if run:
            samples[0].append(middle - begun)
            samples[1].append(time.perf_counter() - middle)
    return Comparison(answer, baseline, statistics.median(samples[0]), statistics.median(samples[1]), runs)
