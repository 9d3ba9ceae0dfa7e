"""Domain errors carry their HTTP status and a stable machine-readable code; the API maps every one of them
to ``application/problem+json`` in one place, and the worker records them as job failures."""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"
    title_zh: ClassVar[str] = "请求有误"
    # True when the refusal is itself a fact to keep: the edge commits the transaction (a failed sign-in's
    # audit event, a token family revoked on reuse) and still answers with the error.
    keeps_changes: ClassVar[bool] = False

    def __init__(self, detail: str, *, zh: str, headers: dict[str, str] | None = None, **extra: Any) -> None:
        """``detail`` is English (logs, job failures, ``Accept-Language: en``); ``zh`` is the same sentence in
        Chinese with the same values, what the API answers by default. Field errors in ``errors=[...]`` carry
        both too: ``{"field", "message", "message_zh", "code"}``."""
        super().__init__(detail)
        self.detail = detail
        self.detail_zh = zh
        # Response headers the error needs (Retry-After, WWW-Authenticate).
        self.headers = headers or {}
        # Extra members of the problem document (e.g. the allowed transitions of a state machine).
        self.extra = extra


class NotFound(DomainError):
    status = 404
    code = "not_found"
    title = "Not found"
    title_zh = "未找到"


class Unauthenticated(DomainError):
    status = 401
    code = "unauthenticated"
    title = "Authentication required"
    title_zh = "需要登录认证"

    def __init__(self, detail: str, *, zh: str, **extra: Any) -> None:
        super().__init__(detail, zh=zh, headers={"WWW-Authenticate": "Bearer"}, **extra)


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    title = "Forbidden"
    title_zh = "无权操作"


class TooManyRequests(DomainError):
    status = 429
    code = "too_many_requests"
    title = "Too many requests"
    title_zh = "请求过于频繁"

    def __init__(self, detail: str, *, zh: str, retry_after: int, **extra: Any) -> None:
        super().__init__(
            detail, zh=zh, headers={"Retry-After": str(retry_after)}, retry_after=retry_after, **extra
        )


class Conflict(DomainError):
    status = 409
    code = "conflict"
    title = "Conflict"
    title_zh = "冲突"


class ClientIdTaken(Conflict):
    """Another person's record captured offline (a hazard, a dispute) already carries this client id."""

    code = "client_id_taken"


class TooLarge(DomainError):
    status = 413
    code = "payload_too_large"
    title = "Request body too large"
    title_zh = "请求体过大"


class InvalidInput(DomainError):
    """Input that passed the schema but breaks a rule; ``errors`` lists the offending fields."""

    status = 422
    code = "validation_failed"
    title = "Validation failed"
    title_zh = "数据校验失败"

    @classmethod
    def on(cls, field: str, message: str, code: str, *, zh: str) -> InvalidInput:
        """The refusal of one field (``body.planned_end``), with the rule's ``code``; ``zh`` is ``message``
        in Chinese."""
        return cls(
            f"{field}: {message}",
            zh=f"{field}：{zh}",
            errors=[{"field": field, "message": message, "message_zh": zh, "code": code}],
        )

    @classmethod
    def listing(cls, errors: list[dict[str, str]]) -> InvalidInput:
        """The refusal of several fields at once, each ``{"field", "message", "message_zh", "code"}``; the
        detail lists them."""
        return cls(
            "; ".join(f"{error['field']}: {error['message']}" for error in errors),
            zh="；".join(f"{error['field']}：{error['message_zh']}" for error in errors),
            errors=errors,
        )


class PreconditionFailed(DomainError):
    """An ``If-Match`` that names an older version: someone else changed the record first."""

    status = 412
    code = "version_mismatch"
    title = "The record changed since you read it"
    title_zh = "记录已被他人修改"


def check_version(current: int, expected: int | None) -> None:
    """Optimistic concurrency: a stale ``If-Match`` is refused; no ``If-Match`` means last write wins."""
    if expected is not None and expected != current:
        raise PreconditionFailed(
            f"the record is at version {current}, not {expected}; read it again",
            zh=f"记录已是第 {current} 版，而不是第 {expected} 版，请重新读取",
            current_version=current,
        )
