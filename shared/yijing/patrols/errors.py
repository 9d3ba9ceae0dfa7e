from __future__ import annotations

from yijing.errors import Conflict, NotFound


class PatrolNotFound(NotFound):
    code = "patrol_not_found"


class PatrolNotPlanned(Conflict):
    """A patrol's plan (times, leader) changes only while it is planned."""

    code = "patrol_not_planned"
