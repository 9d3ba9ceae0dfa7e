from __future__ import annotations

from yijing.errors import Conflict, Forbidden, NotFound


class PatrolNotFound(NotFound):
    code = "patrol_not_found"


class PatrolNotPlanned(Conflict):
    """A patrol's plan (times, leader) changes only while it is planned."""

    code = "patrol_not_planned"


class NotAMember(Forbidden):
    """Only a patrol's members (or staff, where they may) write to it: check-ins, log entries."""

    code = "not_a_member"


class ClientIdReused(Conflict):
    """A client_id the station already stores for a different record (a check-in, a log entry): the device
    must make a new one."""

    code = "client_id_reused"
