"""Who captains which week: a pure function of the group's members, their availability and whose turns
the rota has given so far, so that planning the same inputs twice gives the same weeks (the reconcile job
relies on that to change nothing when nothing changed).

The rule: among the week's eligible members (in the group that week, active) who are available, those the
rota never gave a turn come first, in join order; then the one whose last turn was longest ago. So nobody
serves twice while an eligible, available member waits for a first or next turn; a newcomer serves at the
first week not yet started and everyone else keeps their order (each a week later); a leaver simply drops
out; and an unavailable member keeps their place and serves at their next free week. Swaps and overrides
change who actually serves, not whose turn it was, so they never reshuffle the queue. When nobody is
available, the week falls back to the member whose turn it is regardless.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from yijing.rota.models import CaptainSource
from yijing.rota.weeks import Week


@dataclass(frozen=True)
class Member:
    volunteer_id: uuid.UUID
    joined_at: datetime
    left_at: datetime | None
    order: int  # join order among members who joined at the same instant
    active: bool  # the volunteer's status allows serving

    def in_group_for(self, week: Week) -> bool:
        """Members for the whole week's end: a leaver is gone from the week they leave in."""
        return (
            self.active
            and self.joined_at < week.ends_at
            and (self.left_at is None or self.left_at >= week.ends_at)
        )


@dataclass(frozen=True)
class Pick:
    week: Week
    volunteer_id: uuid.UUID
    source: CaptainSource  # rotation or fallback


def _available(ranges: Iterable[tuple[date, date]], week: Week) -> bool:
    return all(ends_on < week.start or starts_on > week.last_day for starts_on, ends_on in ranges)


def plan(
    weeks: Sequence[Week],
    members: Sequence[Member],
    unavailable: Mapping[uuid.UUID, Sequence[tuple[date, date]]],
    last_turn: Mapping[uuid.UUID, datetime],
) -> list[Pick]:
    """One pick per week (in order) that has an eligible member; ``last_turn`` is when each member's last
    rota turn began, before the first of ``weeks``."""
    # (0, join time) for members never given a turn, else (1, when their last turn began): smallest first.
    queue_key = {
        m.volunteer_id: (1, last_turn[m.volunteer_id]) if m.volunteer_id in last_turn else (0, m.joined_at)
        for m in members
    }
    picks = []
    for week in weeks:
        eligible = [member for member in members if member.in_group_for(week)]
        if not eligible:
            continue
        available = [m for m in eligible if _available(unavailable.get(m.volunteer_id, ()), week)]
        source = CaptainSource.ROTATION if available else CaptainSource.FALLBACK
        chosen = min(available or eligible, key=lambda m: (queue_key[m.volunteer_id], m.order))
        queue_key[chosen.volunteer_id] = (1, week.starts_at)
        picks.append(Pick(week, chosen.volunteer_id, source))
    return picks
