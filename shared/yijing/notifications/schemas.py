from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from yijing.types import QueryBool


class NotificationFilters(BaseModel):
    """The inbox's filters."""

    unread: Annotated[QueryBool, Field(description="Only unread ones")] = False


class NotificationRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "0193a6a4-5555-7c3d-8f2a-3b4c5d6e7f80",
                    "kind": "account.created",
                    "title": "欢迎加入义警平台",
                    "body": "您的账号已开通，角色：义警。",
                    "link": "/api/v1/me",
                    "created_at": "2026-11-29T10:00:00+08:00",
                    "read_at": None,
                }
            ]
        },
    )

    id: uuid.UUID
    kind: str
    title: str
    body: str
    link: str | None
    created_at: datetime
    read_at: datetime | None


class MarkedRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"marked": 3}]})

    marked: int
