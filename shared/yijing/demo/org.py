"""The Ganzhe police station (甘蔗派出所), its five pilot sites, and each site's 1+2+N team."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from yijing.access import SYSTEM, Role
from yijing.demo.context import TIMEZONE, DemoContext, opening
from yijing.identity import service as identity_service
from yijing.identity.models import User
from yijing.identity.schemas import AdminCreate, MemberCreate, StaffCreate
from yijing.org import repository as org_repository
from yijing.org.models import Site, SiteKind, Station
from yijing.personal import protector_for
from yijing.settings import Settings
from yijing.teams import repository as team_repository
from yijing.teams.models import Post, TeamAssignment
from yijing.volunteers.models import VolunteerSource

STATION_NAME = "甘蔗派出所"
DEFAULT_PASSWORD = "yijing-demo-2023"  # noqa: S105 - printed for signing in to the demo

_STALLS = ("卤味", "烧烤", "鱼丸", "炒粉", "奶茶", "海蛎饼", "锅边糊", "水果", "糖水", "拌面")
_SHOPS = ("服装店", "手机店", "药店", "超市", "餐馆", "茶叶店", "五金店", "眼镜店")


@dataclass(frozen=True)
class DemoSite:
    """A pilot site, with the volunteers it has (how many, drawn from which sources, in which households)."""

    name: str
    kind: SiteKind
    latitude: float
    longitude: float
    volunteers: int
    sources: dict[VolunteerSource, int]  # weights
    household: Callable[[random.Random, int], str]
    assistants: int = 2


def _stall(rng: random.Random, number: int) -> str:
    return f"{'ABCD'[number % 4]}区{number:03d}号 {rng.choice(_STALLS)}摊"


def _shop(rng: random.Random, number: int) -> str:
    return f"{number:03d}号 {rng.choice(_SHOPS)}"


def _house(rng: random.Random, number: int) -> str:
    return f"{number // 6 + 1}号楼 {rng.randint(1, 6)}0{rng.randint(1, 4)}室"


SITES = (
    DemoSite(
        "滨河路夜市", SiteKind.NIGHT_MARKET, 26.1496, 119.1421, 260,
        {
            VolunteerSource.STALL_OPERATOR: 90, VolunteerSource.SECURITY_GUARD: 5,
            VolunteerSource.AREA_LEADER: 5,
        },
        _stall,
    ),
    DemoSite(
        "万家广场", SiteKind.PLAZA, 26.1528, 119.1380, 120,
        {VolunteerSource.SHOP_OWNER: 60, VolunteerSource.SECURITY_GUARD: 30, VolunteerSource.RESIDENT: 10},
        _shop,
    ),
    DemoSite(
        "世茂商业街", SiteKind.COMMERCIAL_STREET, 26.1553, 119.1455, 140,
        {VolunteerSource.SHOP_OWNER: 70, VolunteerSource.SECURITY_GUARD: 25, VolunteerSource.OTHER: 5},
        _shop,
    ),
    DemoSite(
        "甘蔗新村出租屋", SiteKind.RENTAL_AREA, 26.1470, 119.1350, 108,
        {
            VolunteerSource.LANDLORD: 55, VolunteerSource.BUILDING_CAPTAIN: 20,
            VolunteerSource.COMMUNITY_CADRE: 10, VolunteerSource.AREA_LEADER: 10, VolunteerSource.RESIDENT: 5,
        },
        _house,
    ),
    DemoSite(
        "洽浦出租屋片区", SiteKind.RENTAL_AREA, 26.1602, 119.1298, 90,
        {
            VolunteerSource.LANDLORD: 60, VolunteerSource.BUILDING_CAPTAIN: 20,
            VolunteerSource.COMMUNITY_CADRE: 15, VolunteerSource.RESIDENT: 5,
        },
        _house,
        assistants=1,  # a post left open, so the team endpoint has a gap to show
    ),
)  # fmt: skip


@dataclass(frozen=True)
class DemoAccount:
    role: Role
    name: str
    phone: str
    note: str


# The accounts printed for sign-in; every other demo account shares the password too.
ADMIN = DemoAccount(Role.ADMIN, "县局管理员", "13900000001", "county admin: every station")
LEADER = DemoAccount(Role.LEADER, "张所长", "13900000002", "station leader")
OFFICERS = [
    DemoAccount(Role.OFFICER, f"{surname}警官", f"139000000{11 + index}", f"community officer, {site.name}")
    for index, (surname, site) in enumerate(zip("林陈黄郑王", SITES, strict=True))
]
FORMER_OFFICER = DemoAccount(Role.OFFICER, "郭警官", "13900000019", "community officer, moved on")
_ASSISTANT_NAMES = ("陈晓燕", "黄志伟", "郑丽华", "王俊杰", "刘芳", "吴建平", "李婷", "杨帆", "何敏")
ASSISTANTS = [
    DemoAccount(Role.ASSISTANT, name, f"139000000{21 + index}", "police assistant")
    for index, name in enumerate(_ASSISTANT_NAMES[: sum(site.assistants for site in SITES)])
]
VOLUNTEER = DemoAccount(Role.VOLUNTEER, "翁师傅", "13900000099", "volunteer, a stall keeper at 滨河路夜市")


def printed_accounts() -> list[DemoAccount]:
    return [ADMIN, LEADER, OFFICERS[0], ASSISTANTS[0], VOLUNTEER]


async def load(session: AsyncSession, settings: Settings, password: str) -> DemoContext:
    """The first step: the station, its sites, accounts and teams, in the context the other steps build on."""
    station = Station(name=STATION_NAME, division_code="350121", timezone=TIMEZONE.key)
    await org_repository.save(session, station)
    sites = []
    for spec in SITES:
        site = Site(
            station_id=station.id, name=spec.name, kind=spec.kind, latitude=spec.latitude,
            longitude=spec.longitude,
        )  # fmt: skip
        await org_repository.save(session, site)
        sites.append(site)
    users = await _accounts(session, settings, station.id, password)
    await _teams(session, station.id, sites, users)
    return DemoContext(session, settings, station, sites, users)


async def _accounts(
    session: AsyncSession, settings: Settings, station_id: uuid.UUID, password: str
) -> dict[str, User]:
    protector = protector_for(settings.personal_data_key)
    users: dict[str, User] = {}
    everyone = [ADMIN, LEADER, *OFFICERS, FORMER_OFFICER, *ASSISTANTS, VOLUNTEER]
    for account in everyone:
        data: AdminCreate | MemberCreate | StaffCreate
        common = {"name": account.name, "phone": account.phone, "password": password}
        if account.role is Role.ADMIN:
            data = AdminCreate(role=Role.ADMIN, **common)
        elif account.role in (Role.OFFICER, Role.ASSISTANT):
            data = StaffCreate(role=account.role, station_id=station_id, **common)
        else:
            data = MemberCreate(role=account.role, station_id=station_id, **common)
        users[account.phone] = await identity_service.create_user(session, SYSTEM, data, protector)
    return users


async def _teams(
    session: AsyncSession, station_id: uuid.UUID, sites: list[Site], users: dict[str, User]
) -> None:
    """Each site's officer and assistants since the pilot; Wanjia Plaza changed officers in August."""
    assistants = iter(ASSISTANTS)
    handover = datetime(2023, 8, 1, 9, 0, tzinfo=TIMEZONE)
    for index, (spec, site) in enumerate(zip(SITES, sites, strict=True)):
        started = opening(index)
        officer = users[OFFICERS[index].phone]
        if spec.kind is SiteKind.PLAZA:
            former = users[FORMER_OFFICER.phone]
            await team_repository.save(
                session,
                TeamAssignment(
                    station_id=station_id, site_id=site.id, user_id=former.id, post=Post.OFFICER,
                    starts_at=started, ends_at=handover, end_reason="调往县局治安大队",
                ),
            )  # fmt: skip
            started = handover
        posts = [(officer, Post.OFFICER)]
        posts += [(users[next(assistants).phone], Post.ASSISTANT) for _ in range(spec.assistants)]
        for user, post in posts:
            assignment = TeamAssignment(
                station_id=station_id, site_id=site.id, user_id=user.id, post=post, starts_at=started
            )
            await team_repository.save(session, assignment)
