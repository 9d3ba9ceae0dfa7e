"""Two years of police alerts whose last complete month shows the article's year-on-year and monthly falls."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any

from yijing.access import StationScope
from yijing.demo.context import TIMEZONE, DemoContext
from yijing.ids import utcnow
from yijing.incidents import service as incidents_service
from yijing.stats import periods

# Incident alerts per month (the last complete month, the one before it, the same month a year earlier),
# chosen so that the article's changes come out exactly: criminal alerts −71.5 % year on year and −48.9 %
# month on month, floating-population alerts −72.1 % / −53.3 %, pornography and gambling −43.4 % / −41.3 %.
_ARTICLE_MONTHS = {
    ("class", "illegal_crime"): (47, 92, 165),
    ("tag", "floating_population"): (43, 92, 154),
    ("tag", "porn_gambling"): (64, 109, 113),
}
_OTHER_CLASSES = {"traffic": 30, "fire": 6, "dispute": 25, "assistance": 40, "other": 10}
INCIDENT_MONTHS = 24


def _monthly_level(rng: random.Random, figures: tuple[int, int, int], back: int) -> int:
    """The count ``back`` months before the last complete month: the article's three exactly, a plateau
    around the year-earlier level before the pilot took hold, and a fall over the last months."""
    latest, previous, year_before = figures
    if back in (0, 1, 12):
        return {0: latest, 1: previous, 12: year_before}[back]
    if back >= 6:
        return round(year_before * rng.uniform(0.9, 1.08))
    return round(previous + (year_before - previous) * (back - 1) / 5 * rng.uniform(0.9, 1.1))


async def load(demo: DemoContext) -> int:
    """Two years of alerts through the same path as the police's systems (staged, checked, merged), up to
    now; one just before midnight on a month's last day, which counts in that month."""
    rng, station, sites = demo.rng, demo.station, demo.sites
    today = utcnow().astimezone(TIMEZONE).date()
    last_complete = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    records: list[tuple[Any, ...]] = []

    def add(month: date, class_code: str, tags: list[str], count: int) -> None:
        days = (periods.month(month).end - month).days
        for _ in range(count):
            moment = datetime.combine(
                month + timedelta(days=rng.randrange(days)), datetime.min.time(), TIMEZONE
            )
            moment += timedelta(minutes=rng.randrange(24 * 60))
            if moment.date() >= today:  # only what has happened
                continue
            site = rng.choice([*sites, None])
            records.append(
                (len(records), "jq110", f"JQ{moment:%Y%m%d}-{len(records):06d}", station.id,
                 site.id if site else None, moment, class_code, tags)
            )  # fmt: skip

    for back in range(-1, INCIDENT_MONTHS):  # -1: this month so far
        index = last_complete.year * 12 + last_complete.month - 1 - back
        month = date(index // 12, index % 12 + 1, 1)
        for (kind, code), figures in _ARTICLE_MONTHS.items():
            count = _monthly_level(rng, figures, max(back, 0)) if back >= 0 else rng.randint(10, 20)
            if kind == "class":
                add(month, code, [], count)
            else:
                add(month, rng.choice(["public_order", "dispute", "assistance"]) if code != "porn_gambling"
                    else "public_order", [code], count)  # fmt: skip
        for code, level in _OTHER_CLASSES.items():
            add(month, code, [], round(level * rng.uniform(0.7, 1.3)))
    # Near midnight on the last day of the last complete month: still that month, in the station's time.
    month_end = datetime.combine(today.replace(day=1) - timedelta(days=1), datetime.min.time(), TIMEZONE)
    records.append(
        (len(records), "jq110", "JQ-MONTH-END", station.id, None,
         month_end + timedelta(hours=23, minutes=30), "traffic", [])
    )  # fmt: skip
    merged = await incidents_service.store(
        demo.session, StationScope.everywhere(), records, all_or_nothing=True
    )
    assert not merged.errors, merged.errors[:3]
    return merged.created
