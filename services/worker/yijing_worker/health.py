"""The worker's probes, on a small HTTP listener of its own (``YIJING_WORKER_HEALTH_PORT``).

``GET /healthz``: the process is alive (200 even during an outage, so an orchestrator does not restart a
worker that is only waiting for Redis). ``GET /readyz``: 200 when the worker's last poll of Redis succeeded
recently and the database answers, otherwise 503 with a problem document naming the failing ones, in the
API's shape. asyncio's ``start_server`` is enough for two fixed answers: no framework, no extra dependency.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, Literal

import structlog

from yijing.db import SessionFactory, ping
from yijing_worker.resilient import ResilientWorker

log = structlog.get_logger(__name__)

CheckState = Literal["ok", "failing"]
CHECK_TIMEOUT_SECONDS = 3.0
# A worker polls every half second: a last good poll older than this means its loop is stuck.
POLL_FRESH_SECONDS = 30.0
# Probes send a request line and a few headers; anything slower or bigger is not one.
REQUEST_TIMEOUT_SECONDS = 5.0
MAX_HEADER_LINES = 100

_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}


def redis_state(worker: ResilientWorker) -> CheckState:
    polled = worker.last_poll_succeeded_at
    fresh = polled is not None and time.monotonic() - polled < POLL_FRESH_SECONDS
    return "ok" if fresh and worker.redis_down_since is None else "failing"


async def database_state(factory: SessionFactory) -> CheckState:
    try:
        await asyncio.wait_for(ping(factory), CHECK_TIMEOUT_SECONDS)
    except Exception:
        return "failing"
    return "ok"


class HealthListener:
    def __init__(self, worker: ResilientWorker, factory: SessionFactory) -> None:
        self.worker = worker
        self.factory = factory

    async def start(self, host: str, port: int) -> asyncio.Server:
        server = await asyncio.start_server(self._serve, host, port)
        log.info("worker_health_listening", host=host, port=port)
        return server

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_SECONDS):
                method, path = await _read_request(reader)
                status, body = await self._answer(method, path)
                payload = json.dumps(body).encode()
                media_type = "application/problem+json" if status >= 400 else "application/json"
                head = (
                    f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: {media_type}\r\n"
                    f"Content-Length: {len(payload)}\r\nCache-Control: no-store\r\nConnection: close\r\n"
                )
                if status == 405:
                    head += "Allow: GET, HEAD\r\n"
                writer.write(f"{head}\r\n".encode() + (b"" if method == "HEAD" else payload))
                await writer.drain()
        except (TimeoutError, ConnectionError, ValueError):
            pass  # a client that went away or sent no HTTP: nothing to answer
        finally:
            writer.close()

    async def _answer(self, method: str, path: str) -> tuple[int, dict[str, Any]]:
        if path not in ("/healthz", "/readyz"):
            return 404, _problem(
                404, "not_found", "Not found", path, detail="this listener serves /healthz and /readyz"
            )
        if method not in ("GET", "HEAD"):
            return 405, _problem(405, "method_not_allowed", "Method not allowed", path)
        if path == "/healthz":
            return 200, {"status": "alive"}
        checks: dict[str, CheckState] = {
            "database": await database_state(self.factory),
            "redis": redis_state(self.worker),
        }
        failing = sorted(name for name, state in checks.items() if state != "ok")
        if failing:
            detail = f"unreachable: {', '.join(failing)}"
            return 503, _problem(503, "not_ready", "Service unavailable", path, detail=detail, checks=checks)
        return 200, {"status": "ready", "checks": checks}


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str]:
    """The method and path of an HTTP/1.x request; its headers are read (so that closing the connection does
    not reset it under the client) and ignored."""
    parts = (await reader.readline()).decode("latin-1").split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise ValueError("not an HTTP/1 request line")
    for _ in range(MAX_HEADER_LINES):
        if (await reader.readline()).strip() == b"":
            break
    else:
        raise ValueError("too many header lines")
    return parts[0], parts[1].split("?", 1)[0]


def _problem(status: int, code: str, title: str, path: str, **extra: Any) -> dict[str, Any]:
    return {
        **extra,
        "type": f"urn:yijing:problem:{code}",
        "title": title,
        "status": status,
        "instance": path,
        "code": code,
    }
