"""The audit log (append-only): county admins see everything, station leaders their station's events."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from yijing.access import MANAGERS, Actor
from yijing.audit import service
from yijing.audit.schemas import AuditEventRead
from yijing.pagination import DEFAULT_LIMIT, Page
from yijing.types import Instant
from yijing_api.auth import Access
from yijing_api.deps import SessionDep
from yijing_api.params import Cursor, Limit
from yijing_api.problems import problem_responses

router = APIRouter(prefix="/audit-events", tags=["audit"])


@router.get(
    "",
    operation_id="audit_events_list",
    summary="Audit events, newest first",
    responses=problem_responses(401, 403, 422),
)
async def list_events(
    session: SessionDep,
    actor: Annotated[Actor, Depends(Access(MANAGERS))],
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    action: Annotated[str | None, Query(max_length=64, examples=["user.personal_data.read"])] = None,
    actor_id: uuid.UUID | None = None,
    target_type: Annotated[str | None, Query(max_length=32)] = None,
    target_id: Annotated[str | None, Query(max_length=64)] = None,
    since: Instant | None = None,
    until: Instant | None = None,
) -> Page[AuditEventRead]:
    return await service.list_events(
        session,
        actor,
        limit=limit,
        cursor=cursor,
        action=action,
        actor_id=actor_id,
        target_type=target_type,
        target_id=target_id,
        since=since,
        until=until,
    )
