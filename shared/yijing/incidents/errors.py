from __future__ import annotations

from yijing.errors import Conflict, NotFound


class ImportNotFound(NotFound):
    code = "incident_import_not_found"


class RecordOfAnotherStation(Conflict):
    """A source reference already stored for a station the caller does not reach."""

    code = "record_of_another_station"
