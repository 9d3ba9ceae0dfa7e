"""Disputes' monthly figures per site and in total: by kind, by outcome, escalations, prompt interventions
and the median time to resolution."""

import uuid
from typing import Annotated

from fastapi import Depends, Query

from yijing.access import STAFF, Actor, ApiScope
from yijing.disputes import summary
from yijing.disputes.schemas import DisputeSummary
from yijing_api.auth import Access
from yijing_api.deps import SessionDep, SettingsDep
from yijing_api.problems import problem_responses
from yijing_api.routing import Router

router = Router(prefix="/disputes", tags=["disputes"])

# Station staff read their sites' figures; other police systems read them with a stats:read key.
COUNT = Access(STAFF, frozenset({ApiScope.STATS_READ}))


@router.get(
    "/summary",
    operation_id="disputes_summary",
    summary="Per site and in total: disputes reported, resolved, escalated and failed in a month",
    description="Reported by kind (reported in the month); resolved by outcome, escalated by destination "
    "and failed (closed in the month); first interventions in the month and the share within 10 minutes "
    "of the report; the median minutes from report to resolution of those resolved in the month (null "
    "when none). Every site in reach is listed, with zeros when it had none. The month is each site's "
    "month in its station's time zone; by default the current month (the station's, when a station or "
    "site is given).",
    responses=problem_responses(401, 403, 404, 422),
)
async def summarise(
    session: SessionDep,
    settings: SettingsDep,
    actor: Annotated[Actor, Depends(COUNT)],
    station_id: uuid.UUID | None = None,
    site_id: uuid.UUID | None = None,
    month: Annotated[
        str | None,
        Query(pattern=r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])$", description="YYYY-MM", examples=["2023-10"]),
    ] = None,
) -> DisputeSummary:
    return await summary.summarise(
        session, actor, station_id=station_id, site_id=site_id, month=month, default_timezone=settings.tz
    )
