"""Disputes (纠纷调解): reported by volunteers and staff (offline cases stored once), mediated, resolved,
escalated or failed, visited again after their resolution (回访); each station's follow-up period."""

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Query, Response, status
from pydantic import BaseModel

from yijing.access import EVERY_ROLE, MANAGERS, STAFF, Actor
from yijing.disputes import service
from yijing.disputes.schemas import (
    DisputeCreate,
    DisputeEventRead,
    DisputeFilters,
    DisputeRead,
    DisputeReopenAction,
    DisputeSettingsRead,
    DisputeSettingsUpdate,
    DisputeUpdate,
    EscalateAction,
    FailAction,
    FollowupRead,
    FollowupRecord,
    MediateAction,
    ResolveAction,
)
from yijing.disputes.service import DisputeAction
from yijing.kit.lifecycle import add_action_routes
from yijing.kit.pagination import Page
from yijing_api.auth import Access
from yijing_api.deps import ProtectorDep, SessionDep
from yijing_api.openapi import sends
from yijing_api.params import IfMatch, PageQuery, Reveal, set_etag, version_of
from yijing_api.problems import problem_responses
from yijing_api.routing import Router

router = Router(prefix="/disputes", tags=["disputes"])

# Everyone reports disputes and mediates them (volunteers: at their own site, and those they mediate; the
# service checks who carries a mediation on); staff correct and reopen them; station leaders and county
# admins set the follow-up period. No API key reads them: they name the parties.
SEE = Access(EVERY_ROLE)
MANAGE = Access(STAFF)
CONFIGURE = Access(MANAGERS)


@router.get(
    "",
    operation_id="disputes_list",
    summary="Disputes the caller sees, oldest report first (parties' numbers masked)",
    responses=problem_responses(401, 403, 422),
)
async def list_disputes(
    session: SessionDep,
    actor: Annotated[Actor, Depends(SEE)],
    page: PageQuery,
    filters: Annotated[DisputeFilters, Query()],
) -> Page[DisputeRead]:
    return await service.list_disputes(session, actor, filters, page)


@router.post(
    "",
    operation_id="disputes_report",
    summary="Report a dispute",
    description="An offline case sent again with the same `client_id` answers 200 with the stored case "
    "instead of storing a second one (another reporter's `client_id`: 409). Only active volunteers "
    "report; the site's officer and assistants are notified.",
    status_code=status.HTTP_201_CREATED,
    responses={
        201: sends("Location", "ETag"),
        200: {
            "model": DisputeRead,
            "description": "The same offline case, already stored",
            **sends("Location", "ETag"),
        },
        **problem_responses(401, 403, 404, 409, 422),
    },
)
async def report_dispute(
    data: DisputeCreate,
    session: SessionDep,
    protector: ProtectorDep,
    response: Response,
    actor: Annotated[Actor, Depends(SEE)],
) -> DisputeRead:
    dispute, created = await service.report_dispute(session, actor, data, protector)
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/api/v1/disputes/{dispute.id}"
    set_etag(response, dispute.version)
    return await service.detail(session, dispute)


@router.get(
    "/settings/{station_id}",
    operation_id="disputes_settings",
    summary="The station's follow-up period",
    responses=problem_responses(401, 403, 404, 422),
)
async def dispute_settings(
    station_id: uuid.UUID, session: SessionDep, actor: Annotated[Actor, Depends(MANAGE)]
) -> DisputeSettingsRead:
    return await service.dispute_settings(session, actor, station_id)


@router.put(
    "/settings/{station_id}",
    operation_id="disputes_set_settings",
    summary="Set the station's follow-up period",
    description="Applies to visits scheduled from now on; those already scheduled keep their day.",
    responses=problem_responses(401, 403, 404, 422),
)
async def set_dispute_settings(
    station_id: uuid.UUID,
    data: DisputeSettingsUpdate,
    session: SessionDep,
    actor: Annotated[Actor, Depends(CONFIGURE)],
) -> DisputeSettingsRead:
    return await service.set_dispute_settings(session, actor, station_id, data)


@router.get(
    "/{dispute_id:uuid}",
    operation_id="disputes_get",
    summary="A dispute (parties' numbers masked unless revealed)",
    description="`reveal=personal_data` is for officers, station leaders and county admins (others: 403); "
    "each such read is written to the audit log.",
    responses={200: sends("ETag"), **problem_responses(401, 403, 404, 422)},
)
async def get_dispute(
    dispute_id: uuid.UUID,
    session: SessionDep,
    protector: ProtectorDep,
    response: Response,
    actor: Annotated[Actor, Depends(SEE)],
    reveal: Reveal = None,
) -> DisputeRead:
    dispute = await service.read_dispute(
        session, actor, dispute_id, reveal=reveal is not None, protector=protector
    )
    set_etag(response, dispute.version)
    return dispute


@router.patch(
    "/{dispute_id:uuid}",
    operation_id="disputes_update",
    summary="Correct a dispute (the status changes through its actions)",
    description="A new site must be of the dispute's station.",
    responses={200: sends("ETag"), **problem_responses(401, 403, 404, 412, 422)},
)
async def update_dispute(
    dispute_id: uuid.UUID,
    data: DisputeUpdate,
    session: SessionDep,
    response: Response,
    actor: Annotated[Actor, Depends(MANAGE)],
    if_match: IfMatch = None,
) -> DisputeRead:
    dispute = await service.update_dispute(session, actor, dispute_id, data, version_of(if_match))
    set_etag(response, dispute.version)
    return await service.detail(session, dispute)


@router.get(
    "/{dispute_id:uuid}/events",
    operation_id="disputes_events",
    summary="The dispute's history, oldest first: who did what, when, and why",
    responses=problem_responses(401, 403, 404, 422),
)
async def events(
    dispute_id: uuid.UUID, session: SessionDep, actor: Annotated[Actor, Depends(SEE)]
) -> list[DisputeEventRead]:
    return await service.history(session, actor, dispute_id)


@router.get(
    "/{dispute_id:uuid}/followups",
    operation_id="disputes_followups",
    summary="The dispute's follow-up visits (回访), oldest first",
    responses=problem_responses(401, 403, 404, 422),
)
async def followups(
    dispute_id: uuid.UUID, session: SessionDep, actor: Annotated[Actor, Depends(SEE)]
) -> list[FollowupRead]:
    return await service.followups(session, actor, dispute_id)


@router.post(
    "/{dispute_id:uuid}/followups",
    operation_id="disputes_record_followup",
    summary="Record the follow-up visit still to make",
    description="By a mediator of the dispute or station staff (others: 403). No visit to make: 409. "
    "`relapsed` reopens the dispute (mediating again). `If-Match` names the dispute's version; the ETag "
    "answered is its new one.",
    status_code=status.HTTP_201_CREATED,
    responses={201: sends("ETag"), **problem_responses(401, 403, 404, 409, 412, 422)},
)
async def record_followup(
    dispute_id: uuid.UUID,
    data: FollowupRecord,
    session: SessionDep,
    response: Response,
    actor: Annotated[Actor, Depends(SEE)],
    if_match: IfMatch = None,
) -> FollowupRead:
    followup, dispute = await service.record_followup(session, actor, dispute_id, data, version_of(if_match))
    set_etag(response, dispute.version)
    return FollowupRead.of(followup)


# The lifecycle's actions: each one's body, and its summary.
_ACTION_BODIES: dict[DisputeAction, type[BaseModel]] = {
    DisputeAction.MEDIATE: MediateAction,
    DisputeAction.RESOLVE: ResolveAction,
    DisputeAction.ESCALATE: EscalateAction,
    DisputeAction.FAIL: FailAction,
    DisputeAction.REOPEN: DisputeReopenAction,
}
_ACTION_SUMMARIES = {
    DisputeAction.MEDIATE: "Step in (reported → mediating): the caller becomes a mediator",
    DisputeAction.RESOLVE: "Record it resolved, with its outcome (mediating → resolved)",
    DisputeAction.ESCALATE: "Hand it on to the police, a mediation committee, a court or another agency",
    DisputeAction.FAIL: "Record that mediation failed, with the reason",
    DisputeAction.REOPEN: "Mediate it again (resolved or failed → mediating)",
}
_ACTION_EFFECTS = {
    DisputeAction.MEDIATE: "Any active volunteer of the dispute's site, its mediators and station staff; the "
    "time to first intervention is stored.",
    DisputeAction.RESOLVE: "By a mediator or station staff (others: 403). `written_agreement` needs "
    "`agreement_text`, `compensation` its `compensation_amount`. The time to resolution is stored and the "
    "follow-up visit scheduled after the station's period.",
    DisputeAction.ESCALATE: "By a mediator or station staff (others: 403).",
    DisputeAction.FAIL: "By a mediator or station staff (others: 403).",
    DisputeAction.REOPEN: "Station staff only. The outcome is cleared and a visit still to make cancelled.",
}
# Reopening is for staff; the service lets only mediators and staff carry the other actions on.
_ACTION_ACCESS = {action: MANAGE if action is DisputeAction.REOPEN else SEE for action in DisputeAction}


def _action_endpoint(action: DisputeAction) -> Callable[..., Awaitable[DisputeRead]]:
    """One action's endpoint, with that action's own body (so each is documented with its fields)."""
    body_model = _ACTION_BODIES[action]

    async def take_action(
        dispute_id: uuid.UUID,
        data: body_model,  # type: ignore[valid-type]
        session: SessionDep,
        response: Response,
        actor: Annotated[Actor, Depends(_ACTION_ACCESS[action])],
        if_match: IfMatch = None,
    ) -> DisputeRead:
        dispute = await service.take_action(session, actor, dispute_id, action, data, version_of(if_match))
        set_etag(response, dispute.version)
        return await service.detail(session, dispute)

    return take_action


add_action_routes(
    router,
    service.LIFECYCLE,
    _action_endpoint,
    path="/{dispute_id:uuid}",
    operation_prefix="disputes",
    summaries=_ACTION_SUMMARIES,
    effects={
        action: f"{effect} What is given goes into the dispute's history; the reporter is notified."
        for action, effect in _ACTION_EFFECTS.items()
    },
    responses={200: sends("ETag"), **problem_responses(401, 403, 404, 409, 412, 422)},
)
