"""How the API process is started, and the supervisor ``yijing run`` keeps the API and the worker under.

The API runs on uvicorn's h11 protocol with a bound on the request head. uvicorn's default, httptools,
buffers a header of any size (a 100 MB header cost the server 188 MB and stalled every other client for 12 s);
h11 refuses more than ``--h11-max-incomplete-event-size`` bytes with a 400 and closes the connection.
deploy/Dockerfile and the README start the API with the same options. Forwarded headers are believed only
from the proxies ``YIJING_FORWARDED_ALLOW_IPS`` names (the image's entrypoint hands it to uvicorn as
``FORWARDED_ALLOW_IPS``).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field

import structlog

from yijing.settings import Settings, get_settings

log = structlog.get_logger(__name__)

# The request line and every header together, in bytes. A request of this API needs a few KB at most (a token
# or an API key, a request id, If-Match); 64 KiB leaves room for what proxies add on the way.
MAX_HEADER_BYTES = 64 * 1024


def api_command(host: str, port: int, settings: Settings | None = None) -> list[str]:
    """The API server's command line, as ``yijing run`` starts it (with the process's own settings unless
    others are given)."""
    trusted_proxies = (settings or get_settings()).forwarded_allow_ips
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "yijing_api.main:app",
        "--host",
        host,
        "--port",
        str(port),
        # The API's own middleware logs every request, with its request id.
        "--no-access-log",
        "--proxy-headers",
        "--forwarded-allow-ips",
        trusted_proxies,
        "--http",
        "h11",
        "--h11-max-incomplete-event-size",
        str(MAX_HEADER_BYTES),
    ]


@dataclass
class RestartPolicy:
    """When a child that exited is started again: after 1 s, then twice as long each time up to 30 s (back to
    1 s once it has stayed up for a minute). After 5 restarts within a minute it is not: a child that cannot
    stay up is a fault to report, not to hide, so the supervisor stops everything instead."""

    first_delay: float = 1.0
    max_delay: float = 30.0
    limit: int = 5
    window: float = 60.0
    _delay: float = field(init=False)
    _restarts: deque[float] = field(init=False, default_factory=deque)

    def __post_init__(self) -> None:
        self._delay = self.first_delay

    def delay_after_exit(self, started: float, exited: float) -> float | None:
        """Seconds to wait before starting the child again, or None: give up."""
        if exited - started >= self.window:
            self._delay = self.first_delay
        while self._restarts and exited - self._restarts[0] >= self.window:
            self._restarts.popleft()
        if len(self._restarts) >= self.limit:
            return None
        delay = self._delay
        self._delay = min(self.max_delay, delay * 2)
        self._restarts.append(exited)
        return delay


@dataclass
class Child:
    name: str
    command: list[str]
    policy: RestartPolicy = field(default_factory=RestartPolicy)
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    restart_at: float | None = None

    def start(self, env: dict[str, str]) -> None:
        # Own session: Ctrl-C reaches only the supervisor, which stops the children in order (they shut down
        # gracefully on SIGTERM).
        self.process = subprocess.Popen(self.command, env=env, start_new_session=True)  # noqa: S603 - fixed argv
        self.started = time.monotonic()
        self.restart_at = None


def supervise(children: list[Child], env: dict[str, str], poll_seconds: float = 0.2) -> None:
    """Starts the children and keeps them running: one that exits is started again as its policy says.
    Returns when one keeps exiting (the caller stops the others); Ctrl-C's KeyboardInterrupt goes through."""
    for child in children:
        child.start(env)
    while True:
        now = time.monotonic()
        for child in children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    child.start(env)
                    assert child.process is not None
                    log.info("child_restarted", child=child.name, pid=child.process.pid)
                continue
            assert child.process is not None
            code = child.process.poll()
            if code is None:
                continue
            delay = child.policy.delay_after_exit(child.started, now)
            if delay is None:
                log.error(
                    "child_keeps_exiting",
                    child=child.name,
                    exit_code=code,
                    restarts=child.policy.limit,
                    window_seconds=child.policy.window,
                )
                return
            log.warning("child_exited", child=child.name, exit_code=code, restart_in_seconds=delay)
            child.restart_at = now + delay
        time.sleep(poll_seconds)


def stop(children: list[Child], timeout: float = 15.0) -> None:
    """SIGTERM to every child still running, then SIGKILL to those still there after ``timeout`` seconds."""
    processes = [child.process for child in children if child.process is not None]
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
