"""TypeScript types generated from the live OpenAPI document (openapi-typescript) let a small program using
openapi-fetch (tests/clients/typescript/flow.ts) pass ``tsc --strict``: each response it reads — JSON, the
stored report of an offline resend, a photo, a CSV export, a problem, response headers — has the type of what
the API sends. Needs Node.js and npm (on CI machines); the packages come from package-lock.json."""

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

import pytest

PROJECT = Path(__file__).parent / "typescript"
NPM = shutil.which("npm")


def installed() -> Path:
    """The lock file's packages, installed once (again when the lock file changes)."""
    assert NPM is not None
    marker = PROJECT / "node_modules" / ".package-lock.json"
    lock = PROJECT / "package-lock.json"
    if not marker.exists() or marker.stat().st_mtime < lock.stat().st_mtime:
        run([NPM, "ci", "--no-audit", "--no-fund"], PROJECT)
    return PROJECT / "node_modules"


def run(command: list[str], folder: Path) -> str:
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=300, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{' '.join(command)}:\n{output}"
    return output


@pytest.mark.skipif(NPM is None, reason="Node.js and npm are not installed (CI machines have them)")
@pytest.mark.timeout(360)
async def test_typescript_types_from_the_document_type_a_real_program(client, tmp_path):
    modules = await asyncio.to_thread(installed)
    document = await client.get("/api/v1/openapi.json")
    assert document.status_code == 200
    (tmp_path / "openapi.json").write_text(document.text)
    for name in ("flow.ts", "tsconfig.json"):
        shutil.copy(PROJECT / name, tmp_path / name)
    os.symlink(modules, tmp_path / "node_modules")
    # A property with a default is optional in a request: openapi-typescript makes it required in any
    # schema under components unless told not to.
    generated = await asyncio.to_thread(
        run,
        [str(modules / ".bin" / "openapi-typescript"), "openapi.json", "--default-non-nullable", "false",
         "-o", "schema.ts"],
        tmp_path,
    )  # fmt: skip
    assert "warn" not in generated.lower(), generated
    await asyncio.to_thread(run, [str(modules / ".bin" / "tsc"), "-p", "tsconfig.json"], tmp_path)
