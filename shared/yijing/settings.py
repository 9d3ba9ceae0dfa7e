"""Configuration, read from the environment (prefix ``YIJING_``) or a ``.env`` file."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The value shipped for development; a production start refuses it.
DEVELOPMENT_SECRET_KEY = "development-only-secret-key-change-me"  # noqa: S105 - a known placeholder, refused in production
MIN_PRODUCTION_SECRET_LENGTH = 32


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YIJING_", env_file=".env", extra="ignore")

    env: Environment = Environment.DEVELOPMENT
    # Unset: development and test runs start embedded servers (see yijing.embedded).
    database_url: str | None = None
    redis_url: str | None = None
    secret_key: str = DEVELOPMENT_SECRET_KEY
    timezone: str = "Asia/Shanghai"
    log_level: str = "INFO"
    # JSON logs for machines; console rendering is easier to read in a terminal during development.
    log_json: bool = True
    # Where embedded servers keep their data (git-ignored).
    data_dir: Path = Path(".data")
    # Largest request body accepted, in bytes (imports of spreadsheets are the biggest bodies).
    max_body_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    database_pool_size: int = Field(default=10, gt=0)
    # How long relayed outbox rows are kept for tracing before the daily purge removes them.
    outbox_retention_days: int = Field(default=7, gt=0)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError(f"unknown log level {value!r}")
        return level

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
