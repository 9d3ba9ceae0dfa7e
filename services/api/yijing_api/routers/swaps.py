"""Captain swaps (换班): a week's captain asks another member of the group to take the week; the other
accepts or declines, the captain may cancel, and station staff may act for either side."""

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Body, Depends, Query, Response, status

from yijing.access import EVERY_ROLE, Actor
from yijing.kit.lifecycle import add_action_routes
from yijing.kit.pagination import Page
from yijing.rota.swaps import service
from yijing.rota.swaps.schemas import SwapCreate, SwapDecision, SwapFilters, SwapRead
from yijing.rota.swaps.service import SwapAction
from yijing_api.auth import Access
from yijing_api.deps import SessionDep
from yijing_api.openapi import sends
from yijing_api.params import PageQuery
from yijing_api.problems import problem_responses
from yijing_api.routing import Router

router = Router(tags=["rota"])

# Everyone signed in; the service decides: staff reach their stations' swaps, a volunteer their own
# group's (404 beyond), and may act only on their own side of a swap (403 otherwise).
SWAPS = Access(EVERY_ROLE)

Decision = Annotated[SwapDecision | None, Body(description="Optional: a note for the other side")]


@router.get(
    "/groups/{group_id}/swaps",
    operation_id="groups_swaps_list",
    summary="The group's swaps, oldest first (a volunteer: their own group's)",
    description="An open swap past its week's handoff reads as `expired`.",
    responses=problem_responses(401, 403, 404, 422),
)
async def list_swaps(
    group_id: uuid.UUID,
    session: SessionDep,
    actor: Annotated[Actor, Depends(SWAPS)],
    page: PageQuery,
    filters: Annotated[SwapFilters, Query()],
) -> Page[SwapRead]:
    return await service.list_swaps(session, actor, group_id, filters, page)


@router.post(
    "/groups/{group_id}/swaps",
    operation_id="groups_swaps_create",
    summary="Ask another member to take a week (the week's captain, or staff for them)",
    description="The week must not have begun, and may have one open swap at a time (409 "
    "`swap_already_open`, naming `existing_swap_id`). The member asked is notified; the swap expires at the "
    "week's handoff.",
    status_code=status.HTTP_201_CREATED,
    responses={201: sends("Location"), **problem_responses(401, 403, 404, 409, 422)},
)
async def create_swap(
    group_id: uuid.UUID,
    data: SwapCreate,
    session: SessionDep,
    response: Response,
    actor: Annotated[Actor, Depends(SWAPS)],
) -> SwapRead:
    swap = await service.create_swap(session, actor, group_id, data)
    response.headers["Location"] = f"/api/v1/captain-swaps/{swap.id}"
    return swap


@router.get(
    "/captain-swaps/{swap_id}",
    operation_id="captain_swaps_get",
    summary="A swap (a volunteer: one of their own group's)",
    responses=problem_responses(401, 403, 404, 422),
)
async def get_swap(
    swap_id: uuid.UUID, session: SessionDep, actor: Annotated[Actor, Depends(SWAPS)]
) -> SwapRead:
    return await service.get_swap(session, actor, swap_id)


_ACTION_SUMMARIES = {
    SwapAction.ACCEPT: "Take the week (the member asked, or staff for them)",
    SwapAction.DECLINE: "Decline to take the week (the member asked, or staff for them)",
    SwapAction.CANCEL: "Withdraw the request (the captain who asked, or staff)",
}
_ACTION_EFFECTS = {
    SwapAction.ACCEPT: "The week's captain becomes the member asked (source `swap`); whose rota turn it was "
    "is unchanged, so the queue stays fair. Both are notified. The week must still be the asking captain's "
    "(otherwise 409 `swap_captain_changed`, and the swap is cancelled).",
    SwapAction.DECLINE: "The captain is notified and keeps the week.",
    SwapAction.CANCEL: "The member asked is notified.",
}


def _action_endpoint(action: SwapAction) -> Callable[..., Awaitable[SwapRead]]:
    async def take_action(
        swap_id: uuid.UUID,
        session: SessionDep,
        actor: Annotated[Actor, Depends(SWAPS)],
        data: Decision = None,
    ) -> SwapRead:
        return await service.take_action(session, actor, swap_id, action, data)

    return take_action


add_action_routes(
    router,
    service.LIFECYCLE,
    _action_endpoint,
    path="/captain-swaps/{swap_id}",
    operation_prefix="captain_swaps",
    summaries=_ACTION_SUMMARIES,
    effects=_ACTION_EFFECTS,
    responses=problem_responses(401, 403, 404, 409, 422),
)
