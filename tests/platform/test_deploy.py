"""The container image and compose file, read without Docker: what the build context carries, who the
image runs as and where its photos go, and which proxies the API believes, however it is started."""

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML (through uvicorn[standard]) ships no type hints
from uvicorn.config import Config
from uvicorn.main import main as uvicorn_cli

from yijing.processes import api_command
from yijing.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
COMPOSE = ROOT / "deploy" / "compose.yaml"
DEFAULT_TRUSTED = Settings.model_fields["forwarded_allow_ips"].default


# -- the build context ---------------------------------------------------------------------------------------


def ignore_rules() -> list[tuple[bool, re.Pattern[str]]]:
    """.dockerignore as (let back in, pattern): `*` and `?` stay within a path segment, `**` spans any."""
    rules = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = re.escape(line.removeprefix("!").strip("/"))
        for escaped, regex in [(r"\*\*/", "(.*/)?"), (r"\*\*", ".*"), (r"\*", "[^/]*"), (r"\?", "[^/]")]:
            pattern = pattern.replace(escaped, regex)
        rules.append((negated, re.compile(pattern.replace(r"\[", "[").replace(r"\]", "]"))))
    return rules


def in_context(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Docker's rule: the last pattern that matches the path or a folder above it decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[:end]) for end in range(1, len(parts) + 1)]
    included = True
    for negated, pattern in rules:
        if any(pattern.fullmatch(candidate) for candidate in candidates):
            included = negated
    return included


@pytest.mark.parametrize(
    "path",
    [
        ".venv/bin/python",
        ".data/test/gw0/postgres/PG_VERSION",
        ".data/attachments/hazards/x/y",
        ".data/bench/redis/dump.rdb",
        ".git/HEAD",
        ".mypy_cache/3.11/cache.db",
        ".ruff_cache/CACHEDIR.TAG",
        ".pytest_cache/v/cache/lastfailed",
        ".hypothesis/examples/x",
        ".env",
        "yijing.egg-info/PKG-INFO",
        "build/lib/yijing/settings.py",
        "dist/yijing-0.1.0-py3-none-any.whl",
        "tests/conftest.py",
        "bench/__main__.py",
        "shared/yijing/__pycache__/settings.cpython-311.pyc",
        "services/api/yijing_api/main.pyc",
        "shared/yijing.egg-info/PKG-INFO",
    ],
)
def test_the_build_context_leaves_out_local_state(path):
    assert not in_context(path, ignore_rules())


def test_the_build_context_holds_everything_the_image_copies():
    rules = ignore_rules()
    copied = [
        source
        for line in DOCKERFILE.read_text().splitlines()
        if line.startswith("COPY ") and "--from" not in line
        for source in line.split()[1:-1]
    ]
    assert {"pyproject.toml", "README.md", "shared", "services"} <= set(copied)
    for source in copied:
        assert in_context(source, rules), source
    for path in ["shared/yijing/settings.py", "shared/yijing/migrations/script.py.mako", "services/worker"]:
        assert in_context(path, rules), path


def test_the_build_context_of_this_working_tree_is_small():
    """What the builder would receive from this checkout, .venv and .data included if they are here."""
    rules = ignore_rules()
    sizes: dict[str, int] = {}
    for folder, subfolders, files in os.walk(ROOT):
        relative = Path(folder).relative_to(ROOT)
        # Nothing below a left-out folder is let back in (no rule names a path inside one).
        subfolders[:] = [name for name in subfolders if in_context((relative / name).as_posix(), rules)]
        for name in files:
            path = (relative / name).as_posix()
            if in_context(path, rules):
                sizes[path] = (ROOT / path).stat().st_size
    assert "pyproject.toml" in sizes
    assert sum(sizes.values()) < 5 * 1024 * 1024, sorted(sizes, key=sizes.__getitem__)[-10:]


# -- the image -----------------------------------------------------------------------------------------------


def final_stage() -> list[tuple[str, str]]:
    """The last stage's instructions as (INSTRUCTION, arguments), continued lines joined."""
    text = DOCKERFILE.read_text().replace("\\\n", "")
    instructions = [line.split(maxsplit=1) for line in text.splitlines() if line and not line.startswith("#")]
    last_from = max(index for index, (name, _) in enumerate(instructions) if name == "FROM")
    return [(name, arguments) for name, arguments in instructions[last_from:]]


def instruction(name: str) -> str:
    (arguments,) = [arguments for found, arguments in final_stage() if found == name]
    return arguments


def image_environment() -> dict[str, str]:
    pairs = re.findall(r"(\w+)=(\S+)", instruction("ENV"))
    return dict(pairs)


def attachments_dir() -> str:
    return image_environment()["YIJING_ATTACHMENTS_DIR"]


def test_the_image_runs_as_a_user_of_its_own_that_owns_its_folders():
    user = instruction("USER")
    assert user not in {"root", "0"}
    workdir, data = instruction("WORKDIR"), attachments_dir()
    (creation,) = [arguments for name, arguments in final_stage() if name == "RUN" and "useradd" in arguments]
    assert user in creation.split("&&")[0].split()
    owned = creation.split(f"--owner {user} --group {user}")[1].split()
    assert workdir in owned
    assert data in owned


def test_the_image_keeps_photos_in_a_volume():
    data = attachments_dir()
    assert data.startswith("/")
    volumes = instruction("VOLUME")
    assert (json.loads(volumes) if volumes.startswith("[") else volumes.split()) == [data]
    # The local store, unless s3 is chosen: the image sets no other.
    assert "YIJING_ATTACHMENT_STORE" not in image_environment()


def test_the_image_installs_the_s3_extra():
    """The build stage's wheels: the project's dependencies and its s3 extra's, as its requirements step
    writes them from pyproject.toml; the final stage installs yijing[s3] from them."""
    dockerfile = DOCKERFILE.read_text().replace("\\\n", "")
    (program,) = re.findall(r"python -c '([^']*)' > requirements\.txt", dockerfile)
    written = subprocess.run(
        [sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert written == project["dependencies"] + project["optional-dependencies"]["s3"]
    assert any(requirement.startswith("boto3") for requirement in written)
    installs = [
        arguments for name, arguments in final_stage() if name == "RUN" and "pip install" in arguments
    ]
    assert any("'yijing[s3]'" in arguments and "--no-index" in arguments for arguments in installs)


# -- the compose file ----------------------------------------------------------------------------------------


def compose() -> dict:
    with COMPOSE.open() as file:
        loaded: dict = yaml.safe_load(file)
    return loaded


def test_compose_builds_from_the_folder_holding_the_dockerignore():
    build = compose()["services"]["api"]["build"]
    assert (COMPOSE.parent / build["context"]).resolve() == ROOT
    assert ROOT / build["dockerfile"] == DOCKERFILE


@pytest.mark.parametrize("service", ["api", "migrate"])
def test_compose_mounts_the_attachments_volume_where_the_image_keeps_photos(service):
    """The API stores uploads; `run --rm migrate yijing demo load` stores the demo's photos."""
    stack = compose()
    mounts = [mount.split(":") for mount in stack["services"][service]["volumes"]]
    (volume,) = [name for name, target, *_ in mounts if target == attachments_dir()]
    assert volume in stack["volumes"], "a named volume, kept across `down` and `up`"


def test_compose_keeps_its_services_and_their_healthchecks():
    services = compose()["services"]
    assert set(services) == {"postgres", "redis", "migrate", "api", "worker"}
    for name in ["postgres", "redis", "api", "worker"]:
        assert services[name]["healthcheck"]["test"], name
    assert services["worker"]["environment"]["YIJING_WORKER_HEALTH_PORT"] == "8001"
    # The services that add variables keep the shared ones.
    shared = services["migrate"]["environment"]
    assert "YIJING_SECRET_KEY" in shared
    for name in ["api", "worker"]:
        assert shared.items() <= services[name]["environment"].items(), name


# -- the proxies the API believes ----------------------------------------------------------------------------


def uvicorn_config(arguments: list[str]) -> Config:
    """The configuration uvicorn would run with, from its command line's arguments (after `uvicorn`)."""
    options = uvicorn_cli.make_context("uvicorn", arguments).params
    return Config(
        options["app"],
        proxy_headers=options["proxy_headers"],
        forwarded_allow_ips=options["forwarded_allow_ips"],
    )


@pytest.mark.parametrize(
    ("configured", "trusted"),
    [({}, "127.0.0.1"), ({"forwarded_allow_ips": "10.0.0.0/8,::1"}, "10.0.0.0/8,::1")],
)
def test_yijing_run_gives_uvicorn_the_configured_proxies(configured, trusted, monkeypatch):
    for variable in ["FORWARDED_ALLOW_IPS", "YIJING_FORWARDED_ALLOW_IPS"]:
        monkeypatch.delenv(variable, raising=False)
    command = api_command("127.0.0.1", 8000, Settings(_env_file=None, **configured))
    assert command[1:3] == ["-m", "uvicorn"]
    config = uvicorn_config(command[3:])
    assert config.proxy_headers
    assert config.forwarded_allow_ips == trusted


def test_the_setting_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("YIJING_FORWARDED_ALLOW_IPS", "172.18.0.1")
    assert Settings(_env_file=None).forwarded_allow_ips == "172.18.0.1"


# Stands in for `uvicorn` behind the image's entrypoint: prints the variable uvicorn reads and its arguments.
SHOW_START = "import json, os, sys; print(json.dumps([os.environ.get('FORWARDED_ALLOW_IPS'), sys.argv[1:]]))"


@pytest.mark.parametrize(
    ("environment", "trusted"),
    [
        ({}, DEFAULT_TRUSTED),
        ({"YIJING_FORWARDED_ALLOW_IPS": "172.18.0.1"}, "172.18.0.1"),
        # uvicorn's own variable is not how the image is configured: the setting replaces it.
        ({"FORWARDED_ALLOW_IPS": "*"}, DEFAULT_TRUSTED),
    ],
)
def test_the_container_gives_uvicorn_the_configured_proxies(environment, trusted, monkeypatch):
    entrypoint = json.loads(instruction("ENTRYPOINT"))
    command = json.loads(instruction("CMD"))
    assert command[0] == "uvicorn"
    assert "--forwarded-allow-ips" not in command, "it would override the setting"
    clean = {name: value for name, value in os.environ.items() if "FORWARDED_ALLOW_IPS" not in name}
    shown = subprocess.run(
        [*entrypoint, sys.executable, "-c", SHOW_START, *command[1:]],
        env=clean | environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    variable, arguments = json.loads(shown)
    assert variable, "the entrypoint hands the setting to uvicorn"
    assert arguments == command[1:]
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", variable)
    config = uvicorn_config(arguments)
    assert config.proxy_headers
    assert config.forwarded_allow_ips == trusted
