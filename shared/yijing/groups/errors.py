from __future__ import annotations

from yijing.errors import Conflict, NotFound


class GroupNotFound(NotFound):
    code = "group_not_found"


class GroupNameTaken(Conflict):
    code = "group_name_taken"


class NotAMember(NotFound):
    code = "group_member_not_found"


class AlreadyAMember(Conflict):
    code = "already_a_member"


class VolunteerNotServing(Conflict):
    """Only active volunteers join groups."""

    code = "volunteer_not_active"
