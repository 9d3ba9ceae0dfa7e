"""Property-based fuzzing of every operation in the OpenAPI document, against a running uvicorn.

Positive cases must be accepted and answered as documented; negative cases (data the schema forbids) must be
refused with a 4xx. Any 5xx, undocumented status, content type or header, or a response body that breaks its
schema fails. New endpoints are covered automatically: the test walks the document, not a list.
"""

import re
import uuid
import zoneinfo
from datetime import datetime, timedelta, timezone

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.live import running_api
from tests.world import id_card_number
from yijing.access import Role
from yijing.idempotency import HEADER as IDEMPOTENCY_HEADER
from yijing.idempotency import KEY_PATTERN
from yijing_api.main import create_app

# Committed for real: the fuzzer calls a live server, which sees only committed rows.
pytestmark = pytest.mark.committed


@pytest.fixture(scope="module")
def live_api(settings, tmp_path_factory):
    with running_api(settings, tmp_path_factory.mktemp("uvicorn")) as (base, _):
        yield base


# Formats the API documents beyond JSON Schema's own: the fuzzer learns what a valid value is.
schemathesis.openapi.format("cn-id-card", st.integers(0, 999).map(id_card_number))
schemathesis.openapi.format("iana-time-zone", st.sampled_from(sorted(zoneinfo.available_timezones())))
# An instant is stored in UTC, so the API refuses (422) the few RFC 3339 date-times that fall outside the
# years 1–9999 there (0001-01-01T00:03+00:04 is 0000-12-31 in UTC), which JSON Schema cannot state: the
# fuzzer's valid date-times lie well inside, with any offset.
schemathesis.openapi.format(
    "date-time",
    st.builds(
        lambda moment, minutes: moment.replace(tzinfo=timezone(timedelta(minutes=minutes))).isoformat(),
        st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31)),
        st.integers(-1439, 1439),
    ),
)

# The document the app serves (building it needs no servers); the calls go to the live uvicorn.
schema = schemathesis.openapi.from_dict(create_app().openapi())

# Operations whose rules JSON Schema cannot state, so that schema-valid data may rightly get a 422:
# an API key's expiry must lie in the future; a user update's role, sites and account kind depend on each
# other and on the stored user; an import's file must be a spreadsheet with the template's header row.
# Every other check still runs on them.
CROSS_FIELD_RULES = {
    "api_keys_create",
    "users_update",
    "volunteers_import",
    # Records must name stations, sites and codes that exist; a file must have the right columns; a code's
    # new version must start after the current one; from/to go together and in order.
    "incidents_ingest",
    "incidents_import",
    "incidents_add_code",
    "stats_incidents",
    "stats_incidents_export",
    "stats_overview",
    "stats_overview_export",
    "stats_series",
    "stats_series_export",
    # A log entry's topic and hazard depend on its kind; a calendar spans at most 62 days.
    "patrol_logs_create",
    "patrols_calendar",
    # A written agreement has its text and a compensation its amount; no other outcome has either.
    "disputes_resolve",
    # A training ends after it starts, within 12 hours; its mode needs a place or a link; its audience names
    # the station's records; minutes fit the session; a check-in code is the session's own this minute.
    "trainings_create",
    "trainings_update",
    "trainings_set_minutes",
    "trainings_checkin",
    # A caller who reaches several stations (the admin here) names the one whose compliance it reads.
    "trainings_compliance",
    "trainings_compliance_export",
    "trainings_compliance_volunteers",
    "trainings_compliance_volunteers_export",
}


@schema.parametrize()
@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_behaves_as_documented(case, live_api, world):
    """As a county admin, who reaches every operation and every station."""
    excluded = (
        [positive_data_acceptance]
        if case.operation.definition.raw.get("operationId") in CROSS_FIELD_RULES
        else []
    )
    # An Idempotency-Key is state kept across requests: a well-formed key generated again for another
    # body is rightly a 422. Each call gets a key of its own; malformed keys still reach the API as drawn.
    key = (case.headers or {}).get(IDEMPOTENCY_HEADER)
    if key is not None and re.fullmatch(KEY_PATTERN, key):
        case.headers[IDEMPOTENCY_HEADER] = str(uuid.uuid4())
    case.call_and_validate(base_url=live_api, headers=world.headers(Role.ADMIN), excluded_checks=excluded)
