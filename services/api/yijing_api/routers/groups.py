"""Groups of ten (十户一组) at a site, and their dated membership."""

import uuid
from typing import Annotated

from fastapi import Depends, Query, Response, status

from yijing.access import EVERY_ROLE, STAFF, Actor
from yijing.groups import service
from yijing.groups.schemas import (
    AutoAssign,
    AutoAssigned,
    GroupCreate,
    GroupFilters,
    GroupRead,
    GroupUpdate,
    MemberAdd,
    MemberLeave,
    MemberRead,
)
from yijing.kit.pagination import Page
from yijing_api.auth import Access
from yijing_api.deps import ProtectorDep, SessionDep
from yijing_api.openapi import sends
from yijing_api.params import IfMatch, PageQuery, set_etag, version_of
from yijing_api.problems import problem_responses
from yijing_api.routing import Router

router = Router(tags=["groups"])

# Station staff manage groups; a volunteer reads their own group only.
MANAGE = Access(STAFF)
READ = Access(EVERY_ROLE)


@router.get(
    "/groups", operation_id="groups_list", summary="Groups of the stations the caller reaches",
    responses=problem_responses(401, 403, 422),
)  # fmt: skip
async def list_groups(
    session: SessionDep,
    actor: Annotated[Actor, Depends(MANAGE)],
    page: PageQuery,
    filters: Annotated[GroupFilters, Query()],
) -> Page[GroupRead]:
    return await service.list_groups(session, actor, filters, page)


@router.post(
    "/groups",
    operation_id="groups_create",
    summary="Create a group at a site (its rota is planned at once)",
    status_code=status.HTTP_201_CREATED,
    responses={201: sends("Location", "ETag"), **problem_responses(401, 403, 404, 409, 422)},
)
async def create_group(
    data: GroupCreate, session: SessionDep, response: Response, actor: Annotated[Actor, Depends(MANAGE)]
) -> GroupRead:
    group = await service.create_group(session, actor, data)
    response.headers["Location"] = f"/api/v1/groups/{group.id}"
    set_etag(response, group.version)
    return await service.read_group(session, actor, group.id)


@router.post(
    "/sites/{site_id}/groups/auto-assign",
    operation_id="sites_groups_auto_assign",
    summary="Put the site's ungrouped active volunteers into groups of about ten",
    description="By stall or household order; the groups are as even as possible (23 volunteers by 10: 8, 8 "
    "and 7), so no group is left with one or two members.",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(401, 403, 404, 422),
)
async def auto_assign(
    site_id: uuid.UUID, data: AutoAssign, session: SessionDep, actor: Annotated[Actor, Depends(MANAGE)]
) -> AutoAssigned:
    return await service.auto_assign(session, actor, site_id, data.target_size)


@router.get(
    "/groups/{group_id}", operation_id="groups_get", summary="A group",
    responses={200: sends("ETag"), **problem_responses(401, 403, 404, 422)},
)  # fmt: skip
async def get_group(
    group_id: uuid.UUID, session: SessionDep, response: Response, actor: Annotated[Actor, Depends(READ)]
) -> GroupRead:
    group = await service.read_group(session, actor, group_id)
    set_etag(response, group.version)
    return group


@router.patch(
    "/groups/{group_id}",
    operation_id="groups_update",
    summary="Rename a group, or change its target size or planning horizon",
    responses={200: sends("ETag"), **problem_responses(401, 403, 404, 409, 412, 422)},
)
async def update_group(
    group_id: uuid.UUID,
    data: GroupUpdate,
    session: SessionDep,
    response: Response,
    actor: Annotated[Actor, Depends(MANAGE)],
    if_match: IfMatch = None,
) -> GroupRead:
    group = await service.update_group(session, actor, group_id, data, version_of(if_match))
    set_etag(response, group.version)
    return await service.read_group(session, actor, group.id)


@router.get(
    "/groups/{group_id}/members",
    operation_id="groups_members_list",
    summary="The group's members, in join order",
    description="Phones are masked, except for the group's captain of the week, who sees them in full to "
    "call the members (each such read is audited).",
    responses=problem_responses(401, 403, 404, 422),
)
async def list_members(
    group_id: uuid.UUID, session: SessionDep, protector: ProtectorDep, actor: Annotated[Actor, Depends(READ)]
) -> list[MemberRead]:
    return await service.list_members(session, actor, group_id, protector)


@router.post(
    "/groups/{group_id}/members",
    operation_id="groups_members_add",
    summary="Add a volunteer of the site (moving them from another group, dated)",
    description="The newcomer joins the back of the captain queue; nobody else's turn moves.",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def add_member(
    group_id: uuid.UUID, data: MemberAdd, session: SessionDep, actor: Annotated[Actor, Depends(MANAGE)]
) -> GroupRead:
    membership = await service.add_member(session, actor, group_id, data.volunteer_id)
    return await service.read_group(session, actor, membership.group_id)


@router.post(
    "/groups/{group_id}/members/{volunteer_id}/leave",
    operation_id="groups_members_leave",
    summary="A member leaves the group (dated; their planned weeks go to the others)",
    responses=problem_responses(401, 403, 404, 422),
)
async def leave(
    group_id: uuid.UUID,
    volunteer_id: uuid.UUID,
    data: MemberLeave,
    session: SessionDep,
    actor: Annotated[Actor, Depends(MANAGE)],
) -> GroupRead:
    await service.remove_member(session, actor, group_id, volunteer_id, data.reason)
    return await service.read_group(session, actor, group_id)
