"""``arq yijing_worker.settings.WorkerSettings`` runs the worker against the configured servers."""

from __future__ import annotations

from typing import Any, ClassVar

from arq.connections import RedisSettings
from arq.cron import CronJob
from arq.worker import Function

from yijing.logging import configure_logging
from yijing.redis import redis_settings
from yijing.settings import get_settings
from yijing_worker import worker

_settings = get_settings()
configure_logging(_settings.log_level, json=_settings.log_json)


def _redis_url() -> str:
    if not _settings.redis_url:
        raise SystemExit(
            "YIJING_REDIS_URL is not set. Start API and worker together with `yijing run` "
            "(it starts embedded "
            "servers), or set YIJING_DATABASE_URL and YIJING_REDIS_URL."
        )
    return _settings.redis_url


class WorkerSettings:
    functions: ClassVar[list[Function]] = worker.functions()
    cron_jobs: ClassVar[list[CronJob]] = worker.cron_jobs()
    on_startup = worker.startup
    on_shutdown = worker.shutdown
    redis_settings: ClassVar[RedisSettings] = redis_settings(_redis_url())
    # Cron schedules (the nightly purge) are in the station's time zone, not the machine's.
    timezone: ClassVar[Any] = _settings.tz
    # `arq --check yijing_worker.settings.WorkerSettings` reads the health record written this often.
    health_check_interval = 30
    job_timeout = 300
    keep_result = 3600
