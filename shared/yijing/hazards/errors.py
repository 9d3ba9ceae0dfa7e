from __future__ import annotations

from yijing.errors import InvalidInput, NotFound


class HazardNotFound(NotFound):
    code = "hazard_not_found"


class AttachmentNotFound(NotFound):
    code = "attachment_not_found"


class EvidenceRequired(InvalidInput):
    """Elimination without an after-photo or another person's inspection note."""

    code = "evidence_required"
