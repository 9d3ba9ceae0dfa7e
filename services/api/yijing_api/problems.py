"""RFC 9457 problem documents for every error: domain errors, HTTP errors (404, 405, 413…), validation
errors and unhandled exceptions.

A problem speaks the client's language: its title, detail and field messages are Chinese (``zh-CN``, the
default) unless ``Accept-Language`` prefers English (``en``); its ``code``s are the same in both. It says
which with ``Content-Language`` and ``Vary: Accept-Language``. Problems are the API's only negotiated text:
every other response is data, or Chinese whoever asks (notifications), and carries neither header."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse
from starlette.types import Scope

from yijing.errors import DomainError
from yijing.i18n import validation_message_zh

log = structlog.get_logger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"

# status -> (code, English title, Chinese title) for errors raised by the framework rather than the domain.
_HTTP_PROBLEMS: dict[int, tuple[str, str, str]] = {
    400: ("bad_request", "Bad request", "请求有误"),
    401: ("unauthorized", "Authentication required", "需要登录认证"),
    403: ("forbidden", "Forbidden", "无权操作"),
    404: ("not_found", "Not found", "未找到"),
    405: ("method_not_allowed", "Method not allowed", "不支持该请求方法"),
    406: ("not_acceptable", "Not acceptable", "无法提供所请求的格式"),
    409: ("conflict", "Conflict", "冲突"),
    412: ("precondition_failed", "Precondition failed", "前置条件不满足"),
    413: ("payload_too_large", "Request body too large", "请求体过大"),
    415: ("unsupported_media_type", "Unsupported media type", "不支持的内容类型"),
    422: ("validation_failed", "Validation failed", "数据校验失败"),
    429: ("too_many_requests", "Too many requests", "请求过于频繁"),
    500: ("internal_error", "Internal server error", "服务器内部错误"),
    503: ("service_unavailable", "Service unavailable", "服务暂不可用"),
}
# The details the framework itself writes into an HTTP error (its status phrases aside), in Chinese. Any
# other is answered to Chinese clients without a detail: the title says what went wrong.
_FRAMEWORK_DETAILS_ZH = {"There was an error parsing the body": "无法解析请求体"}


class FieldError(BaseModel):
    field: str = Field(description="Where the error is: body.<field>, query.<name>, path.<name>…")
    message: str
    code: str = Field(description="Stable machine-readable error type")


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:yijing:problem:not_found",
                    "title": "未找到",
                    "status": 404,
                    "detail": "未找到任务运行记录 0193a6a4-9b1e-7c3d-8f2a-3b4c5d6e7f80",
                    "instance": "/api/v1/jobs/0193a6a4-9b1e-7c3d-8f2a-3b4c5d6e7f80",
                    "code": "not_found",
                    "request_id": "6f1c2a7e3b9d4e0f8a1b2c3d4e5f6a7b",
                }
            ]
        },
    )

    type: str = Field(description="A URN naming the kind of problem")
    title: str
    status: int
    detail: str | None = None
    instance: str | None = Field(default=None, description="The request path")
    code: str = Field(description="Stable machine-readable code")
    request_id: str | None = None
    errors: list[FieldError] | None = None


def prefers_english(headers: Headers) -> bool:
    """True when the highest-weighted language the client accepts is English (zh-CN otherwise)."""
    best, best_q = "zh", -1.0
    for part in headers.get("accept-language", "").split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if tag and q > best_q:
            best, best_q = tag.lower(), q
    return best.startswith("en")


def problem_response(
    scope: Scope,
    status: int,
    *,
    code: str | None = None,
    title: tuple[str, str] | None = None,
    detail: tuple[str, str | None] | None = None,
    headers: dict[str, str] | None = None,
    errors: list[dict[str, str]] | None = None,
    **extra: Any,
) -> JSONResponse:
    """Build the problem response for ``status`` in the client's language. ``title`` and ``detail`` are
    (English, Chinese); each field error of ``errors`` is ``{"field", "message", "message_zh", "code"}``,
    answered with ``message`` in that language."""
    english = prefers_english(Headers(scope=scope))
    default_code, title_en, title_zh = _HTTP_PROBLEMS.get(status, ("error", "Error", "错误"))
    if title is not None:
        title_en, title_zh = title
    code = code or default_code
    if errors is not None:
        extra["errors"] = [_field_error(error, english) for error in errors]
    detail_en, detail_zh = detail or (None, None)
    body: dict[str, Any] = {
        # Extension members first: the standard members below always win.
        **{key: value for key, value in extra.items() if value is not None},
        "type": f"urn:yijing:problem:{code}",
        "title": title_en if english else title_zh,
        "status": status,
        "detail": detail_en if english else detail_zh,
        "instance": scope.get("path"),
        "code": code,
        "request_id": scope.get("state", {}).get("request_id"),
    }
    language = {"Content-Language": "en" if english else "zh-CN", "Vary": "Accept-Language"}
    return JSONResponse(
        body, status_code=status, headers={**(headers or {}), **language}, media_type=PROBLEM_MEDIA_TYPE
    )


def _field_error(error: dict[str, str], english: bool) -> dict[str, str]:
    message = error["message"] if english else error.get("message_zh", error["message"])
    return {"field": error["field"], "message": message, "code": error["code"]}


def _field_path(location: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in location)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return problem_response(
        request.scope,
        exc.status,
        code=exc.code,
        title=(exc.title, exc.title_zh),
        detail=(exc.detail, exc.detail_zh),
        headers=exc.headers or None,
        **exc.extra,
    )


def _allowed_methods(request: Request) -> str:
    """Every method the path supports. Starlette names only the first route that matched the path, which
    is wrong when one path has several routes (GET and PATCH /me)."""
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        regex = getattr(route, "path_regex", None)
        if route.methods and regex is not None and regex.match(request.url.path):
            methods |= route.methods
    return ", ".join(sorted(methods))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    # Starlette's own details are just the status phrase: the localised title says it better.
    generic = exc.detail in (None, "", HTTPStatus(exc.status_code).phrase)
    headers = dict(exc.headers) if exc.headers else {}
    if exc.status_code == HTTPStatus.METHOD_NOT_ALLOWED:
        headers["Allow"] = _allowed_methods(request)
    detail = None if generic else (str(exc.detail), _detail_zh(exc))
    return problem_response(request.scope, exc.status_code, detail=detail, headers=headers or None)


def _detail_zh(exc: StarletteHTTPException) -> str | None:
    """Our own HTTP errors carry their Chinese (``detail_zh``); the framework's are looked up."""
    return getattr(exc, "detail_zh", None) or _FRAMEWORK_DETAILS_ZH.get(str(exc.detail))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "field": _field_path(tuple(error["loc"])),
            "message": error["msg"],
            "message_zh": validation_message_zh(error),
            "code": error["type"],
        }
        for error in exc.errors()
    ]
    detail = ("The request has invalid fields; see errors.", "请求中有字段不合法，详见 errors。")
    return problem_response(request.scope, 422, detail=detail, errors=errors)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the given error statuses; ``openapi.document_problems`` gives every
    error response the problem+json schema."""
    return {status: {"description": _HTTP_PROBLEMS.get(status, ("", "Error", ""))[1]} for status in statuses}
