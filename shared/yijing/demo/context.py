"""What every step of the demo shares, and the pilot's calendar from July 2023 ("今年7月…试点")."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from yijing.identity.models import User
from yijing.org.models import Site, Station
from yijing.settings import Settings

TIMEZONE = ZoneInfo("Asia/Shanghai")
PILOT_START = datetime(2023, 7, 1, 9, 0, tzinfo=TIMEZONE)


def opening(index: int) -> datetime:
    """When the ``index``-th site joined the pilot: one after another, a fortnight apart."""
    return PILOT_START + timedelta(days=14 * index)


@dataclass
class DemoContext:
    """What a step receives: the one transaction, the station and its sites and accounts (the first step's),
    and what later steps need from earlier ones. The steps draw from one random source in turn, so a step
    that draws from it changes everything drawn after it: a new one comes last, or takes its own source."""

    session: AsyncSession
    settings: Settings
    station: Station
    sites: list[Site]  # in the order of org.SITES
    users: dict[str, User]  # the demo accounts' users, by phone number
    # Invented data, the same every time.
    rng: random.Random = field(default_factory=lambda: random.Random(2023))  # noqa: S311
    # The stall keeper who signs in as the demo volunteer: their record, once the volunteers step made it.
    keeper_id: uuid.UUID | None = None
