"""The night market's evening patrol (晚间巡防): a route along 滨河路夜市 with the checkpoints scanned on it,
and every night's patrol since the pilot began — check-ins, log entries (the article's drink-driving
persuasion of 13 October 2023 and the quarrel outside a barbecue shop among them), settled as the worker
settles them."""

from __future__ import annotations

import random
import string
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.access import SYSTEM
from yijing.demo.context import PILOT_START, TIMEZONE, DemoContext
from yijing.demo.org import ASSISTANTS, OFFICERS, VOLUNTEER
from yijing.groups.models import Group, GroupMembership
from yijing.ids import new_id
from yijing.org.schemas import Location
from yijing.patrols.checkins.models import CheckinFlag, CheckinReview, PatrolCheckin
from yijing.patrols.logs.models import LogKind, LogTopic, PatrolLog
from yijing.patrols.models import MemberSource, Patrol, PatrolMember, PatrolStatus
from yijing.patrols.routes import service
from yijing.patrols.routes.models import PatrolCheckpoint, PatrolRoute
from yijing.patrols.routes.schemas import CheckpointCreate, PatrolRouteCreate
from yijing.patrols.settlement.service import settle_batch
from yijing.rota.models import CaptainWeek

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

# Every evening, 19:00–23:00, by the night market's groups in turn.
SHIFT_START = time(19, 0)
SHIFT = timedelta(hours=4)
# Nights nobody started (settled as missed), out of a thousand, and nights called off.
MISSED_PER_THOUSAND = 15
CANCELLED = {
    date(2023, 7, 28): "台风“杜苏芮”登陆，停止户外巡防",
    date(2023, 7, 29): "台风“杜苏芮”过境，停止户外巡防",
    date(2024, 6, 17): "暴雨红色预警，夜市停业",
    date(2025, 9, 3): "暴雨橙色预警，夜市停业",
}
# Check-ins whose fix drifted beyond their checkpoint, out of a thousand (kept, flagged, mostly accepted).
DRIFTED_PER_THOUSAND = 25
# The article's two evenings: “10月13日晚上…被身为‘义警’的卤味摊老板发现并被及时制止” and
# “义警队员在夜市巡逻时，发现几名年轻人在一烧烤店门口聚集并发生争吵，义警第一时间介入劝解”.
DRINK_DRIVING_NIGHT = date(2023, 10, 13)
QUARREL_NIGHT = date(2023, 10, 20)
_OUTREACH = (
    (LogTopic.ANTI_FRAUD, "向摊主和食客发放反诈宣传单，提醒不要扫陌生二维码", (20, 60)),
    (LogTopic.FIRE_SAFETY, "逐摊讲解液化气罐使用和灭火器摆放", (8, 20)),
    (LogTopic.THEFT_PREVENTION, "提醒食客看管好手机和电动车", (10, 30)),
    (LogTopic.TRAFFIC_SAFETY, "在停车场提醒电动车驾驶人佩戴头盔", (5, 15)),
)
_PERSUASIONS = (
    (LogTopic.DRINK_DRIVING, "一名食客饮酒后准备骑摩托车离开，经劝导改叫代驾"),
    (LogTopic.FIRE_SAFETY, "劝导烧烤摊主把液化气罐移出摊位后方通道"),
    (LogTopic.TRAFFIC_SAFETY, "劝导三轮车主不要在消防通道停放"),
)
_OBSERVATIONS = ("夜市人流正常，各摊位经营有序", "西入口路灯不亮，已告知市场管理方", "停车场车辆停放整齐")


async def load(demo: DemoContext) -> int:
    """The route and its checkpoints, made through the service as staff would, then the nights' patrols.
    The tags' codes and the nights come from random sources of this step's own (the demo's shared one is
    left as the later steps expect it)."""
    rng = random.Random(2024)  # noqa: S311 - invented tag codes, the same every time
    night_market = demo.sites[0]
    route = await service.create_route(
        demo.session,
        SYSTEM,
        PatrolRouteCreate(site_id=night_market.id, name=ROUTE_NAME, description=ROUTE_DESCRIPTION),
    )
    checkpoints = []
    for name, latitude, longitude, radius in CHECKPOINTS:
        code = "bhl-" + "".join(rng.choices(_CODE_ALPHABET, k=12))
        data = CheckpointCreate(
            name=name, location=Location(latitude=latitude, longitude=longitude), radius_m=radius, code=code
        )
        checkpoints.append(await service.add_checkpoint(demo.session, SYSTEM, route.id, data))
    return 1 + len(CHECKPOINTS) + await _nights(demo, route, checkpoints)


@dataclass
class _Night:
    day: date
    start: datetime
    members: list[uuid.UUID]
    leader: uuid.UUID


async def _nights(demo: DemoContext, route: PatrolRoute, checkpoints: list[PatrolCheckpoint]) -> int:
    """Every night from the pilot's first to last night, stored as the app would have stored them (in bulk:
    some twelve hundred nights), then settled by the worker's own rules."""
    rng = random.Random(2025)  # noqa: S311 - invented evenings, the same every time
    session = demo.session
    assert demo.keeper_id is not None
    authors = {"officer": demo.users[OFFICERS[0].phone].id, "keeper": demo.users[VOLUNTEER.phone].id}
    reviewer = demo.users[ASSISTANTS[0].phone].id
    groups = await _groups(session, route.site_id)
    captains = await _captains(session, list(groups))
    rows: dict[type, list[dict[str, Any]]] = {Patrol: [], PatrolMember: [], PatrolCheckin: [], PatrolLog: []}
    last_night = datetime.now(TIMEZONE).date() - timedelta(days=1)
    day, turn = PILOT_START.date(), 0
    while day <= last_night:
        group_id = list(groups)[turn % len(groups)]
        members = list(groups[group_id])
        start = datetime.combine(day, SHIFT_START, TIMEZONE)
        leader = captains.get((group_id, start.date() - timedelta(days=start.weekday())))
        leader = leader if leader in members else members[(turn // len(groups)) % len(members)]
        if day == DRINK_DRIVING_NIGHT and demo.keeper_id not in members:
            members.append(demo.keeper_id)  # the braised-food stall keeper of the article
        night = _Night(day, start, members, leader)
        patrol = _patrol(rng, night, route, group_id)
        rows[Patrol].append(patrol)
        rows[PatrolMember] += [
            {"patrol_id": patrol["id"], "volunteer_id": member, "source": MemberSource.GROUP}
            for member in members
        ]
        if patrol["status"] is PatrolStatus.COMPLETED:
            rows[PatrolCheckin] += _checkins(rng, night, patrol, checkpoints, reviewer)
            rows[PatrolLog] += _logs(rng, night, patrol, authors, demo.keeper_id)
        day += timedelta(days=1)
        turn += 1
    for table, table_rows in rows.items():
        for first in range(0, len(table_rows), 5000):
            await session.execute(insert(table), table_rows[first : first + 5000])
    while await settle_batch(session):
        pass
    return sum(len(table_rows) for table_rows in rows.values())


async def _groups(session: AsyncSession, site_id: uuid.UUID) -> dict[uuid.UUID, list[uuid.UUID]]:
    """The site's groups, in the order they were made, with their current members in join order."""
    query = (
        select(col(Group.id), col(GroupMembership.volunteer_id))
        .join(GroupMembership, col(GroupMembership.group_id) == col(Group.id))
        .where(col(Group.site_id) == site_id, col(GroupMembership.left_at).is_(None))
        .order_by(col(Group.created_at), col(Group.id), col(GroupMembership.joined_at))
    )
    groups: dict[uuid.UUID, list[uuid.UUID]] = {}
    for group_id, volunteer_id in await session.execute(query):
        groups.setdefault(group_id, []).append(volunteer_id)
    return groups


async def _captains(
    session: AsyncSession, group_ids: list[uuid.UUID]
) -> dict[tuple[uuid.UUID, date], uuid.UUID]:
    """The stored captain weeks (the last months'), by group and the Monday of the week."""
    query = select(CaptainWeek).where(col(CaptainWeek.group_id).in_(group_ids))
    captains = {}
    for week in await session.scalars(query):
        local = week.starts_at.astimezone(TIMEZONE).date()
        captains[(week.group_id, local - timedelta(days=local.weekday()))] = week.volunteer_id
    return captains


def _patrol(rng: random.Random, night: _Night, route: PatrolRoute, group_id: uuid.UUID) -> dict[str, Any]:
    """The night's patrol: started a few minutes after seven and completed by eleven, unless called off or
    (rarely) never started (left planned: settling marks it missed)."""
    patrol: dict[str, Any] = {
        "id": new_id(), "station_id": route.station_id, "site_id": route.site_id, "route_id": route.id,
        "group_id": group_id, "planned_start": night.start, "planned_end": night.start + SHIFT,
        "leader_volunteer_id": night.leader, "status": PatrolStatus.PLANNED, "started_at": None,
        "ended_at": None, "cancel_reason": None, "created_at": night.start - timedelta(days=7),
        "updated_at": night.start - timedelta(days=7),
    }  # fmt: skip
    if night.day in CANCELLED:
        patrol |= {"status": PatrolStatus.CANCELLED, "cancel_reason": CANCELLED[night.day]}
        patrol["updated_at"] = night.start - timedelta(hours=3)
    elif rng.randrange(1000) >= MISSED_PER_THOUSAND or night.day in (DRINK_DRIVING_NIGHT, QUARREL_NIGHT):
        started = night.start + timedelta(minutes=rng.randint(0, 8))
        ended = night.start + SHIFT - timedelta(minutes=rng.randint(0, 10))
        patrol |= {
            "status": PatrolStatus.COMPLETED,
            "started_at": started,
            "ended_at": ended,
            "updated_at": ended,
        }
    return patrol


def _checkins(
    rng: random.Random,
    night: _Night,
    patrol: dict[str, Any],
    checkpoints: list[PatrolCheckpoint],
    reviewer: uuid.UUID,
) -> list[dict[str, Any]]:
    """The leader scans every checkpoint east to west through the evening; two other members scan the
    entrances as they arrive and leave. A fix that drifted is flagged, and was mostly accepted on review."""
    others = [member for member in night.members if member != night.leader][:2]
    scans = [
        (night.leader, checkpoint, index / (len(checkpoints) - 1))
        for index, checkpoint in enumerate(checkpoints)
    ]
    scans += [(member, checkpoints[0], 0.0) for member in others] + [
        (member, checkpoints[-1], 1.0) for member in others
    ]
    rows = []
    for volunteer_id, checkpoint, along in scans:
        captured = night.start + timedelta(minutes=5 + along * 225 + rng.uniform(-4, 4))
        row: dict[str, Any] = {
            "id": new_id(), "station_id": patrol["station_id"], "patrol_id": patrol["id"],
            "volunteer_id": volunteer_id, "client_id": uuid.UUID(int=rng.getrandbits(128), version=4),
            "fingerprint": f"{rng.getrandbits(256):064x}", "checkpoint_id": checkpoint.id,
            "code": checkpoint.code,
            "latitude": checkpoint.latitude + rng.uniform(-0.00005, 0.00005),
            "longitude": checkpoint.longitude + rng.uniform(-0.00005, 0.00005),
            "accuracy_m": round(rng.uniform(4, 15), 1), "distance_m": round(rng.uniform(0, 8), 1),
            "captured_at": captured, "received_at": captured + timedelta(seconds=rng.randint(1, 20)),
            "flags": {}, "review": CheckinReview.NOT_NEEDED,
        }  # fmt: skip
        if rng.randrange(1000) < DRIFTED_PER_THOUSAND:
            drift = rng.uniform(150, 400)
            row["latitude"] = checkpoint.latitude + drift / 111_000
            row["distance_m"] = round(drift, 1)
            row["flags"] = {
                CheckinFlag.TOO_FAR.value: f"{drift:.0f} m from {checkpoint.name!r}: more than its radius of "
                f"{checkpoint.radius_m} m plus the fix's accuracy of {row['accuracy_m']:.0f} m"
            }
            accepted = rng.random() < 0.8
            row |= {
                "review": CheckinReview.ACCEPTED if accepted else CheckinReview.REJECTED,
                "reviewed_by": reviewer, "reviewed_at": captured + timedelta(hours=14),
                "review_note": "高楼遮挡，定位漂移，组长电话核实" if accepted else "定位与点位不符",
            }  # fmt: skip
        rows.append(row)
    return rows


@dataclass
class _Entry:
    kind: LogKind
    topic: LogTopic | None
    people: int | None
    text: str
    at: datetime
    author_id: uuid.UUID
    volunteer_id: uuid.UUID | None = None


def _logs(
    rng: random.Random,
    night: _Night,
    patrol: dict[str, Any],
    authors: dict[str, uuid.UUID],
    keeper_id: uuid.UUID,
) -> list[dict[str, Any]]:
    """What the officer wrote up from the evening (outreach most nights, a persuasion now and then), and the
    article's two evenings."""
    officer, start = authors["officer"], night.start
    entries = []
    if rng.random() < 0.35:
        topic, text, (fewest, most) = rng.choice(_OUTREACH)
        people, at = rng.randint(fewest, most), start + rng.uniform(0.1, 0.9) * SHIFT
        entries.append(_Entry(LogKind.OUTREACH, topic, people, text, at, officer))
    if rng.random() < 0.12:
        topic, text = rng.choice(_PERSUASIONS)
        entries.append(
            _Entry(LogKind.PERSUASION, topic, 1, text, start + rng.uniform(0.3, 0.95) * SHIFT, officer)
        )
    if rng.random() < 0.1:
        text, at = rng.choice(_OBSERVATIONS), start + rng.uniform(0, 1) * SHIFT
        entries.append(_Entry(LogKind.OBSERVATION, None, None, text, at, officer))
    if night.day == DRINK_DRIVING_NIGHT:
        text = "两名男子在卤味摊吃夜宵时喝了啤酒，其中一人准备开车离开，摊主（义警）发现后及时制止，同伴代驾"
        at = start + timedelta(hours=3, minutes=42)
        entries.append(
            _Entry(LogKind.PERSUASION, LogTopic.DRINK_DRIVING, 1, text, at, authors["keeper"], keeper_id)
        )
    if night.day == QUARREL_NIGHT:
        text = "几名年轻人在烧烤店门口聚集争吵，义警第一时间上前劝解，双方散去，未升级为打架斗殴"
        entries.append(
            _Entry(LogKind.DISPUTE, None, 5, text, start + timedelta(hours=3, minutes=10), officer)
        )
    return [
        {
            "id": new_id(),
            "station_id": patrol["station_id"],
            "patrol_id": patrol["id"],
            "client_id": uuid.UUID(int=rng.getrandbits(128), version=4),
            "fingerprint": f"{rng.getrandbits(256):064x}",
            "author_id": entry.author_id,
            "volunteer_id": entry.volunteer_id,
            "kind": entry.kind,
            "topic": entry.topic.value if entry.topic else None,
            "people": entry.people,
            "text": entry.text,
            "latitude": None,
            "longitude": None,
            "occurred_at": entry.at,
            "received_at": entry.at + timedelta(minutes=rng.randint(1, 30)),
            "hazard_id": None,
        }
        for entry in entries
    ]
