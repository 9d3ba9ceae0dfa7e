from __future__ import annotations

from yijing.conflicts import Clash, register
from yijing.errors import Conflict, NotFound


class PatrolRouteNotFound(NotFound):
    code = "patrol_route_not_found"


class CheckpointNotFound(NotFound):
    code = "checkpoint_not_found"


class RouteNameTaken(Conflict):
    code = "route_name_taken"


class CheckpointCodeTaken(Conflict):
    code = "checkpoint_code_taken"


class RouteRetired(Conflict):
    """A retired route is kept as it was: no new checkpoints, no edits (deleting it stays possible)."""

    code = "route_retired"


class CheckpointInUse(Conflict):
    """Check-ins refer to the checkpoint: it stays, as the place they were made at."""

    code = "checkpoint_in_use"


class RouteInUse(Conflict):
    """A route patrols refer to is kept (retire it instead of deleting it)."""

    code = "route_in_use"


register(
    {
        "uq_patrol_routes_site_id_name": Clash(
            RouteNameTaken,
            "the site has a route named {name!r} already",
            zh="该站点已有名为“{name}”的巡防路线",
        ),
        "uq_patrol_checkpoints_station_id_code": Clash(
            CheckpointCodeTaken,
            "another checkpoint of the station has this code; choose another tag",
            zh="本派出所已有其他巡防点使用该编码，请换一个标签",
        ),
    }
)
