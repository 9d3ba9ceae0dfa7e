"""The lifecycle kit: the actions a status allows, the status an action leads to, and the one refusal (409
`transition_not_allowed`, naming the status and the actions it allows) unless a domain keeps its own."""

from enum import StrEnum

import pytest

from yijing.errors import Conflict
from yijing.kit.lifecycle import Lifecycle, TransitionNotAllowed


class Status(StrEnum):
    OUT = "out"
    OVERDUE = "overdue"
    RETURNED = "returned"


class Action(StrEnum):
    RETURN = "return"
    CHASE = "chase"


LIFECYCLE = Lifecycle(
    "rental",
    {
        Action.RETURN: ({Status.OUT, Status.OVERDUE}, Status.RETURNED),
        Action.CHASE: ({Status.OUT}, Status.OVERDUE),
    },
    subject_zh="租借",
)


class Refused(Conflict):
    code = "rental_closed"


def test_it_reads_as_the_table_it_was_declared_as():
    assert list(LIFECYCLE) == [Action.RETURN, Action.CHASE]
    assert LIFECYCLE[Action.CHASE] == (frozenset({Status.OUT}), Status.OVERDUE)
    assert len(LIFECYCLE) == 2


def test_allowed_lists_the_actions_in_declaration_order():
    assert LIFECYCLE.allowed(Status.OUT) == [Action.RETURN, Action.CHASE]
    assert LIFECYCLE.allowed(Status.OVERDUE) == [Action.RETURN]
    assert LIFECYCLE.allowed(Status.RETURNED) == []


def test_require_returns_the_status_the_action_leads_to():
    assert LIFECYCLE.require(Status.OUT, Action.CHASE) is Status.OVERDUE
    assert LIFECYCLE.require(Status.OVERDUE, Action.RETURN) is Status.RETURNED


def test_a_refused_action_is_a_409_naming_the_status_and_the_allowed_actions():
    with pytest.raises(TransitionNotAllowed) as refused:
        LIFECYCLE.require(Status.OVERDUE, Action.CHASE)
    error = refused.value
    assert (error.status, error.code) == (409, "transition_not_allowed")
    assert error.extra == {"current_status": "overdue", "allowed_actions": ["return"]}
    assert error.detail == "the rental's status is overdue, from which chase is not allowed; allowed: return"
    assert error.detail_zh == "该租借当前状态为 overdue，不能执行 chase；可执行的操作：return"


def test_a_final_status_allows_nothing():
    with pytest.raises(TransitionNotAllowed) as refused:
        LIFECYCLE.require(Status.RETURNED, Action.RETURN)
    assert refused.value.extra == {"current_status": "returned", "allowed_actions": []}
    assert refused.value.detail.endswith("allowed: nothing (returned is final)")
    assert refused.value.detail_zh.endswith("可执行的操作：无（returned 为终态）")


def test_a_domain_may_keep_its_own_refusal():
    own = Lifecycle(
        "rental",
        {Action.RETURN: ({Status.OUT}, Status.RETURNED)},
        subject_zh="租借",
        refusal=lambda status: Refused(
            f"the rental is {status}", zh=f"该租借已是 {status}", rental_status=str(status)
        ),
        refusal_documented="From any other status: 409 (`rental_closed`).",
    )
    with pytest.raises(Refused) as refused:
        own.require(Status.RETURNED, Action.RETURN)
    assert refused.value.extra == {"rental_status": "returned"}
    assert own.documented(Action.RETURN) == "Allowed from: out. From any other status: 409 (`rental_closed`)."


def test_the_documentation_names_the_statuses_an_action_applies_from():
    assert LIFECYCLE.documented(Action.RETURN) == (
        "Allowed from: out, overdue. From any other status: 409 with `allowed_actions`."
    )
