from __future__ import annotations

from yijing.errors import Conflict, NotFound


class ImportNotFound(NotFound):
    code = "incident_import_not_found"


class CodeVersionExists(Conflict):
    code = "code_version_exists"
