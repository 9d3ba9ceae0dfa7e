from __future__ import annotations

from yijing.errors import Conflict, Forbidden, NotFound


class DisputeNotFound(NotFound):
    code = "dispute_not_found"


class NotAMediator(Forbidden):
    """Only the dispute's mediators, and station staff, carry its mediation on."""

    code = "not_a_mediator"


class NoFollowupDue(Conflict):
    """A follow-up visit is recorded only while one is still to make."""

    code = "no_followup_due"
