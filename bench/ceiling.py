"""The API's reads against their ceiling, side by side in one run: `GET /api/v1/volunteers` (a page of 50
from 100,000 volunteers) and `GET /api/v1/hazards/{id}`, each served by the real API under uvicorn, and the
same answers from a bare Starlette + asyncpg app (bench/ceiling_app.py: same token check, same SQL, same
JSON bytes) under the same uvicorn options.

Each server is one process pinned to core 0; the load comes from this process on core 1 (keep-alive
HTTP/1.1 over CONNECTIONS connections, as wrk would). Rounds are interleaved (API, ceiling, API, …) so that
both see the same machine; the figures are medians over ROUNDS rounds: requests per second, and the server's
CPU time per request (from its own process counters). RSS of both servers after the load. Printed, and
written as JSON to ``<data dir>/ceiling.json``.

Targets (issue 18): the API ≥ 0.6× the ceiling's requests per second, ≤ 1.7× its CPU per request."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
import psutil
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

from bench.volunteers import seed
from tests.live import environment_without_yijing_settings, free_port
from yijing.db import session_scope, short_lived_sessions
from yijing.hazards.models import Hazard, HazardCategory, HazardSeverity, HazardStatus
from yijing.ids import new_id, utcnow
from yijing.processes import api_command
from yijing.settings import Settings

ROUNDS = 3
SECONDS = 4.0
WARM_UP_SECONDS = 1.0
CONNECTIONS = 16
# The first two cores this process may run on (on a one-core machine both share it, and the figures say so).
_CORES = sorted(os.sched_getaffinity(0))
SERVER_CORE, LOAD_CORE = _CORES[0], _CORES[1 % len(_CORES)]
TARGET_THROUGHPUT, TARGET_CPU = 0.6, 1.7
OFFICER = text("SELECT id FROM users WHERE station_id = :station AND role = 'officer'")


@dataclass
class Sample:
    requests_per_second: float
    cpu_ms_per_request: float
    failed: int


@dataclass
class Endpoint:
    name: str
    api_path: str
    ceiling_path: str


async def _client(host: str, port: int, request: bytes, stop: float, counts: list[int]) -> None:
    """One keep-alive connection sending ``request`` until ``stop``: counts [answered 200, other]."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.monotonic() < stop:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            counts[0 if head[9:12] == b"200" else 1] += 1
    finally:
        writer.close()


async def _load(port: int, path: str, headers: dict[str, str], seconds: float) -> tuple[int, int]:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    counts = [0, 0]
    stop = time.monotonic() + seconds
    await asyncio.gather(*(_client("127.0.0.1", port, request, stop, counts) for _ in range(CONNECTIONS)))
    return counts[0], counts[1]


async def _measure(server: subprocess.Popen[bytes], port: int, path: str, headers: dict[str, str]) -> Sample:
    await _load(port, path, headers, WARM_UP_SECONDS)
    process = psutil.Process(server.pid)
    before = process.cpu_times()
    started = time.monotonic()
    answered, failed = await _load(port, path, headers, SECONDS)
    elapsed = time.monotonic() - started
    after = process.cpu_times()
    cpu = (after.user - before.user) + (after.system - before.system)
    return Sample(answered / elapsed, cpu * 1000 / max(answered, 1), failed)


@contextmanager
def _server(command: list[str], env: dict[str, str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    server = subprocess.Popen(  # noqa: S603 - our own command line
        command,
        env=env,
        preexec_fn=lambda: os.sched_setaffinity(0, {SERVER_CORE}),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, "the server exited during startup"
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not start within 60 s"
                time.sleep(0.2)
        yield server
    finally:
        server.terminate()
        server.wait(timeout=10)


async def _seed_hazard(
    settings: Settings, station_id: uuid.UUID, site_id: uuid.UUID, reporter: uuid.UUID
) -> str:
    assert settings.database_url
    now = utcnow()
    row = {
        "id": new_id(), "station_id": station_id, "site_id": site_id, "category": HazardCategory.ELECTRICAL,
        "severity": HazardSeverity.HIGH, "source": "patrol", "description": "夜市电线私拉乱接",
        "latitude": 26.07, "longitude": 119.29, "address": "滨河路夜市 A-017",
        "responsible_party": "A-017 鱼丸摊", "reporter_id": reporter, "reporter_role": "officer",
        "status": HazardStatus.REPORTED, "overdue": False, "version": 1, "deadline": now.date(),
        "created_at": now, "updated_at": now,
    }  # fmt: skip
    async with short_lived_sessions(settings.database_url) as factory, session_scope(factory) as session:
        await session.execute(insert(Hazard), [row])
    return str(row["id"])


def _same_bytes(api: str, ceiling: str, endpoint: Endpoint, headers: dict[str, str]) -> bool:
    ours = httpx.get(api + endpoint.api_path, headers=headers)
    theirs = httpx.get(ceiling + endpoint.ceiling_path, headers=headers)
    assert ours.status_code == theirs.status_code == 200, (ours.text, theirs.text)
    if ours.content != theirs.content:
        at = next(i for i, (a, b) in enumerate(zip(ours.content, theirs.content, strict=False)) if a != b)
        print(f"  {endpoint.name}: bytes differ at {at}: {ours.content[at - 40 : at + 40]!r}")
        print(f"  {' ' * len(endpoint.name)}  ceiling's: {theirs.content[at - 40 : at + 40]!r}")
    return ours.content == theirs.content


async def bench_ceiling(settings: Settings) -> None:
    assert settings.database_url
    assert settings.redis_url
    sites, headers = await seed(settings, "天花板压测派出所", "13700000009")
    station_id = sites[0].station_id
    async with short_lived_sessions(settings.database_url) as factory, session_scope(factory) as session:
        officer = (await session.execute(OFFICER, {"station": station_id})).scalar_one()
    hazard_id = await _seed_hazard(settings, station_id, sites[0].id, officer)
    endpoints = [
        Endpoint("GET /api/v1/volunteers (page of 50)", "/api/v1/volunteers", "/volunteers"),
        Endpoint("GET /api/v1/hazards/{id}", f"/api/v1/hazards/{hazard_id}", f"/hazards/{hazard_id}"),
    ]
    api_port, ceiling_port = free_port(), free_port()
    api_env = environment_without_yijing_settings() | {
        "YIJING_ENV": settings.env.value,
        "YIJING_DATABASE_URL": settings.database_url,
        "YIJING_REDIS_URL": settings.redis_url,
        "YIJING_SECRET_KEY": settings.secret_key,
        "YIJING_PERSONAL_DATA_KEY": settings.personal_data_key,
        "YIJING_DATA_DIR": str(settings.data_dir),
        "YIJING_LOG_LEVEL": "INFO",  # as in production: every request logged
        "YIJING_LOG_JSON": "true",
    }
    dsn = make_url(settings.database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    ceiling_env = environment_without_yijing_settings() | {
        "CEILING_DSN": dsn,
        "CEILING_SECRET": settings.secret_key,
        "PYTHONPATH": str(Path.cwd()),
    }
    ceiling_command = api_command("127.0.0.1", ceiling_port, settings)
    ceiling_command[ceiling_command.index("yijing_api.main:app")] = "bench.ceiling_app:app"
    samples: dict[str, dict[str, list[Sample]]] = {e.name: {"api": [], "ceiling": []} for e in endpoints}
    with (
        _server(api_command("127.0.0.1", api_port, settings), api_env, api_port) as api,
        _server(ceiling_command, ceiling_env, ceiling_port) as ceiling,
    ):
        api_base, ceiling_base = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{ceiling_port}"
        same = {e.name: _same_bytes(api_base, ceiling_base, e, headers) for e in endpoints}
        core = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {LOAD_CORE})
        try:
            for _ in range(ROUNDS):
                for endpoint in endpoints:
                    samples[endpoint.name]["api"].append(
                        await _measure(api, api_port, endpoint.api_path, headers)
                    )
                    samples[endpoint.name]["ceiling"].append(
                        await _measure(ceiling, ceiling_port, endpoint.ceiling_path, headers)
                    )
        finally:
            os.sched_setaffinity(0, core)
        rss = {
            "api": psutil.Process(api.pid).memory_info().rss / 2**20,
            "ceiling": psutil.Process(ceiling.pid).memory_info().rss / 2**20,
        }
    print(
        f"ceiling comparison: {ROUNDS} interleaved rounds of {SECONDS:.0f} s, {CONNECTIONS} connections; "
        f"each server on core {SERVER_CORE}, the load on core {LOAD_CORE}"
    )
    figures = {}
    for endpoint in endpoints:
        api_samples, ceiling_samples = samples[endpoint.name]["api"], samples[endpoint.name]["ceiling"]
        medians = {
            side: {
                "requests_per_second": statistics.median(s.requests_per_second for s in runs),
                "cpu_ms_per_request": statistics.median(s.cpu_ms_per_request for s in runs),
                "failed": sum(s.failed for s in runs),
            }
            for side, runs in (("api", api_samples), ("ceiling", ceiling_samples))
        }
        throughput = medians["api"]["requests_per_second"] / medians["ceiling"]["requests_per_second"]
        cpu = medians["api"]["cpu_ms_per_request"] / medians["ceiling"]["cpu_ms_per_request"]
        for side in ("api", "ceiling"):
            figure = medians[side]
            print(
                f"  {endpoint.name:<36} {side:<8} {figure['requests_per_second']:7.0f} req/s  "
                f"{figure['cpu_ms_per_request']:6.2f} ms CPU/request  failed={figure['failed']}"
            )
        print(
            f"  {'':<36} ratio    {throughput:7.2f}× req/s (target ≥ {TARGET_THROUGHPUT}×)  "
            f"{cpu:6.2f}× CPU (target ≤ {TARGET_CPU}×)  same bytes: {'yes' if same[endpoint.name] else 'NO'}"
        )
        figures[endpoint.name] = {
            **medians,
            "throughput_ratio": throughput,
            "cpu_ratio": cpu,
            "same_bytes": same[endpoint.name],
            "rounds": {
                side: [asdict(s) for s in runs]
                for side, runs in (("api", api_samples), ("ceiling", ceiling_samples))
            },
        }
    print(f"  RSS after the load: API {rss['api']:.0f} MiB, ceiling {rss['ceiling']:.0f} MiB")
    output = Path(settings.data_dir) / "ceiling.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps({"endpoints": figures, "rss_mib": rss, "python": sys.version}, indent=2))
    print(f"  written to {output}")
