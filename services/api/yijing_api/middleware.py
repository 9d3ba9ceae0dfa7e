"""Pure ASGI middleware (no per-request task switching): request ids, access logs, metrics, a body-size
limit, and a problem+json answer for anything unhandled."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import structlog
from prometheus_client import Counter, Histogram
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from yijing.db import database_unreachable, is_stale_connection, unchecked_connections
from yijing_api.deps import READ_METHODS
from yijing_api.problems import problem_response

log = structlog.get_logger("yijing_api.access")

REQUEST_ID_HEADER = "x-request-id"
# A client may supply its own id (to trace a retry end to end) if it is short and harmless to log.
_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")

DATABASE_UNREACHABLE = (
    "The database cannot be reached just now; retry in a few seconds.",
    "暂时无法连接数据库，请几秒后重试。",
)
UNEXPECTED_ERROR = (
    "An unexpected error occurred; quote the request id when reporting it.",
    "发生了意外错误；反馈问题时请提供请求编号（request_id）。",
)
DATABASE_RETRY_AFTER = "5"
# The operations an orchestrator and Prometheus call all day (their operation ids; /metrics has its name).
PROBE_ROUTES = frozenset({"system_health", "system_readiness", "metrics"})

HTTP_REQUESTS = Counter("yijing_http_requests_total", "HTTP requests answered", ["method", "route", "status"])
HTTP_LATENCY = Histogram(
    "yijing_http_request_duration_seconds", "Time to answer an HTTP request", ["method", "route"]
)


class BodyTooLarge(HTTPException):
    """Raised while a body is read; an HTTP exception so that FastAPI's body parsing passes it through to the
    problem handlers unchanged."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"The request body exceeds the limit of {max_bytes} bytes.")
        self.detail_zh = f"请求体超过了 {max_bytes} 字节的上限。"


class RequestContextMiddleware:
    """Gives every request an id (``X-Request-ID`` in and out, and in every log line), logs and measures
    it, and turns an unhandled exception into a 500 problem document without a stack trace."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            if scope["method"] in READ_METHODS:
                await self._read(scope, receive, send_with_id, lambda: response_started)
            else:
                await self.app(scope, receive, send_with_id)
        except Exception as exc:
            if database_unreachable(exc):
                # A restart or a cut connection, not a bug: a retryable 503 and one line, no traceback.
                log.warning(
                    "database_unreachable", path=scope.get("path"), error=f"{type(exc).__name__}: {exc}"
                )
                if not response_started:
                    await problem_response(
                        scope, 503, detail=DATABASE_UNREACHABLE, headers={"Retry-After": DATABASE_RETRY_AFTER}
                    )(scope, receive, send_with_id)
            else:
                log.exception("unhandled_error", path=scope.get("path"))
                if not response_started:
                    await problem_response(scope, 500, detail=UNEXPECTED_ERROR)(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            # The operation id names the endpoint (jobs_get); the raw path would give one label per id.
            route = scope.get("route")
            route_path = getattr(route, "operation_id", None) or getattr(route, "name", None) or "<unmatched>"
            HTTP_REQUESTS.labels(scope["method"], route_path, str(status)).inc()
            HTTP_LATENCY.labels(scope["method"], route_path).observe(elapsed)
            # Probes and scrapes come every few seconds: their answers are logged only when debugging, or when
            # they fail.
            routine = route_path in PROBE_ROUTES and status < 400
            (log.debug if routine else log.info)(
                "request",
                method=scope["method"],
                path=scope.get("path"),
                route=route_path,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
            )
            structlog.contextvars.unbind_contextvars("request_id")

    async def _read(self, scope: Scope, receive: Receive, send: Send, answered: Callable[[], bool]) -> None:
        """A read runs on pooled connections without checking them first (a round trip each time, see
        ``yijing.db``); one found dead (the database restarted since it was opened) fails the read before
        anything is sent, and the read runs once more, on a new connection."""
        with unchecked_connections():
            try:
                await self.app(scope, receive, send)
            except Exception as exc:
                if answered() or not is_stale_connection(exc):
                    raise
                log.info("read_retried_on_new_connection", path=scope.get("path"), error=type(exc).__name__)
                await self.app(scope, receive, send)


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _CLIENT_REQUEST_ID.match(candidate):
                return candidate
    return uuid.uuid4().hex


# A JSON body is parsed whole before any field of it is checked, into Python objects of up to ~27 times its
# size (``[{},{},…]``): JSON bodies have a limit of their own, far below the uploads' (the largest JSON body
# a route without its own limit takes is a job run naming 1,000 groups, about 40 KB).
JSON_BODY_LIMIT = 256 * 1024
_ROUTE_LIMIT = "x-max-body-bytes"


def body_limit(max_bytes: int) -> dict[str, Any]:
    """``openapi_extra`` for a route that declares its own body limit (a JSON batch, sized for its largest
    number of records): enforced by :class:`BodySizeLimitMiddleware`, shown in the OpenAPI document as
    ``x-max-body-bytes``. It never exceeds the service's ``max_body_bytes``."""
    return {_ROUTE_LIMIT: max_bytes}


class BodySizeLimitMiddleware:
    """Refuses bodies over the limit with 413: at once when ``Content-Length`` says so, and while reading
    when a chunked body grows past it. The limit is ``max_bytes`` (YIJING_MAX_BODY_BYTES), unless the
    route declares its own (:func:`body_limit`) or the body is JSON (:data:`JSON_BODY_LIMIT`)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        # Over the service's limit: refused before routing, so no route is even looked up.
        if declared > self.max_bytes:
            refusal = BodyTooLarge(self.max_bytes)
            detail = (refusal.detail, refusal.detail_zh)
            await problem_response(scope, 413, detail=detail)(scope, receive, send)
            return

        limit: int | None = None
        received = 0

        async def counting_receive() -> Message:
            nonlocal limit, received
            if limit is None:
                # The body is first read after routing, when the route's own limit is known.
                limit = self._limit_for(scope)
                if declared > limit:
                    raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counting_receive, send)

    def _limit_for(self, scope: Scope) -> int:
        extra = getattr(scope.get("route"), "openapi_extra", None) or {}
        limit: int | None = extra.get(_ROUTE_LIMIT)
        if limit is None and _is_json(_content_type(scope)):
            limit = JSON_BODY_LIMIT
        return self.max_bytes if limit is None else min(limit, self.max_bytes)


def _content_length(scope: Scope) -> int:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


def _is_json(content_type: bytes) -> bool:
    # What FastAPI parses as JSON: application/json and application/*+json (it parses nothing else).
    media_type = content_type.split(b";", 1)[0].strip()
    return media_type == b"application/json" or (
        media_type.startswith(b"application/") and media_type.endswith(b"+json")
    )


class RejectNulMiddleware:
    """Refuses text containing the NUL character (U+0000) with 422: PostgreSQL cannot store it, and no
    field of this API needs it (the OpenAPI document says so on every free-text string). Checked on the
    raw request, so no handler ever sees one: in the path, the query string, and JSON or form bodies.
    Multipart bodies carry files, which are binary: they are left to the handler (their file content is
    parsed, and their other fields typed, there)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope.get("path", "") or _NUL_IN_URL.search(scope.get("query_string", b"")):
            await _refuse_nul(scope, receive, send)
            return
        content_type = _content_type(scope)
        if content_type.startswith(b"multipart/form-data"):
            await self.app(scope, receive, send)
            return
        # %00 encodes NUL in a form; in JSON it is just text, and NUL is the escape \u0000. The regular
        # expression runs only where its plain marker is found: on a large body it costs milliseconds.
        marker, encoded = (
            (b"%00", _NUL_IN_URL)
            if content_type.startswith(b"application/x-www-form-urlencoded")
            else (b"\\u0000", _NUL_IN_JSON)
        )
        tail = b""

        async def checking_receive() -> Message:
            nonlocal tail
            message = await receive()
            if message["type"] == "http.request":
                chunk = tail + message.get("body", b"")
                if b"\x00" in chunk or (marker in chunk and encoded.search(chunk)):
                    raise NulInBody
                tail = chunk[-7:]  # an escape split across two chunks is still found
            return message

        await self.app(scope, checking_receive, send)


def _content_type(scope: Scope) -> bytes:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            return bytes(value).lower()
    return b""


_NUL_IN_URL = re.compile(rb"%00")
# The escape \u0000, unless its backslash is itself escaped (the text "\\u0000" is no NUL).
_NUL_IN_JSON = re.compile(rb"(?:^|[^\\])(?:\\\\)*\\u0000")


class NulInBody(HTTPException):
    def __init__(self) -> None:
        super().__init__(422, NUL_DETAIL[0])
        self.detail_zh = NUL_DETAIL[1]


NUL_DETAIL = ("Text may not contain the NUL character (U+0000).", "文本中不能包含 NUL 字符（U+0000）。")


async def _refuse_nul(scope: Scope, receive: Receive, send: Send) -> None:
    await problem_response(scope, 422, detail=NUL_DETAIL)(scope, receive, send)
