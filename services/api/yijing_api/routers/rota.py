"""The weekly captain (一人一周): who is captain when, the stored weeks, fairness, overrides and
volunteers' unavailability."""

import uuid
from typing import Annotated

from fastapi import Depends, Query, status

from yijing.access import EVERY_ROLE, STAFF, Actor, Role
from yijing.rota import service
from yijing.rota.schemas import (
    CaptainRead,
    CurrentCaptain,
    FairnessRow,
    OverrideRequest,
    UnavailabilityCreate,
    UnavailabilityRead,
    WeekRead,
)
from yijing.types import CalendarDate, Instant
from yijing_api.auth import Access
from yijing_api.deps import SessionDep
from yijing_api.problems import problem_responses
from yijing_api.routing import Router

router = Router(tags=["rota"])

READ = Access(EVERY_ROLE)  # a volunteer: their own group and record only
STAFF_ONLY = Access(STAFF)
OFFICERS = Access(frozenset({Role.OFFICER, Role.LEADER, Role.ADMIN}))


@router.get(
    "/groups/{group_id}/captain",
    operation_id="groups_captain_get",
    summary="The group's captain at an instant (now by default), and who is next",
    responses=problem_responses(401, 403, 404, 422),
)
async def captain(
    group_id: uuid.UUID,
    session: SessionDep,
    actor: Annotated[Actor, Depends(READ)],
    at: Annotated[Instant | None, Query(description="ISO 8601 with offset; now by default")] = None,
) -> CaptainRead:
    return await service.captain_at(session, actor, group_id, at)


@router.get(
    "/groups/{group_id}/rota",
    operation_id="groups_rota_list",
    summary="The group's past and planned weeks between two dates",
    description="By the weeks' start dates (station time); by default from four weeks ago to the end of the "
    "planning horizon. At most two years at once.",
    responses=problem_responses(401, 403, 404, 422),
)
async def rota(
    group_id: uuid.UUID,
    session: SessionDep,
    actor: Annotated[Actor, Depends(READ)],
    first: Annotated[CalendarDate | None, Query(alias="from")] = None,
    last: Annotated[CalendarDate | None, Query(alias="to")] = None,
) -> list[WeekRead]:
    return await service.rota(session, actor, group_id, first, last)


@router.get(
    "/groups/{group_id}/fairness",
    operation_id="groups_fairness_get",
    summary="Per member: weeks served, covered for others, swapped or overridden out, and planned",
    responses=problem_responses(401, 403, 404, 422),
)
async def fairness(
    group_id: uuid.UUID, session: SessionDep, actor: Annotated[Actor, Depends(READ)]
) -> list[FairnessRow]:
    return await service.fairness(session, actor, group_id)


@router.post(
    "/groups/{group_id}/weeks/{week_start}/override",
    operation_id="groups_weeks_override",
    summary="Set a week's captain by hand, with a reason (a week that has not started)",
    description="The rota's queue is unchanged: the member whose turn it was keeps their place. Both the "
    "replaced and the new captain are notified.",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def override(
    group_id: uuid.UUID,
    week_start: CalendarDate,
    data: OverrideRequest,
    session: SessionDep,
    actor: Annotated[Actor, Depends(OFFICERS)],
) -> WeekRead:
    return await service.override(session, actor, group_id, week_start, data)


@router.get(
    "/captains/current",
    operation_id="captains_current",
    summary="Every group's captain now (or at an instant), for a site or station",
    responses=problem_responses(401, 403, 422),
)
async def current_captains(
    session: SessionDep,
    actor: Annotated[Actor, Depends(STAFF_ONLY)],
    station_id: uuid.UUID | None = None,
    site_id: uuid.UUID | None = None,
    at: Instant | None = None,
) -> list[CurrentCaptain]:
    return await service.current_captains(session, actor, station_id=station_id, site_id=site_id, at=at)


@router.get(
    "/volunteers/{volunteer_id:uuid}/unavailability",
    operation_id="volunteers_unavailability_list",
    summary="Days the volunteer cannot captain (a volunteer: their own)",
    responses=problem_responses(401, 403, 404, 422),
)
async def list_unavailability(
    volunteer_id: uuid.UUID, session: SessionDep, actor: Annotated[Actor, Depends(READ)]
) -> list[UnavailabilityRead]:
    return await service.list_unavailability(session, actor, volunteer_id)


@router.post(
    "/volunteers/{volunteer_id:uuid}/unavailability",
    operation_id="volunteers_unavailability_add",
    summary="Mark days the volunteer cannot captain; their group's rota is re-planned",
    description="They keep their place in the queue and serve at their next free week.",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(401, 403, 404, 422),
)
async def add_unavailability(
    volunteer_id: uuid.UUID,
    data: UnavailabilityCreate,
    session: SessionDep,
    actor: Annotated[Actor, Depends(READ)],
) -> UnavailabilityRead:
    return UnavailabilityRead.of(await service.add_unavailability(session, actor, volunteer_id, data))


@router.delete(
    "/volunteers/{volunteer_id:uuid}/unavailability/{unavailability_id}",
    operation_id="volunteers_unavailability_remove",
    summary="Remove an unavailability; the group's rota is re-planned",
    description="The record is kept, cancelled; removing it again changes nothing.",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 422),
)
async def remove_unavailability(
    volunteer_id: uuid.UUID,
    unavailability_id: uuid.UUID,
    session: SessionDep,
    actor: Annotated[Actor, Depends(READ)],
) -> None:
    await service.remove_unavailability(session, actor, volunteer_id, unavailability_id)
