"""The lean lane: the reads other systems and apps make all day, answered without FastAPI's per-request
machinery. Routing through ~190 routes, resolving a dozen dependencies and re-validating what the database
already guarantees cost more CPU than the read itself (a hazard read: ≈1.7 ms in the app, against ≈0.5 ms
for a bare endpoint running the same SQL; ``python -m bench ceiling`` measures both).

A lean read answers only the common case: a GET with a bearer token whose caller may call the operation,
query parameters its models accept (each given once), and a record found. It reads through the same
service function as the operation's route, on a pooled connection in autocommit without a session around
it (``yijing.db.read_connection``: a route's read-only session autocommits too), and sends the same bytes
and headers. Anything else — no token, an API key, a conditional request, a refusal,
bad input, nothing found — goes on to the route, which answers it as it always has: each request gets one
answer, from one lane or the other (``tests/platform/test_lean.py`` compares the two lanes' answers)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel, ValidationError
from starlette.datastructures import Headers, QueryParams
from starlette.types import ASGIApp, Receive, Scope, Send

from yijing.access import Actor
from yijing.db import read_connection
from yijing.errors import DomainError
from yijing.hazards import service as hazards
from yijing.identity import auth
from yijing.kit.pagination import PageParams
from yijing.kit.reads import Reader
from yijing.personal import protector_for
from yijing.settings import Settings
from yijing.volunteers import service as volunteers
from yijing.volunteers.schemas import VolunteerFilters
from yijing_api.auth import Access
from yijing_api.routers import hazards as hazards_routes
from yijing_api.routers import volunteers as volunteers_routes

# (the answer, the headers its route sets beside content-type and content-length)
Answer = tuple[BaseModel, dict[str, str]]


@dataclass(frozen=True)
class Call:
    """What a lean read is given: the caller, the path's parameters and the query's."""

    actor: Actor
    path: Mapping[str, str]
    query: QueryParams
    settings: Settings


@dataclass(frozen=True)
class LeanRead:
    """A GET operation's common case, answered on the lean lane (``path``: the route's, with its prefix)."""

    operation_id: str
    path: str
    access: Access
    answer: Callable[[Reader, Call], Awaitable[Answer]]
    # The query parameters the operation takes; any other sends the request to the route.
    parameters: frozenset[str] = frozenset()
    pattern: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.path)
        object.__setattr__(self, "pattern", re.compile(f"^{regex}$"))


def _fields(*models: type[BaseModel]) -> frozenset[str]:
    return frozenset(name for model in models for name in model.model_fields)


async def _hazard(reader: Reader, call: Call) -> Answer:
    hazard = await hazards.read_hazard(reader, call.actor, uuid.UUID(call.path["hazard_id"]))
    return hazard, {"etag": f'"{hazard.version}"'}


async def _volunteers(reader: Reader, call: Call) -> Answer:
    query = dict(call.query)
    page = PageParams.model_validate({name: query[name] for name in PageParams.model_fields if name in query})
    filters = VolunteerFilters.model_validate(
        {name: query[name] for name in VolunteerFilters.model_fields if name in query}
    )
    protector = protector_for(call.settings.personal_data_key)
    return await volunteers.list_volunteers(reader, call.actor, filters, page, protector), {}


LEAN_READS = (
    LeanRead("hazards_get", "/api/v1/hazards/{hazard_id}", hazards_routes.SEE, _hazard),
    LeanRead(
        "volunteers_list",
        "/api/v1/volunteers",
        volunteers_routes.MANAGE,
        _volunteers,
        _fields(PageParams, VolunteerFilters),
    ),
)


class Declined(Exception):
    """The lean lane leaves this request to the operation's route."""


class LeanLane:
    """Answers the requests its reads can (see the module's description); passes every other one on."""

    def __init__(self, app: ASGIApp, reads: Sequence[LeanRead] = LEAN_READS) -> None:
        self.app = app
        self.reads = reads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            for read in self.reads:
                if matched := read.pattern.match(scope["path"]):
                    try:
                        body, headers = await self._answer(scope, read, matched.groupdict())
                    except Declined:
                        break
                    await _send_json(send, body, headers)
                    return
        await self.app(scope, receive, send)

    async def _answer(
        self, scope: Scope, read: LeanRead, path: dict[str, str]
    ) -> tuple[bytes, dict[str, str]]:
        headers = Headers(scope=scope)
        authorization = headers.get("authorization", "")
        query = QueryParams(scope["query_string"])
        if (
            not authorization.startswith("Bearer ")
            or "x-api-key" in headers
            or "if-none-match" in headers
            or any(name not in read.parameters for name in query)
            or len(query.multi_items()) != len(query)
        ):
            raise Declined
        state = scope["app"].state
        settings: Settings = state.settings
        client = scope.get("client")
        request_id = scope.get("state", {}).get("request_id")
        try:
            async with read_connection(state.session_factory) as connection:
                principal = await auth.authenticate_token(connection, settings, authorization[7:])
                if principal.role not in read.access.roles:
                    raise Declined
                actor = Actor(principal, request_id, client[0] if client else None)
                answer, answer_headers = await read.answer(connection, Call(actor, path, query, settings))
        except (DomainError, ValidationError, ValueError) as refused:
            raise Declined from refused
        # What the route's answer would have been named in the logs and metrics (its operation id).
        scope["route"] = read
        return answer.__pydantic_serializer__.to_json(answer, by_alias=True), answer_headers


async def _send_json(send: Send, body: bytes, headers: dict[str, str]) -> None:
    raw = [
        (b"content-length", str(len(body)).encode()),
        (b"content-type", b"application/json"),
        *((name.encode(), value.encode()) for name, value in headers.items()),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": raw})
    await send({"type": "http.response.body", "body": body})
