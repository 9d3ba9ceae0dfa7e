"""Training attendance rules (出勤认定规则), per station and versioned: the share of an online session that
counts as present and the minutes after the start from which a check-in is late."""

import uuid
from typing import Annotated

from fastapi import Depends

from yijing.access import MANAGERS, STAFF, Actor
from yijing.training import rules
from yijing.training.schemas import AttendanceRules, AttendanceRulesUpdate
from yijing_api.auth import Access
from yijing_api.deps import SessionDep
from yijing_api.problems import problem_responses
from yijing_api.routing import Router

router = Router(prefix="/trainings", tags=["training"])

# Staff read the rules their attendance is settled by; station leaders and county admins change them.
SEE = Access(STAFF)
CONFIGURE = Access(MANAGERS)


@router.get(
    "/rules/{station_id}",
    operation_id="trainings_rules",
    summary="The station's attendance rules in force (version 0: the defaults)",
    responses=problem_responses(401, 403, 404, 422),
)
async def attendance_rules(
    station_id: uuid.UUID, session: SessionDep, actor: Annotated[Actor, Depends(SEE)]
) -> AttendanceRules:
    return await rules.current_rules(session, actor, station_id)


@router.put(
    "/rules/{station_id}",
    operation_id="trainings_set_rules",
    summary="Set the station's attendance rules (a new version)",
    description="The new version is in force from now: a session is settled by the version in force when "
    "it ended, and a session already settled keeps the version it was settled by.",
    responses=problem_responses(401, 403, 404, 422),
)
async def set_attendance_rules(
    station_id: uuid.UUID,
    data: AttendanceRulesUpdate,
    session: SessionDep,
    actor: Annotated[Actor, Depends(CONFIGURE)],
) -> AttendanceRules:
    return await rules.set_rules(session, actor, station_id, data)
