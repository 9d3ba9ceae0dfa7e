"""Incident alerts (警情) from the police's own systems: batches of JSON records or CSV files, stored once
by the source system's own reference, and the versioned code lists that classify them."""

import uuid
from typing import Annotated

from fastapi import Depends, File, Form, Response, UploadFile, status

from yijing.access import ADMINS, STAFF, Actor, ApiScope
from yijing.incidents import jobs, service
from yijing.incidents.imports import OPTIONAL, REQUIRED
from yijing.incidents.models import CodeKind
from yijing.incidents.schemas import (
    MAX_BATCH_BYTES,
    CodeRead,
    CodeVersionCreate,
    ImportRead,
    IncidentBatch,
    IngestResult,
)
from yijing.types import QueryBool
from yijing_api.auth import Access
from yijing_api.deps import SessionDep
from yijing_api.middleware import body_limit
from yijing_api.openapi import sends
from yijing_api.params import upload_name
from yijing_api.problems import problem_responses
from yijing_api.routing import Router

router = Router(prefix="/incidents", tags=["incidents"])

# The police's systems send incidents with an incidents:write key; county admins may too (a file by hand).
WRITE = Access(ADMINS, frozenset({ApiScope.INCIDENTS_WRITE}))
READ_CODES = Access(STAFF, frozenset({ApiScope.STATS_READ, ApiScope.INCIDENTS_WRITE}))
MANAGE_CODES = Access(ADMINS)


@router.post(
    "",
    operation_id="incidents_ingest",
    summary="Receive a batch of incident records (up to 1,000)",
    description="Each record is stored once by (`source_system`, `source_ref`): sent again, it is updated "
    "when it differs and left alone when it does not. The batch is all or nothing: a record naming a "
    "station outside the key's reach, a site of another station, or a class or tag not valid on its day "
    "refuses the batch with 422, every refused record named in `errors`. The days touched are recounted. "
    f"The body may be at most {MAX_BATCH_BYTES:,} bytes (413 beyond).",
    responses=problem_responses(401, 403, 413, 422, 429),
    openapi_extra=body_limit(MAX_BATCH_BYTES),
)
async def ingest(
    batch: IncidentBatch, session: SessionDep, actor: Annotated[Actor, Depends(WRITE)]
) -> IngestResult:
    return await service.ingest(session, actor, batch)


@router.post(
    "/imports",
    operation_id="incidents_import",
    summary="Import incidents from a CSV file (runs as a job)",
    description="A UTF-8 (or GB 18030) CSV with the header "
    + ", ".join(f"`{name}`" for name in REQUIRED + OPTIONAL)
    + " (`site_id` and `tags` may be empty; tags separated by `;`). A wrong header is a 422 at once; the "
    "rows are stored by a job that bulk-loads them with COPY: answers 202, poll `Location`. With bad rows "
    "nothing is stored unless `keep_valid_rows` is true; the job's result lists them (`row`, `column`, "
    "`message`). Importing the same file twice stores nothing new.",
    status_code=status.HTTP_202_ACCEPTED,
    responses={202: sends("Location"), **problem_responses(401, 403, 413, 422, 429)},
)
async def import_file(
    session: SessionDep,
    response: Response,
    actor: Annotated[Actor, Depends(WRITE)],
    file: Annotated[UploadFile, File(description="The CSV file")],
    keep_valid_rows: Annotated[
        QueryBool, Form(description="Store the valid rows even if some are bad")
    ] = False,
) -> ImportRead:
    record = await jobs.request_import(
        session, actor, file_name=upload_name(file, "incidents.csv"), content=await file.read(),
        keep_valid_rows=keep_valid_rows,
    )  # fmt: skip
    response.headers["Location"] = f"/api/v1/incidents/imports/{record.id}"
    return await service.read_upload(session, record)


@router.get(
    "/imports/{import_id:uuid}",
    operation_id="incidents_import_get",
    summary="An import and its job's progress and outcome",
    responses=problem_responses(401, 403, 404, 422, 429),
)
async def get_import(
    import_id: uuid.UUID, session: SessionDep, actor: Annotated[Actor, Depends(WRITE)]
) -> ImportRead:
    return await service.read_import(session, actor, import_id)


@router.get(
    "/codes",
    operation_id="incidents_codes",
    summary="The code lists: primary classes and tags, every version with its validity dates",
    responses=problem_responses(401, 403, 422, 429),
)
async def codes(
    session: SessionDep, actor: Annotated[Actor, Depends(READ_CODES)], kind: CodeKind | None = None
) -> list[CodeRead]:
    return await service.codes(session, kind)


@router.post(
    "/codes",
    operation_id="incidents_add_code",
    summary="Give a code a new meaning from a date (or add a code)",
    description="The version before ends the day before `valid_from`: incidents keep the meaning of their "
    "day, and statistics comparing periods across the change mark the code `comparable: false`.",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(401, 403, 422),
)
async def add_code(
    data: CodeVersionCreate, session: SessionDep, actor: Annotated[Actor, Depends(MANAGE_CODES)]
) -> CodeRead:
    return CodeRead.of(await service.add_code_version(session, actor, data))
