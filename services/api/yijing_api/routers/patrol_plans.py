"""Repeating patrol plans (e.g. every evening 19:00–23:00 at the night market): they make the concrete
patrols ahead, up to each plan's horizon. The staff who plan patrols plan, read, change and retire them."""

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Query, Response, status

from yijing.access import STAFF, Actor
from yijing.kit.lifecycle import add_action_routes
from yijing.kit.pagination import Page
from yijing.patrols.models import MAX_HOURS
from yijing.patrols.plans import service
from yijing.patrols.plans.schemas import (
    PatrolPlanCreate,
    PatrolPlanDetail,
    PatrolPlanFilters,
    PatrolPlanRead,
    PatrolPlanUpdate,
    RetireAction,
)
from yijing.patrols.plans.service import PlanAction
from yijing_api.auth import Access
from yijing_api.deps import SessionDep
from yijing_api.openapi import sends
from yijing_api.params import IfMatch, PageQuery, set_etag, version_of
from yijing_api.problems import problem_responses
from yijing_api.routing import Router

router = Router(prefix="/patrol-plans", tags=["patrols"])

# The same staff who plan patrols; volunteers see the patrols a plan made, not the plan. No API key: plans
# name volunteers.
PLANNERS = Access(STAFF)

_TIMES = (
    "Times are wall-clock times in the station's time zone on each day, so a patrol starts at the same local "
    "time on either side of a DST change; a time the zone skips moves on by the gap, a time it repeats is "
    "its first occurrence."
)


@router.get(
    "",
    operation_id="patrol_plans_list",
    summary="Patrol plans the caller reaches, in planning order (station staff)",
    responses=problem_responses(401, 403, 422),
)
async def list_plans(
    session: SessionDep,
    actor: Annotated[Actor, Depends(PLANNERS)],
    page: PageQuery,
    filters: Annotated[PatrolPlanFilters, Query()],
) -> Page[PatrolPlanRead]:
    return await service.list_plans(session, actor, filters, page)


@router.post(
    "",
    operation_id="patrol_plans_create",
    summary="Plan a repeating patrol on a route and make its patrols up to the horizon (station staff)",
    description="Its patrols, from today (or `first_day`) to `horizon_days` ahead, are made in the same "
    f"transaction, and by an hourly job from then on, each day once. {_TIMES} An `end_time` at or before "
    f"`start_time` ends the next day; a shift lasts at most {MAX_HOURS} hours. Members and leader as for a "
    "patrol planned by hand, worked out for each patrol (the group's active members then; its captain of "
    "that patrol's week unless a leader is named). A retired route is refused (409 `route_retired`); bad "
    "weekdays, times or days, a volunteer who is not an active volunteer of the route's station, a group of "
    "another site or a leader who is not a member are a 422 naming the field.",
    status_code=status.HTTP_201_CREATED,
    responses={201: sends("Location", "ETag"), **problem_responses(401, 403, 404, 409, 422)},
)
async def create_plan(
    data: PatrolPlanCreate,
    session: SessionDep,
    response: Response,
    actor: Annotated[Actor, Depends(PLANNERS)],
) -> PatrolPlanDetail:
    plan = await service.create_plan(session, actor, data)
    response.headers["Location"] = f"/api/v1/patrol-plans/{plan.id}"
    set_etag(response, plan.version)
    return await service.detail(session, plan)


@router.get(
    "/{plan_id}",
    operation_id="patrol_plans_get",
    summary="A patrol plan with the volunteers it names and its next patrols (station staff)",
    responses={200: sends("ETag"), **problem_responses(401, 403, 404, 422)},
)
async def get_plan(
    plan_id: uuid.UUID, session: SessionDep, response: Response, actor: Annotated[Actor, Depends(PLANNERS)]
) -> PatrolPlanDetail:
    plan = await service.read_plan(session, actor, plan_id)
    set_etag(response, plan.version)
    return plan


@router.patch(
    "/{plan_id}",
    operation_id="patrol_plans_update",
    summary="Change a patrol plan and re-make its patrols still to come (station staff)",
    description="In the same transaction its patrols still to come (planned, starting later) are made again "
    "from the changed plan, with new ids; those started, over, cancelled, or with check-ins or log entries "
    "never change. A retired plan is refused (409 `plan_retired`), so is a plan whose route was retired "
    "(409 `route_retired`).",
    responses={200: sends("ETag"), **problem_responses(401, 403, 404, 409, 412, 422)},
)
async def update_plan(
    plan_id: uuid.UUID,
    data: PatrolPlanUpdate,
    session: SessionDep,
    response: Response,
    actor: Annotated[Actor, Depends(PLANNERS)],
    if_match: IfMatch = None,
) -> PatrolPlanDetail:
    plan = await service.update_plan(session, actor, plan_id, data, version_of(if_match))
    set_etag(response, plan.version)
    return await service.detail(session, plan)


def _action_endpoint(action: PlanAction) -> Callable[..., Awaitable[PatrolPlanDetail]]:
    async def act(
        plan_id: uuid.UUID,
        data: RetireAction,
        session: SessionDep,
        response: Response,
        actor: Annotated[Actor, Depends(PLANNERS)],
        if_match: IfMatch = None,
    ) -> PatrolPlanDetail:
        plan = await service.take_action(session, actor, plan_id, action, data, version_of(if_match))
        set_etag(response, plan.version)
        return await service.detail(session, plan)

    return act


add_action_routes(
    router,
    service.LIFECYCLE,
    _action_endpoint,
    path="/{plan_id}",
    operation_prefix="patrol_plans",
    summaries={
        PlanAction.RETIRE: "Retire a patrol plan, cancelling its patrols still to come (station staff)"
    },
    effects={
        PlanAction.RETIRE: "Its planned patrols that have not started are cancelled with the reason given; "
        "those started or over stay. The plan is kept and changes no more."
    },
    responses={200: sends("ETag"), **problem_responses(401, 403, 404, 409, 412, 422)},
)
