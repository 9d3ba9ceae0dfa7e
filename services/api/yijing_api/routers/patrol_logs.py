"""Patrol logs (巡防日志): what happened on a patrol — observations, safety persuasion and outreach,
interventions, hazards found, disputes — written by its members or station staff, with photos."""

import uuid
from typing import Annotated

from fastapi import Depends, File, Form, Query, Request, Response, UploadFile, status

from yijing.access import EVERY_ROLE, Actor
from yijing.kit.pagination import Page
from yijing.patrols.logs import service
from yijing.patrols.logs.schemas import LogCreate, LogFilters, LogPhotoRead, LogRead
from yijing.photos import ACCEPTED
from yijing.types import QueryBool
from yijing_api.auth import Access
from yijing_api.deps import ProtectorDep, SessionDep, SettingsDep, StoreDep
from yijing_api.openapi import sends
from yijing_api.params import PHOTO_RESPONSE, PageQuery, photo_response, upload_name
from yijing_api.problems import problem_responses
from yijing_api.routing import Router

router = Router(prefix="/patrols/{patrol_id}/logs", tags=["patrols"])

# Those who see the patrol read its log; the service lets only its members and station staff write
# (403 `not_a_member` for anyone else).
PEOPLE = Access(EVERY_ROLE)


@router.post(
    "",
    operation_id="patrol_logs_create",
    summary="Write a log entry (members of the patrol, station staff)",
    description="One entry, stored once by its `client_id`: sent again it answers 200 with the stored entry; "
    "a `client_id` the station holds for a different entry is a 409 `client_id_reused`. `persuasion` "
    "(安全劝导) and `outreach` (安全宣传) name their `topic`; `hazard_found` reports a new hazard (`hazard`, "
    "at the patrol's site, source `patrol`) or links one (`hazard_id`) — the entry and the hazard are "
    "stored together. `dispute` opens a case (`dispute`, at the patrol's site, source `patrol`, the "
    "volunteer writing it its first mediator) or links one (`dispute_id`), stored together likewise; the "
    "parties' phone and ID-card numbers are kept sealed. `occurred_at` lies within the patrol, with 15 "
    "minutes' grace (422 otherwise). Entries "
    "are written once the patrol has started (409 `patrol_not_under_way` before, or when cancelled or "
    "missed); they are never edited.",
    status_code=status.HTTP_201_CREATED,
    responses={
        201: sends("Location"),
        200: {"model": LogRead, "description": "The same entry, already stored", **sends("Location")},
        **problem_responses(401, 403, 404, 409, 422),
    },
)
async def write_log(
    patrol_id: uuid.UUID,
    data: LogCreate,
    session: SessionDep,
    response: Response,
    actor: Annotated[Actor, Depends(PEOPLE)],
    protector: ProtectorDep,
) -> LogRead:
    log, created = await service.write_log(session, actor, patrol_id, data, protector)
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/api/v1/patrols/{patrol_id}/logs/{log.id}"
    return log


@router.get(
    "",
    operation_id="patrol_logs_list",
    summary="A patrol's log, in the order the entries arrived",
    responses=problem_responses(401, 403, 404, 422),
)
async def list_logs(
    patrol_id: uuid.UUID,
    session: SessionDep,
    actor: Annotated[Actor, Depends(PEOPLE)],
    page: PageQuery,
    filters: Annotated[LogFilters, Query()],
) -> Page[LogRead]:
    return await service.list_logs(session, actor, patrol_id, filters, page)


@router.get(
    "/{log_id}",
    operation_id="patrol_logs_get",
    summary="One log entry, with its photos",
    responses=problem_responses(401, 403, 404, 422),
)
async def get_log(
    patrol_id: uuid.UUID, log_id: uuid.UUID, session: SessionDep, actor: Annotated[Actor, Depends(PEOPLE)]
) -> LogRead:
    return await service.read_log(session, actor, patrol_id, log_id)


@router.post(
    "/{log_id}/photos",
    operation_id="patrol_logs_attach",
    summary="Add a photo to a log entry",
    description=f"A {ACCEPTED} photo, told by its content (the file name and declared type are not trusted), "
    "up to the size limit (`YIJING_ATTACHMENT_MAX_BYTES`, 8 MiB by default: 413 beyond). `strip_gps` "
    "removes the position from the photo's EXIF before it is stored. The same file sent again answers 200 "
    "with the stored photo. Whoever may write the patrol's log adds photos.",
    status_code=status.HTTP_201_CREATED,
    responses={
        201: sends("Location"),
        200: {"model": LogPhotoRead, "description": "The same file, already added", **sends("Location")},
        **problem_responses(401, 403, 404, 413, 422),
    },
)
async def attach(
    patrol_id: uuid.UUID,
    log_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    response: Response,
    actor: Annotated[Actor, Depends(PEOPLE)],
    file: Annotated[UploadFile, File(description=f"The photo ({ACCEPTED})")],
    strip_gps: Annotated[QueryBool, Form(description="Remove the GPS position from the photo")] = False,
) -> LogPhotoRead:
    # One byte over the limit is enough to refuse: the rest is not read.
    data = await file.read(settings.attachment_max_bytes + 1)
    photo, log, created = await service.add_photo(
        session, actor, store, patrol_id, log_id, file_name=upload_name(file, "photo"), data=data,
        strip_gps=strip_gps, max_bytes=settings.attachment_max_bytes,
    )  # fmt: skip
    if not created:
        response.status_code = status.HTTP_200_OK
    read = LogPhotoRead.of(log, photo)
    response.headers["Location"] = read.href
    return read


@router.get(
    "/{log_id}/photos/{photo_id}",
    operation_id="patrol_logs_photo_download",
    summary="Download a log entry's photo",
    response_class=Response,
    responses={
        200: {**PHOTO_RESPONSE[200], **sends("ETag")},
        **problem_responses(401, 403, 404, 422),
    },
)
async def download(
    request: Request,
    patrol_id: uuid.UUID,
    log_id: uuid.UUID,
    photo_id: uuid.UUID,
    session: SessionDep,
    store: StoreDep,
    actor: Annotated[Actor, Depends(PEOPLE)],
) -> Response:
    photo, content = await service.open_photo(session, actor, store, patrol_id, log_id, photo_id)
    return photo_response(
        request, content, media_type=photo.media_type, file_name=photo.file_name, sha256=photo.sha256
    )
