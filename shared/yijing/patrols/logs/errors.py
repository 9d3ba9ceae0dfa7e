from __future__ import annotations

from yijing.errors import Conflict, NotFound


class LogNotFound(NotFound):
    code = "patrol_log_not_found"


class LogPhotoNotFound(NotFound):
    code = "patrol_log_photo_not_found"


class PatrolNotUnderWay(Conflict):
    """A log is written while a patrol is under way or after it: not before it starts, nor on a cancelled or
    missed one."""

    code = "patrol_not_under_way"
