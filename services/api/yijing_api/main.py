"""The ASGI application: ``uvicorn yijing_api.main:app`` (built by :func:`create_app`)."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI

from yijing.db import create_engine, create_session_factory
from yijing.logging import configure_logging
from yijing.redis import GuardedRedis
from yijing.settings import Settings, get_settings
from yijing.storage import store_for
from yijing.uploads import return_freed_memory_promptly
from yijing_api.docs import install_docs
from yijing_api.idempotency import guard_creates
from yijing_api.lean import LeanLane
from yijing_api.middleware import BodySizeLimitMiddleware, RejectNulMiddleware, RequestContextMiddleware
from yijing_api.openapi import install_openapi
from yijing_api.params import refuse_repeated_parameters
from yijing_api.problems import install_problem_handlers
from yijing_api.routers import (
    api_keys,
    audit,
    auth,
    calendars,
    dispute_summary,
    disputes,
    groups,
    hazards,
    incidents,
    jobs,
    me,
    patrol_checkins,
    patrol_coverage,
    patrol_logs,
    patrol_plans,
    patrol_routes,
    patrols,
    rota,
    sites,
    stations,
    stats,
    swaps,
    system,
    teams,
    training_compliance,
    training_imports,
    training_rules,
    trainings,
    users,
    volunteers,
)
from yijing_api.routing import include

API_PREFIX = "/api/v1"

DESCRIPTION = """
Backend of a county police station's volunteer-police (义警) programme: stations and their sites, each run
"1+2+N" (one community officer, two police assistants, N volunteers); accounts and roles; volunteers, their
status and bulk import; groups of about ten with a weekly captain rota, unavailability, overrides, swaps and
calendar feeds; hazards (隐患) from report to elimination, with photos; patrols (巡防): routes and
checkpoints, repeating plans, patrols with their members' check-ins and logs, and coverage; small disputes
(纠纷) mediated by volunteers first, with follow-up visits (回访); training (培训): sessions, attendance,
minutes online, attendance rules and monthly compliance; police incident alerts (警情) from other police
systems; statistics with year-on-year and month-on-month change, as JSON or as CSV/XLSX files; API keys for
those systems, the audit log and background jobs.

People sign in with phone number and password (OAuth2 password flow: use **Authorize** above); other police
systems send an API key as `X-API-Key`. A record outside the caller's reach answers 404.

A record's `ETag` is its version: send it back as `If-Match` to change it (412 if it changed since). A create
sent again with the same `Idempotency-Key` gets the first answer (`Idempotent-Replayed: true`). Errors are
RFC 9457 problem documents (`application/problem+json`) with a stable `code`; their titles, details and
field messages follow `Accept-Language` (`zh-CN` by default, `en`), as `Content-Language` says. 429 and 503
answers say when to retry (`Retry-After`). Every response carries an `X-Request-ID`.
"""

TAGS = [
    {"name": "auth", "description": "Sign in with phone and password; refresh and end sessions"},
    {
        "name": "me",
        "description": "The signed-in user's own account, volunteer record, posts, captain weeks, patrols "
        "and notification inbox",
    },
    {"name": "stations", "description": "Police stations (派出所)"},
    {"name": "sites", "description": "A station's sites and grids (重点部位/网格)"},
    {"name": "teams", "description": "A site's 1+2+N team: its officer, two assistants and volunteers"},
    {
        "name": "users",
        "description": "Accounts and roles; personal data masked unless revealed (and audited)",
    },
    {"name": "volunteers", "description": "Volunteers (义警): records, status, bulk import"},
    {"name": "groups", "description": "Groups of about ten stalls or households"},
    {"name": "rota", "description": "The weekly captain rota: unavailability, overrides and swaps"},
    {
        "name": "calendars",
        "description": "Calendar feeds (iCalendar) of captain weeks: a group's, or one volunteer's",
    },
    {"name": "hazards", "description": "Hazards (隐患): report, verify, rectify, eliminate — with photos"},
    {
        "name": "patrols",
        "description": "Patrols (巡防): a site's routes and checkpoints, the shifts planned on them, and "
        "members' check-ins",
    },
    {
        "name": "disputes",
        "description": "Disputes (纠纷调解): cases stepped into by volunteers first, mediated, resolved, "
        "escalated or failed; follow-up visits (回访)",
    },
    {
        "name": "training",
        "description": "Training (培训): monthly trainings online and offline, attendance, attendance "
        "rules and monthly compliance",
    },
    {
        "name": "incidents",
        "description": "Police incident alerts (警情) from other police systems; code lists",
    },
    {
        "name": "stats",
        "description": "Programme statistics, with year-on-year and month-on-month change; JSON, CSV, XLSX",
    },
    {"name": "api-keys", "description": "Credentials for other police systems (machine clients)"},
    {"name": "audit", "description": "The append-only audit log"},
    {"name": "jobs", "description": "Background job runs and their progress"},
    {"name": "system", "description": "Liveness and readiness probes"},
]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    if not settings.database_url or not settings.redis_url:
        raise RuntimeError(
            "YIJING_DATABASE_URL and YIJING_REDIS_URL must be set "
            "(`yijing run` sets them when it starts embedded servers)"
        )
    engine = create_engine(settings.database_url, pool_size=settings.database_pool_size)
    app.state.session_factory = create_session_factory(engine)
    # Redis on the request path: short deadlines and a circuit breaker (see yijing.redis).
    app.state.redis = GuardedRedis(settings.redis_url)
    # Everything built so far (modules, routes, schemas) lives as long as the process: keep it out of the
    # garbage collector's full passes, which would otherwise walk it all, holding the interpreter for
    # hundreds of milliseconds whenever a request (an import of 20,000 rows) creates many objects.
    gc.freeze()
    try:
        yield
    finally:
        await app.state.redis.aclose()
        await engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    return_freed_memory_promptly()  # decoded photos and parsed workbooks go back to the system
    app = FastAPI(
        title="yijing 义警",
        version="0.1.0",
        description=DESCRIPTION,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # served by yijing_api.docs, with local assets
        redoc_url=None,
        openapi_tags=TAGS,
        lifespan=lifespan,
        dependencies=[Depends(refuse_repeated_parameters)],
    )
    app.state.settings = settings
    app.state.attachment_store = store_for(settings)
    install_problem_handlers(app)
    install_openapi(app)
    # Last added runs first: the request id exists before the body limit can refuse a request, and the lean
    # lane only sees what the NUL check let through.
    app.add_middleware(LeanLane)
    app.add_middleware(RejectNulMiddleware)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware)

    install_docs(app)
    include(app.router, system.router, "")
    api = APIRouter(prefix=API_PREFIX)
    for domain in (
        auth,
        me,
        stations,
        sites,
        teams,
        users,
        volunteers,
        groups,
        rota,
        swaps,
        calendars,
        hazards,
        patrol_coverage,
        patrols,
        patrol_checkins,
        patrol_logs,
        patrol_routes,
        patrol_plans,
        dispute_summary,
        disputes,
        # Before trainings: their static paths (/trainings/rules/…, /trainings/compliance) come first.
        training_rules,
        training_imports,
        training_compliance,
        trainings,
        incidents,
        stats,
        api_keys,
        audit,
        jobs,
    ):
        guard_creates(domain.router)
        include(api, domain.router, API_PREFIX)
    app.include_router(api)
    return app


app = create_app()
