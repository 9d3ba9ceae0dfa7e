"""Photos of hazards: checked by their content, stored once per upload, served only to those who see the
hazard. The rows are written first and the file last, so a refused or failed upload leaves no file behind;
only a commit failing after the file is written can leave one that no row names."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from yijing.access import Actor
from yijing.errors import TooLarge
from yijing.hazards import repository
from yijing.hazards.errors import AttachmentNotFound
from yijing.hazards.models import AttachmentKind, HazardAttachment
from yijing.hazards.photos import read_photo
from yijing.hazards.service import get_hazard, record_event
from yijing.ids import new_id, utcnow
from yijing.storage import AttachmentStore, ObjectMissing
from yijing.uploads import off_loop


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
    if len(data) > max_bytes:
        raise TooLarge(f"the photo is {len(data):,} bytes; the limit is {max_bytes:,}", limit_bytes=max_bytes)
    upload_sha256 = hashlib.sha256(data).hexdigest()
    existing = await repository.attachment_by_upload(session, hazard.id, upload_sha256, strip_gps)
    if existing is not None:
        return existing, False
    # Decoding a large photo takes a while: off the event loop.
    photo = await off_loop(read_photo, data, strip_gps=strip_gps)
    attachment_id = new_id()
    attachment = HazardAttachment(
        id=attachment_id,
        hazard_id=hazard.id,
        kind=kind,
        media_type=photo.media_type,
        size_bytes=len(photo.data),
        width=photo.width,
        height=photo.height,
        upload_sha256=upload_sha256,
        sha256=hashlib.sha256(photo.data).hexdigest(),
        gps_stripped=photo.gps_stripped,
        file_name=file_name,
        storage_key=f"hazards/{hazard.id}/{attachment_id}",
        uploaded_by=actor.user_id,
    )
    try:
        async with session.begin_nested():
            await repository.save(session, attachment)
            details = {
                "attachment_id": str(attachment.id),
                "kind": kind.value,
                "media_type": photo.media_type,
            }
            await record_event(session, hazard, "attach", actor.user_id, details=details)
            # News for clients syncing by updated_after; the hazard's fields (and version) stay.
            hazard.updated_at = utcnow()
            await session.flush()
    except IntegrityError:
        # The same upload sent twice at once: the other request stored it first.
        stored = await repository.attachment_by_upload(session, hazard.id, upload_sha256, strip_gps)
        if stored is None:
            raise
        return stored, False
    # The file goes last: a failure here rolls the rows back with the request.
    await store.put(attachment.storage_key, photo.data, photo.media_type)
    return attachment, True


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
        raise AttachmentNotFound(f"no attachment {attachment_id} on hazard {hazard_id}")
    try:
        return attachment, await store.get(attachment.storage_key)
    except ObjectMissing as exc:
        raise AttachmentNotFound(
            f"the file of attachment {attachment_id} is missing from the attachment store"
        ) from exc
