"""Volunteers: enrolment (one person, one volunteer per station), reading (masked, or in full with an audit
event), changes, the status lifecycle with its history, and a volunteer's own profile."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from yijing import conflicts
from yijing.access import Actor, Role, StationScope
from yijing.audit import service as audit
from yijing.errors import Forbidden, InvalidInput, check_version
from yijing.identity import repository as identity_repository
from yijing.identity.errors import UserNotFound
from yijing.ids import new_id, station_today, utcnow
from yijing.kit.lifecycle import Lifecycle
from yijing.kit.pagination import Page, PageParams, page_of
from yijing.kit.reads import Reader
from yijing.notifications.jobs import notify
from yijing.notifications.service import DeliverPayload
from yijing.org import repository as org_repository
from yijing.org.errors import SiteNotFound, StationNotFound
from yijing.org.models import Site
from yijing.personal import MOBILE_PATTERN, PersonalDataProtector
from yijing.stats.jobs import queue_recompute
from yijing.volunteers import repository
from yijing.volunteers.errors import VolunteerNotFound
from yijing.volunteers.models import Volunteer, VolunteerSource, VolunteerStatus, VolunteerStatusChange
from yijing.volunteers.schemas import (
    STATUS_LABELS_ZH,
    VolunteerCreate,
    VolunteerFilters,
    VolunteerRead,
    VolunteerSelfUpdate,
    VolunteerSummary,
    VolunteerUpdate,
)

# Roles whose work needs volunteers' full phone and ID-card numbers: officers call their volunteers.
REVEALING_ROLES = frozenset({Role.ADMIN, Role.LEADER, Role.OFFICER})


class VolunteerAction(StrEnum):
    ACTIVATE = "activate"  # applied → active
    SUSPEND = "suspend"  # active → suspended
    REINSTATE = "reinstate"  # suspended → active
    RETIRE = "retire"  # applied, active or suspended → retired (for good)


# The lifecycle: applied → active → suspended ↔ active → retired. An applicant who never served may retire
# too (a withdrawn application); retired is final.
LIFECYCLE = Lifecycle(
    "volunteer",
    {
        VolunteerAction.ACTIVATE: ({VolunteerStatus.APPLIED}, VolunteerStatus.ACTIVE),
        VolunteerAction.SUSPEND: ({VolunteerStatus.ACTIVE}, VolunteerStatus.SUSPENDED),
        VolunteerAction.REINSTATE: ({VolunteerStatus.SUSPENDED}, VolunteerStatus.ACTIVE),
        VolunteerAction.RETIRE: (
            {VolunteerStatus.APPLIED, VolunteerStatus.ACTIVE, VolunteerStatus.SUSPENDED},
            VolunteerStatus.RETIRED,
        ),
    },
    subject_zh="义警",
)


MINIMUM_AGE = 18


def _age_on(id_card_number: str, day: date) -> int:
    born = date(int(id_card_number[6:10]), int(id_card_number[10:12]), int(id_card_number[12:14]))
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def enrolment_problems(
    id_card_number: str | None, joined_on: date | None, today: date
) -> list[dict[str, str]]:
    """Rules the schema cannot state: volunteers are adults when they join, and have not joined in the
    future. Field errors in the API's shape (the import reports them per row)."""
    problems = []
    if joined_on is not None and joined_on > today:
        problems.append(
            {
                "field": "body.joined_on",
                "message": "is after today",
                "message_zh": "晚于今天",
                "code": "future_date",
            }
        )
    if id_card_number is not None and _age_on(id_card_number, joined_on or today) < MINIMUM_AGE:
        problems.append(
            {
                "field": "body.id_card_number",
                "message": f"the person is under {MINIMUM_AGE} on the joining date",
                "message_zh": f"此人在加入之日未满 {MINIMUM_AGE} 周岁",
                "code": "under_age",
            }
        )
    return problems


def _refuse(problems: list[dict[str, str]]) -> None:
    if problems:
        raise InvalidInput.listing(problems)


async def _site_in_reach(session: AsyncSession, scope: StationScope, site_id: uuid.UUID) -> Site:
    site = await org_repository.get_site(session, site_id, scope)
    if site is None:
        raise SiteNotFound(f"no site {site_id}", zh=f"未找到站点 {site_id}")
    return site


async def _check_account(session: AsyncSession, volunteer: Volunteer, user_id: uuid.UUID) -> None:
    """A linked account must be a volunteer account of the volunteer's own station."""
    user = await identity_repository.get_user(
        session, user_id, StationScope(frozenset({volunteer.station_id}))
    )
    if user is None:
        raise UserNotFound(
            f"no user {user_id} in the volunteer's station", zh=f"义警所在派出所中未找到用户 {user_id}"
        )
    if user.role is not Role.VOLUNTEER:
        raise InvalidInput(
            "only a volunteer account can be linked to a volunteer",
            zh="只有义警账号才能关联义警",
            errors=[
                {
                    "field": "body.user_id",
                    "message": f"the account's role is {user.role}",
                    "message_zh": f"该账号的角色是{user.role.name_zh}",
                    "code": "role",
                }
            ],
        )


def enrolment_row(volunteer: Mapping[str, Any], action: str, actor_id: uuid.UUID | None) -> dict[str, Any]:
    """The first row of a volunteer's status history, the status it was enrolled with, as column values."""
    return {
        "id": new_id(),
        "volunteer_id": volunteer["id"],
        "from_status": None,
        "to_status": volunteer["status"],
        "action": action,
        "reason": None,
        "actor_id": actor_id,
        "occurred_at": volunteer["created_at"],
    }


def _sealed_personal_data(
    protector: PersonalDataProtector, phone: str | None, id_card: str | None
) -> dict[str, Any]:
    """The stored columns for a phone and/or ID-card number."""
    columns: dict[str, Any] = {}
    if phone is not None:
        sealed = protector.protect_mobile(phone)
        columns |= {
            "phone_sealed": sealed.sealed,
            "phone_fingerprint": sealed.fingerprint,
            "phone_masked": sealed.masked,
        }
    if id_card is not None:
        sealed = protector.protect_id_card(id_card)
        columns |= {
            "id_card_sealed": sealed.sealed,
            "id_card_fingerprint": sealed.fingerprint,
            "id_card_masked": sealed.masked,
        }
    return columns


def volunteer_row(
    data: VolunteerCreate, station_id: uuid.UUID, today: date, protector: PersonalDataProtector
) -> dict[str, Any]:
    """A new volunteer's column values from validated input, shared by the API and bulk enrolment (plain
    values: building ten thousand ORM objects would take longer than inserting them)."""
    now = utcnow()
    return {
        "id": new_id(),
        "station_id": station_id,
        "site_id": data.site_id,
        "name": data.name,
        "gender": data.gender,
        "source": data.source,
        "household_name": data.household_name,
        "household_address": data.household_address,
        "badge_number": data.badge_number,
        "skills": list(dict.fromkeys(data.skills)),
        "joined_on": data.joined_on or today,
        "status": data.status,
        "user_id": data.user_id,
        "version": 1,
        "created_at": now,
        "updated_at": now,
        **_sealed_personal_data(protector, data.phone, data.id_card_number),
    }


# Reading


async def get_volunteer(session: AsyncSession, actor: Actor, volunteer_id: uuid.UUID) -> Volunteer:
    volunteer = await repository.get(session, volunteer_id, actor.scope)
    if volunteer is None:
        raise VolunteerNotFound(f"no volunteer {volunteer_id}", zh=f"未找到义警 {volunteer_id}")
    return volunteer


async def read_volunteer(
    session: AsyncSession,
    actor: Actor,
    volunteer: Volunteer,
    *,
    reveal: bool,
    protector: PersonalDataProtector,
) -> VolunteerRead:
    """The read model: masked, or in full for roles that need it, with an audit event for the full read."""
    if not reveal:
        return VolunteerRead.of(volunteer)
    if actor.role not in REVEALING_ROLES:
        raise Forbidden("your role may not read personal data in full", zh="你的角色无权查看完整的个人信息")
    await audit.record(
        session, actor, "volunteer.personal_data.read", target_type="volunteer", target_id=volunteer.id,
        station_id=volunteer.station_id, changes={"fields": ["phone", "id_card_number"]},
    )  # fmt: skip
    return VolunteerRead.of(
        volunteer,
        phone=protector.open(volunteer.phone_sealed),
        id_card=protector.open(volunteer.id_card_sealed),
    )


async def list_volunteers(
    reader: Reader,
    actor: Actor,
    filters: VolunteerFilters,
    page: PageParams,
    protector: PersonalDataProtector | None = None,
) -> Page[VolunteerRead]:
    # A whole mobile number is found by its fingerprint (the number itself is stored sealed).
    phone_fingerprint = None
    if filters.q is not None and protector is not None and re.fullmatch(MOBILE_PATTERN, filters.q):
        phone_fingerprint = protector.fingerprint(filters.q)
    volunteers = await repository.list_volunteers(
        reader, actor.scope, filters, page, phone_fingerprint=phone_fingerprint
    )
    return page_of(volunteers, page.limit, VolunteerRead.of)


async def summarise(
    session: AsyncSession, actor: Actor, *, station_id: uuid.UUID | None, site_id: uuid.UUID | None
) -> VolunteerSummary:
    # A count of a station or site out of reach would read as "none there": not found instead.
    if station_id is not None and await org_repository.get_station(session, station_id, actor.scope) is None:
        raise StationNotFound(f"no station {station_id}", zh=f"未找到派出所 {station_id}")
    if site_id is not None:
        await _site_in_reach(session, actor.scope, site_id)
    by_status = dict.fromkeys(VolunteerStatus, 0)
    by_source = dict.fromkeys(VolunteerSource, 0)
    rows = await repository.count_by_status_and_source(
        session, actor.scope, station_id=station_id, site_id=site_id
    )
    for status, source, count in rows:
        by_status[status] += count
        by_source[source] += count
    return VolunteerSummary(
        station_id=station_id, site_id=site_id, total=sum(by_status.values()), by_status=by_status,
        by_source=by_source,
    )  # fmt: skip


async def status_history(
    session: AsyncSession, actor: Actor, volunteer_id: uuid.UUID
) -> list[VolunteerStatusChange]:
    volunteer = await get_volunteer(session, actor, volunteer_id)
    return list(await repository.status_changes(session, volunteer.id))


# Writing


async def create_volunteer(
    session: AsyncSession, actor: Actor, data: VolunteerCreate, protector: PersonalDataProtector
) -> Volunteer:
    site = await _site_in_reach(session, actor.scope, data.site_id)
    station = await org_repository.get_station(session, site.station_id, StationScope.everywhere())
    assert station is not None  # a site's station cannot be deleted while it has sites
    today = station_today(station.timezone)
    _refuse(enrolment_problems(data.id_card_number, data.joined_on, today))
    row = volunteer_row(data, site.station_id, today, protector)
    volunteer = Volunteer(**row)
    if data.user_id is not None:
        await _check_account(session, volunteer, data.user_id)
    await conflicts.add(session, volunteer)
    await repository.save(session, VolunteerStatusChange(**enrolment_row(row, "enrol", actor.user_id)))
    await queue_recompute(session, "volunteers_joined", volunteer.station_id, [volunteer.joined_on])
    await audit.record(
        session, actor, "volunteer.create", target_type="volunteer", target_id=volunteer.id,
        station_id=volunteer.station_id, changes=data.model_dump(mode="json", exclude_none=True),
    )  # fmt: skip
    return volunteer


async def _volunteer_to_change(
    session: AsyncSession, actor: Actor, volunteer_id: uuid.UUID, expected_version: int | None
) -> Volunteer:
    """The volunteer, locked for this transaction, after the caller's If-Match is checked."""
    volunteer = await repository.get(session, volunteer_id, actor.scope, for_update=True)
    if volunteer is None:
        raise VolunteerNotFound(f"no volunteer {volunteer_id}", zh=f"未找到义警 {volunteer_id}")
    check_version(volunteer.version, expected_version)
    return volunteer


_PERSONAL_FINGERPRINTS = {"phone_fingerprint": "phone", "id_card_fingerprint": "id_card_number"}


def _apply(volunteer: Volunteer, updates: dict[str, Any]) -> dict[str, Any]:
    """Apply ``updates``; the fields that really changed, JSON-friendly (personal data only named)."""
    changed = {key: value for key, value in updates.items() if getattr(volunteer, key) != value}
    for key, value in changed.items():
        setattr(volunteer, key, value)
    report: dict[str, Any] = {}
    for key, value in changed.items():
        if key in _PERSONAL_FINGERPRINTS:
            report[_PERSONAL_FINGERPRINTS[key]] = True  # the audit log only says that it changed
        elif not key.endswith(("_sealed", "_masked")):
            report[key] = str(value) if isinstance(value, uuid.UUID | date) else value
    return report


async def _save_changes(
    session: AsyncSession, actor: Actor, volunteer: Volunteer, updates: dict[str, Any], action: str
) -> None:
    async with conflicts.changing(session, volunteer):
        changes = _apply(volunteer, updates)
        if changes:
            volunteer.version += 1
            volunteer.updated_at = utcnow()
    if changes:
        await audit.record(
            session, actor, action, target_type="volunteer", target_id=volunteer.id,
            station_id=volunteer.station_id, changes=changes,
        )  # fmt: skip


# Fields where null means "clear it"; for the others null means "leave it".
_CLEARABLE = frozenset({"household_name", "household_address", "badge_number", "user_id"})


async def update_volunteer(
    session: AsyncSession,
    actor: Actor,
    volunteer_id: uuid.UUID,
    data: VolunteerUpdate,
    expected_version: int | None,
    protector: PersonalDataProtector,
) -> Volunteer:
    volunteer = await _volunteer_to_change(session, actor, volunteer_id, expected_version)
    given = data.model_dump(exclude_unset=True)
    if given.get("id_card_number") is not None or given.get("joined_on") is not None:
        station = await org_repository.get_station(session, volunteer.station_id, StationScope.everywhere())
        assert station is not None  # the volunteer's station
        joined_on = given.get("joined_on") or volunteer.joined_on
        _refuse(enrolment_problems(given.get("id_card_number"), joined_on, station_today(station.timezone)))
    updates = {
        key: value
        for key, value in given.items()
        if (value is not None or key in _CLEARABLE) and key not in ("phone", "id_card_number")
    }
    if "site_id" in updates:
        site = await _site_in_reach(session, actor.scope, updates["site_id"])
        if site.station_id != volunteer.station_id:
            raise SiteNotFound(
                f"no site {site.id} in the volunteer's station", zh=f"义警所在派出所中未找到站点 {site.id}"
            )
    if updates.get("user_id") is not None and updates["user_id"] != volunteer.user_id:
        await _check_account(session, volunteer, updates["user_id"])
    if "skills" in updates:
        updates["skills"] = list(dict.fromkeys(updates["skills"]))
    sealed = _sealed_personal_data(protector, given.get("phone"), given.get("id_card_number"))
    # A re-sealed value differs every time (fresh nonce): compare by fingerprint.
    for field in ("phone", "id_card"):
        if f"{field}_fingerprint" in sealed and sealed[f"{field}_fingerprint"] != getattr(
            volunteer, f"{field}_fingerprint"
        ):
            updates |= {key: value for key, value in sealed.items() if key.startswith(field)}
    previous_day = volunteer.joined_on
    await _save_changes(session, actor, volunteer, updates, "volunteer.update")
    if volunteer.joined_on != previous_day:
        await queue_recompute(
            session, "volunteers_joined", volunteer.station_id, [previous_day, volunteer.joined_on]
        )
    return volunteer


async def take_action(
    session: AsyncSession,
    actor: Actor,
    volunteer_id: uuid.UUID,
    action: VolunteerAction,
    reason: str,
    expected_version: int | None,
) -> Volunteer:
    volunteer = await _volunteer_to_change(session, actor, volunteer_id, expected_version)
    target = LIFECYCLE.require(volunteer.status, action)
    previous = volunteer.status
    await _save_changes(session, actor, volunteer, {"status": target}, f"volunteer.{action}")
    # Joining counts once an applicant becomes a volunteer (and stops counting if they withdraw).
    await queue_recompute(session, "volunteers_joined", volunteer.station_id, [volunteer.joined_on])
    await repository.save(
        session,
        VolunteerStatusChange(
            volunteer_id=volunteer.id, from_status=previous, to_status=target, action=action, reason=reason,
            actor_id=actor.user_id,
        ),
    )  # fmt: skip
    if volunteer.user_id is not None:
        await notify(
            session,
            DeliverPayload(
                recipients=[volunteer.user_id],
                kind="volunteer.status_changed",
                title="您的义警状态已变更",
                body=f"状态：{STATUS_LABELS_ZH[target]}。原因：{reason}",
                link="/api/v1/me/volunteer",
                dedupe_key=f"volunteer.status_changed:{volunteer.id}:{volunteer.version}",
            ),
        )
    return volunteer


# A volunteer's own record


async def own_volunteer(session: AsyncSession, actor: Actor, *, for_update: bool = False) -> Volunteer:
    user_id = actor.user_id
    volunteer = (
        None if user_id is None else await repository.get_by_user(session, user_id, for_update=for_update)
    )
    if volunteer is None:
        raise VolunteerNotFound(
            "your account is not linked to a volunteer record; ask your community officer",
            zh="你的账号尚未关联义警档案，请联系社区民警",
        )
    return volunteer


async def update_own(
    session: AsyncSession, actor: Actor, data: VolunteerSelfUpdate, expected_version: int | None
) -> Volunteer:
    volunteer = await own_volunteer(session, actor, for_update=True)
    check_version(volunteer.version, expected_version)
    updates = data.model_dump(exclude_unset=True, exclude_none=True)
    if "skills" in updates:
        updates["skills"] = list(dict.fromkeys(updates["skills"]))
    await _save_changes(session, actor, volunteer, updates, "volunteer.update_self")
    return volunteer
