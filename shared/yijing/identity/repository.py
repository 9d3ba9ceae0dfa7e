from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.access import Role, StationScope
from yijing.identity.models import ApiKey, AuthSession, RefreshToken, User, UserSite


async def add(session: AsyncSession, record: User | AuthSession | RefreshToken | ApiKey) -> None:
    session.add(record)
    await session.flush()


# Users


async def get_user(
    session: AsyncSession, user_id: uuid.UUID, scope: StationScope, *, for_update: bool = False
) -> User | None:
    query = select(User).where(col(User.id) == user_id, scope.clause(User.station_id))
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()


async def station_of(session: AsyncSession, user_id: uuid.UUID) -> uuid.UUID | None:
    return await session.scalar(select(col(User.station_id)).where(col(User.id) == user_id))


async def get_user_by_phone_fingerprint(session: AsyncSession, fingerprint: str) -> User | None:
    return (
        await session.scalars(select(User).where(col(User.phone_fingerprint) == fingerprint))
    ).one_or_none()


async def list_users(
    session: AsyncSession,
    scope: StationScope,
    *,
    limit: int,
    after_id: uuid.UUID | None,
    station_id: uuid.UUID | None = None,
    role: Role | None = None,
    is_active: bool | None = None,
    updated_after: datetime | None = None,
) -> Sequence[User]:
    query = select(User).where(scope.clause(User.station_id))
    if station_id is not None:
        query = query.where(col(User.station_id) == station_id)
    if role is not None:
        query = query.where(col(User.role) == role)
    if is_active is not None:
        query = query.where(col(User.is_active) == is_active)
    if updated_after is not None:
        query = query.where(col(User.updated_at) > updated_after)
    if after_id is not None:
        query = query.where(col(User.id) > after_id)
    return (await session.scalars(query.order_by(col(User.id)).limit(limit + 1))).all()


async def site_ids_of(
    session: AsyncSession, user_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """The sites of each user, in one query."""
    rows = await session.execute(
        select(col(UserSite.user_id), col(UserSite.site_id))
        .where(col(UserSite.user_id).in_(user_ids))
        .order_by(col(UserSite.site_id))
    )
    result: dict[uuid.UUID, list[uuid.UUID]] = {user_id: [] for user_id in user_ids}
    for user_id, site_id in rows:
        result[user_id].append(site_id)
    return result


async def replace_sites(session: AsyncSession, user_id: uuid.UUID, site_ids: Sequence[uuid.UUID]) -> None:
    await session.execute(delete(UserSite).where(col(UserSite.user_id) == user_id))
    if site_ids:
        await session.execute(
            insert(UserSite).values([{"user_id": user_id, "site_id": site_id} for site_id in set(site_ids)])
        )


async def any_admin_exists(session: AsyncSession) -> bool:
    return (
        await session.scalar(select(col(User.id)).where(col(User.role) == Role.ADMIN).limit(1))
    ) is not None


# Sign-in sessions and refresh tokens


async def get_session_with_user(
    session: AsyncSession, session_id: uuid.UUID, user_id: uuid.UUID
) -> tuple[AuthSession, User] | None:
    """A sign-in session and its user, in one query (run on every authenticated request)."""
    row = (
        await session.execute(
            select(AuthSession, User)
            .join(User, col(User.id) == col(AuthSession.user_id))
            .where(col(AuthSession.id) == session_id, col(User.id) == user_id)
        )
    ).one_or_none()
    return (row[0], row[1]) if row else None


async def get_refresh_token(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    query = select(RefreshToken).where(col(RefreshToken.token_hash) == token_hash).with_for_update()
    return (await session.scalars(query)).one_or_none()


async def get_auth_session(session: AsyncSession, session_id: uuid.UUID) -> AuthSession | None:
    return await session.get(AuthSession, session_id, with_for_update=True)


async def revoke_sessions_of(
    session: AsyncSession, user_id: uuid.UUID, reason: str, now: datetime, *, keep: uuid.UUID | None = None
) -> None:
    """End every live sign-in session of the user, but ``keep``."""
    query = update(AuthSession).where(
        col(AuthSession.user_id) == user_id, col(AuthSession.revoked_at).is_(None)
    )
    if keep is not None:
        query = query.where(col(AuthSession.id) != keep)
    await session.execute(query.values(revoked_at=now, revoked_reason=reason))


# API keys


async def get_api_key(session: AsyncSession, key_id: uuid.UUID, *, for_update: bool = False) -> ApiKey | None:
    return await session.get(ApiKey, key_id, with_for_update=for_update)


async def get_api_key_by_prefix(session: AsyncSession, prefix: str) -> ApiKey | None:
    return (await session.scalars(select(ApiKey).where(col(ApiKey.prefix) == prefix))).one_or_none()


async def list_api_keys(
    session: AsyncSession, *, limit: int, after_id: uuid.UUID | None, include_revoked: bool
) -> Sequence[ApiKey]:
    query = select(ApiKey)
    if not include_revoked:
        query = query.where(col(ApiKey.revoked_at).is_(None))
    if after_id is not None:
        query = query.where(col(ApiKey.id) > after_id)
    return (await session.scalars(query.order_by(col(ApiKey.id)).limit(limit + 1))).all()


async def touch_api_key(session: AsyncSession, key_id: uuid.UUID, now: datetime) -> None:
    await session.execute(update(ApiKey).where(col(ApiKey.id) == key_id).values(last_used_at=now))
