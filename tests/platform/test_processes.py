"""The processes' start: the API's header bound wherever it is started, and the supervisor's restart policy
(the restarts themselves, with real processes, are in tests/platform/test_run_command.py)."""

import itertools
import json
import os
import sys
from pathlib import Path

from yijing.processes import MAX_HEADER_BYTES, Child, RestartPolicy, api_command, stop, supervise

ROOT = Path(__file__).resolve().parents[2]
HEADER_BOUND = [("--http", "h11"), ("--h11-max-incomplete-event-size", str(MAX_HEADER_BYTES))]


def options(command: list[str]) -> list[tuple[str, str]]:
    return list(itertools.pairwise(command))


def test_the_api_is_started_with_bounded_headers_by_yijing_run_and_in_the_container():
    assert MAX_HEADER_BYTES == 65536
    assert set(HEADER_BOUND) <= set(options(api_command("127.0.0.1", 8000)))
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text().replace("\\\n", "")
    (cmd,) = [line.removeprefix("CMD ") for line in dockerfile.splitlines() if line.startswith("CMD ")]
    container = json.loads(cmd)
    assert container[:2] == ["uvicorn", "yijing_api.main:app"]
    assert set(HEADER_BOUND) <= set(options(container))


def delays(policy: RestartPolicy, *lifetimes: float) -> list[float | None]:
    """The delays the policy chooses for a child that stays up each of ``lifetimes`` seconds in turn, until
    it gives up."""
    now = 0.0
    chosen: list[float | None] = []
    for lifetime in lifetimes:
        started, now = now, now + lifetime
        delay = policy.delay_after_exit(started, now)
        chosen.append(delay)
        if delay is None:
            break
        now += delay
    return chosen


def test_a_child_that_keeps_dying_is_restarted_five_times_then_given_up():
    assert delays(RestartPolicy(), *[0.5] * 10) == [1, 2, 4, 8, 16, None]


def test_the_delay_doubles_up_to_thirty_seconds():
    # Up for 15 s each time: never five restarts within a minute, so it is never given up.
    assert delays(RestartPolicy(), *[15] * 8) == [1, 2, 4, 8, 16, 30, 30, 30]


def test_a_child_that_stayed_up_for_a_minute_starts_over_at_one_second():
    assert delays(RestartPolicy(), 0.5, 0.5, 0.5, 60, 0.5) == [1, 2, 4, 1, 2]


def test_the_supervisor_restarts_a_child_that_exits_and_returns_when_it_keeps_exiting(tmp_path):
    starts = tmp_path / "starts"
    crashing = Child(
        "crashing",
        [sys.executable, "-c", f"open({str(starts)!r}, 'a').write('x'); raise SystemExit(3)"],
        RestartPolicy(first_delay=0.05, limit=3),
    )
    steady = Child("steady", [sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        supervise([crashing, steady], dict(os.environ), poll_seconds=0.01)
        assert steady.process is not None
        assert steady.process.poll() is None, "the other child is left running for the caller to stop"
    finally:
        stop([crashing, steady], timeout=5)
    assert starts.read_text() == "xxxx"  # started, then started again three times before giving up
