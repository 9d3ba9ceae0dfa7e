"""`yijing run --demo` (what `make run` calls) on embedded servers: it loads the demo station into the empty
database, serves, runs jobs, and on Ctrl-C or SIGTERM stops API, worker, PostgreSQL and Redis, leaving no
process behind."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.live import (
    environment_without_yijing_settings,
    free_port,
    service_environment,
    wait_until_ready,
)
from yijing import demo
from yijing.access import Role

# Committed for real: `yijing run` is a process of its own, which sees only committed rows.
pytestmark = pytest.mark.committed

STARTUP_SECONDS = 90
SAID = "run.stderr"  # what `yijing run` says, in its working folder
ADMIN_PHONE = "13900001111"
ADMIN_PASSWORD = "run-command-test-password"


def processes_using(folder: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if any(str(folder) in part for part in process.info["cmdline"] or []):
            found.append(process)
    return found


def still_running(processes: list[psutil.Process]) -> list[psutil.Process]:
    return [
        process for process in processes if process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    ]


def yijing(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "yijing.cli", *arguments]


def ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def start_run(command: list[str], **options) -> subprocess.Popen:
    """`yijing run` in a process group of its own, as a terminal gives a foreground command, and with SIGINT
    ignored, as a shell starts a background job (`&`, a CI script): Ctrl-C must stop it all the same."""
    return subprocess.Popen(command, start_new_session=True, preexec_fn=ignore_sigint, **options)


@pytest.fixture
def service(tmp_path):
    data_dir = tmp_path / "data"
    port = free_port()
    env = environment_without_yijing_settings()
    env |= {"YIJING_DATA_DIR": str(data_dir), "YIJING_LOG_LEVEL": "WARNING"}
    with (tmp_path / SAID).open("wb") as said:
        process = start_run(
            yijing("run", "--port", str(port), "--demo"),
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=said,
        )
    try:
        yield process, f"http://127.0.0.1:{port}", data_dir, env
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        for leftover in processes_using(data_dir):
            leftover.kill()


def sign_in(base: str, phone: str = ADMIN_PHONE, password: str = ADMIN_PASSWORD) -> dict[str, str]:
    response = httpx.post(
        f"{base}/api/v1/auth/token", data={"username": phone, "password": password}, timeout=10
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def assert_everything_stopped(
    process: subprocess.Popen, children: list[psutil.Process], data_dir: Path
) -> None:
    time.sleep(0.5)
    assert still_running(children) == [], "API, worker or Redis outlived yijing run"
    assert processes_using(data_dir) == [], "PostgreSQL or Redis outlived yijing run"


def test_run_serves_runs_jobs_and_ctrl_c_stops_everything(service, tmp_path):
    process, base, data_dir, env = service
    wait_until_ready(base, process, STARTUP_SECONDS)
    # The first admin, made the way the README says: in another terminal while the service runs.
    subprocess.run(
        yijing("users", "create", "--phone", ADMIN_PHONE, "--role", "admin", "--password", ADMIN_PASSWORD),
        env=env,
        cwd=tmp_path,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    headers = sign_in(base)
    # The demo station is there, and its officer signs in with the printed account.
    officer = sign_in(base, demo.OFFICERS[0].phone, demo.DEFAULT_PASSWORD)
    summary = httpx.get(f"{base}/api/v1/volunteers/summary", headers=officer, timeout=5).json()
    assert summary["total"] == 718
    created = httpx.post(
        f"{base}/api/v1/jobs", json={"name": "system.purge"}, headers=headers, timeout=5
    ).json()
    deadline = time.monotonic() + 30
    while (
        httpx.get(f"{base}/api/v1/jobs/{created['id']}", headers=headers, timeout=5).json()["status"]
        != "succeeded"
    ):
        assert time.monotonic() < deadline, "the worker did not run the job"
        time.sleep(0.2)
    # What a newcomer reads, in this order: the demo's load announced and done, then ready, then its accounts.
    said = (tmp_path / SAID).read_text()
    steps = ["Loading the demo station", "Loaded the demo station", "yijing is ready", demo.OFFICERS[0].phone]
    assert all(step in said for step in steps), said
    assert [said.index(step) for step in steps] == sorted(said.index(step) for step in steps), said

    children = psutil.Process(process.pid).children(recursive=True)
    assert len(children) >= 3, "API, worker and Redis should be running"
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's foreground group
    assert process.wait(timeout=60) == 0
    assert_everything_stopped(process, children, data_dir)


def test_sigterm_stops_everything(service):
    process, base, data_dir, _env = service
    wait_until_ready(base, process, STARTUP_SECONDS)
    children = psutil.Process(process.pid).children(recursive=True)
    process.terminate()  # to the supervisor alone, as a process manager would
    process.wait(timeout=60)
    assert_everything_stopped(process, children, data_dir)


@pytest.fixture
def service_on_test_servers(settings, tmp_path):
    """`yijing run` on the test run's database and Redis, which it starts on in seconds."""
    port = free_port()
    env = service_environment(settings)
    command = yijing("run", "--port", str(port))
    process = start_run(command, env=env, cwd=tmp_path)
    children: set[psutil.Process] = set()
    try:
        yield process, f"http://127.0.0.1:{port}", children
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        for child in still_running(list(children)):
            child.kill()


def child_running(process: subprocess.Popen, marker: str, seen: set[psutil.Process]) -> psutil.Process:
    """The supervisor's child whose command line names ``marker``, once it runs (a new one after a restart:
    every child found is remembered in ``seen``, and not found again)."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, "yijing run exited"
        for child in psutil.Process(process.pid).children():
            if child not in seen and any(marker in part for part in child.cmdline()):
                seen.add(child)
                return child
        time.sleep(0.1)
    pytest.fail(f"no {marker} child within {STARTUP_SECONDS} s")


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def test_ready_is_said_once_the_api_answers_and_not_before(settings, tmp_path):
    port = free_port()
    process = start_run(
        yijing("run", "--port", str(port), "--no-worker"),
        env=service_environment(settings),
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    try:
        said: list[str] = []
        while not any("yijing is ready" in line for line in said):
            line = process.stderr.readline()  # the test's timeout bounds a run that never says it
            assert line, f"yijing run ended without saying it is ready: {said}"
            said.append(line)
        assert answers(f"http://127.0.0.1:{port}/healthz"), "ready was said before the API answered"
        assert "Starting the API" in "".join(said[:-1])
        assert f"http://127.0.0.1:{port}/docs" in said[-1]
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stderr.close()


def test_a_killed_worker_is_started_again(service_on_test_servers, world):
    process, base, children = service_on_test_servers
    wait_until_ready(base, process, STARTUP_SECONDS)
    worker = child_running(process, "yijing_worker", children)
    worker.kill()  # SIGKILL: no chance to clean up
    child_running(process, "yijing_worker", children)
    # The new worker runs jobs.
    headers = world.headers(Role.ADMIN)
    created = httpx.post(f"{base}/api/v1/jobs", json={"name": "system.heartbeat"}, headers=headers, timeout=5)
    assert created.status_code == 202, created.text
    run = f"{base}/api/v1/jobs/{created.json()['id']}"
    deadline = time.monotonic() + 30
    while httpx.get(run, headers=headers, timeout=5).json()["status"] != "succeeded":
        assert time.monotonic() < deadline, "the restarted worker did not run the job"
        time.sleep(0.2)
    assert process.poll() is None


def test_a_killed_api_is_started_again_and_ctrl_c_still_stops_everything(service_on_test_servers):
    process, base, children = service_on_test_servers
    wait_until_ready(base, process, STARTUP_SECONDS)
    api = child_running(process, "uvicorn", children)
    worker = child_running(process, "yijing_worker", children)
    api.kill()
    restarted = child_running(process, "uvicorn", children)
    deadline = time.monotonic() + STARTUP_SECONDS
    while not answers(f"{base}/healthz"):
        assert process.poll() is None, "yijing run exited"
        assert time.monotonic() < deadline, "the restarted API does not answer"
        time.sleep(0.2)
    assert worker.is_running(), "the worker was left alone"
    os.killpg(process.pid, signal.SIGINT)
    assert process.wait(timeout=60) == 0
    time.sleep(0.5)
    assert still_running([restarted, worker]) == []
