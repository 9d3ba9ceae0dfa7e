"""Property-based fuzzing of every operation in the OpenAPI document, against a running uvicorn.

Positive cases must be accepted and answered as documented; negative cases (data the schema forbids) must be
refused with a 4xx. Any 5xx, undocumented status, content type or header, or a response body that breaks its
schema fails. New endpoints are covered automatically: the test walks the document, not a list.
"""

import subprocess
import sys

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from tests.live import environment_without_yijing_settings, free_port, wait_until_ready
from yijing_api.main import create_app


@pytest.fixture(scope="module")
def live_api(settings):
    port = free_port()
    env = environment_without_yijing_settings() | {
        "YIJING_ENV": "test",
        "YIJING_DATABASE_URL": settings.database_url,
        "YIJING_REDIS_URL": settings.redis_url,
        "YIJING_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "uvicorn", "yijing_api.main:app", "--port", str(port), "--no-access-log"]
    server = subprocess.Popen(command, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base, server, timeout=30)
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
