"""Versioned records: each has a ``version`` that a client's If-Match names and an ``updated_at``. An edit
applies what really differs and bumps both once; the fields it changed are the audit event's changes."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from yijing.ids import utcnow


class Versioned(Protocol):
    version: int
    updated_at: datetime


def apply_changes(record: Versioned, updates: Mapping[str, Any]) -> dict[str, Any]:
    """Set each field of ``updates`` that differs on ``record``; if any did, bump its version and
    ``updated_at``. Returns the fields that changed, JSON-friendly (ids as strings, instants in ISO 8601)."""
    changed = {key: value for key, value in updates.items() if getattr(record, key) != value}
    for key, value in changed.items():
        setattr(record, key, value)
    if changed:
        record.version += 1
        record.updated_at = utcnow()
    return {key: _json(value) for key, value in changed.items()}


def _json(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    return value.isoformat() if isinstance(value, datetime) else value
