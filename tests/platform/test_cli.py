"""The `yijing` command, in-process, against the test servers."""

import base64
import json
import re
import subprocess
import sys

import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from tests.live import environment_without_yijing_settings, free_port
from yijing import cli, demo
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
        "idempotency_keys_deleted": 0,
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
    # Said before the half minute it takes, and after it, with what it made and how long it took.
    loaded = re.search(r"Loaded the demo station \S+ in \d+\.\d s: 718 volunteers", first.output)
    assert loaded, first.output
    assert 0 <= first.output.find("Loading the demo station") < loaded.start()
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


def yijing_process(*arguments: str, env: dict[str, str], cwd) -> subprocess.CompletedProcess[str]:
    """The real command in a process of its own (cwd: a folder without a .env)."""
    return subprocess.run(
        [sys.executable, "-m", "yijing.cli", *arguments],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("arguments", [["db", "upgrade"], ["run", "--no-worker"]])
def test_an_unreachable_database_is_one_line_naming_it_and_exit_code_1(arguments, tmp_path):
    closed_port = free_port()  # nothing listens there
    env = environment_without_yijing_settings() | {
        "YIJING_DATABASE_URL": f"postgresql+asyncpg://postgres:hidden-pw@127.0.0.1:{closed_port}/yijing",
        "YIJING_REDIS_URL": f"redis://127.0.0.1:{closed_port}/0",  # never reached: the database comes first
    }
    result = yijing_process(*arguments, env=env, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    [line] = result.stderr.splitlines()
    assert f"postgresql+asyncpg://postgres:***@127.0.0.1:{closed_port}/yijing" in line
    assert "ConnectionRefusedError" in line
    assert "hidden-pw" not in result.stderr + result.stdout


def test_a_database_refusing_the_user_is_one_line_too(settings, tmp_path):
    refused = make_url(settings.database_url).set(username="no_such_yijing_user", password="hidden-pw")
    env = environment_without_yijing_settings() | {
        "YIJING_DATABASE_URL": refused.render_as_string(hide_password=False)
    }
    result = yijing_process("db", "upgrade", env=env, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    [line] = result.stderr.splitlines()
    assert "cannot open the database" in line
    assert "no_such_yijing_user:***@" in line
    assert "hidden-pw" not in result.stderr


HEAVY_MODULES = ("yijing.demo", "yijing.jobs", "alembic", "yijing_api", "yijing_worker", "openpyxl")


def test_help_imports_neither_the_demo_nor_the_jobs_nor_alembic(tmp_path):
    """`yijing --help` answers in a second: the modules that take seconds load inside their commands."""
    probe = (
        "import json, sys\n"
        "from yijing.cli import app\n"
        "try:\n"
        "    app(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env=environment_without_yijing_settings(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "Usage" in result.stdout
    modules = json.loads(result.stdout.splitlines()[-1])
    assert "yijing.cli" in modules
    assert [name for name in modules if name.startswith(HEAVY_MODULES)] == []


def test_the_demo_station_the_command_names_before_importing_the_demo_is_the_demos():
    assert cli.DEMO_STATION == demo.STATION_NAME
