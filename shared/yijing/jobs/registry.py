"""The typed job registry: a job is a name, a pydantic payload model and a handler (a domain service
function). The API enqueues by spec, never by a bare string; the worker builds its arq functions from it.

Domains' jobs modules register their specs here; this module imports no domain (see
:mod:`yijing.jobs.catalog` for the complete list)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from yijing.db import SessionFactory
from yijing.settings import Settings

JsonDict = dict[str, Any]


class JobPayload(BaseModel):
    """Base of every job payload: unknown fields are refused, so a typo never silently does nothing."""

    model_config = ConfigDict(extra="forbid", frozen=True)


P = TypeVar("P", bound=JobPayload)


@dataclass
class JobContext:
    """What a handler gets: its own transaction (committed by the runner with the run's outcome), plus a way
    to publish progress that clients can read while the job still runs."""

    session: AsyncSession
    session_factory: SessionFactory
    settings: Settings
    run_id: uuid.UUID | None = None
    report_progress: Callable[[int, int | None], Awaitable[None]] = field(default=lambda done, total: _noop())


async def _noop() -> None:
    return None


Handler = Callable[[JobContext, P], Awaitable[JsonDict | None]]


@dataclass(frozen=True)
class JobSpec(Generic[P]):
    name: str
    payload_model: type[P]
    handler: Handler[P]
    summary: str
    # arq retries only transient failures (see yijing.jobs.service.is_transient); up to this many tries.
    max_tries: int = 3
    timeout_seconds: int = 300
    # False for jobs only domain events may emit (an operator must not, say, send arbitrary notifications).
    requestable: bool = True
    # True for jobs that run every minute or for every event (a heartbeat, a notification): their runs are
    # logged at DEBUG, so that a console at INFO shows what people and schedules did, not the plumbing.
    routine: bool = False


_REGISTRY: dict[str, JobSpec[Any]] = {}


def register(spec: JobSpec[P]) -> JobSpec[P]:
    if spec.name in _REGISTRY and _REGISTRY[spec.name] is not spec:
        raise ValueError(f"job {spec.name!r} is registered twice")
    _REGISTRY[spec.name] = spec
    return spec


def registered() -> list[JobSpec[Any]]:
    """The jobs registered so far, by name. Complete only once every domain's jobs module is imported:
    the composition roots read the complete list through :mod:`yijing.jobs.catalog`."""
    return sorted(_REGISTRY.values(), key=lambda spec: spec.name)
