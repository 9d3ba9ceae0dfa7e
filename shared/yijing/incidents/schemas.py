from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from yijing.incidents.models import CodeKind, IncidentCode, IncidentImport
from yijing.jobs.schemas import JobRead
from yijing.kit.reads import LeanRow, by_value, read_model
from yijing.types import NOT_BLANK, CalendarDate, Instant

Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,47}$")]
SourceSystem = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,31}$"),
    Field(description="The sending system's name, e.g. `jq110` (the 110 incident system)"),
]
SourceRef = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$"),
    Field(description="The record's own reference in the sending system: sending it again updates it"),
]
Label = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=NOT_BLANK)]

MAX_BATCH = 1000
# A batch's body is parsed whole before its records can be counted, into Python objects of up to ~27 times
# its size, so it has a limit of its own (far below the service's 10 MB), sized for its records: one with
# every field at its longest is 834 bytes of JSON, 1,104 indented by four spaces.
MAX_BATCH_BYTES = MAX_BATCH * 1536

_EXAMPLE_RECORD: dict[str, Any] = {
    "source_ref": "JQ20231031-000417",
    "station_id": "0193a6a4-1111-7c3d-8f2a-3b4c5d6e7f80",
    "site_id": "0193a6a4-2222-7c3d-8f2a-3b4c5d6e7f80",
    "occurred_at": "2023-10-31T23:30:00+08:00",
    "class_code": "public_order",
    "tags": ["floating_population"],
}


class IncidentRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source_ref: SourceRef
    station_id: uuid.UUID
    site_id: uuid.UUID | None = Field(default=None, description="A site of the station, when known")
    occurred_at: Instant = Field(
        description="With its offset; counted on that day in the station's time zone"
    )
    class_code: Code = Field(description="The primary class (GET /api/v1/incidents/codes, kind `class`)")
    tags: list[Code] = Field(default_factory=list, max_length=10, description="Tags (kind `tag`), any number")


class IncidentBatch(BaseModel):
    """Records of one sending system; each is stored once by its ``source_ref`` (sent again: updated)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"source_system": "jq110", "incidents": [_EXAMPLE_RECORD]}]},
    )

    source_system: SourceSystem
    incidents: list[IncidentRecord] = Field(min_length=1, max_length=MAX_BATCH)


class IngestResult(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"received": 120, "created": 117, "updated": 2, "unchanged": 1}]}
    )

    received: int
    created: int
    updated: int = Field(description="Stored before and changed now: their old and new days are recounted")
    unchanged: int = Field(description="Stored before exactly as sent")


_KINDS = by_value(CodeKind)


class CodeRead(BaseModel):
    kind: CodeKind
    code: str
    version: int
    label_zh: str
    label_en: str
    valid_from: date
    valid_to: date | None = Field(description="The last day it is valid; null: still valid")

    @classmethod
    def of(cls, code: IncidentCode | LeanRow) -> CodeRead:
        """From a record or a lean row of its columns (:data:`yijing.incidents.repository.CODE_SHOWN`), as
        stored: not validated again (the kind is stored as its value)."""
        return read_model(
            cls,
            kind=_KINDS[code.kind], code=code.code, version=code.version, label_zh=code.label_zh,
            label_en=code.label_en, valid_from=code.valid_from, valid_to=code.valid_to,
        )  # fmt: skip


class CodeVersionCreate(BaseModel):
    """A new meaning of a code from ``valid_from``: the version before it ends the day before."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kind": "tag",
                    "code": "floating_population",
                    "label_zh": "涉流动人口",
                    "label_en": "Floating population involved (incl. short-term renters)",
                    "valid_from": "2024-01-01",
                }
            ]
        },
    )

    kind: CodeKind
    code: Code
    label_zh: Label
    label_en: Label
    valid_from: CalendarDate


class ImportRead(BaseModel):
    """An uploaded file and the run of the job storing it: poll until ``job.status`` is done or failed;
    ``job.result`` has the outcome."""

    id: uuid.UUID
    file_name: str
    file_sha256: str
    keep_valid_rows: bool
    created_at: datetime
    job: JobRead | None

    @classmethod
    def of(cls, upload: IncidentImport | LeanRow, job: JobRead | None) -> ImportRead:
        """From a record or a lean row of its columns (:data:`yijing.incidents.repository.IMPORT_SHOWN`),
        with its run's read model: not validated again."""
        return read_model(
            cls,
            id=upload.id, file_name=upload.file_name, file_sha256=upload.file_sha256,
            keep_valid_rows=upload.keep_valid_rows, created_at=upload.created_at, job=job,
        )  # fmt: skip
