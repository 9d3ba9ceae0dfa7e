"""The article's figures, counted as soon as the data is in, so that the first statistics call shows them."""

from __future__ import annotations

from yijing.demo.context import DemoContext
from yijing.ids import utcnow
from yijing.stats import rollups
from yijing.stats.sources import SOURCES


async def load(demo: DemoContext) -> None:
    """The last step: every source's rollups (each domain's figures), counted from what the others made."""
    for source in SOURCES.values():
        await rollups.check(demo.session, source, [demo.station.id], utcnow())
