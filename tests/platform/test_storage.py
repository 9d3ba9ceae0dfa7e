"""The attachment stores: a local directory, and an S3-compatible bucket (moto's server, spoken to over HTTP
exactly as MinIO or a cloud's S3 endpoint would be)."""

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from yijing.settings import AttachmentStoreKind, Settings
from yijing.storage import LocalStore, ObjectMissing, S3Store, store_for

KEY = "hazards/0193a6a4-1111-7c3d-8f2a-3b4c5d6e7f80/0193a6a4-9999-7c3d-8f2a-3b4c5d6e7f80"
# Each escaping key aims at the same file beside the store ({outside}: its absolute path), never at a real
# system file: a broken check must not damage the machine running the tests.
BAD_KEYS = [
    pytest.param("../outside", id="parent"),
    pytest.param("hazards/../../outside", id="nested-parent"),
    pytest.param("hazards/..", id="trailing-parent"),
    pytest.param("{outside}", id="absolute"),
    pytest.param("hazards//outside", id="empty-segment"),
    pytest.param("", id="empty"),
]


def files_under(root: Path) -> set[Path]:
    return {path for path in root.rglob("*") if path.is_file()}


# The local store


async def test_a_local_store_keeps_gets_and_deletes_files(tmp_path):
    store = LocalStore(tmp_path)

    await store.put(KEY, b"first", "image/jpeg")
    assert (tmp_path / KEY).read_bytes() == b"first"
    assert await store.get(KEY) == b"first"
    await store.put(KEY, b"second", "image/jpeg")
    assert await store.get(KEY) == b"second"
    await store.delete(KEY)

    assert not (tmp_path / KEY).exists()
    with pytest.raises(ObjectMissing):
        await store.get(KEY)
    assert files_under(tmp_path) == set()


async def test_deleting_a_missing_file_is_silent(tmp_path):
    store = LocalStore(tmp_path)

    await store.delete(KEY)
    await store.delete("never-written")

    assert files_under(tmp_path) == set()


async def test_getting_a_missing_file_raises_object_missing(tmp_path):
    store = LocalStore(tmp_path)
    await store.put("hazards/a/present", b"x", "image/png")

    with pytest.raises(ObjectMissing, match="hazards/a/absent"):
        await store.get("hazards/a/absent")


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_a_local_store_refuses_keys_that_leave_its_directory(tmp_path, key):
    root = tmp_path / "store"
    outside = tmp_path / "outside"
    outside.write_bytes(b"not the store's")
    store = LocalStore(root)
    key = key.format(outside=outside)

    with pytest.raises(ValueError, match="not a storage key"):
        await store.put(key, b"x", "image/png")
    with pytest.raises(ValueError, match="not a storage key"):
        await store.get(key)
    with pytest.raises(ValueError, match="not a storage key"):
        await store.delete(key)

    assert files_under(tmp_path) == {outside}
    assert outside.read_bytes() == b"not the store's"


async def test_a_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    store = LocalStore(tmp_path)
    await store.put(KEY, b"the whole old photo", "image/jpeg")

    # The disk fills up after the bytes were handed over, before they are safe.
    def disk_full(descriptor: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        await store.put(KEY, b"half a new photo", "image/jpeg")
    with pytest.raises(OSError, match="No space left"):
        await store.put("hazards/new/photo", b"half a photo", "image/jpeg")

    # The old file stays whole, the new key has nothing, and no temporary file is left behind.
    assert await store.get(KEY) == b"the whole old photo"
    assert files_under(tmp_path) == {tmp_path / KEY}


# The S3 store


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def s3_settings(endpoint: str, bucket: str, prefix: str = "") -> Settings:
    return Settings(
        _env_file=None,
        attachment_store="s3",
        s3_bucket=bucket,
        s3_endpoint_url=endpoint,
        s3_region="us-east-1",
        s3_access_key_id="test",
        s3_secret_access_key="test",
        s3_prefix=prefix,
    )


@pytest.fixture
def s3_client(s3_endpoint):
    return boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


@pytest.fixture
def bucket(s3_client) -> str:
    """A fresh bucket for each test."""
    name = f"yijing-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=name)
    return name


def bucket_keys(s3_client, bucket: str) -> list[str]:
    return [item["Key"] for item in s3_client.list_objects_v2(Bucket=bucket).get("Contents", [])]


async def test_an_s3_store_keeps_gets_and_deletes_objects(s3_endpoint, s3_client, bucket):
    store = S3Store(s3_settings(s3_endpoint, bucket))

    await store.put(KEY, b"\xff\xd8 a photo", "image/jpeg")
    assert await store.get(KEY) == b"\xff\xd8 a photo"
    assert bucket_keys(s3_client, bucket) == [KEY]
    assert s3_client.head_object(Bucket=bucket, Key=KEY)["ContentType"] == "image/jpeg"
    await store.delete(KEY)

    assert bucket_keys(s3_client, bucket) == []
    with pytest.raises(ObjectMissing):
        await store.get(KEY)
    await store.delete(KEY)  # a missing object: silent, as for the local store


async def test_an_s3_store_keeps_its_objects_under_its_prefix(s3_endpoint, s3_client, bucket):
    store = S3Store(s3_settings(s3_endpoint, bucket, prefix="yijing/prod/"))
    unprefixed = S3Store(s3_settings(s3_endpoint, bucket))

    await store.put(KEY, b"photo", "image/png")

    assert bucket_keys(s3_client, bucket) == [f"yijing/prod/{KEY}"]
    assert await store.get(KEY) == b"photo"
    with pytest.raises(ObjectMissing):
        await unprefixed.get(KEY)
    await store.delete(KEY)
    assert bucket_keys(s3_client, bucket) == []


async def test_a_missing_s3_object_raises_object_missing(s3_endpoint, bucket):
    store = S3Store(s3_settings(s3_endpoint, bucket))

    with pytest.raises(ObjectMissing, match="hazards/a/absent"):
        await store.get("hazards/a/absent")


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_an_s3_store_refuses_keys_it_did_not_make(s3_endpoint, s3_client, bucket, key):
    store = S3Store(s3_settings(s3_endpoint, bucket))
    key = key.format(outside="/outside")

    with pytest.raises(ValueError, match="not a storage key"):
        await store.put(key, b"x", "image/png")
    with pytest.raises(ValueError, match="not a storage key"):
        await store.get(key)
    assert bucket_keys(s3_client, bucket) == []


def test_an_s3_store_needs_a_bucket():
    with pytest.raises(ValueError, match="YIJING_S3_BUCKET"):
        S3Store(Settings(_env_file=None, attachment_store="s3"))


# Choosing the store


def test_the_local_store_is_the_default(tmp_path):
    chosen = store_for(Settings(_env_file=None, attachments_dir=tmp_path / "photos"))

    assert isinstance(chosen, LocalStore)
    assert chosen.root == tmp_path / "photos"


def test_the_local_store_defaults_to_the_data_directory(tmp_path):
    chosen = store_for(Settings(_env_file=None, data_dir=tmp_path))

    assert isinstance(chosen, LocalStore)
    assert chosen.root == tmp_path / "attachments"


def test_an_s3_store_is_chosen_by_the_setting():
    settings = s3_settings("http://127.0.0.1:9", "photos", prefix="p/")
    assert settings.attachment_store is AttachmentStoreKind.S3

    chosen = store_for(settings)

    assert isinstance(chosen, S3Store)
    assert (chosen.bucket, chosen.prefix) == ("photos", "p/")
