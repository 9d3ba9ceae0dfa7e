"""Liveness, readiness and metrics: for load balancers, orchestrators and Prometheus."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Annotated, Literal

from fastapi import Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field

from yijing.access import ADMINS, Actor, ApiScope
from yijing.db import ping
from yijing_api.auth import PUBLIC, Access
from yijing_api.deps import RedisDep, SessionFactoryDep
from yijing_api.openapi import problem_example, problem_with_example
from yijing_api.problems import problem_response
from yijing_api.routing import Router

router = Router(tags=["system"])

CHECK_TIMEOUT_SECONDS = 3.0
CheckState = Literal["ok", "failing"]


class Health(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "alive"}]})

    status: Literal["alive"] = "alive"


class Readiness(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "ready", "checks": {"database": "ok", "redis": "ok"}}]}
    )

    status: Literal["ready"] = "ready"
    checks: dict[str, CheckState] = Field(
        description="Each dependency and its state", examples=[{"database": "ok", "redis": "ok"}]
    )


_NOT_READY_EXAMPLE = problem_example(
    "Redis 无法连接",
    503,
    "not_ready",
    "服务暂不可用",
    "unreachable: redis",
    "/readyz",
    checks={"database": "ok", "redis": "failing"},
)


# Probes and monitors may ask with HEAD: it answers as GET does, without the body (the server drops it). Its
# route stays out of the OpenAPI document, where it would repeat the GET operation and its id; it keeps that
# id, which labels its metrics.
@router.get("/healthz", operation_id="system_health", summary="The process is alive")
@router.head("/healthz", operation_id="system_health", include_in_schema=False)
async def health(actor: Annotated[Actor, Depends(PUBLIC)]) -> Health:
    return Health()


async def _check(probe: Awaitable[object]) -> CheckState:
    try:
        await asyncio.wait_for(probe, CHECK_TIMEOUT_SECONDS)
    except Exception:
        return "failing"
    return "ok"


@router.get(
    "/readyz",
    operation_id="system_readiness",
    summary="The database and Redis are reachable",
    description="200 when every dependency answers; 503 with a problem document naming the failing ones.",
    response_model=Readiness,
    responses=problem_with_example(_NOT_READY_EXAMPLE),
)
@router.head("/readyz", operation_id="system_readiness", response_model=Readiness, include_in_schema=False)
async def readiness(
    request: Request, factory: SessionFactoryDep, redis: RedisDep, actor: Annotated[Actor, Depends(PUBLIC)]
) -> Readiness | Response:
    checks: dict[str, CheckState] = dict(
        zip(
            ("database", "redis"),
            await asyncio.gather(_check(ping(factory)), _check(redis.client.ping())),
            strict=True,
        )
    )
    failing = sorted(name for name, state in checks.items() if state != "ok")
    if failing:
        return problem_response(
            request.scope,
            503,
            code="not_ready",
            detail=(f"unreachable: {', '.join(failing)}", f"无法连接：{'、'.join(failing)}"),
            checks=checks,
        )
    return Readiness(checks=checks)


# Prometheus sends its credentials as `Authorization: Bearer …`: here an API key may come that way too.
METRICS_ACCESS = Access(ADMINS, frozenset({ApiScope.METRICS_READ}), api_key_as_bearer=True)


@router.get("/metrics", include_in_schema=False)
async def metrics(actor: Annotated[Actor, Depends(METRICS_ACCESS)]) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
