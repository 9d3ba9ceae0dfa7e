"""Configuration, read from the environment (prefix ``YIJING_``) or a ``.env`` file."""

from __future__ import annotations

import base64
import binascii
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The value shipped for development; a production start refuses it.
DEVELOPMENT_SECRET_KEY = "development-only-secret-key-change-me"  # noqa: S105 - a known placeholder, refused in production
MIN_PRODUCTION_SECRET_LENGTH = 32
# Base64 of 32 bytes; the development value is public, so production refuses it.
DEVELOPMENT_PERSONAL_DATA_KEY = "ZGV2ZWxvcG1lbnQtb25seS1wZXJzb25hbC1kYXRhLWs="


PERSONAL_DATA_KEY_BYTES = 32


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class AttachmentStoreKind(StrEnum):
    LOCAL = "local"
    S3 = "s3"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YIJING_", env_file=".env", extra="ignore")

    env: Environment = Environment.DEVELOPMENT
    # Unset: development and test runs start embedded servers (see yijing.embedded).
    database_url: str | None = None
    redis_url: str | None = None
    secret_key: str = DEVELOPMENT_SECRET_KEY
    timezone: str = "Asia/Shanghai"
    log_level: str = "INFO"
    # JSON logs for machines (the default in production); readable console lines otherwise, for a terminal.
    log_json: bool = Field(default_factory=lambda data: data.get("env") is Environment.PRODUCTION)
    # Where embedded servers keep their data (git-ignored).
    data_dir: Path = Path(".data")
    # Largest request body accepted, in bytes (imports of spreadsheets are the biggest bodies).
    max_body_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    database_pool_size: int = Field(default=10, gt=0)
    # How long relayed outbox rows are kept for tracing before the daily purge removes them.
    outbox_retention_days: int = Field(default=7, gt=0)
    # How long a create's Idempotency-Key replays its first answer; the daily purge removes older keys.
    idempotency_key_hours: int = Field(default=24, gt=0, le=24 * 30)
    # Encrypts ID-card and phone numbers at rest and keys their lookup fingerprints (base64 of 32 bytes).
    personal_data_key: str = DEVELOPMENT_PERSONAL_DATA_KEY
    access_token_minutes: int = Field(default=15, gt=0, le=24 * 60)
    refresh_token_days: int = Field(default=30, gt=0, le=365)
    # Failed sign-ins allowed per phone number before it is locked for login_lockout_minutes.
    login_max_failures: int = Field(default=5, gt=0)
    login_lockout_minutes: int = Field(default=15, gt=0)
    # Requests per minute an API key may make unless the key sets its own limit.
    api_key_rate_limit: int = Field(default=600, gt=0)
    # Uploaded photos: a local directory (default: <data_dir>/attachments) or an S3-compatible bucket.
    attachment_store: AttachmentStoreKind = AttachmentStoreKind.LOCAL
    attachments_dir: Path | None = None
    attachment_max_bytes: int = Field(default=8 * 1024 * 1024, gt=0)
    s3_bucket: str | None = None
    s3_prefix: str = ""
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    # Days before a hazard's rectification deadline that its reminder goes out.
    hazard_reminder_days: int = Field(default=1, ge=0, le=30)
    # The worker's own /healthz and /readyz: off unless a port is set (deploy/compose.yaml sets one), so that
    # several workers, or a worker beside tests, never compete for a port.
    worker_health_port: int | None = Field(default=None, ge=1, le=65535)
    worker_health_host: str = "127.0.0.1"
    # The reverse proxies whose X-Forwarded-For and X-Forwarded-Proto the API believes (the client address the
    # audit log records): comma-separated addresses or networks, "*" for any. Given to uvicorn where the API
    # starts (yijing.processes, deploy/Dockerfile); any other sender's forwarded headers are ignored.
    forwarded_allow_ips: str = "127.0.0.1"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @field_validator("personal_data_key")
    @classmethod
    def _valid_personal_data_key(cls, value: str) -> str:
        try:
            key = base64.b64decode(value, validate=True)
        except binascii.Error as exc:
            raise ValueError("YIJING_PERSONAL_DATA_KEY must be base64") from exc
        if len(key) != PERSONAL_DATA_KEY_BYTES:
            raise ValueError(f"YIJING_PERSONAL_DATA_KEY must encode {PERSONAL_DATA_KEY_BYTES} bytes")
        return value

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError(f"unknown log level {value!r}")
        return level

    @model_validator(mode="after")
    def _photos_fit_in_a_request(self) -> Self:
        if self.attachment_max_bytes >= self.max_body_bytes:
            raise ValueError(
                "YIJING_ATTACHMENT_MAX_BYTES must be below YIJING_MAX_BODY_BYTES (a photo arrives inside a "
                "request body, with its form fields)"
            )
        return self

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Self:
        if self.env is Environment.PRODUCTION:
            if (
                self.secret_key == DEVELOPMENT_SECRET_KEY
                or len(self.secret_key) < MIN_PRODUCTION_SECRET_LENGTH
            ):
                raise ValueError(
                    "YIJING_SECRET_KEY must be set to a random value of at least "
                    f"{MIN_PRODUCTION_SECRET_LENGTH} characters in production "
                    "(for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
                )
            if self.personal_data_key == DEVELOPMENT_PERSONAL_DATA_KEY:
                raise ValueError(
                    "YIJING_PERSONAL_DATA_KEY must be set to a random key in production (for example: "
                    "python -c 'import os, base64; print(base64.b64encode(os.urandom(32)).decode())')"
                )
            if not self.database_url or not self.redis_url:
                raise ValueError("YIJING_DATABASE_URL and YIJING_REDIS_URL must be set in production")
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def uses_embedded_servers(self) -> bool:
        return self.database_url is None or self.redis_url is None


@lru_cache
def get_settings() -> Settings:
    return Settings()
