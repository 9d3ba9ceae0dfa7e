from __future__ import annotations

from yijing.errors import Conflict, Forbidden, NotFound


class CheckinNotFound(NotFound):
    code = "checkin_not_found"


class NotAMember(Forbidden):
    code = "not_a_member"


class ClientIdReused(Conflict):
    """A client_id the station already stores for a different check-in: the device must make a new one."""

    code = "client_id_reused"


class PatrolCancelled(Conflict):
    code = "patrol_cancelled"


class CheckinNotPending(Conflict):
    """Only a flagged check-in awaiting review is reviewed, once."""

    code = "checkin_not_pending"
