"""The OpenAPI document: FastAPI's, with every error response described as an RFC 9457 problem."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from yijing_api.problems import PROBLEM_MEDIA_TYPE, Problem

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


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


def document_problems(document: dict[str, Any]) -> dict[str, Any]:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem_schema.pop("$defs", {}))
    schemas["Problem"] = problem_schema
    # FastAPI's own validation-error models describe a body this API never sends.
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    _forbid_nul(schemas)
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "header":
                    parameter["schema"] = _not_null(parameter["schema"])
                _forbid_nul(parameter["schema"])
            _forbid_nul(operation.get("requestBody"))
            responses = operation.setdefault("responses", {})
            # Any operation may meet a database that is restarting: a retryable 503, never a 500.
            responses.setdefault("503", {"description": "The database is unreachable for now; retry later"})
            if "requestBody" in operation:
                # Any body can be unreadable (not UTF-8, not JSON) or too large, whatever the operation.
                responses.setdefault("400", {"description": "The body could not be read"})
                responses.setdefault("413", {"description": "The body exceeds the size limit"})
            for status, response in responses.items():
                if status[0] in "45":
                    response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM_REF}}
    return document


def install_openapi(app: FastAPI) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
