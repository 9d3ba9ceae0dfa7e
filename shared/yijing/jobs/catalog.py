"""Imports every domain's jobs module so that the registry is complete. A new domain adds its line here."""

from yijing.hazards import jobs as hazards_jobs
from yijing.incidents import jobs as incidents_jobs
from yijing.notifications import jobs as notifications_jobs
from yijing.rota import jobs as rota_jobs
from yijing.stats import jobs as stats_jobs
from yijing.system import jobs as system_jobs
from yijing.volunteers import jobs as volunteers_jobs

__all__ = [
    "hazards_jobs",
    "incidents_jobs",
    "notifications_jobs",
    "rota_jobs",
    "stats_jobs",
    "system_jobs",
    "volunteers_jobs",
]
