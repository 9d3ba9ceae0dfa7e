"""Check-ins on patrol (巡防打卡): members send scans of checkpoint tags, one or an offline batch; staff
review the flagged ones."""

import uuid
from typing import Annotated

from fastapi import Depends, Query, Response, status

from yijing.access import EVERY_ROLE, STAFF, Actor
from yijing.kit.pagination import Page
from yijing.patrols.checkins import notes, service
from yijing.patrols.checkins.schemas import (
    MAX_BATCH,
    CheckinBatch,
    CheckinBatchRead,
    CheckinFilters,
    CheckinNoteCreate,
    CheckinNoteRead,
    CheckinRead,
    CheckinReviewCreate,
)
from yijing_api.auth import Access
from yijing_api.deps import SessionDep
from yijing_api.params import PageQuery
from yijing_api.problems import problem_responses
from yijing_api.routing import Router

router = Router(prefix="/patrols/{patrol_id}/checkins", tags=["patrols"])

# Members check in (the service refuses anyone else with 403); those who see the patrol read its check-ins;
# staff review.
MEMBERS = Access(EVERY_ROLE)
REVIEWERS = Access(STAFF)


@router.post(
    "",
    operation_id="patrol_checkins_create",
    summary="Check in: one scan, or an offline batch (members of the patrol)",
    description=f"Up to {MAX_BATCH:,} check-ins. Each is stored once by its `client_id`: a batch sent again "
    "answers 200 with the stored check-ins (`stored`: 0); a `client_id` the station holds for a different "
    "check-in is a 409 `client_id_reused` and nothing of the batch is stored. A check-in that does not fit "
    "(a code of no checkpoint or of another route, further from its checkpoint than the radius plus the "
    "fix's accuracy, outside the shift with 15 minutes' grace, captured after the server received it) is "
    "kept with its `flags` and counts toward nothing until staff accept it. Only the patrol's members check "
    "in (403 `not_a_member`); a cancelled patrol takes none (409 `patrol_cancelled`).",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": CheckinBatchRead, "description": "Every check-in of the batch was stored already"},
        **problem_responses(401, 403, 404, 409, 422),
    },
)
async def check_in(
    patrol_id: uuid.UUID,
    batch: CheckinBatch,
    session: SessionDep,
    response: Response,
    actor: Annotated[Actor, Depends(MEMBERS)],
) -> CheckinBatchRead:
    stored = await service.check_in(session, actor, patrol_id, batch)
    if stored.stored == 0:
        response.status_code = status.HTTP_200_OK
    return stored


@router.get(
    "",
    operation_id="patrol_checkins_list",
    summary="A patrol's check-ins, in the order they arrived",
    responses=problem_responses(401, 403, 404, 422),
)
async def list_checkins(
    patrol_id: uuid.UUID,
    session: SessionDep,
    actor: Annotated[Actor, Depends(MEMBERS)],
    page: PageQuery,
    filters: Annotated[CheckinFilters, Query()],
) -> Page[CheckinRead]:
    return await service.list_checkins(session, actor, patrol_id, filters, page)


@router.post(
    "/{checkin_id}/review",
    operation_id="patrol_checkins_review",
    summary="Accept or reject a flagged check-in (station staff)",
    description="Only a flagged check-in awaiting review, once (409 `checkin_not_pending` otherwise). "
    "Accepted, it counts toward coverage and patrol minutes.",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def review(
    patrol_id: uuid.UUID,
    checkin_id: uuid.UUID,
    data: CheckinReviewCreate,
    session: SessionDep,
    actor: Annotated[Actor, Depends(REVIEWERS)],
) -> CheckinRead:
    checkin = await service.review(session, actor, patrol_id, checkin_id, data)
    return service.read(checkin, actor)


@router.post(
    "/{checkin_id}/notes",
    operation_id="patrol_checkins_annotate",
    summary="Annotate a check-in (its member, station staff)",
    description="A check-in is never edited; a note says more about it (a drifting fix, a tag that was "
    f"moved). At most {notes.MAX_NOTES} per check-in (409 `too_many_notes`).",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def annotate(
    patrol_id: uuid.UUID,
    checkin_id: uuid.UUID,
    data: CheckinNoteCreate,
    session: SessionDep,
    actor: Annotated[Actor, Depends(MEMBERS)],
) -> CheckinNoteRead:
    return CheckinNoteRead.model_validate(await notes.add_note(session, actor, patrol_id, checkin_id, data))


@router.get(
    "/{checkin_id}/notes",
    operation_id="patrol_checkins_notes",
    summary="A check-in's notes, oldest first",
    responses=problem_responses(401, 403, 404, 422),
)
async def list_notes(
    patrol_id: uuid.UUID,
    checkin_id: uuid.UUID,
    session: SessionDep,
    actor: Annotated[Actor, Depends(MEMBERS)],
) -> list[CheckinNoteRead]:
    return [
        CheckinNoteRead.model_validate(note)
        for note in await notes.list_notes(session, actor, patrol_id, checkin_id)
    ]
