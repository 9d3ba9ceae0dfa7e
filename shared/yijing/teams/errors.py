from __future__ import annotations

from yijing.errors import Conflict, Forbidden, NotFound


class AssignmentNotFound(NotFound):
    code = "team_assignment_not_found"


class PostFilled(Conflict):
    """The site already has its officer, or both its assistants: the problem names who holds the post."""

    code = "team_post_filled"


class AlreadyOnTeam(Conflict):
    code = "already_on_team"


class AssignmentEnded(Conflict):
    code = "team_assignment_ended"


class PostNotGrantable(Forbidden):
    code = "team_post_not_grantable"
