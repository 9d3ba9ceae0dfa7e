"""Helpers for tests that run the service as real processes."""

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from yijing.processes import api_command


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment_without_yijing_settings() -> dict[str, str]:
    """The current environment less every YIJING_ variable, for a child that gets its settings explicitly."""
    return {key: value for key, value in os.environ.items() if not key.startswith("YIJING_")}


def wait_until_ready(base: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the service exited during startup"
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"the service at {base} did not become ready within {timeout} s")


def service_environment(settings) -> dict[str, str]:
    """The environment of a child process of the service on the test run's database and Redis."""
    return environment_without_yijing_settings() | {
        "YIJING_ENV": "test",
        "YIJING_DATABASE_URL": settings.database_url,
        "YIJING_REDIS_URL": settings.redis_url,
        "YIJING_LOG_LEVEL": "WARNING",
    }


@contextlib.contextmanager
def running_api(settings, folder: Path, **environment: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """A uvicorn process serving the app on the test run's database and Redis: (base URL, process).
    ``folder`` is its working folder (no .env there, so its settings are exactly these)."""
    port = free_port()
    env = service_environment(settings) | environment
    # The command line `yijing run` uses, header bound included.
    server = subprocess.Popen(api_command("127.0.0.1", port), env=env, cwd=folder)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base, server, timeout=30)
        yield base, server
    finally:
        server.terminate()
        server.wait(timeout=10)
