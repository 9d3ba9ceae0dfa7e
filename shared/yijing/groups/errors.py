from __future__ import annotations

from yijing.conflicts import Clash, register
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


register(
    {
        "uq_groups_site_id_name": Clash(
            GroupNameTaken, "the site has a group named {name!r} already", zh="该站点已有名为“{name}”的小组"
        )
    }
)
