from __future__ import annotations

from yijing.errors import Conflict, NotFound


class PatrolPlanNotFound(NotFound):
    code = "patrol_plan_not_found"


class PlanRetired(Conflict):
    """A retired plan is kept as it was, for the patrols it made: no edits, no new patrols."""

    code = "plan_retired"
