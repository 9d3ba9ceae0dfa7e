"""The audit log (append-only): county admins see everything, station leaders their station's events."""

from typing import Annotated

from fastapi import Depends, Query

from yijing.access import MANAGERS, Actor
from yijing.audit import service
from yijing.audit.schemas import AuditEventFilters, AuditEventRead
from yijing.kit.pagination import Page
from yijing_api.auth import Access
from yijing_api.deps import SessionDep
from yijing_api.params import PageQuery
from yijing_api.problems import problem_responses
from yijing_api.routing import Router

router = Router(prefix="/audit-events", tags=["audit"])


@router.get(
    "",
    operation_id="audit_events_list",
    summary="Audit events, newest first",
    responses=problem_responses(401, 403, 422),
)
async def list_events(
    session: SessionDep,
    actor: Annotated[Actor, Depends(Access(MANAGERS))],
    page: PageQuery,
    filters: Annotated[AuditEventFilters, Query()],
) -> Page[AuditEventRead]:
    return await service.list_events(session, actor, filters, page)
