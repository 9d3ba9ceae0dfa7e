"""Helpers for tests that run the service as real processes."""

import os
import socket
import subprocess
import time

import httpx
import pytest


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
