"""Domain errors carry their HTTP status and a stable machine-readable code; the API maps every one of them
to ``application/problem+json`` in one place, and the worker records them as job failures."""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"
    title_zh: ClassVar[str] = "请求有误"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        # Extra members of the problem document (e.g. the allowed transitions of a state machine).
        self.extra = extra


class NotFound(DomainError):
    status = 404
    code = "not_found"
    title = "Not found"
    title_zh = "未找到"


class Conflict(DomainError):
    status = 409
    code = "conflict"
    title = "Conflict"
    title_zh = "冲突"


class InvalidInput(DomainError):
    """Input that passed the schema but breaks a rule; ``errors`` lists the offending fields."""

    status = 422
    code = "validation_failed"
    title = "Validation failed"
    title_zh = "数据校验失败"
