"""Redis outages for tests: one that refuses connections and one that hangs."""

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager

from yijing.embedded import EmbeddedRedis

# Nothing listens on port 1: every connection is refused at once.
REFUSING_REDIS_URL = "redis://127.0.0.1:1/0"


@contextmanager
def hung(server: EmbeddedRedis) -> Iterator[None]:
    """The server stopped (SIGSTOP), as a hung Redis is: connections are accepted, nothing is answered."""
    process = server._process
    assert process is not None
    os.kill(process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(process.pid, signal.SIGCONT)
