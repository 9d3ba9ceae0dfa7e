"""A demo station modelled on the source article, so that a newcomer meets a living system: the Ganzhe
police station of Minhou County (甘蔗派出所), its night market, Wanjia Plaza, Shimao commercial street and
rental-housing sites, 718 volunteers from the article's sources, and each site's 1+2+N team since the
pilot began in July 2023, its groups of ten with their weekly captains since each site opened, and the
hazards of the last months (the article's 133 eliminated among them) in every state of their lifecycle,
and two years of police incident alerts whose last complete month shows the article's year-on-year and
month-on-month falls. People, phone and ID-card numbers are invented. Later issues extend the demo."""

from __future__ import annotations

import hashlib
import io
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession

from yijing.access import SYSTEM, Actor, Principal, Role, StationScope
from yijing.db import SessionFactory, session_scope
from yijing.groups import repository as group_repository
from yijing.groups import service as group_service
from yijing.groups.models import Group
from yijing.hazards import repository as hazard_repository
from yijing.hazards.models import (
    OPEN_STATUSES,
    AttachmentKind,
    Hazard,
    HazardAttachment,
    HazardCategory,
    HazardSeverity,
    HazardSource,
    HazardStatus,
    ReporterRole,
)
from yijing.hazards.service import DEFAULT_DEADLINE_DAYS, event_row
from yijing.identity import service as identity_service
from yijing.identity.models import User
from yijing.identity.schemas import AdminCreate, MemberCreate, StaffCreate
from yijing.ids import new_id, utcnow
from yijing.incidents import service as incidents_service
from yijing.org import repository as org_repository
from yijing.org.models import Site, SiteKind, Station
from yijing.personal import id_card_check_code, protector_for
from yijing.rota import repository as rota_repository
from yijing.rota import service as rota_service
from yijing.rota.models import Unavailability
from yijing.rota.reconcile import handoff_of, reconcile_group
from yijing.rota.schemas import OverrideRequest, UnavailabilityCreate
from yijing.settings import Settings
from yijing.stats import periods, rollups
from yijing.stats.sources import SOURCES
from yijing.storage import store_for
from yijing.teams import repository as team_repository
from yijing.teams.models import Post, TeamAssignment
from yijing.volunteers import repository as volunteer_repository
from yijing.volunteers.models import Gender, Volunteer, VolunteerSource, VolunteerStatus
from yijing.volunteers.schemas import VolunteerCreate
from yijing.volunteers.service import enrolment_row, volunteer_row

STATION_NAME = "甘蔗派出所"
DEFAULT_PASSWORD = "yijing-demo-2023"  # noqa: S105 - printed for signing in to the demo
TIMEZONE = ZoneInfo("Asia/Shanghai")
PILOT_START = datetime(2023, 7, 1, 9, 0, tzinfo=TIMEZONE)  # "今年7月，以滨河路夜市一条街为试点"
GROUP_SIZE = 10  # "每十户为一组"
# The captain weeks stored before now (the groups themselves date from each site's opening), and how often
# the history is reconciled: within the groups' eight-week horizon, so the stored weeks run on unbroken, as
# if the worker had been running all along. A few months keep loading the demo to seconds.
HISTORY = timedelta(weeks=16)
HISTORY_STEP = timedelta(weeks=4)

_SURNAMES = "林陈黄郑王张刘吴李翁魏杨何周许游叶江高潘"
_GIVEN = (
    "秀英", "建华", "美玲", "国强", "丽娟", "志明", "海燕", "金水", "春花", "德福",
    "玉兰", "文斌", "淑芬", "永福", "桂香", "明辉", "雪梅", "长青", "佩琳", "少华",
)  # fmt: skip
_SKILLS = ("急救", "消防", "调解", "普法宣传", "驾驶", "外语")
_STALLS = ("卤味", "烧烤", "鱼丸", "炒粉", "奶茶", "海蛎饼", "锅边糊", "水果", "糖水", "拌面")
_SHOPS = ("服装店", "手机店", "药店", "超市", "餐馆", "茶叶店", "五金店", "眼镜店")


@dataclass(frozen=True)
class DemoSite:
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


@dataclass(frozen=True)
class DemoLoaded:
    station_id: uuid.UUID
    created: bool  # False when the demo station was there already
    volunteers: int
    accounts: list[DemoAccount]
    groups: int = 0
    hazards: int = 0
    incidents: int = 0


def printed_accounts() -> list[DemoAccount]:
    return [ADMIN, LEADER, OFFICERS[0], ASSISTANTS[0], VOLUNTEER]


async def load(
    factory: SessionFactory,
    settings: Settings,
    password: str = DEFAULT_PASSWORD,
    *,
    only_if_empty: bool = False,
) -> DemoLoaded | None:
    """Load the demo in one transaction. A database with the demo station already is left as it is; with
    ``only_if_empty``, so is one with any station (someone's real data)."""
    async with session_scope(factory) as session:
        existing = await org_repository.station_id_by_name(session, STATION_NAME)
        if existing is not None:
            return DemoLoaded(existing, False, 0, printed_accounts())
        if only_if_empty and await org_repository.any_station_exists(session):
            return None
        rng = random.Random(2023)  # noqa: S311 - invented data, the same every time
        station = Station(name=STATION_NAME, division_code="350121", timezone="Asia/Shanghai")
        await org_repository.add(session, station)
        sites = []
        for spec in SITES:
            site = Site(
                station_id=station.id, name=spec.name, kind=spec.kind, latitude=spec.latitude,
                longitude=spec.longitude,
            )  # fmt: skip
            await org_repository.add(session, site)
            sites.append(site)
        users = await _accounts(session, settings, station.id, password)
        await _teams(session, station.id, sites, users)
        volunteers, keeper = await _volunteers(session, settings, rng, sites)
        groups = await _groups(session, station.id, sites, users, keeper)
        hazards = await _hazards(session, settings, rng, sites, users, keeper)
        incidents = await _incidents(session, rng, station, sites)
        # The figures, counted now, so that the first statistics call has them.
        for source in SOURCES.values():
            await rollups.check(session, source, [station.id], utcnow())
    return DemoLoaded(station.id, True, volunteers, printed_accounts(), groups, hazards, incidents)


def _opening(index: int) -> datetime:
    """When the ``index``-th site joined the pilot: one after another, a fortnight apart."""
    return PILOT_START + timedelta(days=14 * index)


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
        started = _opening(index)
        officer = users[OFFICERS[index].phone]
        if spec.kind is SiteKind.PLAZA:
            former = users[FORMER_OFFICER.phone]
            await team_repository.add(
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
            await team_repository.add(session, assignment)


def _person(rng: random.Random, serial: int) -> tuple[str, Gender, str, str]:
    """An invented name, gender, mobile number and valid ID-card number (Minhou County)."""
    gender = rng.choice((Gender.FEMALE, Gender.MALE))
    name = rng.choice(_SURNAMES) + rng.choice(_GIVEN)
    born = date(1958, 1, 1) + timedelta(days=rng.randint(0, 42 * 365))
    # The sequence's last digit is odd for men, even for women (GB 11643); the serial keeps it unique.
    sequence = serial * 2 + (1 if gender is Gender.MALE else 0)
    first17 = f"350121{born:%Y%m%d}{sequence % 1000:03d}"
    return name, gender, f"138{serial:08d}", first17 + id_card_check_code(first17)


async def _volunteers(
    session: AsyncSession, settings: Settings, rng: random.Random, sites: list[Site]
) -> tuple[int, uuid.UUID]:
    """The volunteers, and the record of the stall keeper who signs in as the demo volunteer (linked to the
    account once the rota history is stored: the history's handoff notices are not news to anyone)."""
    protector = protector_for(settings.personal_data_key)
    records: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    serial = 0
    for index, (spec, site) in enumerate(zip(SITES, sites, strict=True)):
        opened = _opening(index).date()
        sources = list(spec.sources)
        weights = list(spec.sources.values())
        for number in range(spec.volunteers):
            name, gender, phone, id_card = _person(rng, serial)
            first = serial == 0  # the night market's first stall keeper
            fate = None if first else _fate(rng)
            data = VolunteerCreate(
                name=VOLUNTEER.name if first else name,
                gender=Gender.MALE if first else gender,
                phone=phone,
                id_card_number=id_card,
                site_id=site.id,
                source=rng.choices(sources, weights)[0] if not first else VolunteerSource.STALL_OPERATOR,
                household_name=spec.household(rng, number),
                badge_number=f"GZ-{serial + 1:04d}",
                skills=rng.sample(_SKILLS, rng.randint(0, 2)),
                joined_on=opened + timedelta(days=rng.randint(0, 100)),
                user_id=None,
                status=VolunteerStatus.APPLIED if fate is VolunteerStatus.APPLIED else VolunteerStatus.ACTIVE,
            )
            row = volunteer_row(data, site.station_id, opened, protector)
            row["created_at"] = row["updated_at"] = datetime.combine(
                row["joined_on"], datetime.min.time(), TIMEZONE
            )
            records.append(row)
            history.append(enrolment_row(row, "enrol", None))
            if fate is not None and fate in _LEAVING:
                history.append(_leave(row, fate))
            serial += 1
    await volunteer_repository.insert_new(session, records)
    await volunteer_repository.insert_status_changes(session, history)
    return len(records), records[0]["id"]


def _fate(rng: random.Random) -> VolunteerStatus | None:
    """A few volunteers applied only recently, were suspended, or retired: the lifecycle in the data."""
    roll = rng.random()
    if roll < 0.02:
        return VolunteerStatus.APPLIED
    if roll < 0.04:
        return VolunteerStatus.SUSPENDED
    if roll < 0.05:
        return VolunteerStatus.RETIRED
    return None


# Status: (action, reason, days after enrolment).
_LEAVING = {
    VolunteerStatus.SUSPENDED: ("suspend", "连续两月未参加培训", 60),
    VolunteerStatus.RETIRED: ("retire", "摊位转让，退出义警", 75),
}


def _leave(volunteer: dict[str, Any], to_status: VolunteerStatus) -> dict[str, Any]:
    """Move an enrolled volunteer (column values) on to ``to_status``: the history row for it."""
    action, reason, days = _LEAVING[to_status]
    occurred_at = volunteer["created_at"] + timedelta(days=days)
    volunteer.update(status=to_status, version=volunteer["version"] + 1, updated_at=occurred_at)
    return {
        "id": new_id(),
        "volunteer_id": volunteer["id"],
        "from_status": VolunteerStatus.ACTIVE,
        "to_status": to_status,
        "action": action,
        "reason": reason,
        "actor_id": None,
        "occurred_at": occurred_at,
    }


async def _groups(
    session: AsyncSession, station_id: uuid.UUID, sites: list[Site], users: dict[str, User], keeper: uuid.UUID
) -> int:
    """Each site's active volunteers in groups of ten since the site opened, made as auto-assign makes them,
    and HISTORY of captain weeks: the rota reconciled every HISTORY_STEP up to now, as the worker would have
    done. A few members were away at times (the rota passed them over, or will), and an officer has chosen
    one coming week's captain of the demo volunteer's group by hand."""
    now = utcnow()
    since = now - HISTORY
    site_groups: list[list[uuid.UUID]] = []
    for index, site in enumerate(sites):
        opened = _opening(index)
        assigned = await group_service.auto_assign(
            session, SYSTEM, site.id, GROUP_SIZE, now=since, joined_at=opened
        )
        site_groups.append([group.id for group in assigned.groups])
        for made in assigned.groups:
            group = await session.get(Group, made.id)
            assert group is not None
            group.created_at = group.updated_at = opened
    await _time_away(session, station_id, site_groups, since, users[OFFICERS[0].phone])
    every = [group_id for groups in site_groups for group_id in groups]
    for group_id in every:
        moment = since + HISTORY_STEP
        while moment < now:
            await reconcile_group(session, group_id, moment)
            moment += HISTORY_STEP
    volunteer = await session.get(Volunteer, keeper)
    assert volunteer is not None
    volunteer.user_id = users[VOLUNTEER.phone].id
    await session.flush()
    for group_id in every:
        await reconcile_group(session, group_id, now)
    await _upcoming(session, _actor(users[OFFICERS[0].phone], station_id), site_groups, volunteer, now)
    return sum(len(groups) for groups in site_groups)


def _actor(user: User, station_id: uuid.UUID) -> Actor:
    """A staff member acting through the services, as through the API (for the audit log and reach)."""
    scope = StationScope(frozenset({station_id}))
    return Actor(Principal(kind="user", id=user.id, scope=scope, role=user.role, station_id=station_id))


async def _members(session: AsyncSession, group_id: uuid.UUID) -> list[Volunteer]:
    """In join order: the order the rota first gives them turns in."""
    return [volunteer for _, volunteer in await group_repository.members(session, group_id)]


# Members away in the past, recorded before the history is planned, each over the week the rota would have
# made them captain (so it passed them over): (site, group, weeks after the rota began, days, reason). Weeks
# from the tenth on: the first nine were planned when the groups were made.
_AWAY = (
    (0, 0, 9, 13, "回老家探亲"),
    (0, 2, 11, 6, "外出进货"),
    (1, 0, 12, 13, "住院手术"),
    (3, 1, 14, 6, "外出务工"),
)


async def _time_away(
    session: AsyncSession,
    station_id: uuid.UUID,
    site_groups: list[list[uuid.UUID]],
    since: datetime,
    officer: User,
) -> None:
    for site, group_index, weeks, days, reason in _AWAY:
        group = await session.get(Group, site_groups[site][group_index])
        assert group is not None
        members = await _members(session, group.id)
        starts_on = handoff_of(group, TIMEZONE.key).week_start(since) + timedelta(weeks=weeks)
        recorded = datetime.combine(starts_on - timedelta(days=10), datetime.min.time(), TIMEZONE)
        await rota_repository.add(
            session,
            Unavailability(
                volunteer_id=members[weeks % len(members)].id, station_id=station_id, starts_on=starts_on,
                ends_on=starts_on + timedelta(days=days), reason=reason, created_by=officer.id,
                created_at=recorded,
            ),
        )  # fmt: skip


async def _upcoming(
    session: AsyncSession,
    officer: Actor,
    site_groups: list[list[uuid.UUID]],
    volunteer: Volunteer,
    now: datetime,
) -> None:
    """Through the services, as an officer would: two captains of coming weeks away (the rota re-plans), and
    a coming week of the demo volunteer's group given to them by hand."""
    for site, group_index, weeks, days, reason in ((0, 1, 2, 9, "陪护家人就医"), (2, 0, 3, 6, "外出学习")):
        group = await group_service.get_group(session, officer, site_groups[site][group_index])
        week_start = handoff_of(group, TIMEZONE.key).week_start(now) + timedelta(weeks=weeks)
        planned = await rota_repository.week_by_start(session, group.id, week_start)
        assert planned is not None
        away = UnavailabilityCreate(
            starts_on=week_start, ends_on=week_start + timedelta(days=days), reason=reason
        )
        await rota_service.add_unavailability(session, officer, planned.volunteer_id, away)
    membership = await group_repository.open_membership(session, volunteer.id)
    assert membership is not None
    group = await group_service.get_group(session, officer, membership.group_id)
    next_week = handoff_of(group, TIMEZONE.key).week_start(now) + timedelta(weeks=1)
    for week_start in (next_week, next_week + timedelta(weeks=1)):
        planned = await rota_repository.week_by_start(session, group.id, week_start)
        if planned is not None and planned.volunteer_id != volunteer.id:
            request = OverrideRequest(
                volunteer_id=volunteer.id, reason="夜市周末促销活动，由熟悉摊位的队员带班"
            )
            await rota_service.override(session, officer, group.id, week_start, request)
            return


# Hazards: the article's three months (133 eliminated), plus those closed without a fix and those still
# open, as (status, count).
HAZARD_DAYS = 90
_HAZARD_OUTCOMES = (
    (HazardStatus.ELIMINATED, 133),
    (HazardStatus.DUPLICATE, 9),
    (HazardStatus.NOT_HAZARD, 7),
    (HazardStatus.REFERRED, 4),
    (HazardStatus.RECTIFYING, 8),
    (HazardStatus.VERIFIED, 5),
    (HazardStatus.REPORTED, 6),
)
_HAZARD_KINDS = (
    (
        HazardCategory.FIRE,
        8,
        ("液化气罐紧挨灶台，无防护", "灭火器过期未更换", "消防通道堆放杂物", "油烟管道积油严重"),
    ),
    (HazardCategory.ELECTRICAL, 4, ("电线私拉乱接", "插排串接使用", "电动车楼道内充电", "配电箱未上锁")),
    (
        HazardCategory.PUBLIC_SECURITY,
        4,
        ("监控探头损坏", "出租屋门禁损坏", "夜间照明不足", "可疑人员多次出没"),
    ),
    (HazardCategory.TRAFFIC, 2, ("摊位占道经营", "路口缺少减速标志")),
    (HazardCategory.BUILDING, 1, ("雨棚松动有坠落风险", "外墙瓷砖空鼓")),
    (HazardCategory.OTHER, 1, ("窨井盖缺失",)),
)
_AGENCIES = ("县消防救援大队", "县住建局", "县市场监管局", "县交警大队")


@dataclass
class _Story:
    """One demo hazard's history as it is written: each step by the site's officer, some hours after the
    one before (never later than ``latest``)."""

    hazard: Hazard
    officer_id: uuid.UUID
    moment: datetime
    rng: random.Random
    latest: datetime
    events: list[dict[str, Any]] = field(default_factory=list)

    def step(self, action: str, after: HazardStatus, note: str, **details: Any) -> None:
        self.moment = min(self.moment + timedelta(hours=self.rng.uniform(2, 40)), self.latest)
        before = self.hazard.status
        self.hazard.status = after
        self.hazard.version += 1
        row = event_row(self.hazard, action, self.officer_id, note=note, from_status=before, details=details)
        self.events.append(row | {"occurred_at": self.moment})


async def _hazards(
    session: AsyncSession,
    settings: Settings,
    rng: random.Random,
    sites: list[Site],
    users: dict[str, User],
    keeper: uuid.UUID,
) -> int:
    """The hazards of the last HAZARD_DAYS with the history each would have: reported by the demo volunteer
    (at the night market) or an assistant, checked and closed by the site's officer, eliminated ones with an
    inspection note; open ones past their deadline flagged overdue, and a before-photo on the night
    market's open ones."""
    now = utcnow()
    today = now.astimezone(TIMEZONE).date()
    assistants = iter(ASSISTANTS)
    site_assistants = [[users[next(assistants).phone] for _ in range(spec.assistants)] for spec in SITES]
    kinds = [(category, texts) for category, weight, texts in _HAZARD_KINDS for _ in range(weight)]
    hazards: list[Hazard] = []
    events: list[dict[str, Any]] = []
    originals: dict[uuid.UUID, Hazard] = {}
    outcomes = [status for status, count in _HAZARD_OUTCOMES for _ in range(count)]
    rng.shuffle(outcomes)
    for number, status in enumerate(outcomes):
        index = number % len(sites)
        site, officer = sites[index], users[OFFICERS[index].phone]
        # Open ones are recent; closed ones spread over the whole period.
        recent = status in OPEN_STATUSES
        age = timedelta(days=rng.uniform(0.5, 12 if recent else HAZARD_DAYS), hours=rng.uniform(0, 12))
        reported = now - age
        category, texts = rng.choice(kinds)
        severity = rng.choices(list(HazardSeverity), weights=(3, 5, 3, 1))[0]
        by_volunteer = index == 0 and number % 3 == 0
        reporter = users[VOLUNTEER.phone] if by_volunteer else rng.choice(site_assistants[index] or [officer])
        stall = SITES[index].household(rng, rng.randint(1, 200))
        hazard = Hazard(
            station_id=site.station_id, site_id=site.id, category=category, severity=severity,
            source=HazardSource.PATROL if by_volunteer else rng.choice(list(HazardSource)),
            description=f"{stall}：{rng.choice(texts)}", latitude=site.latitude, longitude=site.longitude,
            address=f"{site.name} {stall}", responsible_party=stall, reporter_id=reporter.id,
            reporter_role=ReporterRole.VOLUNTEER if by_volunteer else ReporterRole(reporter.role.value),
            reporter_volunteer_id=keeper if by_volunteer else None,
            deadline=reported.astimezone(TIMEZONE).date() + timedelta(days=DEFAULT_DEADLINE_DAYS[severity]),
            status=HazardStatus.REPORTED, created_at=reported, updated_at=reported,
        )  # fmt: skip
        story = _Story(hazard, officer.id, reported, rng, now - timedelta(minutes=10))
        story.events.append(
            event_row(hazard, "report", reporter.id, details={"severity": severity.value})
            | {"occurred_at": reported}
        )
        if status is HazardStatus.DUPLICATE and site.id in originals:
            hazard.duplicate_of_id = originals[site.id].id
            story.step("duplicate", status, "同一问题已有报告", duplicate_of=str(hazard.duplicate_of_id))
        elif status in {HazardStatus.DUPLICATE, HazardStatus.NOT_HAZARD}:  # a duplicate needs an original
            story.step("dismiss", HazardStatus.NOT_HAZARD, "核查后不构成隐患")
        elif status is not HazardStatus.REPORTED:
            story.step("verify", HazardStatus.VERIFIED, "现场核实属实")
        if status is HazardStatus.REFERRED:
            hazard.referred_to = rng.choice(_AGENCIES)
            story.step("refer", status, "超出派出所职责范围", agency=hazard.referred_to)
        if status in {HazardStatus.RECTIFYING, HazardStatus.ELIMINATED}:
            story.step("rectify", HazardStatus.RECTIFYING, "已下达整改通知", responsible_party=stall)
        if status is HazardStatus.ELIMINATED:
            story.step("eliminate", status, "整改到位", inspection_note="复查：已整改到位", after_photo=False)
            hazard.eliminated_at = story.moment
            originals.setdefault(site.id, hazard)
        if hazard.status not in OPEN_STATUSES:
            hazard.closed_at = story.moment
        hazard.updated_at = story.moment
        if hazard.status in OPEN_STATUSES and hazard.deadline < today:
            hazard.overdue = True
            hazard.version += 1
            flagged = datetime.combine(hazard.deadline + timedelta(days=1), datetime.min.time(), TIMEZONE)
            story.events.append(
                event_row(hazard, "overdue", None, details={"deadline": str(hazard.deadline)})
                | {"occurred_at": flagged}
            )
        events.extend(story.events)
        hazards.append(hazard)
    session.add_all(hazards)
    await session.flush()
    await hazard_repository.insert_events(session, events)
    await _hazard_photos(
        session, settings, [h for h in hazards if h.site_id == sites[0].id and h.status in OPEN_STATUSES]
    )
    return len(hazards)


async def _hazard_photos(session: AsyncSession, settings: Settings, hazards: list[Hazard]) -> None:
    """A before-photo for each: a plain picture, so that downloads work in the demo."""
    store = store_for(settings)
    for number, hazard in enumerate(hazards):
        picture = io.BytesIO()
        Image.new("RGB", (320, 240), (200, 60 + 20 * number % 180, 40)).save(picture, format="JPEG")
        data = picture.getvalue()
        digest = hashlib.sha256(data).hexdigest()
        attachment = HazardAttachment(
            hazard_id=hazard.id, kind=AttachmentKind.BEFORE, media_type="image/jpeg", size_bytes=len(data),
            width=320, height=240, upload_sha256=digest, sha256=digest, file_name=f"现场照片{number + 1}.jpg",
            storage_key=f"hazards/{hazard.id}/demo-before", uploaded_by=hazard.reporter_id,
            created_at=hazard.created_at,
        )  # fmt: skip
        await hazard_repository.add(session, attachment)
        details = {"attachment_id": str(attachment.id), "kind": "before", "media_type": "image/jpeg"}
        attached = event_row(hazard, "attach", hazard.reporter_id, details=details)
        await hazard_repository.insert_events(session, [attached | {"occurred_at": hazard.created_at}])
        await store.put(attachment.storage_key, data, attachment.media_type)


# Incident alerts per month (the last complete month, the one before it, the same month a year earlier),
# chosen so that the article's changes come out exactly: criminal alerts −71.5 % year on year and −48.9 %
# month on month, floating-population alerts −72.1 % / −53.3 %, pornography and gambling −43.4 % / −41.3 %.
_ARTICLE_MONTHS = {
    ("class", "illegal_crime"): (47, 92, 165),
    ("tag", "floating_population"): (43, 92, 154),
    ("tag", "porn_gambling"): (64, 109, 113),
}
_OTHER_CLASSES = {"traffic": 30, "fire": 6, "dispute": 25, "assistance": 40, "other": 10}
INCIDENT_MONTHS = 24


def _monthly_level(rng: random.Random, figures: tuple[int, int, int], back: int) -> int:
    """The count ``back`` months before the last complete month: the article's three exactly, a plateau
    around the year-earlier level before the pilot took hold, and a fall over the last months."""
    latest, previous, year_before = figures
    if back in (0, 1, 12):
        return {0: latest, 1: previous, 12: year_before}[back]
    if back >= 6:
        return round(year_before * rng.uniform(0.9, 1.08))
    return round(previous + (year_before - previous) * (back - 1) / 5 * rng.uniform(0.9, 1.1))


async def _incidents(session: AsyncSession, rng: random.Random, station: Station, sites: list[Site]) -> int:
    """Two years of alerts through the same path as the police's systems (staged, checked, merged), up to
    now; one just before midnight on a month's last day, which counts in that month."""
    today = utcnow().astimezone(TIMEZONE).date()
    last_complete = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    records: list[tuple[Any, ...]] = []

    def add(month: date, class_code: str, tags: list[str], count: int) -> None:
        days = (periods.month(month).end - month).days
        for _ in range(count):
            moment = datetime.combine(
                month + timedelta(days=rng.randrange(days)), datetime.min.time(), TIMEZONE
            )
            moment += timedelta(minutes=rng.randrange(24 * 60))
            if moment.date() >= today:  # only what has happened
                continue
            site = rng.choice([*sites, None])
            records.append(
                (len(records), "jq110", f"JQ{moment:%Y%m%d}-{len(records):06d}", station.id,
                 site.id if site else None, moment, class_code, tags)
            )  # fmt: skip

    for back in range(-1, INCIDENT_MONTHS):  # -1: this month so far
        index = last_complete.year * 12 + last_complete.month - 1 - back
        month = date(index // 12, index % 12 + 1, 1)
        for (kind, code), figures in _ARTICLE_MONTHS.items():
            count = _monthly_level(rng, figures, max(back, 0)) if back >= 0 else rng.randint(10, 20)
            if kind == "class":
                add(month, code, [], count)
            else:
                add(month, rng.choice(["public_order", "dispute", "assistance"]) if code != "porn_gambling"
                    else "public_order", [code], count)  # fmt: skip
        for code, level in _OTHER_CLASSES.items():
            add(month, code, [], round(level * rng.uniform(0.7, 1.3)))
    # Near midnight on the last day of the last complete month: still that month, in the station's time.
    month_end = datetime.combine(today.replace(day=1) - timedelta(days=1), datetime.min.time(), TIMEZONE)
    records.append(
        (len(records), "jq110", "JQ-MONTH-END", station.id, None,
         month_end + timedelta(hours=23, minutes=30), "traffic", [])
    )  # fmt: skip
    merged = await incidents_service.store(session, StationScope.everywhere(), records, all_or_nothing=True)
    assert not merged.errors, merged.errors[:3]
    return merged.created
