"""A demo station modelled on the source article, so that a newcomer meets a living system: the Ganzhe
police station of Minhou County (甘蔗派出所), its night market, Wanjia Plaza, Shimao commercial street and
rental-housing sites, 718 volunteers from the article's sources, and each site's 1+2+N team since the
pilot began in July 2023, its groups of ten with their weekly captains since each site opened, and the
hazards of the last months (the article's 133 eliminated among them) in every state of their lifecycle,
the night market's evening patrol route and every night's patrol on it since the pilot began (check-ins,
log entries, the article's drink-driving persuasion among them), the disputes mediated since then (the
article's 258 settled by its date among them, with their follow-up visits), and two years of police
incident alerts whose last complete month shows the article's year-on-year and month-on-month falls.
People, phone and ID-card numbers are invented.

One module per domain, each a step of ``load``: it receives the ``DemoContext`` (the transaction, the station,
its sites and accounts, the random source), adds its domain's rows, and returns how many it made."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from yijing.db import SessionFactory, session_scope
from yijing.demo import disputes, groups, hazards, incidents, org, patrols, statistics, training, volunteers
from yijing.demo.context import TIMEZONE
from yijing.demo.org import (
    DEFAULT_PASSWORD,
    FORMER_OFFICER,
    LEADER,
    OFFICERS,
    SITES,
    STATION_NAME,
    VOLUNTEER,
    DemoAccount,
    printed_accounts,
)
from yijing.org import repository as org_repository
from yijing.settings import Settings

__all__ = [
    "DEFAULT_PASSWORD",
    "FORMER_OFFICER",
    "LEADER",
    "OFFICERS",
    "SITES",
    "STATION_NAME",
    "TIMEZONE",
    "VOLUNTEER",
    "DemoAccount",
    "DemoLoaded",
    "load",
]


@dataclass(frozen=True)
class DemoLoaded:
    station_id: uuid.UUID
    created: bool  # False when the demo station was there already
    volunteers: int
    accounts: list[DemoAccount]
    groups: int = 0
    hazards: int = 0
    incidents: int = 0
    patrols: int = (
        0  # the route, its checkpoints, and the nights' patrols, members, check-ins and log entries
    )
    disputes: int = 0
    trainings: int = 0


async def load(
    factory: SessionFactory,
    settings: Settings,
    password: str = DEFAULT_PASSWORD,
    *,
    only_if_empty: bool = False,
) -> DemoLoaded | None:
    """Load the demo in one transaction, a step per domain in the order they depend on each other. A
    database with the demo station already is left as it is; with ``only_if_empty``, so is one with any
    station (someone's real data)."""
    async with session_scope(factory) as session:
        existing = await org_repository.station_id_by_name(session, STATION_NAME)
        if existing is not None:
            return DemoLoaded(existing, False, 0, printed_accounts())
        if only_if_empty and await org_repository.any_station_exists(session):
            return None
        demo = await org.load(session, settings, password)
        volunteer_count = await volunteers.load(demo)
        group_count = await groups.load(demo)
        hazard_count = await hazards.load(demo)
        incident_count = await incidents.load(demo)
        patrol_count = await patrols.load(demo)
        dispute_count = await disputes.load(demo)
        training_count = await training.load(demo)
        await statistics.load(demo)
    return DemoLoaded(
        demo.station.id, True, volunteer_count, printed_accounts(), group_count, hazard_count, incident_count,
        patrol_count, dispute_count, training_count,
    )  # fmt: skip
