"""Property-based fuzzing of every operation in the OpenAPI document, against a running uvicorn.

Positive cases must be accepted and answered as documented; negative cases (data the schema forbids) must be
refused with a 4xx. Any 5xx, undocumented status, content type or header, or a response body that breaks its
schema fails. New endpoints are covered automatically: the test walks the document, not a list.
"""

import os
import subprocess
import sys
import time

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from tests.test_run_command import free_port
from yijing_api.main import create_app


@pytest.fixture(scope="module")
def live_api(settings):
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("YIJING_")}
    env |= {
        "YIJING_ENV": "test",
        "YIJING_DATABASE_URL": settings.database_url,
        "YIJING_REDIS_URL": settings.redis_url,
        "YIJING_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "uvicorn", "yijing_api.main:app", "--port", str(port), "--no-access-log"]
    server = subprocess.Popen(command, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, "uvicorn exited"
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "uvicorn did not become ready"
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


# The document the app serves (building it needs no servers); the calls go to the live uvicorn.
schema = schemathesis.openapi.from_dict(create_app().openapi())


@schema.parametrize()
@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_behaves_as_documented(case, live_api):
    case.call_and_validate(base_url=live_api)
