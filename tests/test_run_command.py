"""`yijing run` (what `make run` calls) on embedded servers: it serves, runs jobs, and on Ctrl-C or SIGTERM
stops API, worker, PostgreSQL and Redis, leaving no process behind."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.live import environment_without_yijing_settings, free_port, wait_until_ready

STARTUP_SECONDS = 90


def processes_using(folder: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if any(str(folder) in part for part in process.info["cmdline"] or []):
            found.append(process)
    return found


@pytest.fixture
def service(tmp_path):
    data_dir = tmp_path / "data"
    port = free_port()
    env = environment_without_yijing_settings() | {
        "YIJING_DATA_DIR": str(data_dir),
        "YIJING_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "yijing.cli", "run", "--port", str(port)],
        env=env,
        start_new_session=True,  # its own process group, as a terminal gives a foreground command
        stdout=subprocess.DEVNULL,
    )
    try:
        yield process, f"http://127.0.0.1:{port}", data_dir
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        for leftover in processes_using(data_dir):
            leftover.kill()


def test_run_serves_runs_jobs_and_ctrl_c_stops_everything(service):
    process, base, data_dir = service
    wait_until_ready(base, process, STARTUP_SECONDS)
    assert processes_using(data_dir), "the embedded servers should run under the data folder"

    created = httpx.post(f"{base}/api/v1/jobs", json={"name": "system.purge"}, timeout=5).json()
    deadline = time.monotonic() + 30
    while httpx.get(f"{base}/api/v1/jobs/{created['id']}", timeout=5).json()["status"] != "succeeded":
        assert time.monotonic() < deadline, "the worker did not run the job"
        time.sleep(0.2)

    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's foreground group
    assert process.wait(timeout=60) == 0
    time.sleep(0.5)
    assert processes_using(data_dir) == []


def test_sigterm_stops_everything(service):
    process, base, data_dir = service
    wait_until_ready(base, process, STARTUP_SECONDS)
    process.terminate()  # to the supervisor alone, as a process manager would
    process.wait(timeout=60)
    time.sleep(0.5)
    assert processes_using(data_dir) == []
