"""Monthly training compliance: each site's figures (JSON, or a CSV/XLSX export), and the volunteers' rows (a
page of JSON, or every row as a CSV/XLSX export)."""

from typing import Annotated

from fastapi import Depends, Query, Request, Response
from pydantic import TypeAdapter

from yijing.access import STAFF, Actor, ApiScope
from yijing.kit.pagination import Page
from yijing.training import compliance
from yijing.training.schemas import ComplianceFilters, ComplianceQuery, ComplianceReport, ComplianceRow
from yijing_api.auth import Access
from yijing_api.deps import SessionDep
from yijing_api.params import PageQuery
from yijing_api.problems import problem_responses
from yijing_api.routing import Router
from yijing_api.tables import EXPORT_RESPONSES, ExportParams, Table, table_file, table_routes

router = Router(prefix="/trainings/compliance", tags=["training"])

# Station staff read their sites' compliance; other police systems read it with a stats:read key.
READ = Access(STAFF, frozenset({ApiScope.STATS_READ}))
ROWS = TypeAdapter(list[ComplianceRow])
TRAINED = (
    "A volunteer who owed the month's training (active, joined by the month's end) is trained when present "
    "or late at a settled, required training that started in the month (the station's time zone; a session "
    "past midnight counts on its start's day). Excused is not trained. By default the current month; the "
    "station is the site's, or the caller's only one."
)


@table_routes(
    router,
    "",
    operation_id="trainings_compliance",
    summary="How many trained in a month: each site's volunteers, trained and rate",
    description=f"{TRAINED} The rate is trained / volunteers, to three decimals. The statistics' rollups "
    "count `volunteers_trained` on the day of each one's first training of the month (their month's sum is "
    "this `trained`). The export holds the sites' rows.",
    problems=(401, 403, 404, 422),
    response_model=ComplianceReport,
)
async def read_compliance(
    session: SessionDep,
    actor: Annotated[Actor, Depends(READ)],
    asked: Annotated[ComplianceQuery, Query()],
) -> Table:
    answer = await compliance.compliance(session, actor, asked)
    rows = [site.model_dump(mode="json") for site in answer.sites]
    return Table(answer, rows, f"training-compliance-{answer.month}")


@router.get(
    "/volunteers",
    operation_id="trainings_compliance_volunteers",
    summary="Who trained in a month and who did not, by name",
    description=f"{TRAINED} A page at a time; `/export` gives every row as one file.",
    responses=problem_responses(401, 403, 404, 422),
)
async def read_compliance_volunteers(
    session: SessionDep,
    actor: Annotated[Actor, Depends(READ)],
    page: PageQuery,
    filters: Annotated[ComplianceFilters, Query()],
) -> Page[ComplianceRow]:
    return await compliance.volunteer_page(session, actor, filters, page)


@router.get(
    "/volunteers/export",
    operation_id="trainings_compliance_volunteers_export",
    summary="Who trained in a month and who did not — every row as a CSV or XLSX file, by site and name",
    description=TRAINED,
    response_class=Response,
    responses={200: EXPORT_RESPONSES[200], **problem_responses(401, 403, 404, 422)},
)
async def export_compliance_volunteers(
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, Depends(READ)],
    filters: Annotated[ComplianceFilters, Query()],
    export: ExportParams,
) -> Response:
    month, rows = await compliance.volunteer_table(session, actor, filters)
    return table_file(
        request, ROWS.dump_python(rows, mode="json"), f"training-compliance-volunteers-{month}", export
    )
