from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

from yijing.jobs.models import JobRun, JobStatus
from yijing.jobs.registry import JobPayload, JobSpec
from yijing.kit.reads import LeanRow, by_value, read_model


class JobProgress(BaseModel):
    done: int = Field(description="Units of work finished so far")
    total: int | None = Field(description="Units of work in all, when known")


_STATUSES = by_value(JobStatus)


class JobRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0193a6a4-9b1e-7c3d-8f2a-3b4c5d6e7f80",
                    "name": "system.heartbeat",
                    "status": "succeeded",
                    "payload": {},
                    "progress": {"done": 1, "total": 1},
                    "result": {"recorded": True},
                    "error": None,
                    "attempts": 1,
                    "created_at": "2026-11-29T10:00:00+08:00",
                    "started_at": "2026-11-29T10:00:01+08:00",
                    "finished_at": "2026-11-29T10:00:01+08:00",
                    "updated_at": "2026-11-29T10:00:01+08:00",
                }
            ]
        }
    )

    id: uuid.UUID
    name: str
    status: JobStatus
    payload: dict[str, Any]
    progress: JobProgress
    result: dict[str, Any] | None
    error: str | None
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime

    @classmethod
    def of(cls, run: JobRun | LeanRow) -> JobRead:
        """From a record or a lean row of its columns (:data:`yijing.jobs.repository.SHOWN`), as stored: not
        validated again (a lean row's status is the driver's string)."""
        return read_model(
            cls,
            id=run.id, name=run.name, status=_STATUSES[run.status], payload=run.payload,
            progress=read_model(JobProgress, done=run.progress_done, total=run.progress_total),
            result=run.result, error=run.error, attempts=run.attempts, created_at=run.created_at,
            started_at=run.started_at, finished_at=run.finished_at, updated_at=run.updated_at,
        )  # fmt: skip


def _payload_field(model: type[BaseModel]) -> Any:
    # A payload whose fields all have defaults may be left out of the request.
    if any(field.is_required() for field in model.model_fields.values()):
        return Field(description="The job's parameters")
    return Field(default_factory=model, description="The job's parameters")


class JobRequestBase(BaseModel):
    """What every member of the ``POST /api/v1/jobs`` body has in common."""

    model_config = ConfigDict(extra="forbid")

    name: str
    payload: JobPayload


def _request_model(spec: JobSpec[Any]) -> type[JobRequestBase]:
    camel = "".join(part.capitalize() for part in spec.name.replace(".", "_").split("_"))
    name_type: Any = Literal[spec.name]
    model: type[JobRequestBase] = create_model(
        f"{camel}JobRequest",
        __base__=JobRequestBase,
        __doc__=f"{spec.name}: {spec.summary}",
        name=(name_type, Field(description="The registered job to run")),
        payload=(spec.payload_model, _payload_field(spec.payload_model)),
    )
    return model


def job_request_type(specs: Sequence[JobSpec[Any]]) -> Any:
    """The body of ``POST /api/v1/jobs``: one member per job of ``specs`` that may be requested, chosen by
    ``name``, so the OpenAPI document states exactly which payload each job takes."""
    models = tuple(_request_model(spec) for spec in specs if spec.requestable)
    if len(models) == 1:
        return models[0]
    return Annotated[Union[models], Field(discriminator="name")]  # noqa: UP007 - a runtime-built union
