"""Sites (重点部位/网格) of a station: night markets, plazas, commercial streets, rental areas."""

import uuid
from typing import Annotated

from fastapi import Depends, Query, Response, status

from yijing.access import EVERY_ROLE, MANAGERS, Actor, ApiScope
from yijing.kit.pagination import Page
from yijing.org import service
from yijing.org.schemas import SiteCreate, SiteFilters, SiteRead, SiteUpdate
from yijing_api.auth import Access
from yijing_api.deps import SessionDep
from yijing_api.openapi import sends
from yijing_api.params import IfMatch, PageQuery, set_etag, version_of
from yijing_api.problems import problem_responses
from yijing_api.routing import Router

router = Router(prefix="/sites", tags=["sites"])

READERS = Access(EVERY_ROLE, frozenset({ApiScope.STATS_READ}))
WRITERS = Access(MANAGERS)


@router.get(
    "",
    operation_id="sites_list",
    summary="Sites the caller reaches",
    responses=problem_responses(401, 403, 422),
)
async def list_sites(
    session: SessionDep,
    actor: Annotated[Actor, Depends(READERS)],
    page: PageQuery,
    filters: Annotated[SiteFilters, Query()],
) -> Page[SiteRead]:
    return await service.list_sites(session, actor, filters, page)


@router.post(
    "",
    operation_id="sites_create",
    summary="Create a site (station leaders, county admins)",
    status_code=status.HTTP_201_CREATED,
    responses={201: sends("Location", "ETag"), **problem_responses(401, 403, 404, 409, 422)},
)
async def create_site(
    data: SiteCreate, session: SessionDep, response: Response, actor: Annotated[Actor, Depends(WRITERS)]
) -> SiteRead:
    site = await service.create_site(session, actor, data)
    response.headers["Location"] = f"/api/v1/sites/{site.id}"
    set_etag(response, site.version)
    return SiteRead.of(site)


@router.get(
    "/{site_id}",
    operation_id="sites_get",
    summary="A site",
    responses={200: sends("ETag"), **problem_responses(401, 403, 404, 422)},
)
async def get_site(
    site_id: uuid.UUID, session: SessionDep, response: Response, actor: Annotated[Actor, Depends(READERS)]
) -> SiteRead:
    site = await service.read_site(session, actor, site_id)
    set_etag(response, site.version)
    return site


@router.patch(
    "/{site_id}",
    operation_id="sites_update",
    summary="Change a site (station leaders, county admins)",
    responses={200: sends("ETag"), **problem_responses(401, 403, 404, 409, 412, 422)},
)
async def update_site(
    site_id: uuid.UUID,
    data: SiteUpdate,
    session: SessionDep,
    response: Response,
    actor: Annotated[Actor, Depends(WRITERS)],
    if_match: IfMatch = None,
) -> SiteRead:
    site = await service.update_site(session, actor, site_id, data, version_of(if_match))
    set_etag(response, site.version)
    return SiteRead.of(site)


@router.delete(
    "/{site_id}",
    operation_id="sites_delete",
    summary="Delete a site (station leaders, county admins)",
    description="Refused (409) while volunteers serve at the site. Its team assignments go with it.",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 409, 412, 422),
)
async def delete_site(
    site_id: uuid.UUID,
    session: SessionDep,
    actor: Annotated[Actor, Depends(WRITERS)],
    if_match: IfMatch = None,
) -> None:
    await service.delete_site(session, actor, site_id, version_of(if_match))
