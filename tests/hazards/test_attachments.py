"""Hazard photos: told by their content, refused whole (no row, no file), stored once, stripped of their GPS
position on request, served only within reach, and the evidence that lets a hazard be eliminated."""

import hashlib
import io
import os
from pathlib import Path
from urllib.parse import quote

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from pillow_heif import register_heif_opener

from tests.world import png
from yijing.access import Role
from yijing.hazards import attachments
from yijing.photos import GPS_IFD
from yijing.storage import LocalStore

register_heif_opener()

MAKE = 0x010F  # an EXIF tag that stripping the position must leave alone
GPS = {1: "N", 2: (26.0, 9.0, 30.0), 3: "E", 4: (119.0, 18.0, 0.0)}
# Pillow's format name → what the upload must be stored as, and a declared name and type that lie about it.
FORMATS = {
    "JPEG": ("image/jpeg", "photo.png", "image/png"),
    "PNG": ("image/png", "photo.jpg", "image/jpeg"),
    "WEBP": ("image/webp", "photo.jpg", "image/jpeg"),
    "HEIF": ("image/heic", "photo.jpg", "image/jpeg"),
}


def picture(
    fmt: str = "JPEG",
    *,
    size: tuple[int, int] = (64, 48),
    colour: tuple[int, int, int] = (20, 120, 200),
    gps: bool = False,
) -> bytes:
    image = Image.new("RGB", size, colour)
    options: dict[str, object] = {}
    if gps:
        exif = Image.Exif()
        exif[MAKE] = "Yijing Test Camera"
        exif[GPS_IFD] = GPS
        options["exif"] = exif
    output = io.BytesIO()
    image.save(output, format=fmt, **options)
    return output.getvalue()


def noise_png(size: tuple[int, int] = (48, 48)) -> bytes:
    """A real picture that does not compress: several kilobytes."""
    output = io.BytesIO()
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(output, format="PNG")
    return output.getvalue()


def png_of_exactly(total: int) -> bytes:
    """A valid PNG of exactly ``total`` bytes, padded with an (uncompressed) text chunk."""

    def padded(length: int) -> bytes:
        info = PngInfo()
        info.add_text("pad", "x" * length)
        output = io.BytesIO()
        Image.new("RGB", (8, 8), (1, 2, 3)).save(output, format="PNG", pnginfo=info)
        return output.getvalue()

    data = padded(total - len(padded(0)))
    assert len(data) == total
    return data


def truncated(data: bytes) -> bytes:
    """The first half: headers whole, picture cut off (an upload that broke off)."""
    return data[: len(data) // 2]


def stored_files(settings) -> set[Path]:
    return {path for path in settings.attachments_dir.rglob("*") if path.is_file()}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def exif_of(data: bytes) -> Image.Exif:
    return Image.open(io.BytesIO(data)).getexif()


async def upload(
    client,
    world,
    hazard_id,
    data: bytes,
    *,
    role: Role = Role.OFFICER,
    place: str = "own",
    name: str = "photo.jpg",
    content_type: str = "image/jpeg",
    english: bool = False,
    **form: str,
):
    """``english``: problem details in English (they are Chinese by default)."""
    language = {"Accept-Language": "en"} if english else {}
    return await client.post(
        f"/api/v1/hazards/{hazard_id}/attachments",
        files={"file": (name, data, content_type)},
        data=form,
        headers=world.headers(role, place) | language,
    )


async def attachment_ids(client, world, hazard_id) -> list[str]:
    response = await client.get(f"/api/v1/hazards/{hazard_id}/attachments", headers=world.headers(Role.ADMIN))
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()]


async def download(client, world, hazard_id, attachment_id, role: Role = Role.OFFICER, place: str = "own"):
    return await client.get(
        f"/api/v1/hazards/{hazard_id}/attachments/{attachment_id}", headers=world.headers(role, place)
    )


async def events(client, world, hazard_id) -> list[dict]:
    response = await client.get(f"/api/v1/hazards/{hazard_id}/events", headers=world.headers(Role.ADMIN))
    assert response.status_code == 200, response.text
    return list(response.json())


@pytest.mark.parametrize("fmt", list(FORMATS))
async def test_photos_are_stored_with_the_type_of_their_content(client, world, fmt):
    media_type, name, declared = FORMATS[fmt]
    data = picture(fmt, size=(40, 30))
    hazard_id = world.own.hazard.id

    response = await upload(client, world, hazard_id, data, name=name, content_type=declared)

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["media_type"] == media_type
    assert (body["width"], body["height"]) == (40, 30)
    assert body["size_bytes"] == len(data)
    assert body["sha256"] == sha256(data)
    assert body["kind"] == "before"
    assert body["gps_stripped"] is False
    assert body["file_name"] == name
    assert body["hazard_id"] == str(hazard_id)
    assert body["uploaded_by"] == str(world.user(Role.OFFICER).id)
    assert body["href"] == f"/api/v1/hazards/{hazard_id}/attachments/{body['id']}"
    assert response.headers["location"] == body["href"]
    assert await attachment_ids(client, world, hazard_id) == [str(world.own.attachment.id), body["id"]]
    stored = await client.get(body["href"], headers=world.headers(Role.OFFICER))
    assert stored.status_code == 200, stored.text
    assert stored.content == data
    assert stored.headers["content-type"] == media_type


async def test_a_png_named_and_declared_as_jpeg_is_stored_as_png(client, world):
    response = await upload(
        client, world, world.own.hazard.id, png((0, 90, 200)), name="photo.jpg", content_type="image/jpeg"
    )

    assert response.status_code == 201, response.text
    assert response.json()["media_type"] == "image/png"
    assert response.json()["file_name"] == "photo.jpg"


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        (b"a text file, not a photo\n", "not a JPEG, PNG, WebP or HEIC image"),
        (
            b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
            "not a JPEG, PNG, WebP or HEIC",
        ),
        (picture("GIF"), "GIF images are not accepted"),
        (truncated(picture("JPEG", size=(320, 240))), "damaged or incomplete"),
        (b"", "not a JPEG, PNG, WebP or HEIC image"),
    ],
    ids=["text", "pdf", "gif", "truncated-jpeg", "empty"],
)
async def test_a_file_that_is_not_an_accepted_photo_is_refused_and_nothing_is_kept(
    client, world, settings, data, detail
):
    hazard_id = world.own.hazard.id
    files_before = stored_files(settings)
    ids_before = await attachment_ids(client, world, hazard_id)
    history_before = await events(client, world, hazard_id)

    # Disguised as a JPEG: the declared name and type must not get it in.
    response = await upload(
        client, world, hazard_id, data, name="photo.jpg", content_type="image/jpeg", english=True
    )

    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "unsupported_media_type"
    assert detail in problem["detail"]
    assert problem["errors"][0]["field"] == "body.file"
    assert await attachment_ids(client, world, hazard_id) == ids_before
    assert stored_files(settings) == files_before
    assert await events(client, world, hazard_id) == history_before


async def test_a_photo_over_the_size_limit_is_refused_and_nothing_is_kept(make_client, world, settings):
    client = await make_client(settings.model_copy(update={"attachment_max_bytes": 2000}))
    data = noise_png()
    assert len(data) > 2000
    hazard_id = world.own.hazard.id
    files_before = stored_files(settings)

    response = await upload(
        client, world, hazard_id, data, name="big.png", content_type="image/png", english=True
    )

    assert response.status_code == 413, response.text
    assert response.json()["code"] == "payload_too_large"
    assert "2,000" in response.json()["detail"]
    assert await attachment_ids(client, world, hazard_id) == [str(world.own.attachment.id)]
    assert stored_files(settings) == files_before


async def test_a_photo_of_exactly_the_size_limit_is_accepted(make_client, world, settings):
    client = await make_client(settings.model_copy(update={"attachment_max_bytes": 2000}))

    exact = await upload(client, world, world.own.hazard.id, png_of_exactly(2000), name="exact.png")
    over = await upload(client, world, world.own.hazard.id, png_of_exactly(2001), name="over.png")

    assert exact.status_code == 201, exact.text
    assert exact.json()["size_bytes"] == 2000
    assert over.status_code == 413, over.text


@pytest.mark.parametrize("fmt", list(FORMATS))
async def test_strip_gps_removes_the_position_and_keeps_the_rest(client, world, fmt):
    data = picture(fmt, gps=True)
    assert exif_of(data).get_ifd(GPS_IFD)  # the test photo really carries a position

    response = await upload(client, world, world.own.hazard.id, data, strip_gps="true")

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["gps_stripped"] is True
    assert body["media_type"] == FORMATS[fmt][0]
    stored = (await client.get(body["href"], headers=world.headers(Role.OFFICER))).content
    assert stored != data
    exif = exif_of(stored)
    assert GPS_IFD not in exif
    assert not exif.get_ifd(GPS_IFD)
    assert exif[MAKE] == "Yijing Test Camera"
    assert Image.open(io.BytesIO(stored)).size == (64, 48)
    assert body["sha256"] == sha256(stored)
    assert body["size_bytes"] == len(stored)


async def test_without_strip_gps_the_photo_is_kept_byte_for_byte(client, world):
    data = picture("JPEG", gps=True)

    response = await upload(client, world, world.own.hazard.id, data)

    assert response.status_code == 201, response.text
    assert response.json()["gps_stripped"] is False
    stored = (await client.get(response.json()["href"], headers=world.headers(Role.OFFICER))).content
    assert stored == data
    assert dict(exif_of(stored).get_ifd(GPS_IFD)) == dict(exif_of(data).get_ifd(GPS_IFD))


async def test_the_same_file_sent_twice_is_stored_once(client, world, settings):
    data = picture("JPEG", colour=(1, 200, 3))
    hazard_id = world.own.hazard.id
    files_before = stored_files(settings)

    first = await upload(client, world, hazard_id, data)
    again = await upload(client, world, hazard_id, data, name="retry.jpg")

    assert first.status_code == 201, first.text
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["file_name"] == "photo.jpg"
    assert again.headers["location"] == first.json()["href"]
    assert await attachment_ids(client, world, hazard_id) == [
        str(world.own.attachment.id),
        first.json()["id"],
    ]
    new_files = stored_files(settings) - files_before
    assert [path.read_bytes() for path in new_files] == [data]
    assert [event["action"] for event in await events(client, world, hazard_id)].count("attach") == 1


async def test_another_stations_photos_are_not_found(client, world, settings):
    other = world.other
    files_before = stored_files(settings)

    listing = await client.get(
        f"/api/v1/hazards/{other.hazard.id}/attachments", headers=world.headers(Role.OFFICER)
    )
    sent = await upload(client, world, other.hazard.id, png((9, 9, 9)))
    fetched = await download(client, world, other.hazard.id, other.attachment.id)

    for response in (listing, sent, fetched):
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "hazard_not_found"
    assert stored_files(settings) == files_before
    assert await attachment_ids(client, world, other.hazard.id) == [str(other.attachment.id)]


async def test_a_hazard_and_an_attachment_that_do_not_belong_together_are_not_found(client, world):
    own, other = world.own, world.other

    # The admin reaches both hazards: only the mismatch can make these 404.
    for hazard, attachment in ((own.hazard, other.attachment), (other.hazard, own.attachment)):
        response = await download(client, world, hazard.id, attachment.id, Role.ADMIN)
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "attachment_not_found"
    mismatched = await download(client, world, own.hazard.id, other.attachment.id)
    assert mismatched.status_code == 404, mismatched.text


async def test_a_county_admin_downloads_every_stations_photos(client, world):
    for place in (world.own, world.other):
        response = await download(client, world, place.hazard.id, place.attachment.id, Role.ADMIN)
        assert response.status_code == 200, response.text
        assert response.content == png()


async def test_a_volunteer_attaches_and_downloads_photos_at_their_own_site(client, world):
    # Reported by the officer: the volunteer reaches it through the site alone, not as its reporter.
    reported = await client.post(
        "/api/v1/hazards",
        json={"site_id": str(world.own.site.id), "category": "electrical", "description": "私拉电线"},
        headers=world.headers(Role.OFFICER),
    )
    assert reported.status_code == 201, reported.text
    hazard_id = reported.json()["id"]
    data = picture("WEBP", colour=(250, 250, 0))

    sent = await upload(client, world, hazard_id, data, role=Role.VOLUNTEER, name="现场.webp")
    assert sent.status_code == 201, sent.text
    assert sent.json()["uploaded_by"] == str(world.user(Role.VOLUNTEER).id)

    fetched = await download(client, world, hazard_id, sent.json()["id"], Role.VOLUNTEER)
    assert fetched.status_code == 200, fetched.text
    assert fetched.content == data
    seeded = await download(client, world, world.own.hazard.id, world.own.attachment.id, Role.VOLUNTEER)
    assert seeded.status_code == 200, seeded.text
    elsewhere = await upload(client, world, world.other.hazard.id, data, role=Role.VOLUNTEER)
    assert elsewhere.status_code == 404, elsewhere.text


async def test_an_after_photo_is_the_evidence_for_elimination(client, world):
    hazard_id = world.own.hazard.id
    officer = world.headers(Role.OFFICER)
    verified = await client.post(f"/api/v1/hazards/{hazard_id}/verify", json={}, headers=officer)
    assert verified.status_code == 200, verified.text
    assert verified.json()["status"] == "verified"

    # The seeded photo is a `before` one: no evidence of a fix.
    refused = await client.post(f"/api/v1/hazards/{hazard_id}/eliminate", json={}, headers=officer)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "evidence_required"

    after = await upload(
        client, world, hazard_id, picture("JPEG", colour=(0, 160, 0)), role=Role.VOLUNTEER, kind="after"
    )
    assert after.status_code == 201, after.text
    assert after.json()["kind"] == "after"

    eliminated = await client.post(f"/api/v1/hazards/{hazard_id}/eliminate", json={}, headers=officer)
    assert eliminated.status_code == 200, eliminated.text
    assert eliminated.json()["status"] == "eliminated"
    last = (await events(client, world, hazard_id))[-1]
    assert last["action"] == "eliminate"
    assert last["details"]["after_photo"] is True


async def test_an_upload_is_recorded_in_the_hazards_history(client, world):
    hazard_id = world.own.hazard.id

    response = await upload(client, world, hazard_id, png((5, 6, 7)), kind="other")

    assert response.status_code == 201, response.text
    attached = [event for event in await events(client, world, hazard_id) if event["action"] == "attach"]
    assert len(attached) == 1
    assert attached[0]["details"] == {
        "attachment_id": response.json()["id"],
        "kind": "other",
        "media_type": "image/png",
    }
    assert attached[0]["actor_id"] == str(world.user(Role.OFFICER).id)


async def test_a_download_carries_the_stored_type_and_checksum(client, world):
    data = picture("PNG", colour=(90, 0, 90))
    sent = await upload(
        client, world, world.own.hazard.id, data, name="摊位 A-17.png", content_type="text/html"
    )
    assert sent.status_code == 201, sent.text

    response = await client.get(sent.json()["href"], headers=world.headers(Role.OFFICER))

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["etag"] == f'"{sha256(data)}"'
    assert response.headers["etag"] == f'"{sent.json()["sha256"]}"'
    assert response.headers["content-disposition"] == f"inline; filename*=UTF-8''{quote('摊位 A-17.png')}"
    assert response.headers["cache-control"].startswith("private")
    # The client's copy is current: a 304 and no bytes; another tag gets the photo again.
    officer = world.headers(Role.OFFICER)
    cached = await client.get(
        sent.json()["href"], headers=officer | {"If-None-Match": response.headers["etag"]}
    )
    assert (cached.status_code, cached.content, cached.headers["etag"]) == (
        304,
        b"",
        response.headers["etag"],
    )
    other = await client.get(sent.json()["href"], headers=officer | {"If-None-Match": '"0"'})
    assert (other.status_code, other.content) == (200, data)
    as_bytes = await client.get(sent.json()["href"], headers=officer | {"Accept": "application/octet-stream"})
    assert (as_bytes.headers["content-type"], as_bytes.content) == ("application/octet-stream", data)
    # A client that takes any image as well gets the photo's own type.
    for accepted in ("image/*, application/octet-stream", "application/octet-stream;q=0.5, */*"):
        named = await client.get(sent.json()["href"], headers=officer | {"Accept": accepted})
        assert named.headers["content-type"] == "image/png", accepted


async def test_a_phone_jpeg_carrying_a_second_picture_is_accepted_as_jpeg(client, world):
    # Phones write JPEGs with a Multi-Picture (MPF) segment (depth maps, HDR gain maps); Pillow calls those
    # "MPO", but they are JPEG files and every viewer shows them as image/jpeg.
    output = io.BytesIO()
    first, second = Image.new("RGB", (64, 48), (200, 0, 0)), Image.new("RGB", (32, 24), (0, 0, 200))
    first.save(output, format="MPO", save_all=True, append_images=[second])
    data = output.getvalue()
    assert data[:3] == b"\xff\xd8\xff"

    response = await upload(client, world, world.own.hazard.id, data)

    assert response.status_code == 201, response.text
    assert response.json()["media_type"] == "image/jpeg"


async def test_an_upload_whose_history_cannot_be_written_leaves_no_file(client, world, settings, monkeypatch):
    # The rows go first and the file last: a failure on the way rolls the rows back and writes no file, so
    # no photo outlives its refusal.
    async def broken(*args, **kwargs):
        raise RuntimeError("the history cannot be written")

    monkeypatch.setattr(attachments, "record_event", broken)
    hazard_id = world.own.hazard.id
    files_before = stored_files(settings)

    response = await upload(client, world, hazard_id, png((33, 66, 99)))

    assert response.status_code == 500, response.text
    assert await attachment_ids(client, world, hazard_id) == [str(world.own.attachment.id)]
    assert stored_files(settings) == files_before


async def test_an_upload_the_store_refuses_leaves_no_row(client, world, settings, monkeypatch):
    async def full(*args, **kwargs):
        raise OSError("no space left on device")

    monkeypatch.setattr(LocalStore, "put", full)
    hazard_id = world.own.hazard.id
    response = await upload(client, world, hazard_id, png((99, 66, 33)))
    assert response.status_code == 500
    assert await attachment_ids(client, world, hazard_id) == [str(world.own.attachment.id)]
    assert [event["action"] for event in await events(client, world, hazard_id)] == []


async def test_a_photo_sent_again_to_strip_its_position_is_stored_stripped(client, world):
    hazard_id = world.own.hazard.id
    data = picture(gps=True)
    kept = await upload(client, world, hazard_id, data)
    stripped = await upload(client, world, hazard_id, data, strip_gps="true")
    assert (kept.status_code, stripped.status_code) == (201, 201)
    assert stripped.json()["gps_stripped"] is True
    body = await download(client, world, hazard_id, stripped.json()["id"])
    assert not exif_of(body.content).get_ifd(GPS_IFD)


XMP_POSITION = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="26,9.5N" '
    b'exif:GPSLongitude="119,14.5E"/></rdf:RDF></x:xmpmeta>'
)


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP", "HEIF"])
async def test_strip_gps_also_removes_a_position_kept_in_xmp(client, world, fmt):
    output = io.BytesIO()
    Image.new("RGB", (64, 48), (5, 6, 7)).save(output, format=fmt, xmp=XMP_POSITION)
    assert b"GPSLatitude" in output.getvalue()
    response = await upload(client, world, world.own.hazard.id, output.getvalue(), strip_gps="true")
    assert response.status_code == 201, response.text
    stored = await download(client, world, world.own.hazard.id, response.json()["id"])
    assert b"GPSLatitude" not in stored.content


async def test_a_phone_jpeg_with_a_second_picture_is_stripped_to_a_plain_jpeg(client, world):
    frames = [Image.new("RGB", (64, 48), (9, 9, 9)), Image.new("RGB", (64, 48), (99, 9, 9))]
    exif = Image.Exif()
    exif[GPS_IFD] = GPS
    output = io.BytesIO()
    frames[0].save(output, format="MPO", save_all=True, append_images=frames[1:], exif=exif)
    response = await upload(client, world, world.own.hazard.id, output.getvalue(), strip_gps="true")
    assert response.status_code == 201, response.text
    assert response.json()["media_type"] == "image/jpeg"
    stored = await download(client, world, world.own.hazard.id, response.json()["id"])
    assert not exif_of(stored.content).get_ifd(GPS_IFD)


async def test_a_file_name_is_cleaned_before_it_is_kept(client, world):
    # Written by hand: httpx would escape the NUL and the backslashes, a phone app's encoder may not.
    name = "..\\拍摄\\现场\x00照片.png".encode()
    body = (
        b'--B\r\nContent-Disposition: form-data; name="file"; filename="' + name + b'"\r\n'
        b"Content-Type: image/png\r\n\r\n" + png((1, 2, 3)) + b"\r\n--B--\r\n"
    )
    response = await client.post(
        f"/api/v1/hazards/{world.own.hazard.id}/attachments",
        content=body,
        headers=world.headers(Role.OFFICER) | {"Content-Type": "multipart/form-data; boundary=B"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["file_name"] == "现场照片.png"
