"""Where uploaded files (hazard photos) live: a local directory by default, or an S3-compatible object store
(MinIO, Ceph, a cloud's OSS/COS with its S3 endpoint) when ``YIJING_ATTACHMENT_STORE=s3``. Keys are relative
paths made by the application (``hazards/<hazard id>/<attachment id>``), never by a client."""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Protocol

from yijing.settings import AttachmentStoreKind, Settings

_KEY = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_.-]+)*$")


def _checked(key: str) -> str:
    if not _KEY.fullmatch(key) or ".." in key:
        raise ValueError(f"not a storage key: {key!r}")
    return key


class ObjectMissing(Exception):
    """The store has nothing under the key (removed by hand, or another store configured)."""


class AttachmentStore(Protocol):
    async def put(self, key: str, data: bytes, media_type: str) -> None: ...

    async def get(self, key: str) -> bytes: ...

    async def delete(self, key: str) -> None:
        """Remove the object; nothing happens when there is none."""


class LocalStore:
    """Files under one directory. A file appears whole or not at all (written aside, then renamed)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / _checked(key)

    def _write(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    async def put(self, key: str, data: bytes, media_type: str) -> None:
        await asyncio.to_thread(self._write, key, data)

    async def get(self, key: str) -> bytes:
        try:
            return await asyncio.to_thread(self._path(key).read_bytes)
        except FileNotFoundError as exc:
            raise ObjectMissing(key) from exc

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)


class S3Store:
    """An S3-compatible bucket through boto3 (the ``s3`` extra: ``pip install 'yijing[s3]'``). boto3 blocks,
    so each call runs in a worker thread; its client is thread-safe."""

    def __init__(self, settings: Settings) -> None:
        import boto3  # the optional extra: only needed when this store is configured

        if not settings.s3_bucket:
            raise ValueError("YIJING_S3_BUCKET must be set when YIJING_ATTACHMENT_STORE is s3")
        self.bucket = settings.s3_bucket
        self.prefix = settings.s3_prefix
        # Credentials: the settings when given, else boto3's own chain (AWS_* variables, profiles, roles).
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key_id,
            aws_secret_access_key=(
                settings.s3_secret_access_key.get_secret_value() if settings.s3_secret_access_key else None
            ),
        )

    def _key(self, key: str) -> str:
        return f"{self.prefix}{_checked(key)}"

    async def put(self, key: str, data: bytes, media_type: str) -> None:
        await asyncio.to_thread(
            self.client.put_object, Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=media_type
        )

    async def get(self, key: str) -> bytes:
        try:
            response = await asyncio.to_thread(self.client.get_object, Bucket=self.bucket, Key=self._key(key))
        except self.client.exceptions.NoSuchKey as exc:
            raise ObjectMissing(key) from exc
        body: bytes = await asyncio.to_thread(response["Body"].read)
        return body

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=self._key(key))


def store_for(settings: Settings) -> AttachmentStore:
    if settings.attachment_store is AttachmentStoreKind.S3:
        return S3Store(settings)
    return LocalStore(settings.attachments_dir or settings.data_dir / "attachments")
