"""Every domain's jobs, and lookups over the complete list. Only the composition roots import this module
(the API's jobs routes, the worker, the command line): domains register their jobs through
:mod:`yijing.jobs.registry` and never import the catalog, so no import runs back up. A new domain with
jobs adds its module here."""

from __future__ import annotations

from typing import Any

from yijing.disputes import jobs as disputes_jobs
from yijing.hazards import jobs as hazards_jobs
from yijing.incidents import jobs as incidents_jobs
from yijing.jobs.errors import UnknownJob
from yijing.jobs.registry import JobSpec, registered
from yijing.notifications import jobs as notifications_jobs
from yijing.patrols.plans import jobs as patrol_plans_jobs
from yijing.patrols.settlement import jobs as patrol_settlement_jobs
from yijing.rota import jobs as rota_jobs
from yijing.stats import jobs as stats_jobs
from yijing.system import jobs as system_jobs
from yijing.training import jobs as training_jobs
from yijing.volunteers import jobs as volunteers_jobs

DOMAIN_JOB_MODULES = (
    disputes_jobs,
    hazards_jobs,
    incidents_jobs,
    notifications_jobs,
    patrol_plans_jobs,
    patrol_settlement_jobs,
    rota_jobs,
    stats_jobs,
    system_jobs,
    training_jobs,
    volunteers_jobs,
)


def all_jobs() -> list[JobSpec[Any]]:
    """Every job, by name."""
    return registered()


def job_named(name: str) -> JobSpec[Any]:
    for spec in registered():
        if spec.name == name:
            return spec
    raise UnknownJob(f"no job is registered under the name {name!r}", zh=f"没有名为“{name}”的任务")
