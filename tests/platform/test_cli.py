"""The `yijing` command, in-process, against the test servers."""

import base64
import json

import pytest
from typer.testing import CliRunner

from yijing.cli import app
from yijing.settings import get_settings

# Committed for real: the commands open connections of their own.
pytestmark = pytest.mark.committed

runner = CliRunner()


@pytest.fixture
def cli_env(settings, monkeypatch):
    monkeypatch.setenv("YIJING_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("YIJING_REDIS_URL", settings.redis_url)
    monkeypatch.setenv("YIJING_LOG_LEVEL", "WARNING")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_jobs_list_names_every_registered_job():
    result = runner.invoke(app, ["jobs", "list"])
    assert result.exit_code == 0
    assert "system.heartbeat" in result.output
    assert "system.purge" in result.output


def test_jobs_run_executes_a_job_once_in_process(cli_env):
    result = runner.invoke(app, ["jobs", "run", "system.purge", "--payload", '{"outbox_retention_days": 3}'])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "outbox_deleted": 0,
        "heartbeats_deleted": 0,
        "login_failures_deleted": 0,
        "api_key_usage_deleted": 0,
    }
    heartbeat = runner.invoke(app, ["jobs", "run", "system.heartbeat"])
    assert json.loads(heartbeat.stdout)["recorded"] is True


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["jobs", "run", "no.such.job"], "no job is registered"),
        (["jobs", "run", "system.heartbeat", "--payload", "{not json"], "not valid JSON"),
        (["jobs", "run", "system.purge", "--payload", '{"outbox_retention_days": 0}'], "invalid payload"),
    ],
)
def test_jobs_run_refuses_bad_input_with_a_message(cli_env, arguments, message):
    result = runner.invoke(app, arguments)
    assert result.exit_code != 0
    assert message in result.output


def test_db_upgrade_is_idempotent(cli_env):
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "database upgraded to head" in result.output


def test_users_create_makes_the_first_admin_who_can_then_sign_in(cli_env, settings):
    result = runner.invoke(
        app, ["users", "create", "--phone", "13900002222", "--role", "admin", "--password", "first admin pw"]
    )
    assert result.exit_code == 0, result.output
    assert "created admin" in result.stdout
    assert "139****2222" in result.stdout


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--phone", "12345", "--role", "admin", "--password", "long enough pw"], "phone"),
        (["--phone", "13900003333", "--role", "volunteer", "--password", "long enough pw"], "station"),
        (["--phone", "13900003333", "--role", "volunteer", "--password", "long pw!", "--station", "nowhere"],
         "no station"),
        (["--phone", "13900003333", "--role", "admin", "--password", "short"], "password"),
    ],
)  # fmt: skip
def test_users_create_refuses_bad_input_with_a_message(cli_env, arguments, message):
    result = runner.invoke(app, ["users", "create", *arguments])
    assert result.exit_code != 0
    assert message in result.output


def test_demo_load_prints_the_accounts_and_loads_once(cli_env):
    first = runner.invoke(app, ["demo", "load"])
    assert first.exit_code == 0, first.output
    assert "718 volunteers" in first.output
    assert "13900000011" in first.output
    assert "yijing-demo-2023" in first.output
    again = runner.invoke(app, ["demo", "load"])
    assert again.exit_code == 0, again.output
    assert "loaded already" in again.output


@pytest.mark.parametrize(
    ("arguments", "environment", "message"),
    [
        (["--password", "short"], {}, "8 characters"),
        (
            [],
            {
                "YIJING_ENV": "production",
                "YIJING_SECRET_KEY": "x" * 64,
                "YIJING_PERSONAL_DATA_KEY": base64.b64encode(bytes(range(32))).decode(),
            },
            "never in production",
        ),
    ],
)
def test_demo_load_refuses(cli_env, monkeypatch, arguments, environment, message):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    result = runner.invoke(app, ["demo", "load", *arguments])
    assert result.exit_code != 0
    assert message in " ".join(result.output.replace("│", " ").split()), result.output
