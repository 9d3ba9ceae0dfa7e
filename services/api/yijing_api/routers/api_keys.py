"""API keys for machine clients (other police systems). County admins only."""

import uuid
from typing import Annotated

from fastapi import Depends, Query, Response, status

from yijing.access import ADMINS, Actor
from yijing.identity import api_keys
from yijing.identity.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyFilters, ApiKeyRead
from yijing.kit.pagination import Page
from yijing_api.auth import Access
from yijing_api.deps import SessionDep, SettingsDep
from yijing_api.openapi import sends
from yijing_api.params import PageQuery
from yijing_api.problems import problem_responses
from yijing_api.routing import Router

router = Router(prefix="/api-keys", tags=["api-keys"])

ADMIN = Access(ADMINS)


@router.get("", operation_id="api_keys_list", summary="API keys", responses=problem_responses(401, 403, 422))
async def list_keys(
    session: SessionDep,
    settings: SettingsDep,
    actor: Annotated[Actor, Depends(ADMIN)],
    page: PageQuery,
    filters: Annotated[ApiKeyFilters, Query()],
) -> Page[ApiKeyRead]:
    return await api_keys.list_keys(session, filters, page, default_rate_limit=settings.api_key_rate_limit)


@router.post(
    "",
    operation_id="api_keys_create",
    summary="Create an API key (its secret is shown this once)",
    status_code=status.HTTP_201_CREATED,
    responses={201: sends("Location"), **problem_responses(401, 403, 404, 422)},
)
async def create_key(
    data: ApiKeyCreate,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    actor: Annotated[Actor, Depends(ADMIN)],
) -> ApiKeyCreated:
    created = await api_keys.create(session, actor, data, settings.api_key_rate_limit)
    response.headers["Location"] = f"/api/v1/api-keys/{created.id}"
    response.headers["Cache-Control"] = "no-store"
    return created


@router.get(
    "/{key_id}",
    operation_id="api_keys_get",
    summary="An API key",
    responses=problem_responses(401, 403, 404, 422),
)
async def get_key(
    key_id: uuid.UUID, session: SessionDep, settings: SettingsDep, actor: Annotated[Actor, Depends(ADMIN)]
) -> ApiKeyRead:
    return await api_keys.read_key(session, key_id, default_rate_limit=settings.api_key_rate_limit)


@router.post(
    "/{key_id}/revoke",
    operation_id="api_keys_revoke",
    summary="Revoke an API key (it stops working at once)",
    responses=problem_responses(401, 403, 404, 422),
)
async def revoke_key(
    key_id: uuid.UUID, session: SessionDep, settings: SettingsDep, actor: Annotated[Actor, Depends(ADMIN)]
) -> ApiKeyRead:
    return api_keys.to_read(await api_keys.revoke(session, actor, key_id), settings.api_key_rate_limit)
