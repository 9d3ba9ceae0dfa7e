"""A meeting platform's attendance export (参会记录) for an online or hybrid training, read by a job: each
volunteer's minutes online, every bad row reported."""

import uuid
from typing import Annotated

from fastapi import Depends, File, Request, Response, UploadFile, status

from yijing.access import STAFF, Actor
from yijing.jobs.schemas import JobRead
from yijing.training import jobs
from yijing.training.imports import COLUMNS, SHEET
from yijing.uploads import FileFormat
from yijing_api.auth import Access
from yijing_api.deps import ProtectorDep, SessionDep
from yijing_api.openapi import sends
from yijing_api.params import TEMPLATE_RESPONSE, template_response, upload_name
from yijing_api.problems import problem_responses
from yijing_api.routing import Router

router = Router(prefix="/trainings", tags=["training"])

# Staff take attendance. No API key: the file names volunteers by their mobile numbers.
MANAGE = Access(STAFF)


@router.get(
    "/online-attendance/template",
    operation_id="trainings_online_attendance_template",
    summary="The online attendance file's template",
    description="The header row an upload expects (Chinese headers; the English field names are accepted "
    "too). Columns: "
    + "; ".join(
        f"{column.label} `{column.key}`{' (required)' if column.required else ''}" for column in COLUMNS
    ),
    response_class=Response,
    responses={
        **TEMPLATE_RESPONSE,
        **problem_responses(401, 403, 422),
    },
)
async def online_attendance_template(
    request: Request, actor: Annotated[Actor, Depends(MANAGE)], format: FileFormat = FileFormat.XLSX
) -> Response:
    return template_response(request, SHEET, format, "online-attendance-template")


@router.post(
    "/{training_id:uuid}/online-attendance",
    operation_id="trainings_import_online_attendance",
    summary="Import minutes online from the meeting platform's export (runs as a job)",
    description=(
        "For an online or hybrid training, from its start until it is settled. The file (CSV or XLSX, with "
        "the columns 手机号 `phone` or 袖标号 `badge_number`, and 参会时长（分钟） `minutes`) is checked at "
        "once: an unreadable file, unknown or missing columns or more than 10,000 rows are a 422. A worker "
        "job then reads its rows: answers 202 with the job run; poll `GET /api/v1/jobs/{job_id}`. The "
        "run's `result` reports `outcome`, `volunteers` (whose minutes were stored: a volunteer who joined "
        "more than once has the rows' sum) and every bad row as `errors: [{row, column, message}]` (no such "
        "volunteer, not enrolled, more minutes than the session). Sent again, the minutes are replaced."
    ),
    status_code=status.HTTP_202_ACCEPTED,
    responses={202: sends("Location"), **problem_responses(401, 403, 404, 409, 413, 422)},
)
async def import_online_attendance(
    training_id: uuid.UUID,
    session: SessionDep,
    protector: ProtectorDep,
    response: Response,
    actor: Annotated[Actor, Depends(MANAGE)],
    file: Annotated[UploadFile, File(description="The meeting platform's export, in the template's columns")],
) -> JobRead:
    run = await jobs.request_import(
        session,
        actor,
        training_id=training_id,
        file_name=upload_name(file, "upload"),
        content=await file.read(),
        protector=protector,
    )
    response.headers["Location"] = f"/api/v1/jobs/{run.id}"
    return JobRead.of(run)
