"""The 1+2+N team of a site: its community officer, its two police assistants (dated posts) and its
volunteers."""

import uuid
from typing import Annotated

from fastapi import Depends, Query, status

from yijing.access import EVERY_ROLE, Actor, Role
from yijing.kit.pagination import Page
from yijing.teams import service
from yijing.teams.schemas import AssignmentCreate, AssignmentEnd, AssignmentFilters, AssignmentRead, TeamRead
from yijing.types import Instant
from yijing_api.auth import Access
from yijing_api.deps import SessionDep
from yijing_api.params import PageQuery
from yijing_api.problems import problem_responses
from yijing_api.routing import Router

router = Router(prefix="/sites/{site_id}/team", tags=["teams"])

READERS = Access(EVERY_ROLE)
# Officers place assistants; station leaders and county admins place officers too.
ASSIGNERS = Access(frozenset({Role.OFFICER, Role.LEADER, Role.ADMIN}))


@router.get(
    "",
    operation_id="sites_team_get",
    summary="The site's 1+2+N team, and what it is missing",
    description="The officer and assistants holding posts at `at` (now by default), the site's volunteers "
    "now, and `gaps`: posts the 1+2 structure lacks (no officer, fewer than two assistants).",
    responses=problem_responses(401, 403, 404, 422),
)
async def get_team(
    site_id: uuid.UUID,
    session: SessionDep,
    actor: Annotated[Actor, Depends(READERS)],
    at: Annotated[Instant | None, Query(description="Show the team as it was at this instant")] = None,
) -> TeamRead:
    return await service.get_team(session, actor, site_id, at)


@router.get(
    "/assignments",
    operation_id="sites_team_assignments_list",
    summary="The site's team assignments (open ones, or every one with include_ended)",
    responses=problem_responses(401, 403, 404, 422),
)
async def list_assignments(
    site_id: uuid.UUID,
    session: SessionDep,
    actor: Annotated[Actor, Depends(READERS)],
    page: PageQuery,
    filters: Annotated[AssignmentFilters, Query()],
) -> Page[AssignmentRead]:
    return await service.list_assignments(session, actor, site_id, filters, page)


@router.post(
    "/assignments",
    operation_id="sites_team_assign",
    summary="Put an officer or assistant in a post at the site",
    description="A site has one community officer and up to two police assistants at a time: a filled post "
    "is a 409 naming who holds it (end that assignment first).",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def assign(
    site_id: uuid.UUID,
    data: AssignmentCreate,
    session: SessionDep,
    actor: Annotated[Actor, Depends(ASSIGNERS)],
) -> AssignmentRead:
    return await service.assign(session, actor, site_id, data)


@router.post(
    "/assignments/{assignment_id}/end",
    operation_id="sites_team_assignment_end",
    summary="End an assignment (it stays in the history)",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def end_assignment(
    site_id: uuid.UUID,
    assignment_id: uuid.UUID,
    data: AssignmentEnd,
    session: SessionDep,
    actor: Annotated[Actor, Depends(ASSIGNERS)],
) -> AssignmentRead:
    return await service.end_assignment(session, actor, site_id, assignment_id, data.reason)
