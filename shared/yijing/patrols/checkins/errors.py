from __future__ import annotations

from yijing.errors import Conflict, NotFound


class CheckinNotFound(NotFound):
    code = "checkin_not_found"


class PatrolCancelled(Conflict):
    code = "patrol_cancelled"


class CheckinNotPending(Conflict):
    """Only a flagged check-in awaiting review is reviewed, once."""

    code = "checkin_not_pending"


class TooManyNotes(Conflict):
    code = "too_many_notes"
