from __future__ import annotations

from yijing.errors import Conflict, NotFound


class CaptainWeekNotFound(NotFound):
    code = "captain_week_not_found"


class WeekStarted(Conflict):
    """A week's captain is fixed once the week has begun."""

    code = "captain_week_started"


class UnavailabilityNotFound(NotFound):
    code = "unavailability_not_found"
