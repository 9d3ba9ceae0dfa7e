"""iCalendar feeds of captain weeks for calendar apps: secret addresses per group or per volunteer."""

import uuid
from typing import Annotated

from fastapi import Depends, Path, Request, Response, status

from yijing.access import EVERY_ROLE, Actor
from yijing.rota.calendar import service as calendar
from yijing.rota.calendar.schemas import CalendarFeedCreated, CalendarFeedRead
from yijing_api.auth import PUBLIC, Access
from yijing_api.deps import SessionDep
from yijing_api.problems import problem_responses
from yijing_api.routing import Router

router = Router(tags=["calendars"])

# Staff for the groups and volunteers of their stations; a volunteer for their own group and themself.
SUBSCRIBE = Access(EVERY_ROLE)

_CREATED = "The feed, with its address: the token in it is shown this once"


@router.post(
    "/groups/{group_id}/calendar-feeds",
    operation_id="groups_calendar_feeds_create",
    summary="Create a secret calendar address for the group's captain weeks (shown once)",
    description="Staff of the group's station, or a member of the group. The address works without signing "
    "in, until revoked or until its creator no longer reaches the group.",
    status_code=status.HTTP_201_CREATED,
    responses={201: {"description": _CREATED}, **problem_responses(401, 403, 404, 422)},
)
async def create_group_feed(
    group_id: uuid.UUID, session: SessionDep, response: Response, actor: Annotated[Actor, Depends(SUBSCRIBE)]
) -> CalendarFeedCreated:
    response.headers["Cache-Control"] = "no-store"
    return await calendar.create_group_feed(session, actor, group_id)


@router.post(
    "/volunteers/{volunteer_id:uuid}/calendar-feeds",
    operation_id="volunteers_calendar_feeds_create",
    summary="Create a secret calendar address for a volunteer's captain weeks (shown once)",
    description="Staff of the volunteer's station, or the volunteer themself. The feed lists their weeks in "
    "whichever group they served.",
    status_code=status.HTTP_201_CREATED,
    responses={201: {"description": _CREATED}, **problem_responses(401, 403, 404, 422)},
)
async def create_volunteer_feed(
    volunteer_id: uuid.UUID,
    session: SessionDep,
    response: Response,
    actor: Annotated[Actor, Depends(SUBSCRIBE)],
) -> CalendarFeedCreated:
    response.headers["Cache-Control"] = "no-store"
    return await calendar.create_volunteer_feed(session, actor, volunteer_id)


@router.post(
    "/calendar-feeds/{feed_id}/revoke",
    operation_id="calendar_feeds_revoke",
    summary="Revoke a calendar address (it answers 404 at once); revoking twice changes nothing",
    description="Whoever may create a feed for its group or volunteer may revoke it.",
    responses=problem_responses(401, 403, 404, 422),
)
async def revoke_feed(
    feed_id: uuid.UUID, session: SessionDep, actor: Annotated[Actor, Depends(SUBSCRIBE)]
) -> CalendarFeedRead:
    return calendar.to_read(await calendar.revoke(session, actor, feed_id))


@router.get(
    "/calendars/{token}.ics",
    operation_id="calendars_get",
    summary="A calendar feed (iCalendar, RFC 5545) of captain weeks, for calendar apps",
    description="No sign-in: the token in the address is the credential, so an unknown or revoked one "
    "answers 404. One event per captain week from eight weeks ago to the end of the planned rota; its UID "
    "stays the same and its SEQUENCE grows when the week's captain changes. Times are in UTC. The response "
    "has an `ETag`: send it back as `If-None-Match` and an unchanged feed answers 304 with no body.",
    response_class=Response,
    responses={
        200: {
            "description": "The calendar",
            "content": {"text/calendar": {"schema": {"type": "string"}}},
        },
        304: {"description": "Unchanged since the ETag sent as If-None-Match"},
        **problem_responses(404, 422),
    },
)
async def get_calendar(
    token: Annotated[
        str, Path(pattern=calendar.TOKEN_PATTERN, description="The secret token of the feed's address")
    ],
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, Depends(PUBLIC)],
) -> Response:
    rendered = await calendar.render(session, token)
    # The address is a credential: shared caches must not keep it; clients revalidate with the ETag.
    headers = {"ETag": rendered.etag, "Cache-Control": "private, no-cache"}
    if rendered.matches(request.headers.get("if-none-match")):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(rendered.body, media_type=calendar.MEDIA_TYPE, headers=headers)
