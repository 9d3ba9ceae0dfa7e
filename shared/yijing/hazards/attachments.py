"""Photos of hazards: checked by their content, stored once per upload (yijing.photos.store_photo), served
only to those who see the hazard."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from yijing.access import Actor
from yijing.hazards import repository
from yijing.hazards.errors import AttachmentNotFound
from yijing.hazards.models import AttachmentKind, HazardAttachment
from yijing.hazards.service import get_hazard, record_event
from yijing.ids import new_id, utcnow
from yijing.photos import store_photo
from yijing.storage import AttachmentStore, ObjectMissing


async def add_attachment(
    session: AsyncSession,
    actor: Actor,
    store: AttachmentStore,
    hazard_id: uuid.UUID,
    *,
    file_name: str,
    data: bytes,
    kind: AttachmentKind,
    strip_gps: bool,
    max_bytes: int,
) -> tuple[HazardAttachment, bool]:
    """The stored attachment, and whether it is new (False: the same upload, with the same ``strip_gps``,
    sent again)."""
    hazard = await get_hazard(session, actor, hazard_id)
    attachment_id = new_id()

    async def stored(upload_sha256: str) -> HazardAttachment | None:
        return await repository.attachment_by_upload(session, hazard.id, upload_sha256, strip_gps)

    def new_row(photo: dict[str, Any]) -> HazardAttachment:
        return HazardAttachment(
            id=attachment_id, hazard_id=hazard.id, kind=kind, file_name=file_name,
            storage_key=f"hazards/{hazard.id}/{attachment_id}", uploaded_by=actor.user_id, **photo,
        )  # fmt: skip

    async def write(attachment: HazardAttachment) -> None:
        await repository.save(session, attachment)
        details = {
            "attachment_id": str(attachment.id),
            "kind": kind.value,
            "media_type": attachment.media_type,
        }
        await record_event(session, hazard, "attach", actor.user_id, details=details)
        # News for clients syncing by updated_after; the hazard's fields (and version) stay.
        hazard.updated_at = utcnow()
        await session.flush()

    return await store_photo(
        session, store, data, strip_gps=strip_gps, max_bytes=max_bytes, stored=stored, new_row=new_row,
        write=write,
    )  # fmt: skip


async def list_attachments(
    session: AsyncSession, actor: Actor, hazard_id: uuid.UUID
) -> Sequence[HazardAttachment]:
    hazard = await get_hazard(session, actor, hazard_id)
    return await repository.attachments(session, hazard.id)


async def open_attachment(
    session: AsyncSession,
    actor: Actor,
    store: AttachmentStore,
    hazard_id: uuid.UUID,
    attachment_id: uuid.UUID,
) -> tuple[HazardAttachment, bytes]:
    hazard = await get_hazard(session, actor, hazard_id)
    attachment = await repository.get_attachment(session, hazard.id, attachment_id)
    if attachment is None:
        raise AttachmentNotFound(
            f"no attachment {attachment_id} on hazard {hazard_id}",
            zh=f"隐患 {hazard_id} 没有附件 {attachment_id}",
        )
    try:
        return attachment, await store.get(attachment.storage_key)
    except ObjectMissing as exc:
        raise AttachmentNotFound(
            f"the file of attachment {attachment_id} is missing from the attachment store",
            zh=f"附件 {attachment_id} 的文件在附件存储中缺失",
        ) from exc
