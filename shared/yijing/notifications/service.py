"""The inbox. Domain events ask for notifications with ``yijing.notifications.jobs.notify`` (through the
outbox, in their own transaction); the worker's ``notifications.deliver`` job writes one row per recipient,
idempotently."""

from __future__ import annotations

import uuid

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from yijing.access import Actor
from yijing.errors import NotFound
from yijing.ids import utcnow
from yijing.jobs.registry import JobContext, JobPayload, JsonDict
from yijing.kit.pagination import Page, PageParams, page_of
from yijing.notifications import repository
from yijing.notifications.models import Notification
from yijing.notifications.schemas import MarkedRead, NotificationFilters, NotificationRead


class NotificationNotFound(NotFound):
    code = "notification_not_found"


class DeliverPayload(JobPayload):
    recipients: list[uuid.UUID] = Field(min_length=1, max_length=10_000)
    kind: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(max_length=2000)
    link: str | None = Field(default=None, max_length=500)
    dedupe_key: str = Field(min_length=1, max_length=200, description="The event's own unique key")


async def deliver(context: JobContext, payload: DeliverPayload) -> JsonDict:
    rows = [
        {
            "recipient_id": recipient,
            "kind": payload.kind,
            "title": payload.title,
            "body": payload.body,
            "link": payload.link,
            "dedupe_key": payload.dedupe_key,
        }
        for recipient in dict.fromkeys(payload.recipients)
    ]
    return {"delivered": await repository.insert_many(context.session, rows)}


async def list_mine(
    session: AsyncSession, actor: Actor, filters: NotificationFilters, page: PageParams
) -> Page[NotificationRead]:
    assert actor.principal is not None
    rows = await repository.list_for(session, actor.principal.id, filters, page)
    return page_of(rows, page.limit, NotificationRead.model_validate)


async def mark_read(session: AsyncSession, actor: Actor, notification_id: uuid.UUID) -> Notification:
    assert actor.principal is not None
    notification = await repository.get_for(session, actor.principal.id, notification_id)
    if notification is None:
        raise NotificationNotFound(f"no notification {notification_id}", zh=f"未找到通知 {notification_id}")
    if notification.read_at is None:
        notification.read_at = utcnow()
        await session.flush()
    return notification


async def mark_all_read(session: AsyncSession, actor: Actor) -> MarkedRead:
    assert actor.principal is not None
    return MarkedRead(marked=await repository.mark_all_read(session, actor.principal.id, utcnow()))
