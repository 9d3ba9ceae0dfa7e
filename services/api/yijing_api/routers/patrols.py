"""Patrols (巡防): planned shifts on a site's routes, with a leader and members. Every role of the station
reads them (a volunteer: their own site's and their own); staff plan, change and cancel them; staff or the
patrol's members start and complete them."""

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Query, Response, status

from yijing.access import EVERY_ROLE, STAFF, Actor
from yijing.kit.lifecycle import add_action_routes
from yijing.kit.pagination import Page
from yijing.patrols import service
from yijing.patrols.schemas import (
    MAX_CALENDAR_DAYS,
    CancelAction,
    PatrolCalendar,
    PatrolCreate,
    PatrolDetail,
    PatrolFilters,
    PatrolRead,
    PatrolUpdate,
    TrackPoint,
)
from yijing.patrols.service import PatrolAction
from yijing.types import CalendarDate
from yijing_api.auth import Access
from yijing_api.deps import SessionDep
from yijing_api.openapi import sends
from yijing_api.params import IfMatch, PageQuery, set_etag, version_of
from yijing_api.problems import problem_responses
from yijing_api.routing import Router

router = Router(prefix="/patrols", tags=["patrols"])

# Volunteers read the patrols of their site and those they walk; the same staff who plan routes plan
# patrols. No API key reads them: they name volunteers.
READERS = Access(EVERY_ROLE)
PLANNERS = Access(STAFF)
# Starting and completing: staff, or a volunteer who is a member of the patrol (checked by the service).
WALKERS = Access(EVERY_ROLE)


@router.get(
    "",
    operation_id="patrols_list",
    summary="Patrols the caller sees, in planning order",
    responses=problem_responses(401, 403, 422),
)
async def list_patrols(
    session: SessionDep,
    actor: Annotated[Actor, Depends(READERS)],
    page: PageQuery,
    filters: Annotated[PatrolFilters, Query()],
) -> Page[PatrolRead]:
    return await service.list_patrols(session, actor, filters, page)


@router.post(
    "",
    operation_id="patrols_create",
    summary="Plan a patrol on a route: its times, members and leader (station staff)",
    description="The members are the volunteers named and the group's current (active) members; the leader, "
    "unless given, is the group's captain for the week of the planned start, if a member. A retired route "
    "is refused (409 `route_retired`); a volunteer who is not an active volunteer of the route's station, "
    "a group of another site, a leader who is not a member or times out of order are a 422 naming the field.",
    status_code=status.HTTP_201_CREATED,
    responses={201: sends("Location", "ETag"), **problem_responses(401, 403, 404, 409, 422)},
)
async def plan_patrol(
    data: PatrolCreate,
    session: SessionDep,
    response: Response,
    actor: Annotated[Actor, Depends(PLANNERS)],
) -> PatrolDetail:
    patrol = await service.plan_patrol(session, actor, data)
    response.headers["Location"] = f"/api/v1/patrols/{patrol.id}"
    set_etag(response, patrol.version)
    return await service.detail(session, patrol)


@router.get(
    "/calendar",
    operation_id="patrols_calendar",
    summary="A site's patrols by day, in the station's time zone (staff, and the site's volunteers)",
    description=f"Every day from `from` to `to` (both included, at most {MAX_CALENDAR_DAYS} days: a longer "
    "or reversed range is a 422 naming `query.to`), each with the patrols planned to start that day (a "
    "patrol across midnight is on the day it starts): route, window, status, leader and member count. "
    "Another station's site is a 404; a volunteer of another site gets 403.",
    responses=problem_responses(401, 403, 404, 422),
)
async def calendar(
    session: SessionDep,
    actor: Annotated[Actor, Depends(READERS)],
    site_id: uuid.UUID,
    first: Annotated[CalendarDate, Query(alias="from", description="The first day")],
    last: Annotated[CalendarDate, Query(alias="to", description="The last day (included)")],
) -> PatrolCalendar:
    return await service.calendar(session, actor, site_id, first, last)


@router.get(
    "/{patrol_id:uuid}",
    operation_id="patrols_get",
    summary="A patrol with its members and leader",
    responses={200: sends("ETag"), **problem_responses(401, 403, 404, 422)},
)
async def get_patrol(
    patrol_id: uuid.UUID, session: SessionDep, response: Response, actor: Annotated[Actor, Depends(READERS)]
) -> PatrolDetail:
    patrol = await service.read_patrol(session, actor, patrol_id)
    set_etag(response, patrol.version)
    return patrol


@router.get(
    "/{patrol_id:uuid}/track",
    operation_id="patrols_track",
    summary="A patrol's track: its check-ins in the order they were captured",
    description="Each with the volunteer's name, the checkpoint its code names (name, place on its route, "
    "point), its flags and review, and whether it counts. The scanned `code` is shown to station staff only. "
    "Pages follow the capture time, not the order the check-ins arrived in.",
    responses=problem_responses(401, 403, 404, 422),
)
async def track(
    patrol_id: uuid.UUID, session: SessionDep, actor: Annotated[Actor, Depends(READERS)], page: PageQuery
) -> Page[TrackPoint]:
    return await service.track(session, actor, patrol_id, page)


@router.patch(
    "/{patrol_id:uuid}",
    operation_id="patrols_update",
    summary="Change a planned patrol's times or leader (station staff)",
    description="Only while planned (otherwise 409 `patrol_not_planned`); the leader must be a member.",
    responses={200: sends("ETag"), **problem_responses(401, 403, 404, 409, 412, 422)},
)
async def update_patrol(
    patrol_id: uuid.UUID,
    data: PatrolUpdate,
    session: SessionDep,
    response: Response,
    actor: Annotated[Actor, Depends(PLANNERS)],
    if_match: IfMatch = None,
) -> PatrolDetail:
    patrol = await service.update_patrol(session, actor, patrol_id, data, version_of(if_match))
    set_etag(response, patrol.version)
    return await service.detail(session, patrol)


_ACTION_SUMMARIES = {
    PatrolAction.START: "Start a patrol (planned → in_progress) (staff or a member of the patrol)",
    PatrolAction.COMPLETE: "Complete a patrol (in_progress → completed) (staff or a member of the patrol)",
    PatrolAction.CANCEL: "Cancel a planned patrol, with a reason (planned → cancelled) (station staff)",
}
_ACTION_EFFECTS = {
    PatrolAction.START: "Sets `started_at`; a volunteer who is not a member of the patrol gets 403.",
    PatrolAction.COMPLETE: "Sets `ended_at`; a volunteer who is not a member of the patrol gets 403.",
    PatrolAction.CANCEL: "Keeps the reason as `cancel_reason`.",
}


def _action_endpoint(action: PatrolAction) -> Callable[..., Awaitable[PatrolDetail]]:
    if action is PatrolAction.CANCEL:

        async def cancel(
            patrol_id: uuid.UUID,
            data: CancelAction,
            session: SessionDep,
            response: Response,
            actor: Annotated[Actor, Depends(PLANNERS)],
            if_match: IfMatch = None,
        ) -> PatrolDetail:
            patrol = await service.take_action(session, actor, patrol_id, action, data, version_of(if_match))
            set_etag(response, patrol.version)
            return await service.detail(session, patrol)

        return cancel

    async def walk(
        patrol_id: uuid.UUID,
        session: SessionDep,
        response: Response,
        actor: Annotated[Actor, Depends(WALKERS)],
        if_match: IfMatch = None,
    ) -> PatrolDetail:
        patrol = await service.take_action(session, actor, patrol_id, action, None, version_of(if_match))
        set_etag(response, patrol.version)
        return await service.detail(session, patrol)

    return walk


add_action_routes(
    router,
    service.LIFECYCLE,
    _action_endpoint,
    path="/{patrol_id:uuid}",
    operation_prefix="patrols",
    summaries=_ACTION_SUMMARIES,
    effects=_ACTION_EFFECTS,
    responses={200: sends("ETag"), **problem_responses(401, 403, 404, 409, 412, 422)},
)
