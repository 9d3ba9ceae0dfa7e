"""Volunteers (义警) of a station: enrolment, search, status actions and bulk import from spreadsheets."""

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, File, Form, Query, Request, Response, UploadFile, status
from pydantic.json_schema import SkipJsonSchema

from yijing.access import STAFF, Actor, ApiScope
from yijing.jobs.schemas import JobRead
from yijing.kit.lifecycle import add_action_routes
from yijing.kit.pagination import Page
from yijing.patrols import service as patrols
from yijing.patrols.schemas import VolunteerPatrolFilters, VolunteerPatrolPage
from yijing.types import QueryBool
from yijing.uploads import FileFormat
from yijing.volunteers import jobs, service
from yijing.volunteers.imports import COLUMNS, SHEET
from yijing.volunteers.schemas import (
    StatusAction,
    StatusChangeRead,
    VolunteerCreate,
    VolunteerFilters,
    VolunteerRead,
    VolunteerSummary,
    VolunteerUpdate,
)
from yijing.volunteers.service import VolunteerAction
from yijing_api.auth import Access
from yijing_api.deps import ProtectorDep, SessionDep
from yijing_api.openapi import sends
from yijing_api.params import (
    TEMPLATE_RESPONSE,
    IfMatch,
    PageQuery,
    Reveal,
    set_etag,
    template_response,
    upload_name,
    version_of,
)
from yijing_api.problems import problem_responses
from yijing_api.routing import Router

router = Router(prefix="/volunteers", tags=["volunteers"])

# Officers, assistants, station leaders and county admins manage their stations' volunteers; volunteers
# see their own record through /api/v1/me/volunteer.
MANAGE = Access(STAFF)
COUNT = Access(STAFF, frozenset({ApiScope.STATS_READ}))


@router.get(
    "",
    operation_id="volunteers_list",
    summary="Volunteers of the stations the caller reaches (masked personal data)",
    responses=problem_responses(401, 403, 422),
)
async def list_volunteers(
    session: SessionDep,
    protector: ProtectorDep,
    actor: Annotated[Actor, Depends(MANAGE)],
    page: PageQuery,
    filters: Annotated[VolunteerFilters, Query()],
) -> Page[VolunteerRead]:
    return await service.list_volunteers(session, actor, filters, page, protector)


@router.post(
    "",
    operation_id="volunteers_create",
    summary="Enrol a volunteer at a site",
    description="One person is one volunteer per station: a second record with the same ID-card number is "
    "refused with 409, naming the existing one (`existing_volunteer_id`).",
    status_code=status.HTTP_201_CREATED,
    responses={201: sends("Location", "ETag"), **problem_responses(401, 403, 404, 409, 422)},
)
async def create_volunteer(
    data: VolunteerCreate,
    session: SessionDep,
    protector: ProtectorDep,
    response: Response,
    actor: Annotated[Actor, Depends(MANAGE)],
) -> VolunteerRead:
    volunteer = await service.create_volunteer(session, actor, data, protector)
    response.headers["Location"] = f"/api/v1/volunteers/{volunteer.id}"
    set_etag(response, volunteer.version)
    return VolunteerRead.of(volunteer)


@router.get(
    "/summary",
    operation_id="volunteers_summary",
    summary="Volunteer counts by status and by source",
    responses=problem_responses(401, 403, 404, 422),
)
async def summarise(
    session: SessionDep,
    actor: Annotated[Actor, Depends(COUNT)],
    station_id: uuid.UUID | None = None,
    site_id: uuid.UUID | None = None,
) -> VolunteerSummary:
    return await service.summarise(session, actor, station_id=station_id, site_id=site_id)


@router.get(
    "/imports/template",
    operation_id="volunteers_import_template",
    summary="The enrolment spreadsheet template",
    description="The header row an import expects (Chinese headers; the English field names are accepted "
    "too). The XLSX template explains every column on its second sheet. Columns: "
    + "; ".join(
        f"{column.label} `{column.key}`{' (required)' if column.required else ''}" for column in COLUMNS
    ),
    response_class=Response,
    responses={
        **TEMPLATE_RESPONSE,
        **problem_responses(401, 403, 422),
    },
)
async def import_template(
    request: Request, actor: Annotated[Actor, Depends(MANAGE)], format: FileFormat = FileFormat.XLSX
) -> Response:
    return template_response(request, SHEET, format, "volunteers-template")


@router.post(
    "/imports",
    operation_id="volunteers_import",
    summary="Import volunteers from a CSV or XLSX file (runs as a job)",
    description=(
        "The file (UTF-8 with or without BOM, or GB 18030 CSV; or XLSX, told apart by content) is checked at "
        "once: an unreadable file, unknown or missing columns, or more than 20,000 rows are a 422. Its rows "
        "are then validated by a worker job: answers 202 with the job run; poll `GET /api/v1/jobs/{job_id}`. "
        "The run's `result` reports `outcome` (`imported`, `rejected`, or `imported_valid_rows`), `created`, "
        "`skipped_existing` and every bad row as `errors: [{row, column, message}]`. With bad rows nothing "
        "is imported unless `import_valid_rows` is true. People the station has already (by ID-card number) "
        "are skipped, so importing the same file twice creates nothing new."
    ),
    status_code=status.HTTP_202_ACCEPTED,
    responses={202: sends("Location"), **problem_responses(401, 403, 404, 413, 422)},
)
async def import_volunteers(
    session: SessionDep,
    protector: ProtectorDep,
    response: Response,
    actor: Annotated[Actor, Depends(MANAGE)],
    file: Annotated[UploadFile, File(description="The filled-in template (CSV or XLSX)")],
    # A form has no null: the field is optional, not nullable (SkipJsonSchema keeps null out of the document).
    station_id: Annotated[
        uuid.UUID | SkipJsonSchema[None],
        Form(description="The station the volunteers join; defaults to the caller's"),
    ] = None,
    import_valid_rows: Annotated[
        QueryBool, Form(description="Import the valid rows even when some rows are invalid")
    ] = False,
) -> JobRead:
    run = await jobs.request_import(
        session,
        actor,
        station_id=station_id,
        file_name=upload_name(file, "upload"),
        content=await file.read(),
        import_valid_rows=import_valid_rows,
        protector=protector,
    )
    response.headers["Location"] = f"/api/v1/jobs/{run.id}"
    return JobRead.of(run)


@router.get(
    "/{volunteer_id:uuid}",
    operation_id="volunteers_get",
    summary="A volunteer (masked personal data unless revealed)",
    responses={200: sends("ETag"), **problem_responses(401, 403, 404, 422)},
)
async def get_volunteer(
    volunteer_id: uuid.UUID,
    session: SessionDep,
    protector: ProtectorDep,
    response: Response,
    actor: Annotated[Actor, Depends(MANAGE)],
    reveal: Reveal = None,
) -> VolunteerRead:
    volunteer = await service.get_volunteer(session, actor, volunteer_id)
    set_etag(response, volunteer.version)
    return await service.read_volunteer(
        session, actor, volunteer, reveal=reveal is not None, protector=protector
    )


@router.patch(
    "/{volunteer_id:uuid}",
    operation_id="volunteers_update",
    summary="Change a volunteer's record (the status changes through its actions)",
    responses={200: sends("ETag"), **problem_responses(401, 403, 404, 409, 412, 422)},
)
async def update_volunteer(
    volunteer_id: uuid.UUID,
    data: VolunteerUpdate,
    session: SessionDep,
    protector: ProtectorDep,
    response: Response,
    actor: Annotated[Actor, Depends(MANAGE)],
    if_match: IfMatch = None,
) -> VolunteerRead:
    volunteer = await service.update_volunteer(
        session, actor, volunteer_id, data, version_of(if_match), protector
    )
    set_etag(response, volunteer.version)
    return VolunteerRead.of(volunteer)


@router.get(
    "/{volunteer_id:uuid}/status-history",
    operation_id="volunteers_status_history",
    summary="Every status the volunteer has had, oldest first, with who changed it and why",
    responses=problem_responses(401, 403, 404, 422),
)
async def status_history(
    volunteer_id: uuid.UUID, session: SessionDep, actor: Annotated[Actor, Depends(MANAGE)]
) -> list[StatusChangeRead]:
    changes = await service.status_history(session, actor, volunteer_id)
    return [StatusChangeRead.model_validate(change) for change in changes]


@router.get(
    "/{volunteer_id:uuid}/patrols",
    operation_id="volunteers_patrols_list",
    summary="A volunteer's patrols with their verified minutes, newest first",
    description="Each patrol with the volunteer's part: leader or not, and the minutes and check-ins the "
    "system verified once the patrol was settled (0 and null before). `verified_minutes_total` sums the "
    "verified minutes of every patrol the filters match, on every page. Volunteers read their own through "
    "`GET /api/v1/me/patrols`.",
    responses=problem_responses(401, 403, 404, 422),
)
async def list_patrols(
    volunteer_id: uuid.UUID,
    session: SessionDep,
    actor: Annotated[Actor, Depends(MANAGE)],
    page: PageQuery,
    filters: Annotated[VolunteerPatrolFilters, Query()],
) -> VolunteerPatrolPage:
    return await patrols.patrols_of_volunteer(session, actor, volunteer_id, filters, page)


_ACTION_SUMMARIES = {
    VolunteerAction.ACTIVATE: "Activate an applicant (applied → active)",
    VolunteerAction.SUSPEND: "Suspend an active volunteer (active → suspended)",
    VolunteerAction.REINSTATE: "Reinstate a suspended volunteer (suspended → active)",
    VolunteerAction.RETIRE: "Retire a volunteer for good (applied, active or suspended → retired)",
}


def _action_endpoint(action: VolunteerAction) -> Callable[..., Awaitable[VolunteerRead]]:
    async def take_action(
        volunteer_id: uuid.UUID,
        data: StatusAction,
        session: SessionDep,
        response: Response,
        actor: Annotated[Actor, Depends(MANAGE)],
        if_match: IfMatch = None,
    ) -> VolunteerRead:
        volunteer = await service.take_action(
            session, actor, volunteer_id, action, data.reason, version_of(if_match)
        )
        set_etag(response, volunteer.version)
        return VolunteerRead.of(volunteer)

    return take_action


add_action_routes(
    router,
    service.LIFECYCLE,
    _action_endpoint,
    path="/{volunteer_id:uuid}",
    operation_prefix="volunteers",
    summaries=_ACTION_SUMMARIES,
    effects="The reason goes into the status history; a linked account is notified.",
    responses={200: sends("ETag"), **problem_responses(401, 403, 404, 409, 412, 422)},
)
