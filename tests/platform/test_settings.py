"""Settings refuse unsafe or impossible values with a message that says what to do."""

import base64
import os
from typing import Any

import pytest
from pydantic import ValidationError

from yijing.settings import DEVELOPMENT_SECRET_KEY, Environment, Settings


@pytest.fixture(autouse=True)
def no_yijing_environment(monkeypatch):
    """Each test states its settings; the environment CI runs in must not leak into them."""
    for name in [name for name in os.environ if name.startswith("YIJING_")]:
        monkeypatch.delenv(name)


URLS: dict[str, Any] = {"database_url": "postgresql+asyncpg://db/yijing", "redis_url": "redis://redis:6379/0"}


def test_development_defaults_are_usable():
    settings = Settings(_env_file=None)
    assert settings.env is Environment.DEVELOPMENT
    assert settings.timezone == "Asia/Shanghai"
    assert settings.tz.key == "Asia/Shanghai"


@pytest.mark.parametrize("secret", [DEVELOPMENT_SECRET_KEY, "short-secret"])
def test_production_refuses_a_placeholder_or_short_secret(secret):
    with pytest.raises(ValidationError, match="YIJING_SECRET_KEY must be set"):
        Settings(_env_file=None, env="production", secret_key=secret, **URLS)


REAL_KEYS: dict[str, Any] = {
    "secret_key": "x" * 48,
    "personal_data_key": base64.b64encode(b"k" * 32).decode(),
}


def test_production_refuses_the_development_personal_data_key():
    with pytest.raises(ValidationError, match="YIJING_PERSONAL_DATA_KEY must be set"):
        Settings(_env_file=None, env="production", secret_key="x" * 48, **URLS)


def test_production_refuses_missing_server_urls():
    with pytest.raises(ValidationError, match="YIJING_DATABASE_URL and YIJING_REDIS_URL must be set"):
        Settings(_env_file=None, env="production", **REAL_KEYS)


def test_production_starts_with_real_keys_and_servers():
    settings = Settings(_env_file=None, env="production", **REAL_KEYS, **URLS)
    assert settings.env is Environment.PRODUCTION


@pytest.mark.parametrize("key", ["not base64!", base64.b64encode(b"short").decode()])
def test_a_malformed_personal_data_key_is_refused(key):
    with pytest.raises(ValidationError, match="YIJING_PERSONAL_DATA_KEY must"):
        Settings(_env_file=None, personal_data_key=key)


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("YIJING_TIMEZONE", "Asia/Urumqi")
    monkeypatch.setenv("YIJING_LOG_LEVEL", "debug")
    settings = Settings(_env_file=None)
    assert settings.timezone == "Asia/Urumqi"
    assert settings.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("timezone", "Mars/Olympus", "unknown IANA time zone"), ("log_level", "LOUD", "unknown log level")],
)
def test_impossible_values_are_refused(field, value, message):
    with pytest.raises(ValidationError, match=message):
        Settings(_env_file=None, **{field: value})


def test_a_photo_limit_beyond_the_request_limit_is_refused():
    # The body limit would answer first, with a message about request bodies rather than photos.
    with pytest.raises(ValidationError, match="YIJING_ATTACHMENT_MAX_BYTES must be below"):
        Settings(_env_file=None, max_body_bytes=1_000_000, attachment_max_bytes=2_000_000)
    assert Settings(_env_file=None, max_body_bytes=3_000_000, attachment_max_bytes=2_000_000)
