"""The night market's evening patrol (晚间巡防): a route along 滨河路夜市, the checkpoints scanned on it."""

from __future__ import annotations

import random
import string

from yijing.access import SYSTEM
from yijing.demo.context import DemoContext
from yijing.org.schemas import Location
from yijing.patrols.routes import service
from yijing.patrols.routes.schemas import CheckpointCreate, PatrolRouteCreate

ROUTE_NAME = "滨河路夜市巡防路线"
ROUTE_DESCRIPTION = (
    "每晚 19:00–23:00，由东入口经烧烤区、消防栓、配电箱至西入口；重点查看液化气罐、消防通道和占道经营"
)
# Along the market from east to west: (name, latitude, longitude, radius in metres).
CHECKPOINTS = (
    ("东入口牌坊", 26.1497, 119.1436, 30),
    ("烧烤区", 26.1496, 119.1428, 30),
    ("B区路口消防栓", 26.1495, 119.1421, 20),
    ("C区配电箱", 26.1494, 119.1414, 20),
    ("停车场", 26.1492, 119.1408, 50),
    ("西入口", 26.1495, 119.1403, 30),
)
_CODE_ALPHABET = string.ascii_letters + string.digits


async def load(demo: DemoContext) -> int:
    """The route and its checkpoints, made through the service as staff would. The tags' codes come from a
    random source of this step's own (the demo's shared one is left as the later steps expect it)."""
    rng = random.Random(2024)  # noqa: S311 - invented tag codes, the same every time
    night_market = demo.sites[0]
    route = await service.create_route(
        demo.session,
        SYSTEM,
        PatrolRouteCreate(site_id=night_market.id, name=ROUTE_NAME, description=ROUTE_DESCRIPTION),
    )
    for name, latitude, longitude, radius in CHECKPOINTS:
        code = "bhl-" + "".join(rng.choices(_CODE_ALPHABET, k=12))
        data = CheckpointCreate(
            name=name, location=Location(latitude=latitude, longitude=longitude), radius_m=radius, code=code
        )
        await service.add_checkpoint(demo.session, SYSTEM, route.id, data)
    return 1 + len(CHECKPOINTS)
