"""Patrol coverage (巡防覆盖): which checkpoints a patrol reached, in time or late, and its members' verified
patrol minutes; per site, a month's patrols and checkpoint coverage for staff."""

import uuid
from typing import Annotated

from fastapi import Depends, Query

from yijing.access import EVERY_ROLE, STAFF, Actor
from yijing.patrols.settlement import service
from yijing.patrols.settlement.schemas import CoverageSummary, PatrolCoverage
from yijing_api.auth import Access
from yijing_api.deps import SessionDep
from yijing_api.problems import problem_responses
from yijing_api.routing import Router

router = Router(prefix="/patrols", tags=["patrols"])

# Whoever sees the patrol reads its coverage (the service applies the patrols' reach); the month's figures
# are for the staff who plan patrols.
READERS = Access(EVERY_ROLE)
PLANNERS = Access(STAFF)


@router.get(
    "/coverage-summary",
    operation_id="patrol_coverage_summary",
    summary="Per site: a month's patrols, checkpoint coverage and verified minutes (station staff)",
    description="The patrols planned to start in the month (each site's month in its station's time zone): "
    "`planned` counts them all, whatever their status. Checkpoint outcomes and minutes are those the worker "
    "stored for the settled ones; `coverage_percent` is (hit + late) / all outcomes. Every site in reach is "
    "listed, with zeros where nothing was planned; a site out of reach is a 404.",
    responses=problem_responses(401, 403, 404, 422),
)
async def summarise(
    session: SessionDep,
    actor: Annotated[Actor, Depends(PLANNERS)],
    month: Annotated[
        str, Query(pattern=r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])$", description="YYYY-MM", examples=["2023-10"])
    ],
    site_id: uuid.UUID | None = None,
) -> CoverageSummary:
    return await service.summarise(session, actor, month=month, site_id=site_id)


@router.get(
    "/{patrol_id}/coverage",
    operation_id="patrol_coverage_get",
    summary="A patrol's checkpoints with their outcomes, and its members' verified minutes",
    description="Settled (`settled_at` set): what the worker stored after the window closed. Before that, "
    "computed now by the same rules, a checkpoint not yet reached reading `not_yet` while the window is "
    "open. Only check-ins that count (unflagged, or flagged and accepted) are counted.",
    responses=problem_responses(401, 403, 404, 422),
)
async def get_coverage(
    patrol_id: uuid.UUID, session: SessionDep, actor: Annotated[Actor, Depends(READERS)]
) -> PatrolCoverage:
    return await service.coverage(session, actor, patrol_id)
