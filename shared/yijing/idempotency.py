"""Idempotency keys: the first answer to a create POST, kept with the key its caller sent, so that a retry
(a phone on a flaky network) gets that answer again instead of creating a second record.

A key belongs to one caller (a user or an API key) and answers for one route and one request (its body and
query, by their SHA-256); it replays for ``Settings.idempotency_key_hours`` and the daily ``system.purge``
removes it after that. The edge (``yijing_api.idempotency``) holds the key's lock for the whole request and
writes the answer in the request's own transaction, so the answer is stored exactly when the record is.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, Integer, LargeBinary, String, delete, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from yijing import conflicts
from yijing.columns import instant
from yijing.errors import Conflict, InvalidInput

HEADER = "Idempotency-Key"
# 1–128 characters of A-Za-z0-9 . _ : -  (a UUID is one).
KEY_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"
# The response headers a replay repeats; the others (request id, rate limits) belong to each answer.
KEPT_HEADERS = ("content-type", "location", "etag")


class IdempotencyKey(SQLModel, table=True):
    """The stored first answer to one caller's create request under one key."""

    __tablename__ = "idempotency_keys"

    principal_id: uuid.UUID = Field(primary_key=True)  # a user's or an API key's id: keys are per caller
    key: str = Field(sa_column=Column(String(128), primary_key=True))
    route: str = Field(max_length=200)  # method and operation id: "POST volunteers_create"
    fingerprint: str = Field(max_length=64)  # SHA-256 (hex) of the body and the query string
    status_code: int = Field(sa_column=Column(Integer, nullable=False))
    headers: dict[str, str] = Field(sa_column=Column(JSONB, nullable=False))
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = instant(index=True)


class IdempotencyKeyInProgress(Conflict):
    """The first request with this key is still running: retry once it has answered."""

    code = "idempotency_key_in_progress"

    def __init__(self, detail: str, *, zh: str, retry_after: int = 1) -> None:
        super().__init__(detail, zh=zh, headers={"Retry-After": str(retry_after)}, retry_after=retry_after)


class IdempotencyKeyReused(InvalidInput):
    """The key already answered another request (another body, query or route)."""

    code = "idempotency_key_reused"

    def __init__(self, detail: str, *, zh: str) -> None:
        super().__init__(
            detail,
            zh=zh,
            errors=[{"field": f"header.{HEADER}", "message": detail, "message_zh": zh, "code": self.code}],
        )


conflicts.register(
    {
        # Only reachable around the key's lock (which answers first): still the caller's "in progress".
        "pk_idempotency_keys": conflicts.Clash(
            IdempotencyKeyInProgress,
            "a request with the key {key!r} is already being answered",
            zh="使用幂等键“{key}”的请求正在处理中",
        ),
    }
)


async def try_lock(session: AsyncSession, principal_id: uuid.UUID, key: str) -> bool:
    """Take the caller's key for this transaction; False while another transaction holds it."""
    locked = await session.scalar(
        text("SELECT pg_try_advisory_xact_lock(hashtextextended(:lock, 0))"),
        {"lock": f"idempotency:{principal_id}:{key}"},
    )
    return bool(locked)


async def delete_before(session: AsyncSession, cutoff: datetime) -> int:
    result = await session.execute(delete(IdempotencyKey).where(col(IdempotencyKey.created_at) < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
