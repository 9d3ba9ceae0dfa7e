from __future__ import annotations

from yijing.conflicts import Clash, register
from yijing.errors import Conflict, NotFound


class ImportNotFound(NotFound):
    code = "incident_import_not_found"


class CodeVersionExists(Conflict):
    code = "code_version_exists"


# Someone added the same version of the code at the same moment.
register(
    {
        "pk_incident_codes": Clash(
            CodeVersionExists,
            "version {version} of {kind} {code} was just added",
            zh="{kind} {code} 的第 {version} 版刚刚已被他人添加",
        )
    }
)
