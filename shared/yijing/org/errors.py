from __future__ import annotations

from yijing.conflicts import Clash, register
from yijing.errors import Conflict, NotFound


class StationNotFound(NotFound):
    code = "station_not_found"


class SiteNotFound(NotFound):
    code = "site_not_found"


class StationNameTaken(Conflict):
    code = "station_name_taken"


class SiteNameTaken(Conflict):
    code = "site_name_taken"


class StationInUse(Conflict):
    code = "station_in_use"


class SiteInUse(Conflict):
    code = "site_in_use"


register(
    {
        "uq_stations_name": Clash(
            StationNameTaken, "a station named {name!r} exists already", zh="已有名为“{name}”的派出所"
        ),
        "uq_sites_station_id_name": Clash(
            SiteNameTaken,
            "the station has a site named {name!r} already",
            zh="本派出所已有名为“{name}”的站点",
        ),
    }
)
