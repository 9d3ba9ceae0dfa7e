"""The service as real processes on servers of a test's own, so that a fault test can kill, pause and restart
any of them: PostgreSQL and Redis from the embedded wheels, the API under uvicorn, the worker as
``python -m yijing_worker``."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from sqlalchemy import func, select
from sqlmodel import col

from tests.live import environment_without_yijing_settings, free_port, wait_until_ready
from tests.world import World
from yijing.access import Role
from yijing.db import short_lived_sessions
from yijing.embedded import EmbeddedRedis
from yijing.hazards.models import Hazard
from yijing.notifications.models import Notification
from yijing.outbox.models import OutboxMessage
from yijing.settings import Settings
from yijing.stats.models import DailyRollup

API_COMMAND = [
    sys.executable, "-m", "uvicorn", "yijing_api.main:app", "--host", "127.0.0.1", "--no-access-log",
]  # fmt: skip
WORKER_COMMAND = [sys.executable, "-m", "yijing_worker"]
STARTUP_SECONDS = 30.0
LOG_TAIL_LINES = 30
# The notification a hazard report sends its site's officer (through the outbox and a worker job).
REPORTED = "hazard.reported"


@dataclass
class Stack:
    """One test's database (on a PostgreSQL cluster it may share), its own Redis, and the API and worker
    processes it starts. ``close`` kills every process it started, whatever state the test left."""

    folder: Path
    redis: EmbeddedRedis
    settings: Settings
    world: World
    port: int = field(default_factory=free_port)
    api: subprocess.Popen[bytes] | None = None
    worker: subprocess.Popen[bytes] | None = None
    children: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database_url(self) -> str:
        assert self.settings.database_url
        return self.settings.database_url

    def _environment(self) -> dict[str, str]:
        assert self.settings.redis_url
        return environment_without_yijing_settings() | {
            "YIJING_ENV": self.settings.env.value,
            "YIJING_DATABASE_URL": self.database_url,
            "YIJING_REDIS_URL": self.settings.redis_url,
            "YIJING_DATA_DIR": str(self.folder / "data"),
            "YIJING_ATTACHMENTS_DIR": str(self.settings.attachments_dir),
            "YIJING_LOG_LEVEL": "INFO",
            "YIJING_LOG_JSON": "true",  # what _routine reads
        }

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        """A child whose output goes to ``<name>-<n>.log`` in the test's folder (kept for a failed run)."""
        with (self.folder / f"{name}-{len(self.children)}.log").open("wb") as log:
            process = subprocess.Popen(
                command,
                env=self._environment(),
                cwd=self.folder,  # no .env file of the checkout is read
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.children.append(process)
        return process

    def start_api(self) -> subprocess.Popen[bytes]:
        """A new API process on the stack's port, once it answers ``/readyz``."""
        self.api = self._spawn("api", [*API_COMMAND, "--port", str(self.port)])
        wait_until_ready(self.base, self.api, STARTUP_SECONDS)
        return self.api

    def start_worker(self) -> subprocess.Popen[bytes]:
        self.worker = self._spawn("worker", WORKER_COMMAND)
        return self.worker

    def redis_process(self) -> psutil.Process:
        """The redis-server child serving this stack's socket."""
        for child in psutil.Process().children():
            with contextlib.suppress(psutil.NoSuchProcess):
                # Redis rewrites its title to "redis-server unixsocket:<path>".
                if any(str(self.redis.socket) in part for part in child.cmdline()):
                    return child
        raise AssertionError("this stack's Redis is not running")

    def close(self) -> None:
        for process in self.children:
            kill(process)
        self._print_log_tails()
        try:
            if self.redis.running:
                self.redis_process().resume()  # a paused Redis would sit out its stop's grace period
        finally:
            self.redis.stop()

    def _print_log_tails(self) -> None:
        """Each process's last lines above INFO: pytest shows them under a failed test (and -s always)."""
        for log in sorted(self.folder.glob("*.log")):
            lines = [line for line in log.read_text(errors="replace").splitlines() if not _routine(line)]
            if lines:
                print(
                    f"--- {log.name}, without its INFO lines (last {LOG_TAIL_LINES})",
                    *lines[-LOG_TAIL_LINES:],
                    sep="\n",
                )


def _routine(line: str) -> bool:
    return '"level": "info"' in line or '"level": "debug"' in line


def kill(process: subprocess.Popen[bytes]) -> None:
    """``kill -9``, and reap it."""
    if process.poll() is None:
        psutil.Process(process.pid).kill()
    process.wait(timeout=10)


def alive(process: subprocess.Popen[bytes] | None) -> bool:
    return process is not None and process.poll() is None


async def wait_for(
    condition: Callable[[], Awaitable[bool]], within: float, interval: float = 0.25
) -> float | None:
    """Seconds until ``condition`` held, checked every ``interval``; None if it did not ``within`` seconds."""
    started = time.monotonic()
    while True:
        if await condition():
            return time.monotonic() - started
        if time.monotonic() - started > within:
            return None
        await asyncio.sleep(interval)


@dataclass(frozen=True)
class FollowUp:
    """What the hazard reports' follow-up jobs have done so far."""

    pending_outbox: int
    hazards: int  # the station's, the world's own included
    reported: int  # those reported through the API (each with a client id)
    officer_notified: int  # the site's officer's "reported" notifications
    hazards_found: int  # the station's rollup figure of hazards found, summed over its sites and days

    @property
    def complete(self) -> bool:
        """Every emitted job relayed and run: a notification per report, and every hazard counted."""
        return (
            self.pending_outbox == 0
            and self.officer_notified == self.reported
            and self.hazards_found == self.hazards
        )


async def follow_up(stack: Stack) -> FollowUp:
    world = stack.world
    officer = world.own.users[Role.OFFICER]
    async with short_lived_sessions(stack.database_url) as factory, factory() as session:
        pending = await session.scalar(
            select(func.count()).select_from(OutboxMessage).where(col(OutboxMessage.relayed_at).is_(None))
        )
        of_station = (
            select(func.count()).select_from(Hazard).where(col(Hazard.station_id) == world.own.station.id)
        )
        hazards = await session.scalar(of_station)
        reported = await session.scalar(of_station.where(col(Hazard.client_id).is_not(None)))
        notified = await session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(col(Notification.recipient_id) == officer.id, col(Notification.kind) == REPORTED)
        )
        found = await session.scalar(
            select(func.sum(DailyRollup.value)).where(
                col(DailyRollup.station_id) == world.own.station.id,
                col(DailyRollup.metric) == "hazards_found",
            )
        )
    return FollowUp(*(int(figure or 0) for figure in (pending, hazards, reported, notified, found)))


def hazard_report(world: World) -> dict[str, str]:
    """A report as a phone sends it: with the device's own id, so that sending it again stores nothing new."""
    return {
        "site_id": str(world.own.site.id),
        "category": "fire",
        "description": "灭火器过期，消防通道被货物堵住",
        "client_id": str(uuid.uuid4()),
    }


async def followed_up(stack: Stack) -> bool:
    return (await follow_up(stack)).complete
