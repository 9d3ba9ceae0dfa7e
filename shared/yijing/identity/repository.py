from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import bindparam, delete, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.access import Role, StationScope
from yijing.identity.models import (
    ApiKey,
    ApiKeyUsage,
    AuthSession,
    LoginFailure,
    RefreshToken,
    User,
    UserSite,
)
from yijing.identity.schemas import ApiKeyFilters, UserFilters
from yijing.kit import reads
from yijing.kit import repository as kit
from yijing.kit.pagination import PageParams


class SignedInCaller(NamedTuple):
    revoked_at: datetime | None
    expires_at: datetime
    is_active: bool
    role: Role
    station_id: uuid.UUID | None


# New and changed records that no declared unique constraint can refuse.
save = kit.save


# Users


async def get_user(
    session: AsyncSession, user_id: uuid.UUID, scope: StationScope, *, for_update: bool = False
) -> User | None:
    return await kit.get(session, User, user_id, scope.clause(User.station_id), for_update=for_update)


async def station_of(session: AsyncSession, user_id: uuid.UUID) -> uuid.UUID | None:
    return await session.scalar(select(col(User.station_id)).where(col(User.id) == user_id))


async def get_user_by_phone_fingerprint(session: AsyncSession, fingerprint: str) -> User | None:
    return (
        await session.scalars(select(User).where(col(User.phone_fingerprint) == fingerprint))
    ).one_or_none()


# What a user's read model shows (UserRead, masked): its GETs read only these (its sites: site_ids_of).
USER_SHOWN = (
    col(User.id), col(User.name), col(User.role), col(User.station_id), col(User.phone_masked),
    col(User.id_card_masked), col(User.is_active), col(User.version), col(User.created_at),
    col(User.updated_at), col(User.last_login_at),
)  # fmt: skip
_USER_SHOWN = select(*USER_SHOWN)  # built once: a select of many columns costs more to build than to run
# A read in full also takes the sealed numbers, to open them.
_USER_SHOWN_SEALED = select(*USER_SHOWN, col(User.phone_sealed), col(User.id_card_sealed))


async def read_user(
    reader: reads.Reader, user_id: uuid.UUID, scope: StationScope, *, sealed: bool = False
) -> reads.LeanRow | None:
    """A user as the read model shows them (lean: see :func:`yijing.kit.repository.read`); ``sealed``: with
    ``phone_sealed`` and ``id_card_sealed`` too."""
    query = _USER_SHOWN_SEALED if sealed else _USER_SHOWN
    return await kit.read(reader, query.where(scope.clause(User.station_id)), User.id, user_id)


async def list_users(
    reader: reads.Reader, scope: StationScope, filters: UserFilters, page: PageParams
) -> list[reads.LeanRow]:
    conditions = kit.equal(
        (User.station_id, filters.station_id), (User.role, filters.role), (User.is_active, filters.is_active)
    )
    if filters.updated_after is not None:
        conditions.append(col(User.updated_at) > filters.updated_after)
    query = _USER_SHOWN.where(scope.clause(User.station_id), *conditions)
    return await kit.read_page(reader, query, User.id, page)


_SITES_OF = (
    select(col(UserSite.user_id), col(UserSite.site_id))
    .where(col(UserSite.user_id).in_(bindparam("user_ids", expanding=True)))
    .order_by(col(UserSite.site_id))
)


async def site_ids_of(
    reader: reads.Reader, user_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """The sites of each user, in one query (lean: a list reads those of a whole page)."""
    result: dict[uuid.UUID, list[uuid.UUID]] = {user_id: [] for user_id in user_ids}
    for row in await reads.mappings(reader, _SITES_OF, user_ids=list(user_ids)):
        result[row.user_id].append(row.site_id)
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


# What an access token's check needs of its sign-in session and user (run on every authenticated request:
# one narrow query, no personal data, no password hash), built once.
_CALLER = (
    select(
        col(AuthSession.revoked_at),
        col(AuthSession.expires_at),
        col(User.is_active),
        col(User.role),
        col(User.station_id),
    )
    .join_from(AuthSession, User, col(User.id) == col(AuthSession.user_id))
    .where(col(AuthSession.id) == bindparam("session_id"), col(User.id) == bindparam("user_id"))
)


async def signed_in_caller(
    reader: reads.Reader, session_id: uuid.UUID, user_id: uuid.UUID
) -> SignedInCaller | None:
    rows = await reads.mappings(reader, _CALLER, session_id=session_id, user_id=user_id)
    if not rows:
        return None
    [row] = rows
    return SignedInCaller(row.revoked_at, row.expires_at, row.is_active, Role(row.role), row.station_id)


async def get_refresh_token(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    query = select(RefreshToken).where(col(RefreshToken.token_hash) == token_hash).with_for_update()
    return (await session.scalars(query)).one_or_none()


async def get_auth_session(session: AsyncSession, session_id: uuid.UUID) -> AuthSession | None:
    return await kit.get(session, AuthSession, session_id, for_update=True)


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
    return await kit.get(session, ApiKey, key_id, for_update=for_update)


async def get_api_key_by_prefix(session: AsyncSession, prefix: str) -> ApiKey | None:
    return (await session.scalars(select(ApiKey).where(col(ApiKey.prefix) == prefix))).one_or_none()


# What an API key's read model shows (ApiKeyRead): its GETs read only these (never its secret's hash).
API_KEY_SHOWN = (
    col(ApiKey.id), col(ApiKey.name), col(ApiKey.prefix), col(ApiKey.scopes), col(ApiKey.station_ids),
    col(ApiKey.rate_limit_per_minute), col(ApiKey.expires_at), col(ApiKey.revoked_at),
    col(ApiKey.created_at), col(ApiKey.last_used_at),
)  # fmt: skip
_API_KEY_SHOWN = select(*API_KEY_SHOWN)  # built once


async def read_api_key(reader: reads.Reader, key_id: uuid.UUID) -> reads.LeanRow | None:
    """An API key as its read model shows it (lean: see :func:`yijing.kit.repository.read`)."""
    return await kit.read(reader, _API_KEY_SHOWN, ApiKey.id, key_id)


async def list_api_keys(
    reader: reads.Reader, filters: ApiKeyFilters, page: PageParams
) -> list[reads.LeanRow]:
    query = _API_KEY_SHOWN
    if not filters.include_revoked:
        query = query.where(col(ApiKey.revoked_at).is_(None))
    return await kit.read_page(reader, query, ApiKey.id, page)


async def touch_api_key(session: AsyncSession, key_id: uuid.UUID, now: datetime) -> None:
    await session.execute(update(ApiKey).where(col(ApiKey.id) == key_id).values(last_used_at=now))


async def count_api_key_request(session: AsyncSession, key_id: uuid.UUID, window_start: datetime) -> int:
    """Count one request of the key in the window that starts at ``window_start``; the count so far."""
    statement = (
        insert(ApiKeyUsage)
        .values(api_key_id=key_id, window_start=window_start, requests=1)
        .on_conflict_do_update(
            index_elements=["api_key_id", "window_start"],
            set_={"requests": col(ApiKeyUsage.requests) + 1},
        )
        .returning(col(ApiKeyUsage.requests))
    )
    return int((await session.execute(statement)).scalar_one())


async def delete_api_key_usage_before(session: AsyncSession, cutoff: datetime) -> int:
    result = await session.execute(delete(ApiKeyUsage).where(col(ApiKeyUsage.window_start) < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# Sign-in lockout

# One statement, so that parallel attempts for one number are counted one after another (the row is locked
# by the upsert): attempts older than the period drop out, this one is appended, and the one that makes
# ``max_failures`` within the period locks the number for the whole period. A locked number's row is left
# as it is (the WHERE), so the attempt is refused and the lock is not extended.
_COUNT_LOGIN_ATTEMPT = text(
    """
    INSERT INTO login_failures AS f (phone_fingerprint, attempted_at, locked_until, updated_at)
    VALUES (
        :fingerprint, ARRAY[CAST(:now AS timestamptz)],
        CASE WHEN :max_failures <= 1 THEN CAST(:locked_until AS timestamptz) END, :now
    )
    ON CONFLICT (phone_fingerprint) DO UPDATE SET
        attempted_at = ARRAY(
            SELECT attempt FROM unnest(f.attempted_at) AS attempt WHERE attempt > :since ORDER BY attempt
        ) || CAST(:now AS timestamptz),
        locked_until = CASE
            WHEN (SELECT count(*) FROM unnest(f.attempted_at) AS attempt WHERE attempt > :since) + 1
                >= :max_failures
            THEN CAST(:locked_until AS timestamptz)
        END,
        updated_at = :now
    WHERE f.locked_until IS NULL OR f.locked_until <= :now
    RETURNING f.locked_until
    """
)


async def count_login_attempt(
    session: AsyncSession, fingerprint: str, now: datetime, period: timedelta, max_failures: int
) -> datetime | None:
    """Count a sign-in attempt for the number. None when it may go ahead; otherwise the number is locked
    (by earlier attempts) until the instant returned, and this attempt is not counted."""
    counted = await session.execute(
        _COUNT_LOGIN_ATTEMPT,
        {
            "fingerprint": fingerprint,
            "now": now,
            "since": now - period,
            "locked_until": now + period,
            "max_failures": max_failures,
        },
    )
    if counted.one_or_none() is not None:
        return None
    # Not counted: the row was locked (the upsert holds it, so this reads the lock that refused it).
    return await session.scalar(
        select(col(LoginFailure.locked_until)).where(col(LoginFailure.phone_fingerprint) == fingerprint)
    )


async def clear_login_failures(session: AsyncSession, fingerprint: str) -> None:
    await session.execute(delete(LoginFailure).where(col(LoginFailure.phone_fingerprint) == fingerprint))


async def delete_login_failures_before(session: AsyncSession, cutoff: datetime) -> int:
    """Rows whose last attempt is older than ``cutoff`` (one lockout period ago: their attempts and lock
    have all expired)."""
    result = await session.execute(delete(LoginFailure).where(col(LoginFailure.updated_at) < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
