"""Access tokens: short-lived JWTs (HS256 only) naming the user, their sign-in session, role and station.
Refresh tokens and API-key secrets are opaque random strings stored as SHA-256."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import jwt

from yijing.access import Role
from yijing.identity.errors import InvalidToken

ALGORITHM = "HS256"
ISSUER = "yijing"


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    session_id: uuid.UUID
    role: Role
    station_id: uuid.UUID | None


def issue_access_token(secret: str, claims: AccessClaims, now: datetime, lifetime: timedelta) -> str:
    payload = {
        "iss": ISSUER,
        "sub": str(claims.user_id),
        "sid": str(claims.session_id),
        "role": claims.role.value,
        "stn": str(claims.station_id) if claims.station_id else None,
        "typ": "access",
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def read_access_token(secret: str, token: str) -> AccessClaims:
    """Verified claims, or InvalidToken for anything expired, forged, of another algorithm or malformed."""
    try:
        claims, expires = _verified(secret, token)
    except jwt.ExpiredSignatureError as exc:
        raise _expired() from exc
    except (jwt.InvalidTokenError, KeyError, ValueError) as exc:
        raise InvalidToken("the access token is not valid", zh="访问令牌无效") from exc
    if expires <= time.time():  # as PyJWT checks it
        raise _expired()
    return claims


def _expired() -> InvalidToken:
    return InvalidToken("the access token has expired; refresh it", zh="访问令牌已过期，请刷新")


# A token is verified (signature, algorithm, issuer, required claims: ≈100 µs) the first time it is read;
# its claims are kept, and later reads only check its expiry. The key is the whole token, signature
# included, so a token changed in any way is verified anew; one that fails is never kept.
VERIFIED_TOKENS = 4096


@lru_cache(maxsize=VERIFIED_TOKENS)
def _verified(secret: str, token: str) -> tuple[AccessClaims, int]:
    """The claims of a valid access token and its expiry (seconds since 1970); raises for any other."""
    payload = jwt.decode(
        token,
        secret,
        algorithms=[ALGORITHM],
        issuer=ISSUER,
        options={"require": ["exp", "iat", "sub", "sid", "iss"]},
    )
    if payload.get("typ") != "access":
        raise InvalidToken("not an access token", zh="这不是访问令牌")
    claims = AccessClaims(
        user_id=uuid.UUID(payload["sub"]),
        session_id=uuid.UUID(payload["sid"]),
        role=Role(payload["role"]),
        station_id=uuid.UUID(payload["stn"]) if payload.get("stn") else None,
    )
    return claims, int(payload["exp"])


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
