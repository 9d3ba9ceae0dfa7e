"""Monthly training compliance: each site's figures (JSON, CSV or XLSX), and the volunteers' rows (a page of
JSON, or every row as CSV or XLSX)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import TypeAdapter

from yijing.access import STAFF, Actor, ApiScope
from yijing.kit.pagination import Page
from yijing.training import compliance
from yijing.training.schemas import ComplianceFilters, ComplianceQuery, ComplianceReport, ComplianceRow
from yijing_api.auth import Access
from yijing_api.deps import SessionDep
from yijing_api.params import PageQuery
from yijing_api.problems import problem_responses
from yijing_api.tables import TABLE_RESPONSES, TableFormat, TableParams, chosen_format, respond, table_file

router = APIRouter(prefix="/trainings/compliance", tags=["training"])

# Station staff read their sites' compliance; other police systems read it with a stats:read key.
READ = Access(STAFF, frozenset({ApiScope.STATS_READ}))
ROWS = TypeAdapter(list[ComplianceRow])
TRAINED = (
    "A volunteer who owed the month's training (active, joined by the month's end) is trained when present "
    "or late at a settled, required training that started in the month (the station's time zone; a session "
    "past midnight counts on its start's day). Excused is not trained. By default the current month; the "
    "station is the site's, or the caller's only one."
)


@router.get(
    "",
    operation_id="trainings_compliance",
    summary="How many trained in a month: each site's volunteers, trained and rate",
    description=f"{TRAINED} The rate is trained / volunteers, to three decimals. The statistics' rollups "
    "count `volunteers_trained` on the day of each one's first training of the month (their month's sum is "
    "this `trained`). CSV and XLSX hold the sites' rows.",
    responses={**TABLE_RESPONSES, **problem_responses(401, 403, 404, 422)},
    response_model=ComplianceReport,
)
async def read_compliance(
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, Depends(READ)],
    asked: Annotated[ComplianceQuery, Query()],
    table: TableParams,
) -> Response:
    answer = await compliance.compliance(session, actor, asked)
    rows = [site.model_dump(mode="json") for site in answer.sites]
    return respond(request, answer, rows, f"training-compliance-{answer.month}", table)


@router.get(
    "/volunteers",
    operation_id="trainings_compliance_volunteers",
    summary="Who trained in a month and who did not, by name",
    description=f"{TRAINED} JSON is paged; CSV and XLSX (`?format=` or `Accept`) hold every row, by site "
    "and name.",
    responses={200: TABLE_RESPONSES[200], **problem_responses(401, 403, 404, 422)},
    response_model=Page[ComplianceRow],
)
async def read_compliance_volunteers(
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, Depends(READ)],
    page: PageQuery,
    filters: Annotated[ComplianceFilters, Query()],
    table: TableParams,
) -> Page[ComplianceRow] | Response:
    chosen = chosen_format(request, table.format)
    if chosen is TableFormat.JSON:
        return await compliance.volunteer_page(session, actor, filters, page)
    month, rows = await compliance.volunteer_table(session, actor, filters)
    return table_file(
        ROWS.dump_python(rows, mode="json"), f"training-compliance-volunteers-{month}", chosen, bom=table.bom
    )
