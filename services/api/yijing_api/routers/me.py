"""The caller's own account, volunteer record and notification inbox."""

import uuid
from typing import Annotated, Any

from fastapi import Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from yijing.access import EVERY_ROLE, Actor
from yijing.identity import service
from yijing.identity.schemas import MeUpdate, UserRead
from yijing.kit.pagination import Page
from yijing.notifications import service as notifications
from yijing.notifications.schemas import MarkedRead, NotificationFilters, NotificationRead
from yijing.patrols import service as patrols
from yijing.patrols.schemas import VolunteerPatrolFilters, VolunteerPatrolPage
from yijing.rota import service as rota
from yijing.rota.schemas import CurrentCaptain
from yijing.teams import service as teams
from yijing.teams.schemas import HeldPost
from yijing.volunteers import service as volunteers
from yijing.volunteers.schemas import VolunteerRead, VolunteerSelfUpdate
from yijing_api.auth import Access
from yijing_api.deps import ProtectorDep, SessionDep
from yijing_api.openapi import sends
from yijing_api.params import IfMatch, PageQuery, Reveal, set_etag, version_of
from yijing_api.problems import problem_responses
from yijing_api.routing import Router

router = Router(prefix="/me", tags=["me"])

SELF = Access(EVERY_ROLE)


def _example(model: type[BaseModel]) -> dict[str, Any]:
    example: dict[str, Any] = model.model_json_schema()["examples"][0]
    return example


# Put together at the edge: the teams package builds on identity, so identity knows nothing of posts.
class MeRead(UserRead):
    """Your account, with the team posts you hold."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [_example(UserRead) | {"posts": [_example(HeldPost)]}]}
    )

    posts: list[HeldPost] = Field(description="The 1+2+N team posts you hold now, by site name")


async def _me_read(session: AsyncSession, user: UserRead) -> MeRead:
    return MeRead(**dict(user), posts=await teams.current_posts(session, user.id))


@router.get(
    "",
    operation_id="me_get",
    summary="The signed-in user",
    responses={200: sends("ETag"), **problem_responses(401, 403, 422)},
)
async def get_me(
    session: SessionDep,
    protector: ProtectorDep,
    response: Response,
    actor: Annotated[Actor, Depends(SELF)],
    reveal: Reveal = None,
) -> MeRead:
    assert actor.principal is not None
    user = await service.read_user(
        session, actor, actor.principal.id, reveal=reveal is not None, protector=protector
    )
    set_etag(response, user.version)
    return await _me_read(session, user)


@router.patch(
    "",
    operation_id="me_update",
    summary="Change your name or password",
    responses=problem_responses(401, 403, 422),
)
async def update_me(
    data: MeUpdate, session: SessionDep, protector: ProtectorDep, actor: Annotated[Actor, Depends(SELF)]
) -> MeRead:
    user = await service.update_me(session, actor, data)
    return await _me_read(session, await service.to_read(session, user))


@router.get(
    "/volunteer",
    operation_id="me_volunteer_get",
    summary="Your volunteer record (for accounts linked to one)",
    responses={200: sends("ETag"), **problem_responses(401, 403, 404, 422)},
)
async def get_my_volunteer(
    session: SessionDep, response: Response, actor: Annotated[Actor, Depends(SELF)]
) -> VolunteerRead:
    volunteer = await volunteers.own_volunteer(session, actor)
    set_etag(response, volunteer.version)
    return VolunteerRead.of(volunteer)


@router.patch(
    "/volunteer",
    operation_id="me_volunteer_update",
    summary="Change your household address or skills",
    description="Other fields of a volunteer record are the station's to change: sending them is a 422.",
    responses={200: sends("ETag"), **problem_responses(401, 403, 404, 412, 422)},
)
async def update_my_volunteer(
    data: VolunteerSelfUpdate,
    session: SessionDep,
    response: Response,
    actor: Annotated[Actor, Depends(SELF)],
    if_match: IfMatch = None,
) -> VolunteerRead:
    volunteer = await volunteers.update_own(session, actor, data, version_of(if_match))
    set_etag(response, volunteer.version)
    return VolunteerRead.of(volunteer)


@router.get(
    "/captain-weeks",
    operation_id="me_captain_weeks_list",
    summary="Your captain weeks, now and ahead (empty for accounts without a volunteer record)",
    description="While one of them runs you are your group's captain: you see its members' phone numbers.",
    responses=problem_responses(401, 403),
)
async def my_captain_weeks(
    session: SessionDep, actor: Annotated[Actor, Depends(SELF)]
) -> list[CurrentCaptain]:
    return await rota.my_captain_weeks(session, actor)


@router.get(
    "/posts",
    operation_id="me_posts_list",
    summary="The 1+2+N team posts you hold now, by site name (empty for accounts holding none)",
    description="Each post names its site and station: how an officer or assistant finds their sites. A "
    "plain list, not a page: a person holds a post at a handful of sites at most.",
    responses=problem_responses(401, 403),
)
async def list_my_posts(session: SessionDep, actor: Annotated[Actor, Depends(SELF)]) -> list[HeldPost]:
    assert actor.principal is not None
    return await teams.current_posts(session, actor.principal.id)


@router.get(
    "/patrols",
    operation_id="me_patrols_list",
    summary="Your patrols with their verified minutes, newest first (for accounts linked to a volunteer)",
    description="As `GET /api/v1/volunteers/{volunteer_id}/patrols`, for your own volunteer record (404 for "
    "an account linked to none).",
    responses=problem_responses(401, 403, 404, 422),
)
async def list_my_patrols(
    session: SessionDep,
    actor: Annotated[Actor, Depends(SELF)],
    page: PageQuery,
    filters: Annotated[VolunteerPatrolFilters, Query()],
) -> VolunteerPatrolPage:
    return await patrols.my_patrols(session, actor, filters, page)


@router.get(
    "/notifications",
    operation_id="me_notifications_list",
    summary="Your notifications, newest first",
    responses=problem_responses(401, 403, 422),
)
async def list_notifications(
    session: SessionDep,
    actor: Annotated[Actor, Depends(SELF)],
    page: PageQuery,
    filters: Annotated[NotificationFilters, Query()],
) -> Page[NotificationRead]:
    return await notifications.list_mine(session, actor, filters, page)


@router.post(
    "/notifications/{notification_id}/read",
    operation_id="me_notifications_mark_read",
    summary="Mark one notification read",
    responses=problem_responses(401, 403, 404, 422),
)
async def mark_read(
    notification_id: uuid.UUID, session: SessionDep, actor: Annotated[Actor, Depends(SELF)]
) -> NotificationRead:
    return NotificationRead.model_validate(await notifications.mark_read(session, actor, notification_id))


@router.post(
    "/notifications/read-all",
    operation_id="me_notifications_mark_all_read",
    summary="Mark every notification read",
    responses=problem_responses(401, 403),
)
async def mark_all_read(session: SessionDep, actor: Annotated[Actor, Depends(SELF)]) -> MarkedRead:
    return await notifications.mark_all_read(session, actor)
