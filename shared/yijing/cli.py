"""The ``yijing`` command: run the service, migrate the database, run jobs by hand."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from typing import Annotated, Any

import typer
from pydantic import TypeAdapter, ValidationError

from yijing import demo, migrate
from yijing.access import SYSTEM, Role
from yijing.db import session_scope, short_lived_sessions
from yijing.errors import DomainError
from yijing.identity import repository as identity_repository
from yijing.identity import service as identity_service
from yijing.identity.schemas import UserCreate
from yijing.jobs.catalog import all_jobs, job_named
from yijing.jobs.errors import InvalidJobPayload, UnknownJob
from yijing.jobs.service import execute, parse_payload
from yijing.logging import configure_logging
from yijing.org import service as org_service
from yijing.personal import protector_for
from yijing.processes import Child, api_command, stop, supervise
from yijing.servers import resolved_settings
from yijing.settings import Environment, Settings, get_settings

app = typer.Typer(help="yijing 义警: the volunteer-police backend.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)
jobs_app = typer.Typer(help="Background jobs.", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
demo_app = typer.Typer(
    help="The demo station (甘蔗派出所), modelled on the source article.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(jobs_app, name="jobs")
app.add_typer(users_app, name="users")


def _settings() -> Settings:
    settings = get_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    return settings


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision")] = "head") -> None:
    """Apply migrations up to REVISION (the latest by default)."""
    with resolved_settings(_settings(), need_redis=False) as settings:
        assert settings.database_url
        migrate.upgrade(settings.database_url, revision)
    typer.echo(f"database upgraded to {revision}")


@db_app.command("revision")
def db_revision(
    message: Annotated[str, typer.Option("-m", "--message", help="What the migration does")],
) -> None:
    """Autogenerate a migration from the models (for developers)."""
    with resolved_settings(_settings(), need_redis=False) as settings:
        assert settings.database_url
        migrate.upgrade(settings.database_url)
        migrate.revision(settings.database_url, message)


@jobs_app.command("list")
def jobs_list() -> None:
    """List the registered jobs."""
    for spec in all_jobs():
        typer.echo(f"{spec.name:<24} {spec.summary}")


@jobs_app.command("run")
def jobs_run(
    name: Annotated[str, typer.Argument(help="A registered job name (see `yijing jobs list`)")],
    payload: Annotated[str, typer.Option(help="The job's payload as a JSON object")] = "{}",
) -> None:
    """Run a registered job once, in this process, and print its result."""
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
    with resolved_settings(_settings(), need_redis=False) as settings:
        assert settings.database_url
        migrate.upgrade(settings.database_url)

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
    body: dict[str, Any] = {"name": name, "phone": phone, "password": password, "role": role.value}
    with resolved_settings(_settings(), need_redis=False) as settings:
        assert settings.database_url
        migrate.upgrade(settings.database_url)

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


def _load_demo(settings: Settings, password: str, *, only_if_empty: bool) -> None:
    if settings.env is Environment.PRODUCTION:
        raise typer.BadParameter("the demo's accounts have a published password: never in production")
    assert settings.database_url

    async def load() -> demo.DemoLoaded | None:
        async with short_lived_sessions(settings.database_url or "") as factory:
            return await demo.load(factory, settings, password, only_if_empty=only_if_empty)

    loaded = asyncio.run(load())
    if loaded is None:
        return
    if loaded.created:
        typer.echo(
            f"Loaded the demo station {demo.STATION_NAME}: {loaded.volunteers} volunteers in {loaded.groups} "
            f"groups, with 16 weeks of captain rota, and {loaded.hazards} hazards.",
            err=True,
        )
    else:
        typer.echo(f"The demo station {demo.STATION_NAME} is loaded already.", err=True)
    typer.echo("Sign in (POST /api/v1/auth/token, or Authorize in /docs) as:", err=True)
    for account in loaded.accounts:
        typer.echo(f"  {account.role:<10} {account.phone}  {account.name} ({account.note})", err=True)
    typer.echo(
        f"  password:  {password if loaded.created else '(the one given when it was loaded)'}", err=True
    )


@demo_app.command("load")
def demo_load(
    password: Annotated[
        str, typer.Option(help="The demo accounts' password (8 characters or more)")
    ] = demo.DEFAULT_PASSWORD,
) -> None:
    """Load the demo station with its sites, teams, 718 volunteers and sign-in accounts (once)."""
    if len(password) < 8:
        raise typer.BadParameter("a password has 8 characters or more")
    with resolved_settings(_settings(), need_redis=False) as settings:
        assert settings.database_url
        migrate.upgrade(settings.database_url)
        _load_demo(settings, password, only_if_empty=False)


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

    # Ctrl-C, and SIGTERM from a process manager, stop everything cleanly (both raise KeyboardInterrupt).
    # SIGINT is set explicitly: started in the background (`&`, a CI script), a process inherits it ignored,
    # and Python then raises nothing for it.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with resolved_settings(_settings()) as settings:
        assert settings.database_url
        assert settings.redis_url
        migrate.upgrade(settings.database_url)
        if demo_data:
            _load_demo(settings, demo.DEFAULT_PASSWORD, only_if_empty=True)
        env = {
            **os.environ,
            "YIJING_DATABASE_URL": settings.database_url,
            "YIJING_REDIS_URL": settings.redis_url,
        }
        children = [Child("api", api_command(host, port))]
        if worker:
            children.append(Child("worker", [sys.executable, "-m", "yijing_worker"]))
        typer.echo(f"yijing is running: http://{host}:{port}/docs  (Ctrl-C stops it)", err=True)
        if not asyncio.run(_admin_exists(settings.database_url)):
            typer.echo(
                "No county admin yet: create one with "
                "`yijing users create --phone <mobile> --role admin` to sign in.",
                err=True,
            )
        try:
            # A child that dies is started again; one that keeps dying stops everything, with exit code 1.
            supervise(children, env)
            raise typer.Exit(code=1)
        except KeyboardInterrupt:
            pass
        finally:
            stop(children)  # then the servers, as resolved_settings ends


async def _admin_exists(database_url: str) -> bool:
    async with short_lived_sessions(database_url) as factory, factory() as session:
        return await identity_repository.any_admin_exists(session)


if __name__ == "__main__":
    app()
