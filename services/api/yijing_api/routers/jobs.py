"""Job runs: ask for a registered job to run, then follow its progress."""

import uuid
from typing import TYPE_CHECKING, Annotated

from fastapi import Body, Depends, Response, status

from yijing.access import ADMINS, STAFF, Actor
from yijing.jobs import catalog, service
from yijing.jobs.schemas import JobRead, JobRequestBase, job_request_type
from yijing_api.auth import Access
from yijing_api.deps import SessionDep
from yijing_api.openapi import sends
from yijing_api.problems import problem_responses
from yijing_api.routing import Router

router = Router(prefix="/jobs", tags=["jobs"])

# Operators' maintenance jobs; domains that run jobs for other roles (imports, exports) add their own routes.
OPERATORS = Access(ADMINS)
# A run a station's staff asked for (an import) is readable by that station's staff; other runs by admins.
FOLLOWERS = Access(STAFF)

if TYPE_CHECKING:
    JobRequest = JobRequestBase
else:
    # One body model per job, chosen by `name` (built from the catalog at import).
    JobRequest = job_request_type(catalog.all_jobs())


@router.post(
    "",
    operation_id="jobs_create",
    summary="Run a registered job",
    description=(
        "Records a job run and queues it through the transactional outbox, so it runs even when the queue "
        "is briefly down. Answers 202 with the run; poll `GET /api/v1/jobs/{job_id}` for progress and result."
    ),
    status_code=status.HTTP_202_ACCEPTED,
    responses={202: sends("Location"), **problem_responses(401, 403, 422)},
)
async def create_job(
    session: SessionDep,
    actor: Annotated[Actor, Depends(OPERATORS)],
    response: Response,
    request: Annotated[
        JobRequest,
        Body(
            openapi_examples={
                "heartbeat": {"summary": "Record a heartbeat", "value": {"name": "system.heartbeat"}}
            }
        ),
    ],
) -> JobRead:
    spec = catalog.job_named(request.name)
    run = await service.request_run(session, spec, request.payload)
    response.headers["Location"] = f"/api/v1/jobs/{run.id}"
    return JobRead.of(run)


@router.get(
    "/{job_id}",
    operation_id="jobs_get",
    summary="A job run's status, progress and result",
    description="Station staff read their station's runs (such as imports); county admins read every run.",
    responses=problem_responses(401, 403, 404, 422),
)
async def get_job(
    job_id: uuid.UUID, session: SessionDep, actor: Annotated[Actor, Depends(FOLLOWERS)]
) -> JobRead:
    return await service.read_run(session, actor, job_id)
