"""A Python client generated from the live OpenAPI document (openapi-python-client, as a third party would
make one) does a real flow through the app: sign in, a list paged by cursor, a hazard reported and its
offline resend, a photo downloaded, statistics as JSON and as CSV. Generation must print no warning: each
warning is an operation or response the client leaves out."""

import asyncio
import codecs
import csv
import hashlib
import importlib
import io
import json
import subprocess
import sys
import uuid
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from tests.world import PASSWORD
from yijing.access import Role

GENERATOR = Path(sys.executable).parent / "openapi-python-client"
PACKAGE = "yijing_client"


async def generated_client(client: httpx.AsyncClient, folder: Path) -> ModuleType:
    document = await client.get("/api/v1/openapi.json")
    assert document.status_code == 200
    (folder / "openapi.json").write_text(document.text)
    # No post hooks: formatting the generated code with ruff costs time and checks nothing here.
    (folder / "config.json").write_text(json.dumps({"post_hooks": []}))
    generated = await asyncio.to_thread(
        subprocess.run,
        [
            str(GENERATOR), "generate", "--path", str(folder / "openapi.json"), "--output-path",
            str(folder / PACKAGE), "--meta", "none", "--config", str(folder / "config.json"),
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    output = generated.stdout + generated.stderr
    assert generated.returncode == 0, output
    assert not any(word in output for word in ("Warning", "WARNING", "Unable", "Cannot", "Error")), output
    sys.path.insert(0, str(folder))
    try:
        for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
            del sys.modules[name]  # another test's generation in this process
        return importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))


def part(package: ModuleType, module: str) -> ModuleType:
    return importlib.import_module(f"{package.__name__}.{module}")


@pytest.mark.timeout(180)
async def test_a_generated_python_client_runs_the_whole_flow(client, app, world, tmp_path):
    package = await generated_client(client, tmp_path)
    transport = httpx.ASGITransport(app=app)
    anonymous = package.Client(base_url="http://testserver", httpx_args={"transport": transport})
    models = part(package, "models")

    # Sign in with phone and password.
    officer = world.user(Role.OFFICER)
    sign_in = part(package, "api.auth.auth_token")
    tokens = await sign_in.asyncio(
        client=anonymous, body=models.BodyAuthToken(username=world.phones[officer.id], password=PASSWORD)
    )
    assert isinstance(tokens, models.TokenPair), tokens
    signed_in = package.AuthenticatedClient(
        base_url="http://testserver", token=tokens.access_token, httpx_args={"transport": transport}
    )

    # Report a hazard, then send it again as an offline resend (same client_id) and as a retry (same key).
    report = part(package, "api.hazards.hazards_report")
    body = models.HazardCreate(
        site_id=world.own.site.id,
        category=models.HazardCategory.FIRE,
        description="夜市 3 号摊位液化气罐紧挨油锅",
        client_id=uuid.uuid4(),
    )
    first = await report.asyncio_detailed(client=signed_in, body=body, idempotency_key="report-1")
    assert first.status_code == 201, first.content
    assert isinstance(first.parsed, models.HazardRead)
    assert first.headers["location"] == f"/api/v1/hazards/{first.parsed.id}"
    resent = await report.asyncio_detailed(client=signed_in, body=body)
    assert resent.status_code == 200
    assert isinstance(resent.parsed, models.HazardRead), resent.parsed  # the stored report, typed
    assert resent.parsed.id == first.parsed.id
    retried = await report.asyncio_detailed(client=signed_in, body=body, idempotency_key="report-1")
    assert (retried.status_code, retried.headers["idempotent-replayed"]) == (201, "true")
    assert isinstance(retried.parsed, models.HazardRead)
    assert retried.parsed.id == first.parsed.id

    # The hazards list, a page of one at a time, followed by its cursor.
    list_hazards = part(package, "api.hazards.hazards_list")
    seen: list[uuid.UUID] = []
    cursor = package.types.UNSET
    while True:
        page = await list_hazards.asyncio(client=signed_in, limit=1, cursor=cursor)
        assert isinstance(page, models.PageHazardRead), page
        seen += [hazard.id for hazard in page.items]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert len(seen) == len(set(seen)) >= 2
    assert first.parsed.id in seen

    # The world's photo, as bytes.
    assert world.own.hazard is not None
    assert world.own.attachment is not None
    download = part(package, "api.hazards.hazards_attachment_download")
    photo = await download.asyncio(
        client=signed_in, hazard_id=world.own.hazard.id, attachment_id=world.own.attachment.id
    )
    assert isinstance(photo, package.types.File), photo
    assert hashlib.sha256(photo.payload.read()).hexdigest() == world.own.attachment.sha256

    # Statistics: JSON, typed; and the same figures as a CSV file.
    incidents = part(package, "api.stats.stats_incidents")
    figures = await incidents.asyncio(client=signed_in, period="2023-10")
    assert isinstance(figures, models.IncidentStats), figures
    assert figures.period.label == "2023-10"
    export = part(package, "api.stats.stats_incidents_export")
    as_csv = await export.asyncio(client=signed_in, period="2023-10", format_=models.TableFormat.CSV)
    assert isinstance(as_csv, package.types.File), as_csv
    content = as_csv.payload.read()
    assert content.startswith(codecs.BOM_UTF8)
    header = next(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert header[:4] == ["period", "data_status", "by", "key"]

    # An error is typed too: a problem document with its stable code.
    refused = await report.asyncio_detailed(client=anonymous, body=body)
    assert refused.status_code == 401
    assert isinstance(refused.parsed, models.Problem)
    assert refused.parsed.code == "unauthenticated"
