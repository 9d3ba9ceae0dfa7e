"""Signing in and out, refreshing tokens, and turning a credential into a Principal."""

from __future__ import annotations

import hmac
import math
import uuid
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from yijing import ratelimit
from yijing.access import Actor, ApiScope, Principal, Role, StationScope
from yijing.audit import service as audit
from yijing.db import SessionFactory, session_scope
from yijing.errors import TooManyRequests
from yijing.identity import repository
from yijing.identity.errors import AccountDisabled, InvalidCredentials, InvalidToken, RefreshTokenReused
from yijing.identity.models import ApiKey, AuthSession, RefreshToken, User
from yijing.identity.passwords import verify_password
from yijing.identity.schemas import TokenPair
from yijing.identity.tokens import AccessClaims, digest, issue_access_token, new_secret, read_access_token
from yijing.ids import utcnow
from yijing.kit.reads import Reader
from yijing.personal import PersonalDataProtector, normalise_mobile
from yijing.redis import GuardedRedis
from yijing.settings import Settings

log = structlog.get_logger(__name__)

API_KEY_PREFIX = "yj"
# last_used_at is refreshed at most this often, so that a busy key does not write on every request.
API_KEY_TOUCH_INTERVAL = timedelta(minutes=1)
API_KEY_RATE_WINDOW_SECONDS = 60


def user_scope(user: User) -> StationScope:
    return role_scope(user.role, user.station_id)


def role_scope(role: Role, station_id: uuid.UUID | None) -> StationScope:
    """The stations a user of ``role`` at ``station_id`` reaches: every station for a county admin."""
    if role is Role.ADMIN:
        return StationScope.everywhere()
    return StationScope(frozenset({station_id}) if station_id else frozenset())


async def _issue_tokens(
    session: AsyncSession, settings: Settings, user: User, auth_session: AuthSession
) -> TokenPair:
    refresh = new_secret()
    await repository.save(session, RefreshToken(session_id=auth_session.id, token_hash=digest(refresh)))
    now = utcnow()
    lifetime = timedelta(minutes=settings.access_token_minutes)
    claims = AccessClaims(user.id, auth_session.id, user.role, user.station_id)
    return TokenPair(
        access_token=issue_access_token(settings.secret_key, claims, now, lifetime),
        expires_in=int(lifetime.total_seconds()),
        refresh_token=refresh,
        refresh_expires_in=max(0, int((auth_session.expires_at - now).total_seconds())),
    )


async def sign_in(
    session: AsyncSession,
    factory: SessionFactory,
    settings: Settings,
    protector: PersonalDataProtector,
    actor: Actor,
    phone: str,
    password: str,
) -> TokenPair:
    """Phone and password to tokens. ``login_max_failures`` failed attempts for one number within
    ``login_lockout_minutes`` lock it (429) for that long from the attempt that locked it.

    The attempt is counted before the password is checked, in a short transaction of its own, before
    ``session`` holds a connection: parallel guesses see each other's attempts, the count outlives this
    request's rollback on a wrong password, and no request holds two connections. A success clears the
    count. PostgreSQL keeps it, not Redis, so the lockout holds while Redis is down."""
    fingerprint = protector.fingerprint(normalise_mobile(phone))
    now = utcnow()
    async with session_scope(factory) as counting:
        locked_until = await repository.count_login_attempt(
            counting,
            fingerprint,
            now,
            timedelta(minutes=settings.login_lockout_minutes),
            settings.login_max_failures,
        )
    if locked_until is not None:
        raise TooManyRequests(
            "too many failed sign-ins for this phone number; try again later",
            zh="该手机号登录失败次数过多，请稍后再试",
            retry_after=max(1, math.ceil((locked_until - now).total_seconds())),
        )
    user = await repository.get_user_by_phone_fingerprint(session, fingerprint)
    if not await verify_password(password, user.password_hash if user else None) or user is None:
        if user is not None:
            await audit.record(
                session,
                actor,
                "auth.login_failed",
                target_type="user",
                target_id=user.id,
                station_id=user.station_id,
            )
        raise InvalidCredentials("the phone number or password is wrong", zh="手机号或密码错误")
    if not user.is_active:
        raise AccountDisabled("this account is disabled", zh="该账号已停用")
    await repository.clear_login_failures(session, fingerprint)
    now = utcnow()
    auth_session = AuthSession(user_id=user.id, expires_at=now + timedelta(days=settings.refresh_token_days))
    await repository.save(session, auth_session)
    user.last_login_at = now
    tokens = await _issue_tokens(session, settings, user, auth_session)
    signed_in = Actor(
        Principal("user", user.id, user_scope(user), user.role, user.station_id),
        actor.request_id,
        actor.client_ip,
    )
    await audit.record(
        session,
        signed_in,
        "auth.login",
        target_type="auth_session",
        target_id=auth_session.id,
        station_id=user.station_id,
    )
    return tokens


async def refresh(session: AsyncSession, settings: Settings, actor: Actor, refresh_token: str) -> TokenPair:
    """Rotate a refresh token. Presenting one that was already used revokes its whole sign-in session:
    someone else may hold a copy."""
    token = await repository.get_refresh_token(session, digest(refresh_token))
    if token is None:
        raise InvalidToken("unknown refresh token", zh="无法识别的刷新令牌")
    auth_session = await repository.get_auth_session(session, token.session_id)
    assert auth_session is not None  # the foreign key guarantees it
    now = utcnow()
    if token.used_at is not None:
        if auth_session.revoked_at is None:
            auth_session.revoked_at, auth_session.revoked_reason = now, "refresh_token_reused"
            station_id = await repository.station_of(session, auth_session.user_id)
            await audit.record(
                session, actor, "auth.refresh_token_reused", target_type="auth_session",
                target_id=auth_session.id, station_id=station_id,
            )  # fmt: skip
            log.warning("refresh_token_reused", session_id=str(auth_session.id))
        raise RefreshTokenReused(
            "this refresh token was already used; the sign-in session is revoked",
            zh="该刷新令牌已被使用过，本次登录会话已被注销",
        )
    if auth_session.revoked_at is not None or auth_session.expires_at <= now:
        raise InvalidToken("the sign-in session has ended; sign in again", zh="登录会话已结束，请重新登录")
    user = await session.get(User, auth_session.user_id)
    assert user is not None
    if not user.is_active:
        raise AccountDisabled("this account is disabled", zh="该账号已停用")
    token.used_at = now
    return await _issue_tokens(session, settings, user, auth_session)


async def sign_out(session: AsyncSession, actor: Actor) -> None:
    principal = actor.principal
    assert principal is not None
    assert principal.session_id is not None
    auth_session = await repository.get_auth_session(session, principal.session_id)
    if auth_session is not None and auth_session.revoked_at is None:
        auth_session.revoked_at, auth_session.revoked_reason = utcnow(), "logout"
        await audit.record(
            session, actor, "auth.logout", target_type="auth_session", target_id=auth_session.id,
            station_id=principal.station_id,
        )  # fmt: skip


async def authenticate_token(reader: Reader, settings: Settings, token: str) -> Principal:
    """The principal behind an access token, checked against the database on every request, so that a
    disabled account or an ended session is refused at once, and a changed role applies at once."""
    claims = read_access_token(settings.secret_key, token)
    caller = await repository.signed_in_caller(reader, claims.session_id, claims.user_id)
    if caller is None:
        raise InvalidToken("the access token's session does not exist", zh="访问令牌对应的登录会话不存在")
    if caller.revoked_at is not None or caller.expires_at <= utcnow():
        raise InvalidToken("the sign-in session has ended; sign in again", zh="登录会话已结束，请重新登录")
    if not caller.is_active:
        raise AccountDisabled("this account is disabled", zh="该账号已停用")
    return Principal(
        "user",
        claims.user_id,
        role_scope(caller.role, caller.station_id),
        caller.role,
        caller.station_id,
        session_id=claims.session_id,
    )


def split_api_key(key: str) -> tuple[str, str] | None:
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


async def authenticate_api_key(session: AsyncSession, key: str) -> tuple[Principal, ApiKey]:
    parts = split_api_key(key)
    found = await repository.get_api_key_by_prefix(session, parts[0]) if parts else None
    if parts is None or found is None or not hmac.compare_digest(found.secret_hash, digest(parts[1])):
        raise InvalidToken("unknown API key", zh="无法识别的 API 密钥")
    now = utcnow()
    if found.revoked_at is not None:
        raise InvalidToken("this API key has been revoked", zh="该 API 密钥已被吊销")
    if found.expires_at is not None and found.expires_at <= now:
        raise InvalidToken("this API key has expired", zh="该 API 密钥已过期")
    if found.last_used_at is None or now - found.last_used_at > API_KEY_TOUCH_INTERVAL:
        await repository.touch_api_key(session, found.id, now)
    scope = (
        StationScope.everywhere()
        if found.station_ids is None
        else StationScope(frozenset(uuid.UUID(station_id) for station_id in found.station_ids))
    )
    scopes = frozenset(
        ApiScope(scope_name) for scope_name in found.scopes if scope_name in ApiScope._value2member_map_
    )
    return Principal("api_key", found.id, scope, api_scopes=scopes), found


async def limit_api_key(session: AsyncSession, redis: GuardedRedis, settings: Settings, key: ApiKey) -> bool:
    """Count one request of ``key`` in the current minute; past the key's limit, 429. Redis counts (cheap);
    while it is unavailable PostgreSQL does, so that the limit never switches off. True when the count went
    to PostgreSQL, in ``session``'s transaction: the caller commits it at once, so that it outlives a
    request that fails and its row is not held for the whole request."""
    limit = key.rate_limit_per_minute or settings.api_key_rate_limit
    window = await ratelimit.hit(redis, f"api_key:{key.id}", API_KEY_RATE_WINDOW_SECONDS)
    in_database = window is None
    if window is None:
        start, retry_after = ratelimit.current_window(API_KEY_RATE_WINDOW_SECONDS)
        count = await repository.count_api_key_request(session, key.id, datetime.fromtimestamp(start, UTC))
        window = ratelimit.Window(count=count, retry_after=retry_after)
    if window.count > limit:
        raise TooManyRequests(
            f"this API key may make {limit} requests a minute",
            zh=f"该 API 密钥每分钟最多可发送 {limit} 次请求",
            retry_after=window.retry_after,
        )
    return in_database
