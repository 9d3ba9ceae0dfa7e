from __future__ import annotations

from yijing.errors import InvalidInput, NotFound


class JobRunNotFound(NotFound):
    code = "job_run_not_found"


class UnknownJob(NotFound):
    code = "unknown_job"


class InvalidJobPayload(InvalidInput):
    code = "invalid_job_payload"
