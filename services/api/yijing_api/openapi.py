"""The OpenAPI document: FastAPI's, with every error response described as an RFC 9457 problem with an
example of what that status answers, the headers each response carries, and the models' examples as their
models write them."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi._compat import get_flat_models_from_fields, get_model_name_map
from fastapi.openapi.utils import get_fields_from_routes
from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from yijing.idempotency import HEADER as IDEMPOTENCY_KEY
from yijing_api.auth import api_key_header
from yijing_api.idempotency import REPLAYED
from yijing_api.problems import PROBLEM_MEDIA_TYPE, Problem, problem_responses

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_TEXT = {"type": "string"}

# The response headers the document names, each described once (components/headers). A route names those it
# sets itself with :func:`sends`; the others follow from the operation and the status (document_headers).
RESPONSE_HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": {
        "description": "The request's id (the `X-Request-ID` sent, if it is 8–128 characters of "
        "`A-Za-z0-9._:-`): quote it when reporting a problem",
        "schema": _TEXT,
    },
    "Location": {"description": "The address of the record", "schema": _TEXT},
    "ETag": {
        "description": "A record's version, to send back as `If-Match` when changing it; for a feed, a table "
        "or a file, a digest of it, to send back as `If-None-Match`",
        "schema": _TEXT,
    },
    "Content-Disposition": {
        "description": "The file's name, to save (`attachment`) or show (`inline`)",
        "schema": _TEXT,
    },
    REPLAYED: {
        "description": f"`true`: the stored answer to an earlier request with the same `{IDEMPOTENCY_KEY}`; "
        "nothing new was created",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "Retry-After": {"description": "Seconds to wait before trying again", "schema": {"type": "integer"}},
    "WWW-Authenticate": {"description": "How to authenticate: `Bearer`", "schema": _TEXT},
    "Content-Language": {
        "description": "The language of the problem's title, detail and messages: `zh-CN` unless "
        "`Accept-Language` prefers `en`",
        "schema": {"type": "string", "enum": ["zh-CN", "en"]},
    },
}


def _header_ref(name: str) -> dict[str, str]:
    assert name in RESPONSE_HEADERS, f"describe the header {name} in RESPONSE_HEADERS"
    return {"$ref": f"#/components/headers/{name}"}


def sends(*names: str) -> dict[str, Any]:
    """A route's ``responses`` entry for a status on which the route sets these headers itself, e.g.
    ``responses={201: sends("Location", "ETag")}``."""
    return {"headers": {name: _header_ref(name) for name in names}}


_RECORD_ID = "0193a6a4-9b1e-7c3d-8f2a-3b4c5d6e7f80"
_HAZARD = f"/api/v1/hazards/{_RECORD_ID}"


def problem_example(
    summary: str, status: int, code: str, title: str, detail: str | None, instance: str, **extra: Any
) -> dict[str, Any]:
    """An example problem document, members in the order the API writes them (extension members first)."""
    return {
        "summary": summary,
        "value": {
            **extra,
            "type": f"urn:yijing:problem:{code}",
            "title": title,
            "status": status,
            "detail": detail,
            "instance": instance,
            "code": code,
            "request_id": "6f1c2a7e3b9d4e0f8a1b2c3d4e5f6a7b",
        },
    }


# What each error status answers, in zh-CN (the default language), kept once in components/examples and
# referenced from every response of that status. `code` tells problems of one status apart: these are one
# real case each.
PROBLEM_EXAMPLES: dict[str, dict[str, Any]] = {
    # The framework's own account of an unreadable body is English; a Chinese client has the title alone.
    "400": problem_example(
        "请求体无法读取（如 multipart 表单数据格式有误）",
        400,
        "bad_request",
        "请求有误",
        None,
        f"{_HAZARD}/attachments",
    ),
    "401": problem_example(
        "未登录，也未提供 API 密钥",
        401,
        "unauthenticated",
        "需要登录认证",
        "请先登录（Bearer 令牌）或提供 API 密钥（X-API-Key）",
        "/api/v1/hazards",
    ),
    "403": problem_example(
        "角色或 API 密钥无权进行该操作",
        403,
        "forbidden",
        "无权操作",
        "义警无权执行此操作",
        "/api/v1/volunteers",
    ),
    "409": problem_example(
        "记录的当前状态不允许该操作（code 指明冲突的种类）",
        409,
        "transition_not_allowed",
        "冲突",
        "该隐患当前状态为 eliminated，不能执行 verify；可执行的操作：reopen",
        f"{_HAZARD}/verify",
        current_status="eliminated",
        allowed_actions=["reopen"],
    ),
    "412": problem_example(
        "If-Match 所给的版本已过时：记录已被他人修改",
        412,
        "version_mismatch",
        "记录已被他人修改",
        "记录已是第 4 版，而不是第 3 版，请重新读取",
        _HAZARD,
        current_version=4,
    ),
    "413": problem_example(
        "请求体超过大小上限",
        413,
        "payload_too_large",
        "请求体过大",
        "请求体超过了 262144 字节的上限。",
        "/api/v1/hazards",
    ),
    "422": problem_example(
        "字段不合法：errors 逐一列出",
        422,
        "validation_failed",
        "数据校验失败",
        "请求中有字段不合法，详见 errors。",
        "/api/v1/hazards",
        errors=[
            {
                "field": "body.severity",
                "message": "必须是以下值之一：'low'、'medium'、'high'、'critical'",
                "code": "enum",
            },
            {"field": "body.description", "message": "缺少必填字段", "code": "missing"},
        ],
    ),
    "429": problem_example(
        "请求过于频繁：Retry-After 秒后再试",
        429,
        "too_many_requests",
        "请求过于频繁",
        "该 API 密钥每分钟最多可发送 600 次请求",
        "/api/v1/stats/incidents",
        retry_after=42,
    ),
    "503": problem_example(
        "数据库暂时无法连接：Retry-After 秒后再试",
        503,
        "service_unavailable",
        "服务暂不可用",
        "暂时无法连接数据库，请几秒后重试。",
        "/api/v1/hazards",
    ),
}
# A 404 names the kind of record not found in its code: each operation's example is the record its path names
# last (a path parameter), or the site its body or query names (creates, summaries, statistics).
NOT_FOUND_BY_PARAMETER: dict[str, tuple[str, str]] = {
    "station_id": ("station_not_found", "派出所"),
    "site_id": ("site_not_found", "站点"),
    "user_id": ("user_not_found", "用户"),
    "key_id": ("api_key_not_found", "API 密钥"),
    "assignment_id": ("team_assignment_not_found", "任职记录"),
    "volunteer_id": ("volunteer_not_found", "义警"),
    "group_id": ("group_not_found", "小组"),
    "week_start": ("captain_week_not_found", "队长值班周"),
    "unavailability_id": ("unavailability_not_found", "不可值班时段"),
    "swap_id": ("captain_swap_not_found", "队长换班申请"),
    "feed_id": ("calendar_feed_not_found", "日历订阅"),
    "token": ("calendar_feed_not_found", "日历订阅"),
    "hazard_id": ("hazard_not_found", "隐患"),
    "attachment_id": ("attachment_not_found", "照片"),
    "route_id": ("patrol_route_not_found", "巡防路线"),
    "checkpoint_id": ("checkpoint_not_found", "巡防点"),
    "plan_id": ("patrol_plan_not_found", "巡防计划"),
    "patrol_id": ("patrol_not_found", "巡防"),
    "checkin_id": ("checkin_not_found", "打卡记录"),
    "log_id": ("patrol_log_not_found", "巡防日志"),
    "photo_id": ("patrol_log_photo_not_found", "日志照片"),
    "dispute_id": ("dispute_not_found", "纠纷"),
    "training_id": ("training_not_found", "培训"),
    "import_id": ("incident_import_not_found", "警情导入"),
    "job_id": ("job_run_not_found", "任务运行记录"),
    "notification_id": ("notification_not_found", "通知"),
}
_PATH_PARAMETER = re.compile(r"\{(\w+)(?::\w+)?\}")


def not_found_example(path: str) -> dict[str, Any]:
    """The 404 example of an operation on ``path``."""
    named = _PATH_PARAMETER.findall(path)
    code, noun = NOT_FOUND_BY_PARAMETER[named[-1] if named else "site_id"]
    instance = _PATH_PARAMETER.sub(_RECORD_ID, path)
    return problem_example(
        f"{noun}不存在，或不在调用者的范围内", 404, code, "未找到", f"未找到{noun} {_RECORD_ID}", instance
    )


# The 409 every operation taking an Idempotency-Key may answer, in place of the one above.
KEY_IN_PROGRESS_EXAMPLE = problem_example(
    f"使用同一 {IDEMPOTENCY_KEY} 的请求仍在处理中：Retry-After 秒后再试",
    409,
    "idempotency_key_in_progress",
    "冲突",
    "使用幂等键“4f6c2a1e-8d3b-4c5a-9e7f-1a2b3c4d5e6f”的请求正在处理中",
    "/api/v1/hazards",
    retry_after=1,
)


def problem_with_example(example: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` entry of an error a route answers in a way of its own, shown by ``example`` (a
    :func:`problem_example`) in place of its status's usual one."""
    status = example["value"]["status"]
    own = {PROBLEM_MEDIA_TYPE: {"examples": {example["value"]["code"]: example}}}
    return {status: {**problem_responses(status)[status], "content": own}}


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional header is left out, never sent as "null": drop the null branch FastAPI documents."""
    branches = [branch for branch in schema.get("anyOf", []) if branch.get("type") != "null"]
    if len(branches) == 1:
        rest = {key: value for key, value in schema.items() if key != "anyOf"}
        return {**rest, **branches[0]}
    return schema


# No text may contain NUL (see RejectNulMiddleware); free-text strings say so in the document. Uploaded
# files (contentMediaType) are bytes, not text.
NO_NUL_PATTERN = "^[^\\x00]*$"


def _forbid_nul(schema: Any) -> None:
    if isinstance(schema, dict):
        if (
            schema.get("type") == "string"
            and not {"pattern", "format", "enum", "const", "contentMediaType"} & schema.keys()
        ):
            schema["pattern"] = NO_NUL_PATTERN
        for value in schema.values():
            _forbid_nul(value)
    elif isinstance(schema, list):
        for item in schema:
            _forbid_nul(item)


def _takes_idempotency_key(operation: dict[str, Any]) -> bool:
    return any(
        parameter["in"] == "header" and parameter["name"] == IDEMPOTENCY_KEY
        for parameter in operation.get("parameters", [])
    )


def _problem_examples(
    status: str, response: dict[str, Any], keyed: bool, path: str, examples: dict[str, Any]
) -> dict[str, Any]:
    """The examples of an error response: the route's own, if it gives some (under the problem media type),
    else the status's (for a 404, the record's) from components/examples, which ``examples`` collects."""
    declared: dict[str, Any] | None = response.get("content", {}).get(PROBLEM_MEDIA_TYPE, {}).get("examples")
    if declared:
        return declared
    example: dict[str, Any] | None
    if status == "404":
        example = not_found_example(path)
        examples.setdefault(example["value"]["code"], example)
    elif keyed and status == "409":
        example = KEY_IN_PROGRESS_EXAMPLE
    else:
        example = PROBLEM_EXAMPLES.get(status)
    if example is None:
        return {}
    code = example["value"]["code"]
    return {code: {"$ref": f"#/components/examples/{code}"}}


def document_problems(document: dict[str, Any]) -> dict[str, Any]:
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    # Its one example (a 404) would show under every status: each response has an example of its own.
    problem_schema.pop("examples", None)
    components["examples"] = {
        example["value"]["code"]: example for example in (*PROBLEM_EXAMPLES.values(), KEY_IN_PROGRESS_EXAMPLE)
    }
    schemas.update(problem_schema.pop("$defs", {}))
    schemas["Problem"] = problem_schema
    # FastAPI's own validation-error models describe a body this API never sends.
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    _forbid_nul(schemas)
    for path, path_item in document.get("paths", {}).items():
        for operation in path_item.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "header":
                    parameter["schema"] = _not_null(parameter["schema"])
                _forbid_nul(parameter["schema"])
            _forbid_nul(operation.get("requestBody"))
            responses = operation.setdefault("responses", {})
            # Any operation may meet a database that is restarting: a retryable 503, never a 500.
            responses.setdefault("503", {"description": "The database is unreachable for now; retry later"})
            if any(
                api_key_header.scheme_name in requirement for requirement in operation.get("security", [])
            ):
                # An API key over its rate limit is refused before anything else, whatever the operation.
                responses.setdefault(
                    "429", {"description": "The API key is over its rate limit; retry later"}
                )
            if "requestBody" in operation:
                # Any body can be unreadable (not UTF-8, not JSON) or too large, whatever the operation.
                responses.setdefault("400", {"description": "The body could not be read"})
                responses.setdefault("413", {"description": "The body exceeds the size limit"})
            keyed = _takes_idempotency_key(operation)
            for status, response in responses.items():
                if status[0] in "45":
                    examples = _problem_examples(status, response, keyed, path, components["examples"])
                    response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM_REF, "examples": examples}}
    return document


def _is_file(response: dict[str, Any]) -> bool:
    return any(
        media.get("schema", {}).get("format") == "binary" for media in response.get("content", {}).values()
    )


def document_headers(document: dict[str, Any]) -> dict[str, Any]:
    """Give every response the headers its kind carries, beside those its route names (:func:`sends`)."""
    document.setdefault("components", {})["headers"] = RESPONSE_HEADERS
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            keyed = _takes_idempotency_key(operation)
            # An operation that answers 304 compares the client's If-None-Match with the ETag it sends.
            conditional = "304" in operation["responses"]
            for status, response in operation["responses"].items():
                names = ["X-Request-ID"]  # on every answer (RequestContextMiddleware)
                if status[0] == "2" and keyed:
                    names.append(REPLAYED)
                if conditional and status in ("200", "304"):
                    names.append("ETag")
                if status[0] == "2" and _is_file(response):
                    names.append("Content-Disposition")
                if status in ("429", "503") or (keyed and status == "409"):
                    names.append("Retry-After")
                if status == "401":
                    names.append("WWW-Authenticate")
                if status[0] in "45":
                    names.append("Content-Language")
                headers = response.setdefault("headers", {})
                for name in names:
                    headers.setdefault(name, _header_ref(name))
    return document


def restore_examples(document: dict[str, Any], app: FastAPI) -> dict[str, Any]:
    """Put each model's examples back as the model writes them. FastAPI writes the document without a single
    null, examples included: a required nullable field shown null left its example, which then failed its
    own schema."""
    schemas = document.get("components", {}).get("schemas", {})
    models = get_flat_models_from_fields(get_fields_from_routes(app.routes), known_models=set())
    for model, name in get_model_name_map(models).items():
        if "examples" in schemas.get(name, {}) and isinstance(model, type) and issubclass(model, BaseModel):
            schemas[name]["examples"] = to_jsonable_python(model.model_json_schema()["examples"])
    return document


def install_openapi(app: FastAPI) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_headers(document_problems(restore_examples(build(), app)))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
