"""A small world for tests: two stations, a site in each, a user of every role in each, a county admin,
and ways to act as any of them (bearer tokens made without the slow password hash) or as an API key."""

from __future__ import annotations

import hashlib
import io
import os
import uuid
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from PIL import Image
from pwdlib import PasswordHash
from sqlalchemy import delete, update
from sqlmodel import col

from yijing.access import SYSTEM, ApiScope, Role
from yijing.db import SessionFactory, session_scope
from yijing.disputes.models import (
    Dispute,
    DisputeKind,
    DisputeMediator,
    DisputeParty,
    DisputeSource,
    MediatorRole,
    PartyRole,
)
from yijing.groups.models import Group, GroupMembership
from yijing.hazards.models import Hazard, HazardAttachment, HazardCategory
from yijing.identity import api_keys
from yijing.identity.models import AuthSession, User
from yijing.identity.schemas import ApiKeyCreate
from yijing.identity.tokens import AccessClaims, issue_access_token
from yijing.ids import utcnow
from yijing.incidents.models import IncidentImport
from yijing.jobs.models import JobRun
from yijing.notifications.models import Notification
from yijing.org.models import Site, Station
from yijing.outbox.models import OutboxMessage
from yijing.patrols.checkins.models import PatrolCheckin
from yijing.patrols.logs.models import LogKind, PatrolLog, PatrolLogPhoto
from yijing.patrols.models import MemberSource, Patrol, PatrolMember
from yijing.patrols.plans.models import PatrolPlan
from yijing.patrols.routes.models import PatrolCheckpoint, PatrolRoute
from yijing.personal import id_card_check_code, protector_for
from yijing.rota import repository as rota_repository
from yijing.rota.calendar import service as calendar
from yijing.rota.calendar.schemas import CalendarFeedCreated
from yijing.rota.models import CaptainSwap, SwapStatus, Unavailability
from yijing.rota.reconcile import reconcile_group
from yijing.rota.weeks import Handoff
from yijing.settings import Settings
from yijing.storage import store_for
from yijing.teams.models import Post, TeamAssignment
from yijing.training.models import (
    AudienceKind,
    Training,
    TrainingAttendance,
    TrainingAudience,
    TrainingMode,
)
from yijing.volunteers.models import Gender, Volunteer, VolunteerSource, VolunteerStatus
from yijing.volunteers.schemas import VolunteerCreate
from yijing.volunteers.service import volunteer_row

PASSWORD = "correct horse 42"
# The world's API keys (for its own station) and their scopes.
KEY_SCOPES = {"stats": [ApiScope.STATS_READ], "all": list(ApiScope)}
STATION_ROLES = (Role.LEADER, Role.OFFICER, Role.ASSISTANT, Role.VOLUNTEER)


@cache
def password_hash() -> str:
    return PasswordHash.recommended().hash(PASSWORD)


def id_card_number(serial: int) -> str:
    """A valid ID-card number (Minhou County, born on 1 January of 1980–1999), distinct for serials
    0 to 19,999."""
    first17 = f"35012119{80 + serial // 1000 % 20:02d}0101{serial % 1000:03d}"
    return first17 + id_card_check_code(first17)


@dataclass
class Place:
    station: Station
    site: Site
    users: dict[Role, User] = field(default_factory=dict)
    volunteer: Volunteer | None = None  # linked to the place's volunteer account
    assignment: TeamAssignment | None = None  # the place's officer, in the site's officer post
    group: Group | None = None  # the volunteer's group, its rota planned
    unavailability: Unavailability | None = None  # the volunteer's, next year
    swap: CaptainSwap | None = None  # a declined swap of the group's next week (every action: 409)
    feed: CalendarFeedCreated | None = None  # a calendar feed of the group, with its address
    hazard: Hazard | None = None  # reported by the place's volunteer at its site, with a photo
    attachment: HazardAttachment | None = None
    incident_import: IncidentImport | None = None  # uploaded by the world's "all" key (own) or another
    route: PatrolRoute | None = None  # a patrol route of the site, in use, with one checkpoint
    checkpoint: PatrolCheckpoint | None = None
    patrol: Patrol | None = None  # planned on the route tomorrow, the volunteer its member and leader
    plan: PatrolPlan | None = None  # a repeating plan of the route and group, over (it makes no patrols)
    checkin: PatrolCheckin | None = None  # the volunteer's scan of the checkpoint, on the patrol
    log: PatrolLog | None = None  # the volunteer's observation on the patrol, with a photo
    log_photo: PatrolLogPhoto | None = None
    dispute: Dispute | None = None  # reported by the volunteer at the site, who mediates it; one party
    training: Training | None = None  # offline, scheduled tomorrow for the site; the volunteer enrolled


@dataclass
class World:
    settings: Settings
    own: Place
    other: Place
    admin: User
    phones: dict[uuid.UUID, str] = field(default_factory=dict)
    tokens: dict[uuid.UUID, str] = field(default_factory=dict)
    notifications: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)  # user id -> a notification
    job_run_id: uuid.UUID | None = None
    api_keys: dict[str, tuple[uuid.UUID, str]] = field(default_factory=dict)  # name -> (id, key)

    def everyone(self) -> list[User]:
        return [self.admin, *self.own.users.values(), *self.other.users.values()]

    def user(self, role: Role, place: str = "own") -> User:
        return self.admin if role is Role.ADMIN else getattr(self, place).users[role]

    def headers(self, role: Role, place: str = "own") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[self.user(role, place).id]}"}


async def add_user(
    session, settings: Settings, role: Role, station_id: uuid.UUID | None, phone: str, serial: int
) -> User:
    protector = protector_for(settings.personal_data_key)
    sealed_phone = protector.protect_mobile(phone)
    card = protector.protect_id_card(id_card_number(serial))
    user = User(
        name=f"{role.value}-{serial}",
        role=role,
        station_id=station_id,
        phone_sealed=sealed_phone.sealed,
        phone_fingerprint=sealed_phone.fingerprint,
        phone_masked=sealed_phone.masked,
        id_card_sealed=card.sealed,
        id_card_fingerprint=card.fingerprint,
        id_card_masked=card.masked,
        password_hash=password_hash(),
    )
    session.add(user)
    await session.flush()
    return user


def new_volunteer(
    settings: Settings, site: Site, serial: int, *, user_id: uuid.UUID | None = None, **fields: object
) -> Volunteer:
    """A volunteer record (not yet added) with valid, distinct personal data."""
    data = VolunteerCreate(
        name=f"义警{serial}",
        gender=Gender.FEMALE,
        phone=f"137{serial:08d}",
        id_card_number=id_card_number(serial),
        site_id=site.id,
        source=VolunteerSource.STALL_OPERATOR,
        joined_on=date(2023, 7, 1),
        user_id=user_id,
    )
    row = volunteer_row(data, site.station_id, date(2023, 7, 1), protector_for(settings.personal_data_key))
    return Volunteer(**(row | fields))


async def suspend_volunteer(session_factory: SessionFactory, volunteer_id: uuid.UUID) -> None:
    """The volunteer suspended, committed as an officer's change would be (what their reach rests on)."""
    async with session_scope(session_factory) as session:
        await session.execute(
            update(Volunteer)
            .where(col(Volunteer.id) == volunteer_id)
            .values(status=VolunteerStatus.SUSPENDED)
        )


async def sign_in_directly(session, settings: Settings, user: User) -> str:
    """An access token for ``user`` with a real sign-in session, minus the password check."""
    now = utcnow()
    auth_session = AuthSession(user_id=user.id, expires_at=now + timedelta(days=1))
    session.add(auth_session)
    await session.flush()
    claims = AccessClaims(user.id, auth_session.id, user.role, user.station_id)
    # Valid all day: the shared world (see tests/conftest.py) signs in once for the whole run.
    return issue_access_token(settings.secret_key, claims, now, timedelta(days=1))


async def build_world(factory: SessionFactory, settings: Settings) -> World:
    serial = 0
    places = {}
    phones: dict[uuid.UUID, str] = {}
    async with session_scope(factory) as session:
        for index, place in enumerate(("own", "other")):
            station = Station(name=f"{place} station", division_code="350121", timezone="Asia/Shanghai")
            session.add(station)
            await session.flush()
            site = Site(station_id=station.id, name=f"{place} night market")
            session.add(site)
            await session.flush()
            places[place] = Place(station, site)
            for role in STATION_ROLES:
                serial += 1
                phone = f"138{index}{serial:07d}"
                user = await add_user(session, settings, role, station.id, phone, serial)
                places[place].users[role] = user
                phones[user.id] = phone
        for index, served in enumerate(places.values()):
            volunteer_user = served.users[Role.VOLUNTEER]
            served.volunteer = new_volunteer(settings, served.site, 900 + index, user_id=volunteer_user.id)
            served.assignment = TeamAssignment(
                station_id=served.station.id, site_id=served.site.id, user_id=served.users[Role.OFFICER].id,
                post=Post.OFFICER,
            )  # fmt: skip
            session.add_all([served.volunteer, served.assignment])
            await session.flush()
        for served in places.values():
            assert served.volunteer is not None
            served.group = Group(station_id=served.station.id, site_id=served.site.id, name="第1组")
            session.add(served.group)
            await session.flush()
            session.add(GroupMembership(group_id=served.group.id, volunteer_id=served.volunteer.id))
            next_year = utcnow().date() + timedelta(days=365)
            served.unavailability = Unavailability(
                volunteer_id=served.volunteer.id, station_id=served.station.id, starts_on=next_year,
                ends_on=next_year + timedelta(days=3), reason="探亲",
            )  # fmt: skip
            session.add(served.unavailability)
            await session.flush()
            await reconcile_group(session, served.group.id, utcnow())
            served.feed = await calendar.create_group_feed(session, SYSTEM, served.group.id)
            # Declined, so that acting on it is a 409 for every caller who reaches it: the access matrix
            # then sees no 403 for a volunteer on the wrong side of an open swap. Its target is an id
            # of no record: a second volunteer would change the counts other tests expect.
            next_week = (await rota_repository.unstarted_weeks(session, served.group.id, utcnow()))[0]
            served.swap = CaptainSwap(
                group_id=served.group.id, station_id=served.station.id, week_id=next_week.id,
                from_volunteer_id=next_week.volunteer_id, to_volunteer_id=uuid.uuid4(),
                status=SwapStatus.DECLINED, reason="家里有事", expires_at=next_week.starts_at,
                decided_at=utcnow(),
            )  # fmt: skip
            session.add(served.swap)
            await session.flush()
        for served in places.values():
            served.hazard, served.attachment = await add_hazard(session, settings, served)
            served.route, served.checkpoint = await add_route(session, served)
            served.patrol = await add_patrol(session, served)
            served.plan = await add_plan(session, served)
            served.checkin = await add_checkin(session, served)
            served.log, served.log_photo = await add_log(session, settings, served)
            served.dispute = await add_dispute(session, settings, served)
            served.training = await add_training(session, served)
        admin = await add_user(session, settings, Role.ADMIN, None, "13999999999", 99)
        phones[admin.id] = "13999999999"
        world = World(settings, places["own"], places["other"], admin, phones)
        for user in world.everyone():
            world.tokens[user.id] = await sign_in_directly(session, settings, user)
            notification = Notification(
                recipient_id=user.id, kind="test", title="hello", body="", dedupe_key=f"test:{user.id}"
            )
            session.add(notification)
            await session.flush()
            world.notifications[user.id] = notification.id
        run = JobRun(name="system.heartbeat")
        session.add(run)
        await session.flush()
        world.job_run_id = run.id
        # Planning the groups queued handoff notifications: no test is about those, and tests of the outbox
        # start from an empty one.
        await session.execute(delete(OutboxMessage))
    for name, scopes in KEY_SCOPES.items():
        world.api_keys[name] = await make_api_key(factory, settings, scopes, [world.own.station.id])
    async with session_scope(factory) as session:
        for uploaded, uploader in ((world.own, world.api_keys["all"][0]), (world.other, uuid.uuid4())):
            uploaded.incident_import = IncidentImport(
                station_ids=[str(uploaded.station.id)], file_name="jq.csv", file_sha256="0" * 64,
                requested_by=uploader,
            )  # fmt: skip
            session.add(uploaded.incident_import)
    return world


def png(colour: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (32, 24)) -> bytes:
    """A small real PNG picture."""
    output = io.BytesIO()
    Image.new("RGB", size, colour).save(output, format="PNG")
    return output.getvalue()


async def add_hazard(session, settings: Settings, place: Place) -> tuple[Hazard, HazardAttachment]:
    """A reported hazard at the place's site, by its volunteer, with a photo in the attachment store."""
    assert place.volunteer is not None
    hazard = Hazard(
        station_id=place.station.id, site_id=place.site.id, category=HazardCategory.FIRE,
        description="液化气罐紧挨油锅", reporter_id=place.users[Role.VOLUNTEER].id,
        reporter_volunteer_id=place.volunteer.id, deadline=utcnow().date() + timedelta(days=7),
    )  # fmt: skip
    session.add(hazard)
    await session.flush()
    picture = png()
    digest = hashlib.sha256(picture).hexdigest()
    attachment = HazardAttachment(
        hazard_id=hazard.id, media_type="image/png", size_bytes=len(picture), width=32, height=24,
        upload_sha256=digest, sha256=digest, file_name="before.png",
        storage_key=f"hazards/{hazard.id}/before",
    )  # fmt: skip
    session.add(attachment)
    await session.flush()
    await store_for(settings).put(attachment.storage_key, picture, attachment.media_type)
    return hazard, attachment


async def add_route(session, place: Place) -> tuple[PatrolRoute, PatrolCheckpoint]:
    """A patrol route of the place's site with one checkpoint at its entrance."""
    route = PatrolRoute(station_id=place.station.id, site_id=place.site.id, name="夜市巡防路线")
    session.add(route)
    await session.flush()
    checkpoint = PatrolCheckpoint(
        station_id=place.station.id, route_id=route.id, position=1, name="入口", latitude=26.1496,
        longitude=119.1421, code=f"gate-{place.station.id.hex[-12:]}",
    )  # fmt: skip
    session.add(checkpoint)
    await session.flush()
    return route, checkpoint


async def add_patrol(session, place: Place) -> Patrol:
    """A patrol planned on the place's route tomorrow evening, its volunteer the one member and leader."""
    assert place.route is not None
    assert place.volunteer is not None
    start = utcnow().replace(microsecond=0) + timedelta(days=1)
    patrol = Patrol(
        station_id=place.station.id, site_id=place.site.id, route_id=place.route.id, planned_start=start,
        planned_end=start + timedelta(hours=4), leader_volunteer_id=place.volunteer.id,
    )  # fmt: skip
    session.add(patrol)
    await session.flush()
    session.add(PatrolMember(patrol_id=patrol.id, volunteer_id=place.volunteer.id, source=MemberSource.NAMED))
    await session.flush()
    return patrol


async def add_checkin(session, place: Place) -> PatrolCheckin:
    """The place's volunteer's scan of its checkpoint at the start of its patrol, fitting (unflagged)."""
    assert place.patrol is not None
    assert place.checkpoint is not None
    assert place.volunteer is not None
    checkpoint = place.checkpoint
    checkin = PatrolCheckin(
        station_id=place.station.id, patrol_id=place.patrol.id, volunteer_id=place.volunteer.id,
        client_id=uuid.uuid4(), fingerprint="0" * 64, checkpoint_id=checkpoint.id, code=checkpoint.code,
        latitude=checkpoint.latitude, longitude=checkpoint.longitude, accuracy_m=5, distance_m=0,
        captured_at=place.patrol.planned_start, received_at=place.patrol.planned_start,
    )  # fmt: skip
    session.add(checkin)
    await session.flush()
    return checkin


async def add_plan(session, place: Place) -> PatrolPlan:
    """A daily evening plan of the place's route and group whose one day is long past: no job makes
    patrols of it, so it changes no other test's counts."""
    assert place.route is not None
    assert place.group is not None
    day = date(2024, 1, 1)
    plan = PatrolPlan(
        station_id=place.station.id, site_id=place.site.id, route_id=place.route.id, group_id=place.group.id,
        weekdays=[1, 2, 3, 4, 5, 6, 7], start_time=time(19, 0), end_time=time(23, 0), first_day=day,
        last_day=day, made_until=day,
    )  # fmt: skip
    session.add(plan)
    await session.flush()
    return plan


async def add_log(session, settings: Settings, place: Place) -> tuple[PatrolLog, PatrolLogPhoto]:
    """The place's volunteer's observation at the start of its patrol, with a photo in the store."""
    assert place.patrol is not None
    assert place.volunteer is not None
    log = PatrolLog(
        station_id=place.station.id, patrol_id=place.patrol.id, client_id=uuid.uuid4(), fingerprint="0" * 64,
        author_id=place.users[Role.VOLUNTEER].id, volunteer_id=place.volunteer.id, kind=LogKind.OBSERVATION,
        text="夜市入口人流正常", occurred_at=place.patrol.planned_start,
        received_at=place.patrol.planned_start,
    )  # fmt: skip
    session.add(log)
    await session.flush()
    picture = png()
    digest = hashlib.sha256(picture).hexdigest()
    photo = PatrolLogPhoto(
        log_id=log.id, media_type="image/png", size_bytes=len(picture), width=32, height=24,
        upload_sha256=digest, sha256=digest, file_name="entrance.png",
        storage_key=f"patrols/{place.patrol.id}/logs/{log.id}/entrance",
    )  # fmt: skip
    session.add(photo)
    await session.flush()
    await store_for(settings).put(photo.storage_key, picture, photo.media_type)
    return log, photo


async def add_dispute(session, settings: Settings, place: Place) -> Dispute:
    """A reported dispute at the place's site, by its volunteer, who is its mediator; one party with a phone
    and an ID-card number."""
    assert place.volunteer is not None
    volunteer_user = place.users[Role.VOLUNTEER]
    now = utcnow()
    dispute = Dispute(
        station_id=place.station.id, site_id=place.site.id, kind=DisputeKind.PARKING,
        source=DisputeSource.RESIDENT, occurred_at=now, reported_at=now, account="两车主争抢卸货车位",
        party_count=1, reporter_id=volunteer_user.id,
    )  # fmt: skip
    session.add(dispute)
    await session.flush()
    protector = protector_for(settings.personal_data_key)
    phone, card = protector.protect_mobile("13812345678"), protector.protect_id_card(id_card_number(700))
    party = DisputeParty(
        dispute_id=dispute.id, position=1, name="林某", role=PartyRole.APPLICANT, phone_sealed=phone.sealed,
        phone_fingerprint=phone.fingerprint, phone_masked=phone.masked, id_card_sealed=card.sealed,
        id_card_fingerprint=card.fingerprint, id_card_masked=card.masked,
    )  # fmt: skip
    mediator = DisputeMediator(
        dispute_id=dispute.id, role=MediatorRole.VOLUNTEER, volunteer_id=place.volunteer.id,
        user_id=volunteer_user.id,
    )  # fmt: skip
    session.add_all([party, mediator])
    await session.flush()
    return dispute


async def add_training(session, place: Place) -> Training:
    """An offline training of the place's site starting tomorrow, its volunteer enrolled."""
    assert place.volunteer is not None
    starts_at = utcnow() + timedelta(days=1)
    training = Training(
        station_id=place.station.id, title="十月义警培训", topics=["laws_regulations"],
        mode=TrainingMode.OFFLINE, starts_at=starts_at, ends_at=starts_at + timedelta(hours=1),
        place="派出所三楼会议室", trainer="林警官", code_secret=os.urandom(32),
    )  # fmt: skip
    session.add(training)
    await session.flush()
    audience = TrainingAudience(training_id=training.id, kind=AudienceKind.SITE, site_id=place.site.id)
    attendance = TrainingAttendance(
        training_id=training.id, volunteer_id=place.volunteer.id, station_id=place.station.id,
        site_id=place.site.id,
    )  # fmt: skip
    session.add_all([audience, attendance])
    await session.flush()
    return training


async def make_api_key(
    factory: SessionFactory,
    settings: Settings,
    scopes: list[ApiScope],
    station_ids: list[uuid.UUID] | None,
    rate_limit: int | None = None,
) -> tuple[uuid.UUID, str]:
    async with session_scope(factory) as session:
        created = await api_keys.create(
            session,
            SYSTEM,
            ApiKeyCreate(
                name="test key", scopes=scopes, station_ids=station_ids, rate_limit_per_minute=rate_limit
            ),
            settings.api_key_rate_limit,
        )
    return created.id, created.key


# How the access matrix fills each path parameter: a record of the caller's own station (or the caller's
# own record) and one the caller must not reach. A route with a parameter missing here fails the matrix.
STATION_SCOPED = "station"  # belongs to a station: another station's is 404 unless the caller reaches all
CALLER_OWNED = "caller"  # belongs to the caller: anyone else's is 404
UNSCOPED = "unscoped"  # county-level (API keys, job runs): who may see them is decided by role alone

PATH_PARAMETERS = {
    "station_id": STATION_SCOPED,
    "site_id": STATION_SCOPED,
    "user_id": STATION_SCOPED,
    "volunteer_id": STATION_SCOPED,
    "assignment_id": STATION_SCOPED,
    "group_id": STATION_SCOPED,
    "unavailability_id": STATION_SCOPED,
    "week_start": UNSCOPED,  # a week of the route's group, which decides the scope
    "notification_id": CALLER_OWNED,
    "key_id": UNSCOPED,
    "job_id": UNSCOPED,
    "feed_id": STATION_SCOPED,
    "swap_id": STATION_SCOPED,
    "token": UNSCOPED,  # a calendar feed's secret: the token alone decides what it shows
    "hazard_id": STATION_SCOPED,
    "import_id": STATION_SCOPED,  # an incident import: its uploader's (and county admins')
    "attachment_id": STATION_SCOPED,
    "route_id": STATION_SCOPED,
    "checkpoint_id": STATION_SCOPED,
    "patrol_id": STATION_SCOPED,
    "plan_id": STATION_SCOPED,
    "checkin_id": STATION_SCOPED,
    "log_id": STATION_SCOPED,
    "photo_id": STATION_SCOPED,
    "dispute_id": STATION_SCOPED,
    "training_id": STATION_SCOPED,
}


def path_value(world: World, name: str, place: str, caller: User | None) -> object:
    target = world.own if place == "own" else world.other
    if name == "station_id":
        return target.station.id
    if name == "site_id":
        return target.site.id
    if name == "volunteer_id":
        assert target.volunteer is not None
        return target.volunteer.id
    if name == "assignment_id":
        assert target.assignment is not None
        return target.assignment.id
    if name == "group_id":
        assert target.group is not None
        return target.group.id
    if name == "unavailability_id":
        assert target.unavailability is not None
        return target.unavailability.id
    if name == "week_start":
        return Handoff(0, time(0, 0), ZoneInfo("Asia/Shanghai")).week_start(utcnow()) + timedelta(weeks=1)
    if name == "user_id":
        return target.users[Role.VOLUNTEER].id
    if name == "notification_id":
        owner = caller if caller is not None and place == "own" else target.users[Role.VOLUNTEER]
        if caller is not None and owner.id == caller.id and place != "own":
            owner = world.other.users[Role.LEADER]
        return world.notifications[owner.id]
    if name == "key_id":
        return world.api_keys["stats"][0]
    if name == "swap_id":
        assert target.swap is not None
        return target.swap.id
    if name == "feed_id":
        assert target.feed is not None
        return target.feed.id
    if name == "token":
        assert target.feed is not None
        return target.feed.url.removeprefix("/api/v1/calendars/").removesuffix(".ics")
    if name == "import_id":
        assert target.incident_import is not None
        return target.incident_import.id
    if name == "hazard_id":
        assert target.hazard is not None
        return target.hazard.id
    if name == "attachment_id":
        assert target.attachment is not None
        return target.attachment.id
    if name == "route_id":
        assert target.route is not None
        return target.route.id
    if name == "checkpoint_id":
        assert target.checkpoint is not None
        return target.checkpoint.id
    if name == "patrol_id":
        assert target.patrol is not None
        return target.patrol.id
    if name == "plan_id":
        assert target.plan is not None
        return target.plan.id
    if name == "checkin_id":
        assert target.checkin is not None
        return target.checkin.id
    if name == "log_id":
        assert target.log is not None
        return target.log.id
    if name == "photo_id":
        assert target.log_photo is not None
        return target.log_photo.id
    if name == "dispute_id":
        assert target.dispute is not None
        return target.dispute.id
    if name == "training_id":
        assert target.training is not None
        return target.training.id
    if name == "job_id":
        assert world.job_run_id is not None
        return world.job_run_id
    raise KeyError(name)
