from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from yijing.access import ApiScope, Role
from yijing.identity.models import User
from yijing.kit.reads import LeanRow, by_value, read_model
from yijing.personal import IdCardNumber, MobileNumber
from yijing.types import JSON_INTEGER, Instant, Name, QueryBool, StrictBool

Password = Annotated[
    str, Field(min_length=8, max_length=128, description="8 to 128 characters", examples=["correct horse 42"])
]

_USER_ID = "0193a6a4-3333-7c3d-8f2a-3b4c5d6e7f80"
_STATION_ID = "0193a6a4-1111-7c3d-8f2a-3b4c5d6e7f80"


class _UserCreateBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    phone: MobileNumber
    password: Password
    id_card_number: IdCardNumber | None = None


class AdminCreate(_UserCreateBase):
    """A county admin: reaches every station, belongs to none."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "县局管理员",
                    "phone": "13900000001",
                    "password": "correct horse 42",
                    "role": "admin",
                }
            ]
        }
    )

    role: Literal[Role.ADMIN]


class MemberCreate(_UserCreateBase):
    """A station leader or a volunteer."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "陈阿姨",
                    "phone": "13812345678",
                    "password": "correct horse 42",
                    "role": "volunteer",
                    "station_id": _STATION_ID,
                }
            ]
        }
    )

    role: Literal[Role.LEADER, Role.VOLUNTEER]
    station_id: uuid.UUID


class StaffCreate(_UserCreateBase):
    """A community officer or police assistant, optionally attached to sites of their station."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "林警官",
                    "phone": "13812345679",
                    "password": "correct horse 42",
                    "role": "officer",
                    "station_id": _STATION_ID,
                    "site_ids": [],
                }
            ]
        }
    )

    role: Literal[Role.OFFICER, Role.ASSISTANT]
    station_id: uuid.UUID
    site_ids: list[uuid.UUID] = Field(default_factory=list, max_length=50)


# The body of POST /users, chosen by role: the document says which fields each kind of account takes.
UserCreate = Annotated[AdminCreate | MemberCreate | StaffCreate, Field(discriminator="role")]


class UserUpdate(BaseModel):
    """Fields left out (or null) stay as they are."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"role": "assistant"}]})

    name: Name | None = None
    phone: MobileNumber | None = None
    password: Password | None = None
    role: Role | None = None
    site_ids: list[uuid.UUID] | None = Field(default=None, max_length=50)
    id_card_number: IdCardNumber | None = None
    is_active: StrictBool | None = None


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=128)
    new_password: Password


class MeUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"password": {"current_password": "correct horse 42", "new_password": "battery staple 7"}}
            ]
        },
    )

    name: Name | None = None
    password: PasswordChange | None = None


class UserFilters(BaseModel):
    """The users list's filters (all of them together)."""

    station_id: uuid.UUID | None = None
    role: Role | None = None
    is_active: QueryBool | None = None
    updated_after: Instant | None = None


_ROLES = by_value(Role)


class UserRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": _USER_ID,
                    "name": "林警官",
                    "role": "officer",
                    "station_id": _STATION_ID,
                    "site_ids": [],
                    "phone": "138****5678",
                    "id_card_number": "3501**********123X",
                    "personal_data": "masked",
                    "is_active": True,
                    "version": 1,
                    "created_at": "2026-11-29T10:00:00+08:00",
                    "updated_at": "2026-11-29T10:00:00+08:00",
                    "last_login_at": None,
                }
            ]
        }
    )

    id: uuid.UUID
    name: str
    role: Role
    station_id: uuid.UUID | None
    site_ids: list[uuid.UUID] = Field(
        description="Sites given to the account when it was created or changed (`POST`/`PATCH "
        "/api/v1/users`; officers and assistants only). Not the posts held: a site's 1+2+N team says "
        "who holds its posts, and `GET /api/v1/me/posts` lists yours."
    )
    phone: str = Field(description="Masked unless personal_data is full")
    id_card_number: str | None = Field(description="Masked unless personal_data is full")
    personal_data: Literal["masked", "full"]
    is_active: bool
    version: int
    created_at: datetime
    updated_at: datetime
    last_login_at: datetime | None

    @classmethod
    def of(
        cls,
        user: User | LeanRow,
        site_ids: list[uuid.UUID],
        *,
        phone: str | None = None,
        id_card: str | None = None,
    ) -> UserRead:
        """Masked, unless the caller passes the opened values (and has audited the read). From a record or
        a lean row of its columns (:data:`yijing.identity.repository.USER_SHOWN`), as stored: not validated
        again (a lean row's role is the driver's string)."""
        full = phone is not None
        return read_model(
            cls, id=user.id, name=user.name, role=_ROLES[user.role], station_id=user.station_id,
            site_ids=site_ids, phone=phone or user.phone_masked,
            id_card_number=id_card or user.id_card_masked, personal_data="full" if full else "masked",
            is_active=user.is_active, version=user.version, created_at=user.created_at,
            updated_at=user.updated_at, last_login_at=user.last_login_at,
        )  # fmt: skip


class TokenPair(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9…",
                    "token_type": "bearer",
                    "expires_in": 900,
                    "refresh_token": "q3V9…",
                    "refresh_expires_in": 2592000,
                }
            ]
        }
    )

    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int = Field(description="Seconds the access token lives")
    refresh_token: str
    refresh_expires_in: int = Field(description="Seconds the sign-in session lives")


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"refresh_token": "q3V9…"}]})

    refresh_token: str = Field(min_length=1, max_length=256)


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "市局情指中心统计拉取",
                    "scopes": ["stats:read"],
                    "station_ids": [_STATION_ID],
                    "expires_at": "2027-12-31T23:59:59+08:00",
                }
            ]
        },
    )

    name: Name
    scopes: list[ApiScope] = Field(min_length=1, max_length=len(ApiScope))
    station_ids: list[uuid.UUID] | None = Field(
        default=None, min_length=1, max_length=500, description="The stations the key reaches; null for all"
    )
    expires_at: Instant | None = Field(default=None, description="Null: never expires")
    rate_limit_per_minute: Annotated[int, Field(ge=1, le=100_000), JSON_INTEGER] | None = Field(
        default=None, description="Null: the service default"
    )


class ApiKeyFilters(BaseModel):
    """The API keys list's filters."""

    include_revoked: Annotated[QueryBool, Field(description="Also list revoked keys")] = False


_API_KEY_EXAMPLE: dict[str, Any] = {
    "id": "0193a6a4-4444-7c3d-8f2a-3b4c5d6e7f80",
    "name": "市局情指中心统计拉取",
    "prefix": "yj_3f9a1c0b7d2e",
    "scopes": ["stats:read"],
    "station_ids": [_STATION_ID],
    "rate_limit_per_minute": 600,
    "expires_at": None,
    "revoked_at": None,
    "created_at": "2026-11-29T10:00:00+08:00",
    "last_used_at": None,
}


class ApiKeyRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_API_KEY_EXAMPLE]})

    id: uuid.UUID
    name: str
    prefix: str = Field(description="The key's public part, to recognise it")
    scopes: list[ApiScope]
    station_ids: list[uuid.UUID] | None
    rate_limit_per_minute: int
    expires_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime
    last_used_at: datetime | None


class ApiKeyCreated(ApiKeyRead):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {**_API_KEY_EXAMPLE, "key": "yj_3f9a1c0b7d2e_Qm8vN2xKp4RtY7wZb1Hc9Ls3Df6Gj0Ua5Ei2Oq8Xn4T"}
            ]
        }
    )

    key: str = Field(description="The whole key, shown this once: send it as X-API-Key")
