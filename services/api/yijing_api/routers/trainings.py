"""Training (培训): sessions online and offline scheduled for an audience of sites, groups and volunteers,
changed or cancelled before they start; attendance taken by the session's rotating code, by staff in the
room, by minutes online, or excused."""

import uuid
from typing import Annotated

from fastapi import Depends, Query, Response, status

from yijing.access import EVERY_ROLE, STAFF, Actor, Role
from yijing.kit.pagination import Page
from yijing.training import service
from yijing.training.schemas import (
    AttendanceFilters,
    AttendanceRead,
    CancelTraining,
    CodeCheckin,
    ExcuseAttendance,
    OnlineMinutes,
    SessionCodeRead,
    TrainingCreate,
    TrainingFilters,
    TrainingRead,
    TrainingUpdate,
)
from yijing_api.auth import Access
from yijing_api.deps import SessionDep
from yijing_api.openapi import sends
from yijing_api.params import IfMatch, PageQuery, set_etag, version_of
from yijing_api.problems import problem_responses
from yijing_api.routing import Router

router = Router(prefix="/trainings", tags=["training"])

# Staff schedule trainings and take attendance; volunteers see those they are enrolled in and check
# themselves in with the session's code. No API key: attendance names volunteers.
SEE = Access(EVERY_ROLE)
MANAGE = Access(STAFF)
ATTEND = Access(frozenset({Role.VOLUNTEER}))


@router.get(
    "",
    operation_id="trainings_list",
    summary="Trainings the caller sees, earliest start first",
    description="Staff: their stations' trainings; a volunteer: those they are enrolled in.",
    responses=problem_responses(401, 403, 422),
)
async def list_trainings(
    session: SessionDep,
    actor: Annotated[Actor, Depends(SEE)],
    page: PageQuery,
    filters: Annotated[TrainingFilters, Query()],
) -> Page[TrainingRead]:
    return await service.list_trainings(session, actor, filters, page)


@router.post(
    "",
    operation_id="trainings_create",
    summary="Schedule a training",
    description="The audience's active volunteers are enrolled (a site's, a group's current members, those "
    "named); sites, groups and volunteers of another station: 422.",
    status_code=status.HTTP_201_CREATED,
    responses={201: sends("Location", "ETag"), **problem_responses(401, 403, 404, 422)},
)
async def create_training(
    data: TrainingCreate,
    session: SessionDep,
    response: Response,
    actor: Annotated[Actor, Depends(MANAGE)],
) -> TrainingRead:
    training = await service.create_training(session, actor, data)
    response.headers["Location"] = f"/api/v1/trainings/{training.id}"
    set_etag(response, training.version)
    return await service.detail(session, training)


@router.get(
    "/{training_id:uuid}",
    operation_id="trainings_get",
    summary="A training",
    responses={200: sends("ETag"), **problem_responses(401, 403, 404, 422)},
)
async def get_training(
    training_id: uuid.UUID, session: SessionDep, response: Response, actor: Annotated[Actor, Depends(SEE)]
) -> TrainingRead:
    training = await service.read_training(session, actor, training_id)
    set_etag(response, training.version)
    return training


@router.patch(
    "/{training_id:uuid}",
    operation_id="trainings_update",
    summary="Change a training before it starts",
    description="Started: 409 `training_started`; cancelled or settled: 409 `training_not_open`. A new "
    "audience replaces the old one and enrolment follows it (rows holding a check-in, minutes or an excuse "
    "stay).",
    responses={200: sends("ETag"), **problem_responses(401, 403, 404, 409, 412, 422)},
)
async def update_training(
    training_id: uuid.UUID,
    data: TrainingUpdate,
    session: SessionDep,
    response: Response,
    actor: Annotated[Actor, Depends(MANAGE)],
    if_match: IfMatch = None,
) -> TrainingRead:
    training = await service.update_training(session, actor, training_id, data, version_of(if_match))
    set_etag(response, training.version)
    return await service.detail(session, training)


@router.post(
    "/{training_id:uuid}/cancel",
    operation_id="trainings_cancel",
    summary="Cancel a training before it starts",
    description="The enrolled volunteers are notified. Started: 409 `training_started`; not scheduled: "
    "409 `training_not_open`.",
    responses={200: sends("ETag"), **problem_responses(401, 403, 404, 409, 412, 422)},
)
async def cancel_training(
    training_id: uuid.UUID,
    data: CancelTraining,
    session: SessionDep,
    response: Response,
    actor: Annotated[Actor, Depends(MANAGE)],
    if_match: IfMatch = None,
) -> TrainingRead:
    training = await service.cancel_training(session, actor, training_id, data, version_of(if_match))
    set_etag(response, training.version)
    return await service.detail(session, training)


@router.get(
    "/{training_id:uuid}/attendance",
    operation_id="trainings_attendance",
    summary="The training's attendance, by volunteer name",
    description="Staff see every enrolled volunteer; a volunteer only their own row.",
    responses=problem_responses(401, 403, 404, 422),
)
async def attendance(
    training_id: uuid.UUID,
    session: SessionDep,
    actor: Annotated[Actor, Depends(SEE)],
    filters: Annotated[AttendanceFilters, Query()],
) -> list[AttendanceRead]:
    return await service.list_attendance(session, actor, training_id, filters)


@router.get(
    "/{training_id:uuid}/code",
    operation_id="trainings_code",
    summary="The session's check-in code now (shown in the room, as six digits or a QR code)",
    description="It changes every minute. Only within the session, 15 minutes' grace either side, of a "
    "scheduled training (otherwise 409 `training_not_open`).",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def session_code(
    training_id: uuid.UUID, session: SessionDep, actor: Annotated[Actor, Depends(MANAGE)]
) -> SessionCodeRead:
    return await service.session_code(session, actor, training_id)


@router.post(
    "/{training_id:uuid}/checkin",
    operation_id="trainings_checkin",
    summary="Check in with the code the session shows",
    description="By an enrolled volunteer (others: 403 `not_enrolled`), within the session (409 "
    "`training_not_open`), with this minute's or the previous minute's code (422 `wrong_code`). A second "
    "check-in answers the first.",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def checkin(
    training_id: uuid.UUID,
    data: CodeCheckin,
    session: SessionDep,
    actor: Annotated[Actor, Depends(ATTEND)],
) -> AttendanceRead:
    return await service.checkin_with_code(session, actor, training_id, data.code)


@router.post(
    "/{training_id:uuid}/attendance/{volunteer_id:uuid}/checkin",
    operation_id="trainings_officer_checkin",
    summary="Check an enrolled volunteer in (staff in the room)",
    description="Now, within the session (409 `training_not_open`); a volunteer already checked in keeps "
    "their first check-in.",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def officer_checkin(
    training_id: uuid.UUID,
    volunteer_id: uuid.UUID,
    session: SessionDep,
    actor: Annotated[Actor, Depends(MANAGE)],
) -> AttendanceRead:
    return await service.officer_checkin(session, actor, training_id, volunteer_id)


@router.put(
    "/{training_id:uuid}/attendance/{volunteer_id:uuid}/minutes",
    operation_id="trainings_set_minutes",
    summary="Set the minutes a volunteer attended online",
    description="Online and hybrid trainings only (422 `not_online`), at most the session's minutes (422 "
    "`more_than_session`), until the training is settled (409 `training_not_open`).",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def set_minutes(
    training_id: uuid.UUID,
    volunteer_id: uuid.UUID,
    data: OnlineMinutes,
    session: SessionDep,
    actor: Annotated[Actor, Depends(MANAGE)],
) -> AttendanceRead:
    return await service.put_online_minutes(session, actor, training_id, volunteer_id, data.minutes)


@router.post(
    "/{training_id:uuid}/attendance/{volunteer_id:uuid}/excuse",
    operation_id="trainings_excuse",
    summary="Excuse a volunteer's absence, with the reason",
    description="Before or after the training is settled; never counted as absent.",
    responses=problem_responses(401, 403, 404, 422),
)
async def excuse(
    training_id: uuid.UUID,
    volunteer_id: uuid.UUID,
    data: ExcuseAttendance,
    session: SessionDep,
    actor: Annotated[Actor, Depends(MANAGE)],
) -> AttendanceRead:
    return await service.excuse(session, actor, training_id, volunteer_id, data)
