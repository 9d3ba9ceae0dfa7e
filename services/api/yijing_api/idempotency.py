"""``Idempotency-Key`` on every POST that creates something (answers 201, or 202 for a job it starts: an
import uploaded again after a lost answer must not import twice): a retry with the same key gets
the first answer again (``Idempotent-Replayed: true``) and creates nothing; the same key with another body,
query or route is a 422 ``idempotency_key_reused``; a retry while the first is still running is a 409
``idempotency_key_in_progress`` with ``Retry-After``. Only 2xx answers are kept: after a 4xx or 5xx the
client may send the same key again. See :mod:`yijing.idempotency` for the table and its expiry.

:func:`guard_creates` adds, to each create route of a router, a dependency that reads the header (so the
document shows it on exactly those operations), authenticates the caller through the route's own access
declaration (run once: FastAPI caches it), takes the key's lock in the request's transaction and replays
or claims it; and it wraps the route's handler so that a claimed key's answer is written in that same
transaction, which commits after the handler returns (``yijing_api.deps.get_session``): a crash keeps both
the record and its answer, or neither.
"""

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile

from yijing import conflicts
from yijing.access import Actor
from yijing.idempotency import (
    HEADER,
    KEPT_HEADERS,
    KEY_PATTERN,
    IdempotencyKey,
    IdempotencyKeyInProgress,
    IdempotencyKeyReused,
    try_lock,
)
from yijing.ids import utcnow
from yijing_api.auth import Access
from yijing_api.deps import SessionDep, SettingsDep
from yijing_api.problems import problem_responses

KeyHeader = Annotated[
    str | None,
    Header(
        alias=HEADER,
        pattern=KEY_PATTERN,
        description="Your own key for this create (1–128 characters of `A-Za-z0-9._:-`, a UUID for "
        "instance): sent again with the same request within 24 hours (by default), it answers the first "
        "2xx response again (`Idempotent-Replayed: true`) and creates nothing new. The same key with another "
        "request is a 422 (`idempotency_key_reused`); while the first is still being answered, a 409 "
        "(`idempotency_key_in_progress`, retry after `Retry-After` seconds). An error answer is not kept: "
        "send the same key again.",
    ),
]
REPLAYED = "Idempotent-Replayed"
# Routes already guarded (by id: routes compare by value): the routers outlive each app built on them.
_guarded: set[int] = set()
_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


@dataclass(frozen=True)
class _Claim:
    """A key taken by this request: its answer is stored in ``session`` if it is a success."""

    session: AsyncSession
    principal_id: uuid.UUID
    key: str
    route: str
    fingerprint: str

    async def store(self, response: Response) -> None:
        record = IdempotencyKey(
            principal_id=self.principal_id,
            key=self.key,
            route=self.route,
            fingerprint=self.fingerprint,
            status_code=response.status_code,
            headers={name: response.headers[name] for name in KEPT_HEADERS if name in response.headers},
            body=bytes(response.body),
        )
        await conflicts.add(self.session, record)


class _Replay(Exception):
    """Raised by the guard to answer with a stored response instead of running the route."""

    def __init__(self, stored: IdempotencyKey) -> None:
        super().__init__(stored.key)
        self.response = Response(
            stored.body, status_code=stored.status_code, headers={**stored.headers, REPLAYED: "true"}
        )


async def _fingerprint(request: Request) -> str:
    """SHA-256 of the body (a form's fields and files, parsed already, in their order) and the query."""
    digest = hashlib.sha256()
    if request.headers.get("content-type", "").startswith(_FORM_TYPES):
        for name, value in (await request.form()).multi_items():
            digest.update(name.encode() + b"\0")
            if isinstance(value, UploadFile):
                digest.update(f"{value.filename}\0{value.content_type}\0".encode())
                while chunk := await value.read(1 << 20):
                    digest.update(chunk)
                await value.seek(0)
            else:
                digest.update(value.encode() + b"\0")
    else:
        digest.update(await request.body())
    digest.update(b"\0?" + request.url.query.encode())
    return digest.hexdigest()


def _guard(access: Access) -> Callable[..., Awaitable[None]]:
    async def idempotency_key(
        request: Request,
        session: SessionDep,
        settings: SettingsDep,
        actor: Annotated[Actor, Depends(access)],
        key: KeyHeader = None,
    ) -> None:
        if key is None:
            return
        assert actor.principal is not None, "an access declaration always names its caller"
        principal_id = actor.principal.id
        route = f"{request.method} {request.scope['route'].operation_id}"
        fingerprint = await _fingerprint(request)
        if not await try_lock(session, principal_id, key):
            raise IdempotencyKeyInProgress(
                f"a request with the key {key!r} is still being answered",
                zh=f"使用幂等键“{key}”的请求仍在处理中",
            )
        stored = await session.get(IdempotencyKey, (principal_id, key))
        if stored is not None:
            if stored.created_at > utcnow() - timedelta(hours=settings.idempotency_key_hours):
                if (stored.route, stored.fingerprint) != (route, fingerprint):
                    raise IdempotencyKeyReused(
                        f"the key {key!r} already answered another request",
                        zh=f"幂等键“{key}”已用于另一个请求",
                    )
                raise _Replay(stored)
            await session.delete(stored)  # expired: the key is free again
            await session.flush()
        request.state.idempotency_claim = _Claim(session, principal_id, key, route, fingerprint)

    return idempotency_key


def _storing(make_handler: Callable[[], Callable[[Request], Awaitable[Response]]]) -> Any:
    """The route's handler, answering replays and storing a claimed key's successful answer before the
    request's transaction commits."""

    def make() -> Callable[[Request], Awaitable[Response]]:
        handler = make_handler()

        async def handle(request: Request) -> Response:
            try:
                response = await handler(request)
            except _Replay as replay:
                return replay.response
            claim: _Claim | None = getattr(request.state, "idempotency_claim", None)
            if claim is not None and 200 <= response.status_code < 300:
                await claim.store(response)
            return response

        return handle

    return make


def _access_of(route: APIRoute) -> Access:
    for dependency in route.dependant.dependencies:
        if isinstance(dependency.call, Access):
            return dependency.call
    raise TypeError(f"{route.operation_id}: a create route declares who may call it (Access)")


def guard_creates(router: APIRouter) -> None:
    """Give every POST of ``router`` that creates something (201, or 202 for a job) the ``Idempotency-Key``
    header; call it before the router is included."""
    for route in router.routes:
        if isinstance(route, APIRoute) and route.methods == {"POST"} and route.status_code in (201, 202):
            if id(route) in _guarded:
                continue
            _guarded.add(id(route))
            route.dependencies.append(Depends(_guard(_access_of(route))))
            route.responses = {**problem_responses(409, 422), **route.responses}
            route.get_route_handler = _storing(route.get_route_handler)  # type: ignore[method-assign]
