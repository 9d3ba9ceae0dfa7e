"""User accounts: officers, assistants, volunteers, station leaders and county admins."""

import uuid
from typing import Annotated

from fastapi import Depends, Query, Response, status

from yijing.access import MANAGERS, Actor
from yijing.identity import service
from yijing.identity.schemas import UserCreate, UserFilters, UserRead, UserUpdate
from yijing.kit.pagination import Page
from yijing_api.auth import Access
from yijing_api.deps import ProtectorDep, SessionDep
from yijing_api.openapi import sends
from yijing_api.params import IfMatch, PageQuery, Reveal, set_etag, version_of
from yijing_api.problems import problem_responses
from yijing_api.routing import Router

router = Router(prefix="/users", tags=["users"])

MANAGE = Access(MANAGERS)


@router.get(
    "",
    operation_id="users_list",
    summary="Users of the stations the caller reaches (masked personal data)",
    responses=problem_responses(401, 403, 422),
)
async def list_users(
    session: SessionDep,
    actor: Annotated[Actor, Depends(MANAGE)],
    page: PageQuery,
    filters: Annotated[UserFilters, Query()],
) -> Page[UserRead]:
    return await service.list_users(session, actor, filters, page)


@router.post(
    "",
    operation_id="users_create",
    summary="Create a user (a role no higher than the caller's)",
    status_code=status.HTTP_201_CREATED,
    responses={201: sends("Location", "ETag"), **problem_responses(401, 403, 404, 409, 422)},
)
async def create_user(
    data: UserCreate,
    session: SessionDep,
    protector: ProtectorDep,
    response: Response,
    actor: Annotated[Actor, Depends(MANAGE)],
) -> UserRead:
    user = await service.create_user(session, actor, data, protector)
    response.headers["Location"] = f"/api/v1/users/{user.id}"
    set_etag(response, user.version)
    return await service.to_read(session, user)


@router.get(
    "/{user_id}",
    operation_id="users_get",
    summary="A user (masked personal data unless revealed)",
    responses={200: sends("ETag"), **problem_responses(401, 403, 404, 422)},
)
async def get_user(
    user_id: uuid.UUID,
    session: SessionDep,
    protector: ProtectorDep,
    response: Response,
    actor: Annotated[Actor, Depends(MANAGE)],
    reveal: Reveal = None,
) -> UserRead:
    user = await service.read_user(session, actor, user_id, reveal=reveal is not None, protector=protector)
    set_etag(response, user.version)
    return user


@router.patch(
    "/{user_id}",
    operation_id="users_update",
    summary="Change a user: name, phone, role, sites, password reset, disable (is_active: false)",
    description="Disabling a user or resetting their password ends all their sign-in sessions at once.",
    responses={200: sends("ETag"), **problem_responses(401, 403, 404, 409, 412, 422)},
)
async def update_user(
    user_id: uuid.UUID,
    data: UserUpdate,
    session: SessionDep,
    protector: ProtectorDep,
    response: Response,
    actor: Annotated[Actor, Depends(MANAGE)],
    if_match: IfMatch = None,
) -> UserRead:
    user = await service.update_user(session, actor, user_id, data, version_of(if_match), protector)
    set_etag(response, user.version)
    return await service.to_read(session, user)
