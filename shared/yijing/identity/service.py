"""Users: creating, reading (masked, or in full with an audit event), changing and disabling them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from yijing import conflicts
from yijing.access import Actor, Role
from yijing.audit import service as audit
from yijing.errors import Forbidden, InvalidInput, check_version
from yijing.identity import repository
from yijing.identity.errors import RoleNotGrantable, UserNotFound
from yijing.identity.models import User
from yijing.identity.passwords import hash_password, verify_password
from yijing.identity.schemas import (
    AdminCreate,
    MeUpdate,
    StaffCreate,
    UserCreate,
    UserFilters,
    UserRead,
    UserUpdate,
)
from yijing.ids import utcnow
from yijing.kit.pagination import Page, PageParams, page_of
from yijing.kit.reads import Reader
from yijing.notifications.jobs import notify
from yijing.notifications.service import DeliverPayload
from yijing.org import repository as org_repository
from yijing.org.errors import SiteNotFound, StationNotFound
from yijing.personal import PersonalDataProtector

# Roles whose work needs people's full phone and ID-card numbers (for records they reach).
REVEALING_ROLES = frozenset({Role.ADMIN, Role.LEADER})
SITE_ROLES = frozenset({Role.OFFICER, Role.ASSISTANT})


async def to_read(reader: Reader, user: User) -> UserRead:
    """The read model of a user just written: masked, with its sites."""
    return UserRead.of(user, (await repository.site_ids_of(reader, [user.id]))[user.id])


async def read_user(
    session: AsyncSession,
    actor: Actor,
    user_id: uuid.UUID,
    *,
    reveal: bool,
    protector: PersonalDataProtector,
) -> UserRead:
    """A user within the caller's reach (read lean): masked, or in full for roles that need it (and for
    oneself), with an audit event for the full read."""
    user = await repository.read_user(session, user_id, actor.scope, sealed=reveal)
    if user is None:
        raise UserNotFound(f"no user {user_id}", zh=f"未找到用户 {user_id}")
    site_ids = (await repository.site_ids_of(session, [user.id]))[user.id]
    if not reveal:
        return UserRead.of(user, site_ids)
    is_self = actor.principal is not None and actor.principal.id == user.id
    if not is_self and actor.role not in REVEALING_ROLES:
        raise Forbidden("your role may not read personal data in full", zh="你的角色无权查看完整的个人信息")
    await audit.record(
        session,
        actor,
        "user.personal_data.read",
        target_type="user",
        target_id=user.id,
        station_id=user.station_id,
        changes={"fields": ["phone", "id_card_number"]},
    )
    id_card = None if user.id_card_sealed is None else protector.open(user.id_card_sealed)
    return UserRead.of(user, site_ids, phone=protector.open(user.phone_sealed), id_card=id_card)


async def list_users(reader: Reader, actor: Actor, filters: UserFilters, page: PageParams) -> Page[UserRead]:
    users = await repository.list_users(reader, actor.scope, filters, page)
    # The sites of the whole page in one query.
    sites = await repository.site_ids_of(reader, [user.id for user in users[: page.limit]])
    return page_of(users, page.limit, lambda user: UserRead.of(user, sites[user.id]))


def _require_manageable(actor: Actor, role: Role) -> None:
    # Only the CLI (the system actor) creates users with no principal, e.g. the first admin.
    if actor.role is not None and not actor.role.may_manage(role):
        raise RoleNotGrantable(
            f"a {actor.role} may not give or change the role {role}",
            zh=f"{actor.role.name_zh}无权授予或变更“{role.name_zh}”角色",
        )


async def _check_sites(
    session: AsyncSession, role: Role, station_id: uuid.UUID | None, site_ids: list[uuid.UUID]
) -> None:
    if not site_ids:
        return
    if role not in SITE_ROLES or station_id is None:
        raise InvalidInput(
            "only officers and assistants are attached to sites",
            zh="只有社区民警和警务助理才能关联站点",
            errors=[
                {
                    "field": "body.site_ids",
                    "message": "not allowed for this role",
                    "message_zh": "该角色不能关联站点",
                    "code": "site_role",
                }
            ],
        )
    if not await org_repository.sites_exist(session, site_ids, station_id):
        raise SiteNotFound(
            "every site must be a site of the user's station", zh="所选站点都必须属于该用户所在派出所"
        )


async def _tell_user(
    session: AsyncSession, user: User, kind: str, title: str, lead: str, event_key: str
) -> None:
    """A notification to the user about their own account (its role named in Chinese)."""
    await notify(
        session,
        DeliverPayload(
            recipients=[user.id],
            kind=kind,
            title=title,
            body=f"{lead}{user.role.name_zh}。",
            link="/api/v1/me",
            dedupe_key=f"{kind}:{event_key}",
        ),
    )


async def create_user(
    session: AsyncSession, actor: Actor, data: UserCreate, protector: PersonalDataProtector
) -> User:
    _require_manageable(actor, data.role)
    station_id = None if isinstance(data, AdminCreate) else data.station_id
    site_ids = data.site_ids if isinstance(data, StaffCreate) else []
    if station_id is not None and await org_repository.get_station(session, station_id, actor.scope) is None:
        raise StationNotFound(f"no station {station_id}", zh=f"未找到派出所 {station_id}")
    await _check_sites(session, data.role, station_id, site_ids)
    phone = protector.protect_mobile(data.phone)
    id_card = protector.protect_id_card(data.id_card_number) if data.id_card_number else None
    user = User(
        name=data.name,
        role=data.role,
        station_id=station_id,
        phone_sealed=phone.sealed,
        phone_fingerprint=phone.fingerprint,
        phone_masked=phone.masked,
        id_card_sealed=id_card.sealed if id_card else None,
        id_card_fingerprint=id_card.fingerprint if id_card else None,
        id_card_masked=id_card.masked if id_card else None,
        password_hash=await hash_password(data.password),
    )
    await conflicts.add(session, user)
    await repository.replace_sites(session, user.id, site_ids)
    await audit.record(
        session,
        actor,
        "user.create",
        target_type="user",
        target_id=user.id,
        station_id=user.station_id,
        changes=data.model_dump(mode="json", exclude_none=True),
    )
    await _tell_user(
        session, user, "account.created", "欢迎加入义警平台", "您的账号已开通，角色：", str(user.id)
    )
    return user


async def update_user(
    session: AsyncSession,
    actor: Actor,
    user_id: uuid.UUID,
    data: UserUpdate,
    expected_version: int | None,
    protector: PersonalDataProtector,
) -> User:
    user = await repository.get_user(session, user_id, actor.scope, for_update=True)
    if user is None:
        raise UserNotFound(f"no user {user_id}", zh=f"未找到用户 {user_id}")
    check_version(user.version, expected_version)
    if actor.principal is not None and actor.principal.id == user.id:
        raise Forbidden(
            "change your own account through /api/v1/me (a password change needs the current one)",
            zh="请通过 /api/v1/me 修改自己的账号（修改密码需提供当前密码）",
        )
    _require_manageable(actor, user.role)  # nobody changes a peer or someone who outranks them
    now = utcnow()
    async with conflicts.changing(session, user):
        changes = await _apply(session, actor, user, data, protector, now)
        if changes:
            user.version += 1
            user.updated_at = now
    if changes:
        await audit.record(
            session, actor, "user.update", target_type="user", target_id=user.id,
            station_id=user.station_id, changes=changes,
        )  # fmt: skip
        if "role" in changes:
            await _tell_user(
                session,
                user,
                "account.role_changed",
                "您的角色已变更",
                "您的新角色：",
                f"{user.id}:{user.version}",
            )
    return user


async def _apply(
    session: AsyncSession,
    actor: Actor,
    user: User,
    data: UserUpdate,
    protector: PersonalDataProtector,
    now: datetime,
) -> dict[str, Any]:
    """Apply an update to the user (sites and sessions included); the changes for the audit log."""
    updates = data.model_dump(exclude_unset=True, exclude_none=True)
    changes: dict[str, Any] = {}
    if "role" in updates and updates["role"] != user.role:
        _require_manageable(actor, updates["role"])
        if (updates["role"] is Role.ADMIN) != (user.role is Role.ADMIN):
            raise InvalidInput(
                "county admins and station members are different kinds of account; create a new user",
                zh="县局管理员与派出所人员是不同类型的账号，请新建用户",
                errors=[
                    {
                        "field": "body.role",
                        "message": "cannot move across",
                        "message_zh": "不能在两类账号之间变更",
                        "code": "role_kind",
                    }
                ],
            )
        changes["role"] = user.role = updates["role"]
    if "site_ids" in updates or "role" in changes:
        # A new role without sites (volunteer, leader) leaves its old sites unless told otherwise.
        default_sites = (
            (await repository.site_ids_of(session, [user.id]))[user.id] if user.role in SITE_ROLES else []
        )
        site_ids = updates.get("site_ids", default_sites)
        await _check_sites(session, user.role, user.station_id, site_ids)
        await repository.replace_sites(session, user.id, site_ids)
        changes["site_ids"] = [str(site_id) for site_id in site_ids]
    if "name" in updates and updates["name"] != user.name:
        changes["name"] = user.name = updates["name"]
    if "phone" in updates:
        phone = protector.protect_mobile(updates["phone"])
        if phone.fingerprint != user.phone_fingerprint:
            user.phone_sealed, user.phone_fingerprint, user.phone_masked = (
                phone.sealed,
                phone.fingerprint,
                phone.masked,
            )
            changes["phone"] = True
    if "id_card_number" in updates:
        card = protector.protect_id_card(updates["id_card_number"])
        if card.fingerprint != user.id_card_fingerprint:
            user.id_card_sealed, user.id_card_fingerprint, user.id_card_masked = (
                card.sealed,
                card.fingerprint,
                card.masked,
            )
            changes["id_card_number"] = True
    if "password" in updates:
        user.password_hash = await hash_password(updates["password"])
        await repository.revoke_sessions_of(session, user.id, "password_reset", now)
        changes["password"] = True
    if "is_active" in updates and updates["is_active"] != user.is_active:
        changes["is_active"] = user.is_active = updates["is_active"]
        if not user.is_active:
            await repository.revoke_sessions_of(session, user.id, "disabled", now)
    return changes


async def update_me(session: AsyncSession, actor: Actor, data: MeUpdate) -> User:
    assert actor.principal is not None
    user = await repository.get_user(session, actor.principal.id, actor.scope, for_update=True)
    if user is None:  # the principal was just loaded: only a concurrent delete gets here
        raise UserNotFound("your account no longer exists", zh="你的账号已不存在")
    changes: dict[str, Any] = {}
    if data.name is not None and data.name != user.name:
        changes["name"] = user.name = data.name
    if data.password is not None:
        if not await verify_password(data.password.current_password, user.password_hash):
            raise Forbidden("the current password is wrong", zh="当前密码不正确")
        user.password_hash = await hash_password(data.password.new_password)
        # Whoever else holds this account's sessions (a lost phone) is signed out; this one stays.
        await repository.revoke_sessions_of(
            session, user.id, "password_changed", utcnow(), keep=actor.principal.session_id
        )
        changes["password"] = True
    if changes:
        user.version += 1
        user.updated_at = utcnow()
        await repository.save(session, user)
        await audit.record(
            session, actor, "user.update_self", target_type="user", target_id=user.id,
            station_id=user.station_id, changes=changes,
        )  # fmt: skip
    return user
