from __future__ import annotations

from yijing.errors import Conflict, Forbidden, InvalidInput, NotFound


class TrainingNotFound(NotFound):
    code = "training_not_found"


class AttendanceNotFound(NotFound):
    """The volunteer is not enrolled in the training."""

    code = "attendance_not_found"


class TrainingStarted(Conflict):
    """A training is changed or cancelled only before it starts."""

    code = "training_started"


class TrainingNotOpen(Conflict):
    """Attendance is taken only for a scheduled training, within its session (with grace), and changed by
    staff until it is settled."""

    code = "training_not_open"


class WrongCode(InvalidInput):
    """A session code that is not this training's code now (another training's, an old one, a guess)."""

    code = "wrong_code"


class NotEnrolled(Forbidden):
    code = "not_enrolled"
