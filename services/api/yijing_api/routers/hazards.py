"""Hazards (隐患): reported by volunteers and staff, verified, rectified and eliminated with evidence, or
closed without a fix; photos; each station's rectification periods; per-site figures."""

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, File, Form, Query, Request, Response, UploadFile, status
from pydantic import BaseModel

from yijing.access import EVERY_ROLE, MANAGERS, STAFF, Actor, ApiScope
from yijing.hazards import attachments, service
from yijing.hazards.models import AttachmentKind
from yijing.hazards.schemas import (
    ActionNote,
    AttachmentRead,
    DeadlineRules,
    DeadlineRulesUpdate,
    DismissAction,
    DuplicateAction,
    EliminateAction,
    HazardCreate,
    HazardEventRead,
    HazardFilters,
    HazardRead,
    HazardReopenAction,
    HazardSummary,
    HazardUpdate,
    RectifyAction,
    ReferAction,
)
from yijing.hazards.service import HazardAction
from yijing.kit.lifecycle import add_action_routes
from yijing.kit.pagination import Page
from yijing.photos import ACCEPTED
from yijing.types import QueryBool
from yijing_api.auth import Access
from yijing_api.deps import SessionDep, SettingsDep, StoreDep
from yijing_api.openapi import sends
from yijing_api.params import (
    PHOTO_RESPONSE,
    IfMatch,
    PageQuery,
    photo_response,
    set_etag,
    upload_name,
    version_of,
)
from yijing_api.problems import problem_responses
from yijing_api.routing import Router

router = Router(prefix="/hazards", tags=["hazards"])

# Everyone reports and follows hazards up (volunteers: their own site's and their own reports); staff verify,
# correct and close them; station leaders and county admins set the rectification periods.
SEE = Access(EVERY_ROLE)
MANAGE = Access(STAFF)
CONFIGURE = Access(MANAGERS)
COUNT = Access(STAFF, frozenset({ApiScope.STATS_READ}))


@router.get(
    "",
    operation_id="hazards_list",
    summary="Hazards the caller sees, oldest report first",
    responses=problem_responses(401, 403, 422),
)
async def list_hazards(
    session: SessionDep,
    actor: Annotated[Actor, Depends(SEE)],
    page: PageQuery,
    filters: Annotated[HazardFilters, Query()],
) -> Page[HazardRead]:
    return await service.list_hazards(session, actor, filters, page)


@router.post(
    "",
    operation_id="hazards_report",
    summary="Report a hazard",
    description="The deadline defaults to the station's period for the severity. An offline report sent "
    "again with the same `client_id` answers 200 with the stored report instead of storing a second one "
    "(another reporter's `client_id`: 409). Volunteers report as `volunteer`, or as `captain` during "
    "their captain week; only active volunteers report.",
    status_code=status.HTTP_201_CREATED,
    responses={
        201: sends("Location", "ETag"),
        200: {
            "model": HazardRead,
            "description": "The same offline report, already stored",
            **sends("Location", "ETag"),
        },
        **problem_responses(401, 403, 404, 409, 422),
    },
)
async def report_hazard(
    data: HazardCreate,
    session: SessionDep,
    response: Response,
    actor: Annotated[Actor, Depends(SEE)],
) -> HazardRead:
    hazard, created = await service.report_hazard(session, actor, data)
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/api/v1/hazards/{hazard.id}"
    set_etag(response, hazard.version)
    return service.read(hazard)


@router.get(
    "/summary",
    operation_id="hazards_summary",
    summary="Per site: open and overdue now; eliminated and closed without a fix in a month",
    description="Eliminated (fixed and checked) and closed-not-fixed (duplicate, not a hazard, referred) "
    "are counted apart: a closed hazard is never an eliminated one. The month is each site's month in "
    "its station's time zone; by default the current month (the station's, when one is given).",
    responses=problem_responses(401, 403, 404, 422),
)
async def summarise(
    session: SessionDep,
    settings: SettingsDep,
    actor: Annotated[Actor, Depends(COUNT)],
    station_id: uuid.UUID | None = None,
    site_id: uuid.UUID | None = None,
    month: Annotated[
        str | None,
        Query(pattern=r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])$", description="YYYY-MM", examples=["2026-11"]),
    ] = None,
) -> HazardSummary:
    return await service.summarise(
        session, actor, station_id=station_id, site_id=site_id, month=month, default_timezone=settings.tz
    )


@router.get(
    "/deadline-rules/{station_id}",
    operation_id="hazards_deadline_rules",
    summary="The station's rectification period (days) for each severity",
    responses=problem_responses(401, 403, 404, 422),
)
async def deadline_rules(
    station_id: uuid.UUID, session: SessionDep, actor: Annotated[Actor, Depends(MANAGE)]
) -> DeadlineRules:
    return await service.deadline_rules(session, actor, station_id)


@router.put(
    "/deadline-rules/{station_id}",
    operation_id="hazards_set_deadline_rules",
    summary="Set the station's rectification periods",
    description="Applies to hazards reported or reopened from now on; deadlines already set stay.",
    responses=problem_responses(401, 403, 404, 422),
)
async def set_deadline_rules(
    station_id: uuid.UUID,
    data: DeadlineRulesUpdate,
    session: SessionDep,
    actor: Annotated[Actor, Depends(CONFIGURE)],
) -> DeadlineRules:
    return await service.set_deadline_rules(session, actor, station_id, data)


@router.get(
    "/{hazard_id:uuid}",
    operation_id="hazards_get",
    summary="A hazard",
    responses={200: sends("ETag"), **problem_responses(401, 403, 404, 422)},
)
async def get_hazard(
    hazard_id: uuid.UUID, session: SessionDep, response: Response, actor: Annotated[Actor, Depends(SEE)]
) -> HazardRead:
    hazard = await service.read_hazard(session, actor, hazard_id)
    set_etag(response, hazard.version)
    return hazard


@router.patch(
    "/{hazard_id:uuid}",
    operation_id="hazards_update",
    summary="Correct a hazard's report (the status changes through its actions)",
    responses={200: sends("ETag"), **problem_responses(401, 403, 404, 412, 422)},
)
async def update_hazard(
    hazard_id: uuid.UUID,
    data: HazardUpdate,
    session: SessionDep,
    response: Response,
    actor: Annotated[Actor, Depends(MANAGE)],
    if_match: IfMatch = None,
) -> HazardRead:
    hazard = await service.update_hazard(session, actor, hazard_id, data, version_of(if_match))
    set_etag(response, hazard.version)
    return service.read(hazard)


@router.get(
    "/{hazard_id:uuid}/events",
    operation_id="hazards_events",
    summary="The hazard's history, oldest first: who did what, when, and why",
    responses=problem_responses(401, 403, 404, 422),
)
async def events(
    hazard_id: uuid.UUID, session: SessionDep, actor: Annotated[Actor, Depends(SEE)]
) -> list[HazardEventRead]:
    return [
        HazardEventRead.model_validate(event) for event in await service.history(session, actor, hazard_id)
    ]


@router.get(
    "/{hazard_id:uuid}/attachments",
    operation_id="hazards_attachments",
    summary="The hazard's photos",
    responses=problem_responses(401, 403, 404, 422),
)
async def list_attachments(
    hazard_id: uuid.UUID, session: SessionDep, actor: Annotated[Actor, Depends(SEE)]
) -> list[AttachmentRead]:
    return [AttachmentRead.of(item) for item in await attachments.list_attachments(session, actor, hazard_id)]


@router.post(
    "/{hazard_id:uuid}/attachments",
    operation_id="hazards_attach",
    summary="Attach a photo",
    description=f"A {ACCEPTED} photo, told by its content (the file name and declared type are not "
    "trusted), up to the size limit (`YIJING_ATTACHMENT_MAX_BYTES`, 8 MiB by default: 413 beyond). "
    "`strip_gps` removes the position from the photo's EXIF before it is stored. The same file sent "
    "again answers 200 with the stored attachment. An `after` photo is evidence for elimination.",
    status_code=status.HTTP_201_CREATED,
    responses={
        201: sends("Location"),
        200: {"model": AttachmentRead, "description": "The same file, already attached", **sends("Location")},
        **problem_responses(401, 403, 404, 413, 422),
    },
)
async def attach(
    hazard_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    response: Response,
    actor: Annotated[Actor, Depends(SEE)],
    file: Annotated[UploadFile, File(description=f"The photo ({ACCEPTED})")],
    kind: Annotated[
        AttachmentKind, Form(description="before: as found; after: the fix; other")
    ] = AttachmentKind.BEFORE,
    strip_gps: Annotated[QueryBool, Form(description="Remove the GPS position from the photo")] = False,
) -> AttachmentRead:
    # One byte over the limit is enough to refuse: the rest is not read.
    data = await file.read(settings.attachment_max_bytes + 1)
    attachment, created = await attachments.add_attachment(
        session, actor, store, hazard_id, file_name=upload_name(file, "photo"), data=data, kind=kind,
        strip_gps=strip_gps, max_bytes=settings.attachment_max_bytes,
    )  # fmt: skip
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = AttachmentRead.of(attachment).href
    return AttachmentRead.of(attachment)


@router.get(
    "/{hazard_id:uuid}/attachments/{attachment_id:uuid}",
    operation_id="hazards_attachment_download",
    summary="Download a photo",
    response_class=Response,
    responses={
        200: {**PHOTO_RESPONSE[200], **sends("ETag")},
        **problem_responses(401, 403, 404, 422),
    },
)
async def download(
    request: Request,
    hazard_id: uuid.UUID,
    attachment_id: uuid.UUID,
    session: SessionDep,
    store: StoreDep,
    actor: Annotated[Actor, Depends(SEE)],
) -> Response:
    attachment, content = await attachments.open_attachment(session, actor, store, hazard_id, attachment_id)
    return photo_response(
        request,
        content,
        media_type=attachment.media_type,
        file_name=attachment.file_name,
        sha256=attachment.sha256,
    )


# The lifecycle's actions: each one's body, and its summary.
_ACTION_BODIES: dict[HazardAction, type[BaseModel]] = {
    HazardAction.VERIFY: ActionNote,
    HazardAction.RECTIFY: RectifyAction,
    HazardAction.ELIMINATE: EliminateAction,
    HazardAction.DUPLICATE: DuplicateAction,
    HazardAction.DISMISS: DismissAction,
    HazardAction.REFER: ReferAction,
    HazardAction.REOPEN: HazardReopenAction,
}
_ACTION_SUMMARIES = {
    HazardAction.VERIFY: "Confirm the hazard on site (reported → verified)",
    HazardAction.RECTIFY: "Order the fix: the responsible party and a deadline (verified → rectifying)",
    HazardAction.ELIMINATE: "Record the fix as checked (verified or rectifying → eliminated); needs an "
    "`after` photo or another person's inspection note",
    HazardAction.DUPLICATE: "Close as a duplicate of another report",
    HazardAction.DISMISS: "Close as not a hazard",
    HazardAction.REFER: "Close by referring to another agency",
    HazardAction.REOPEN: "Open again (reported), with a fresh deadline",
}


def _action_endpoint(action: HazardAction) -> Callable[..., Awaitable[HazardRead]]:
    """One action's endpoint, with that action's own body (so each is documented with its fields)."""
    body_model = _ACTION_BODIES[action]

    async def take_action(
        hazard_id: uuid.UUID,
        data: body_model,  # type: ignore[valid-type]
        session: SessionDep,
        response: Response,
        actor: Annotated[Actor, Depends(MANAGE)],
        if_match: IfMatch = None,
    ) -> HazardRead:
        hazard = await service.take_action(session, actor, hazard_id, action, data, version_of(if_match))
        set_etag(response, hazard.version)
        return service.read(hazard)

    return take_action


add_action_routes(
    router,
    service.LIFECYCLE,
    _action_endpoint,
    path="/{hazard_id:uuid}",
    operation_prefix="hazards",
    summaries=_ACTION_SUMMARIES,
    effects="The note goes into the hazard's history; the reporter is notified.",
    responses={200: sends("ETag"), **problem_responses(401, 403, 404, 409, 412, 422)},
)
