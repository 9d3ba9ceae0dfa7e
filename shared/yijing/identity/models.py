from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, Column, DateTime, ForeignKey, Integer, LargeBinary, Uuid
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

from yijing.access import Role
from yijing.columns import enum_column, instant
from yijing.ids import new_id


class User(SQLModel, table=True):
    """A person who signs in. Phone and ID-card numbers are kept sealed, fingerprinted and masked
    (see yijing.personal); nothing here holds them in clear."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "role IN ('volunteer', 'assistant', 'officer', 'leader', 'admin')", name="role_known"
        ),
        # County admins belong to no station; everyone else belongs to exactly one.
        CheckConstraint("(role = 'admin') = (station_id IS NULL)", name="station_matches_role"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(max_length=100)
    role: Role = enum_column(Role, default=Role.VOLUNTEER)
    station_id: uuid.UUID | None = Field(default=None, foreign_key="stations.id", index=True)
    phone_sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    phone_fingerprint: str = Field(max_length=64, unique=True)
    phone_masked: str = Field(max_length=11)
    id_card_sealed: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    id_card_fingerprint: str | None = Field(default=None, max_length=64, unique=True)
    id_card_masked: str | None = Field(default=None, max_length=18)
    password_hash: str = Field(max_length=255)
    is_active: bool = Field(default=True)
    version: int = Field(default=1)
    created_at: datetime = instant()
    updated_at: datetime = instant(index=True)
    last_login_at: datetime | None = instant(nullable=True)


class UserSite(SQLModel, table=True):
    """Sites an officer or assistant is attached to."""

    __tablename__ = "user_sites"

    user_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    )
    site_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True, index=True)
    )


class AuthSession(SQLModel, table=True):
    """One sign-in: its refresh tokens form a family; revoking the session ends every token in it."""

    __tablename__ = "auth_sessions"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    created_at: datetime = instant()
    expires_at: datetime = instant()
    revoked_at: datetime | None = instant(nullable=True)
    revoked_reason: str | None = Field(default=None, max_length=64)


class RefreshToken(SQLModel, table=True):
    __tablename__ = "refresh_tokens"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    session_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("auth_sessions.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    # SHA-256 of the token: a high-entropy secret needs no slow hash, and a database leak reveals nothing.
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = instant()
    used_at: datetime | None = instant(nullable=True)


class ApiKey(SQLModel, table=True):
    """A machine client's credential: ``yj_<prefix>_<secret>``; only the secret's SHA-256 is stored."""

    __tablename__ = "api_keys"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=16, unique=True)
    secret_hash: str = Field(max_length=64)
    scopes: list[str] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]")
    )
    # None: every station; otherwise the ids of the stations the key reaches.
    station_ids: list[str] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    rate_limit_per_minute: int | None = Field(default=None)
    expires_at: datetime | None = instant(nullable=True)
    revoked_at: datetime | None = instant(nullable=True)
    created_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = instant()
    last_used_at: datetime | None = instant(nullable=True)
    version: int = Field(default=1)


class LoginFailure(SQLModel, table=True):
    """The recent sign-in attempts of one phone number that have not (yet) succeeded, for the lockout. In
    PostgreSQL, not Redis, so that the lockout holds while Redis is down; one row per number, so that one
    statement counts an attempt and decides the lock atomically."""

    __tablename__ = "login_failures"

    phone_fingerprint: str = Field(max_length=64, primary_key=True)
    # Within the last lockout period, oldest first. An attempt is counted before its password is checked
    # (parallel guesses see each other); a successful sign-in deletes the row.
    attempted_at: list[datetime] = Field(sa_column=Column(ARRAY(DateTime(timezone=True)), nullable=False))
    locked_until: datetime | None = instant(nullable=True)
    # The last counted attempt: the nightly purge drops rows whose attempts and lock have all expired.
    updated_at: datetime = instant(index=True)


class ApiKeyUsage(SQLModel, table=True):
    """Requests of an API key per minute, counted here only while Redis (which counts them otherwise) is
    unavailable, so that the key's rate limit keeps holding."""

    __tablename__ = "api_key_usage"

    api_key_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("api_keys.id", ondelete="CASCADE"), primary_key=True)
    )
    window_start: datetime = Field(sa_column=Column(DateTime(timezone=True), primary_key=True, index=True))
    requests: int = Field(sa_column=Column(Integer, nullable=False))
