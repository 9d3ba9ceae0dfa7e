"""Patrol routes (巡防路线) of a site and their checkpoints, whose QR codes or NFC tags volunteers scan on
patrol. Every role of the station reads them (a checkpoint's code: staff only); staff plan and change them."""

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Body, Depends, Query, Response, status

from yijing.access import EVERY_ROLE, STAFF, Actor, ApiScope
from yijing.kit.lifecycle import add_action_routes
from yijing.kit.pagination import Page
from yijing.patrols.routes import service
from yijing.patrols.routes.schemas import (
    CheckpointCreate,
    CheckpointRead,
    CheckpointUpdate,
    CodeRotation,
    PatrolRouteCreate,
    PatrolRouteDetail,
    PatrolRouteFilters,
    PatrolRouteRead,
    PatrolRouteUpdate,
)
from yijing.patrols.routes.service import RouteAction
from yijing_api.auth import Access
from yijing_api.deps import SessionDep
from yijing_api.openapi import sends
from yijing_api.params import IfMatch, PageQuery, set_etag, version_of
from yijing_api.problems import problem_responses
from yijing_api.routing import Router

router = Router(prefix="/patrol-routes", tags=["patrols"])

# Volunteers read the routes they walk; officers and assistants plan them, leaders and admins as elsewhere
# (the same staff who work hazards). API keys read routes as they read sites, without the codes.
READERS = Access(EVERY_ROLE, frozenset({ApiScope.STATS_READ}))
PLANNERS = Access(STAFF)

Rotation = Annotated[
    CodeRotation | None, Body(description="Optional: the code to set; default: a random one")
]


def _route_location(route_id: uuid.UUID) -> str:
    return f"/api/v1/patrol-routes/{route_id}"


@router.get(
    "",
    operation_id="patrol_routes_list",
    summary="Patrol routes the caller reaches (in use, unless retired ones are asked for)",
    responses=problem_responses(401, 403, 422),
)
async def list_routes(
    session: SessionDep,
    actor: Annotated[Actor, Depends(READERS)],
    page: PageQuery,
    filters: Annotated[PatrolRouteFilters, Query()],
) -> Page[PatrolRouteRead]:
    return await service.list_routes(session, actor, filters, page)


@router.post(
    "",
    operation_id="patrol_routes_create",
    summary="Plan a patrol route at a site (station staff)",
    status_code=status.HTTP_201_CREATED,
    responses={201: sends("Location", "ETag"), **problem_responses(401, 403, 404, 409, 422)},
)
async def create_route(
    data: PatrolRouteCreate,
    session: SessionDep,
    response: Response,
    actor: Annotated[Actor, Depends(PLANNERS)],
) -> PatrolRouteDetail:
    route = await service.create_route(session, actor, data)
    response.headers["Location"] = _route_location(route.id)
    set_etag(response, route.version)
    return await service.detail(session, actor, route)


@router.get(
    "/{route_id}",
    operation_id="patrol_routes_get",
    summary="A patrol route with its checkpoints, in order",
    description="The ETag is the route's version (its own fields); each checkpoint has a version of its own.",
    responses={200: sends("ETag"), **problem_responses(401, 403, 404, 422)},
)
async def get_route(
    route_id: uuid.UUID, session: SessionDep, response: Response, actor: Annotated[Actor, Depends(READERS)]
) -> PatrolRouteDetail:
    route = await service.read_route(session, actor, route_id)
    set_etag(response, route.version)
    return route


@router.patch(
    "/{route_id}",
    operation_id="patrol_routes_update",
    summary="Rename a patrol route or change its description (station staff)",
    description="A retired route is refused (409 `route_retired`).",
    responses={200: sends("ETag"), **problem_responses(401, 403, 404, 409, 412, 422)},
)
async def update_route(
    route_id: uuid.UUID,
    data: PatrolRouteUpdate,
    session: SessionDep,
    response: Response,
    actor: Annotated[Actor, Depends(PLANNERS)],
    if_match: IfMatch = None,
) -> PatrolRouteDetail:
    route = await service.update_route(session, actor, route_id, data, version_of(if_match))
    set_etag(response, route.version)
    return await service.detail(session, actor, route)


@router.delete(
    "/{route_id}",
    operation_id="patrol_routes_delete",
    summary="Delete a patrol route and its checkpoints (station staff)",
    description="For a route planned by mistake, retired or not; a route patrols refer to is refused (409 "
    "`route_in_use`): retire it instead.",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 409, 412, 422),
)
async def delete_route(
    route_id: uuid.UUID,
    session: SessionDep,
    actor: Annotated[Actor, Depends(PLANNERS)],
    if_match: IfMatch = None,
) -> None:
    await service.delete_route(session, actor, route_id, version_of(if_match))


@router.post(
    "/{route_id}/checkpoints",
    operation_id="patrol_routes_checkpoints_create",
    summary="Add a checkpoint to a patrol route (station staff)",
    description="Without a `position` it comes last; without a `code` a random one is made. A code another "
    "checkpoint of the station has is refused (409 `checkpoint_code_taken`); so is a retired route (409 "
    "`route_retired`).",
    status_code=status.HTTP_201_CREATED,
    responses={201: sends("Location", "ETag"), **problem_responses(401, 403, 404, 409, 422)},
)
async def add_checkpoint(
    route_id: uuid.UUID,
    data: CheckpointCreate,
    session: SessionDep,
    response: Response,
    actor: Annotated[Actor, Depends(PLANNERS)],
) -> CheckpointRead:
    checkpoint = await service.add_checkpoint(session, actor, route_id, data)
    response.headers["Location"] = f"{_route_location(route_id)}/checkpoints/{checkpoint.id}"
    set_etag(response, checkpoint.version)
    return service.read_checkpoint(checkpoint, actor)


@router.patch(
    "/{route_id}/checkpoints/{checkpoint_id}",
    operation_id="patrol_routes_checkpoints_update",
    summary="Change a checkpoint: name, position, point or radius (station staff)",
    description="A retired route's checkpoints are refused (409 `route_retired`).",
    responses={200: sends("ETag"), **problem_responses(401, 403, 404, 409, 412, 422)},
)
async def update_checkpoint(
    route_id: uuid.UUID,
    checkpoint_id: uuid.UUID,
    data: CheckpointUpdate,
    session: SessionDep,
    response: Response,
    actor: Annotated[Actor, Depends(PLANNERS)],
    if_match: IfMatch = None,
) -> CheckpointRead:
    checkpoint = await service.update_checkpoint(
        session, actor, route_id, checkpoint_id, data, version_of(if_match)
    )
    set_etag(response, checkpoint.version)
    return service.read_checkpoint(checkpoint, actor)


@router.post(
    "/{route_id}/checkpoints/{checkpoint_id}/rotate-code",
    operation_id="patrol_routes_checkpoints_rotate_code",
    summary="Give a checkpoint a new code (a new tag, or an old one that leaked) (station staff)",
    description="The code given (e.g. a new NFC chip's id) or a random one; the old code no longer names "
    "the checkpoint. A code another checkpoint of the station has is refused (409 "
    "`checkpoint_code_taken`).",
    responses={200: sends("ETag"), **problem_responses(401, 403, 404, 409, 412, 422)},
)
async def rotate_code(
    route_id: uuid.UUID,
    checkpoint_id: uuid.UUID,
    session: SessionDep,
    response: Response,
    actor: Annotated[Actor, Depends(PLANNERS)],
    if_match: IfMatch = None,
    data: Rotation = None,
) -> CheckpointRead:
    checkpoint = await service.rotate_code(
        session, actor, route_id, checkpoint_id, data, version_of(if_match)
    )
    set_etag(response, checkpoint.version)
    return service.read_checkpoint(checkpoint, actor)


@router.delete(
    "/{route_id}/checkpoints/{checkpoint_id}",
    operation_id="patrol_routes_checkpoints_delete",
    summary="Remove a checkpoint from a patrol route (station staff)",
    description="A retired route's checkpoints are refused (409 `route_retired`), and so is a checkpoint "
    "members have checked in at (409 `checkpoint_in_use`).",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 409, 412, 422),
)
async def delete_checkpoint(
    route_id: uuid.UUID,
    checkpoint_id: uuid.UUID,
    session: SessionDep,
    actor: Annotated[Actor, Depends(PLANNERS)],
    if_match: IfMatch = None,
) -> None:
    await service.delete_checkpoint(session, actor, route_id, checkpoint_id, version_of(if_match))


_ACTION_SUMMARIES = {
    RouteAction.RETIRE: "Retire a patrol route (in use → retired) (station staff)",
}


def _action_endpoint(action: RouteAction) -> Callable[..., Awaitable[PatrolRouteDetail]]:
    async def take_action(
        route_id: uuid.UUID,
        session: SessionDep,
        response: Response,
        actor: Annotated[Actor, Depends(PLANNERS)],
        if_match: IfMatch = None,
    ) -> PatrolRouteDetail:
        route = await service.take_action(session, actor, route_id, action, version_of(if_match))
        set_etag(response, route.version)
        return await service.detail(session, actor, route)

    return take_action


add_action_routes(
    router,
    service.LIFECYCLE,
    _action_endpoint,
    path="/{route_id}",
    operation_prefix="patrol_routes",
    summaries=_ACTION_SUMMARIES,
    effects="The route and its checkpoints are kept, and listed with `retired=true`; it takes no new "
    "checkpoints or edits (409 `route_retired`), but may still be deleted. Retired is final.",
    responses={200: sends("ETag"), **problem_responses(401, 403, 404, 409, 412, 422)},
)
