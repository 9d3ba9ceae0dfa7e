"""The ``yijing`` command: run the service, migrate the database, run jobs by hand.

It answers ``--help`` in about a second: what takes seconds to import (the demo, the job catalogue and the
services behind it, alembic) is imported inside the commands that use it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from yijing.access import Role
from yijing.settings import Environment, Settings, get_settings

if TYPE_CHECKING:
    from yijing.demo import DemoLoaded

# yijing.demo.STATION_NAME, named here too: importing the demo takes seconds; help and progress come first.
DEMO_STATION = "甘蔗派出所"

app = typer.Typer(help="yijing 义警: the volunteer-police backend.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)
jobs_app = typer.Typer(help="Background jobs.", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
demo_app = typer.Typer(
    help=f"The demo station ({DEMO_STATION}), modelled on the source article.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(jobs_app, name="jobs")
app.add_typer(users_app, name="users")


def _settings() -> Settings:
    from yijing.logging import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    return settings


@contextmanager
def _migrated(revision: str = "head", *, need_redis: bool = False) -> Iterator[Settings]:
    """The settings with their URLs resolved (embedded servers started for those left unset, and stopped when
    the block ends) and the database migrated to ``revision``. A database that cannot be reached or created
    ends the command with one line naming it and why, and exit code 1."""
    import asyncpg

    from yijing import migrate
    from yijing.servers import resolved_settings

    settings = _settings()
    with ExitStack() as servers:
        try:
            resolved = servers.enter_context(resolved_settings(settings, need_redis=need_redis))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            reason = " ".join(f"{type(exc).__name__}: {exc}".split())
            typer.echo(f"yijing: cannot open the database {_shown(settings)}: {reason}", err=True)
            raise typer.Exit(code=1) from None
        assert resolved.database_url
        migrate.upgrade(resolved.database_url, revision)
        yield resolved


def _shown(settings: Settings) -> str:
    """The configured database URL without its password, or where the embedded server keeps its data."""
    from sqlalchemy.engine import make_url

    if settings.database_url is None:
        return f"(the embedded PostgreSQL in {settings.data_dir / settings.env.value})"
    return make_url(settings.database_url).render_as_string(hide_password=True)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision")] = "head") -> None:
    """Apply migrations up to REVISION (the latest by default)."""
    with _migrated(revision):
        pass
    typer.echo(f"database upgraded to {revision}")


@db_app.command("revision")
def db_revision(
    message: Annotated[str, typer.Option("-m", "--message", help="What the migration does")],
) -> None:
    """Autogenerate a migration from the models (for developers)."""
    from yijing import migrate

    with _migrated() as settings:
        assert settings.database_url
        migrate.revision(settings.database_url, message)


@jobs_app.command("list")
def jobs_list() -> None:
    """List the registered jobs."""
    from yijing.jobs.catalog import all_jobs

    for spec in all_jobs():
        typer.echo(f"{spec.name:<24} {spec.summary}")


@jobs_app.command("run")
def jobs_run(
    name: Annotated[str, typer.Argument(help="A registered job name (see `yijing jobs list`)")],
    payload: Annotated[str, typer.Option(help="The job's payload as a JSON object")] = "{}",
) -> None:
    """Run a registered job once, in this process, and print its result."""
    from yijing.db import short_lived_sessions
    from yijing.jobs.catalog import job_named
    from yijing.jobs.errors import InvalidJobPayload, UnknownJob
    from yijing.jobs.service import execute, parse_payload

    try:
        raw: Any = json.loads(payload)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"--payload is not valid JSON: {exc}") from exc
    try:
        spec = job_named(name)
    except UnknownJob as exc:
        raise typer.BadParameter(f"{exc.detail}; `yijing jobs list` shows them") from exc
    try:
        parse_payload(spec, raw)
    except InvalidJobPayload as exc:
        problems = "; ".join(f"{error['field']}: {error['message']}" for error in exc.extra["errors"])
        raise typer.BadParameter(f"{exc.detail}: {problems}") from exc
    # Jobs reach Redis only through the outbox, which the worker relays.
    with _migrated() as settings:

        async def run() -> Any:
            async with short_lived_sessions(settings.database_url or "") as factory:
                return await execute(factory, settings, spec, raw)

        execution = asyncio.run(run())
    typer.echo(json.dumps(execution.result, ensure_ascii=False, indent=2))


@users_app.command("create")
def users_create(
    phone: Annotated[str, typer.Option(help="Mainland mobile number: the sign-in name")],
    role: Annotated[Role, typer.Option(help="admin, leader, officer, assistant or volunteer")],
    password: Annotated[
        str,
        typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="Asked for when left out"),
    ],
    name: Annotated[str, typer.Option(help="The person's name")] = "管理员",
    station: Annotated[
        str | None, typer.Option(help="Station id or exact name (every role but admin)")
    ] = None,
) -> None:
    """Create a user; works on an empty database, to make the first county admin."""
    from pydantic import TypeAdapter, ValidationError

    from yijing.access import SYSTEM
    from yijing.db import session_scope, short_lived_sessions
    from yijing.errors import DomainError
    from yijing.identity import service as identity_service
    from yijing.identity.schemas import UserCreate
    from yijing.org import service as org_service
    from yijing.personal import protector_for

    body: dict[str, Any] = {"name": name, "phone": phone, "password": password, "role": role.value}
    with _migrated() as settings:

        async def create() -> str:
            async with (
                short_lived_sessions(settings.database_url or "") as factory,
                session_scope(factory) as session,
            ):
                if station is not None:
                    body["station_id"] = str(await org_service.find_station_id(session, station))
                data = TypeAdapter(UserCreate).validate_python(body)
                protector = protector_for(settings.personal_data_key)
                user = await identity_service.create_user(session, SYSTEM, data, protector)
                return f"created {user.role} {user.id} ({user.phone_masked})"

        try:
            typer.echo(asyncio.run(create()))
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise typer.BadParameter(problems) from exc
        except DomainError as exc:
            raise typer.BadParameter(exc.detail) from exc


def _load_demo(settings: Settings, password: str | None, *, only_if_empty: bool) -> DemoLoaded | None:
    """Load the demo station (its accounts with ``password``, or the published one), saying so before and
    after: the first load takes half a minute."""
    if settings.env is Environment.PRODUCTION:
        raise typer.BadParameter("the demo's accounts have a published password: never in production")
    assert settings.database_url
    unless = "it or any other station" if only_if_empty else "it"
    typer.echo(
        f"Loading the demo station {DEMO_STATION} unless the database has {unless} already "
        "(the first load takes about half a minute)...",
        err=True,
    )
    started = time.monotonic()
    from yijing import demo
    from yijing.db import short_lived_sessions

    async def load() -> demo.DemoLoaded | None:
        async with short_lived_sessions(settings.database_url or "") as factory:
            return await demo.load(
                factory, settings, password or demo.DEFAULT_PASSWORD, only_if_empty=only_if_empty
            )

    loaded = asyncio.run(load())
    if loaded is None:
        typer.echo("The database has stations of its own: the demo is not loaded.", err=True)
    elif loaded.created:
        typer.echo(
            f"Loaded the demo station {demo.STATION_NAME} in {time.monotonic() - started:.1f} s: "
            f"{loaded.volunteers} volunteers in {loaded.groups} groups, with 16 weeks of captain rota, "
            f"{loaded.hazards} hazards, {loaded.disputes} disputes and {loaded.trainings} trainings.",
            err=True,
        )
    else:
        typer.echo(f"The demo station {demo.STATION_NAME} is loaded already.", err=True)
    return loaded


def _print_demo_accounts(loaded: DemoLoaded, password: str | None) -> None:
    from yijing.demo import DEFAULT_PASSWORD

    typer.echo("Sign in (POST /api/v1/auth/token, or Authorize in /docs) as:", err=True)
    for account in loaded.accounts:
        typer.echo(f"  {account.role:<10} {account.phone}  {account.name} ({account.note})", err=True)
    shown = (password or DEFAULT_PASSWORD) if loaded.created else "(the one given when it was loaded)"
    typer.echo(f"  password:  {shown}", err=True)


@demo_app.command("load")
def demo_load(
    password: Annotated[
        str | None,
        typer.Option(help="The demo accounts' password (8 characters or more; by default the published one)"),
    ] = None,
) -> None:
    """Load the demo station with its sites, teams, 718 volunteers and sign-in accounts (once)."""
    if password is not None and len(password) < 8:
        raise typer.BadParameter("a password has 8 characters or more")
    with _migrated() as settings:
        loaded = _load_demo(settings, password, only_if_empty=False)
        assert loaded is not None
        _print_demo_accounts(loaded, password)


@app.command("run")
def run(
    host: Annotated[str, typer.Option(help="Address the API listens on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port the API listens on")] = 8000,
    worker: Annotated[bool, typer.Option(help="Also run the background worker")] = True,
    demo_data: Annotated[
        bool, typer.Option("--demo", help="Load the demo station first if the database has no station yet")
    ] = False,
) -> None:
    """Run the API and the worker together (starting embedded PostgreSQL and Redis when no URL is set),
    starting either again if it dies. Ctrl-C stops everything."""
    from yijing.processes import Child, api_command, stop, supervise

    # Ctrl-C, and SIGTERM from a process manager, stop everything cleanly (both raise KeyboardInterrupt).
    # SIGINT is set explicitly: started in the background (`&`, a CI script), a process inherits it ignored,
    # and Python then raises nothing for it.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with _migrated(need_redis=True) as settings:
        assert settings.database_url
        assert settings.redis_url
        loaded = _load_demo(settings, None, only_if_empty=True) if demo_data else None
        admin_exists = asyncio.run(_admin_exists(settings.database_url))
        env = {
            **os.environ,
            "YIJING_DATABASE_URL": settings.database_url,
            "YIJING_REDIS_URL": settings.redis_url,
        }
        children = [Child("api", api_command(host, port))]
        if worker:
            children.append(Child("worker", [sys.executable, "-m", "yijing_worker"]))
        typer.echo(f"Starting the API{' and the worker' if worker else ''}...", err=True)
        stopping = threading.Event()

        def announce() -> None:
            if not _wait_for_health(host, port, stopping):
                return
            typer.echo(f"yijing is ready: http://{host}:{port}/docs  (Ctrl-C stops it)", err=True)
            typer.echo(f"  the API:  http://{host}:{port}/api/v1  (its health: /healthz, /readyz)", err=True)
            if loaded is not None:
                _print_demo_accounts(loaded, None)
            if not admin_exists:
                typer.echo(
                    "No county admin yet: create one with "
                    "`yijing users create --phone <mobile> --role admin` to sign in.",
                    err=True,
                )

        # Said once the API answers: before, a reader would try an address that refuses connections.
        threading.Thread(target=announce, name="announce-ready", daemon=True).start()
        try:
            # A child that dies is started again; one that keeps dying stops everything, with exit code 1.
            supervise(children, env)
            raise typer.Exit(code=1)
        except KeyboardInterrupt:
            pass
        finally:
            stopping.set()
            stop(children)  # then the servers, as _migrated ends


HEALTH_POLL_SECONDS = 0.2


def _wait_for_health(host: str, port: int, stopping: threading.Event) -> bool:
    """Whether the API at host:port answered its /healthz before ``stopping`` was set."""
    # An API listening on every address answers on the loopback one.
    reachable = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(host, host)  # noqa: S104 - compared, not bound
    url = f"http://{reachable}:{port}/healthz"
    while not stopping.wait(HEALTH_POLL_SECONDS):
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass  # not listening yet (or restarting)
    return False


async def _admin_exists(database_url: str) -> bool:
    from yijing.db import short_lived_sessions
    from yijing.identity import repository as identity_repository

    async with short_lived_sessions(database_url) as factory, factory() as session:
        return await identity_repository.any_admin_exists(session)


if __name__ == "__main__":
    app()
