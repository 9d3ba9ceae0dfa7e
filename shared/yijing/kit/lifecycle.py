"""A record's lifecycle, declared once per domain: which actions move it from which statuses to which, the
actions its status allows now, the refusal (409) of any other, and one documented ``POST`` route per action.

    LIFECYCLE = Lifecycle("rental", {  # service.py: action → (from statuses, to status)
        RentalAction.RETURN: ({RentalStatus.OUT, RentalStatus.OVERDUE}, RentalStatus.RETURNED),
        RentalAction.WRITE_OFF: ({RentalStatus.OVERDUE}, RentalStatus.LOST)}, subject_zh="租借")
    rental.status = LIFECYCLE.require(rental.status, action)  # service.py: the new status, or a 409
    add_action_routes(router, LIFECYCLE, endpoint, path="/{rental_id:uuid}", operation_prefix="rentals",
        summaries=SUMMARIES, effects="It is audited.", responses=problem_responses(401, 403, 404, 409, 422))

``endpoint(action)`` returns the router's endpoint for one action (its body, access and service call); the kit
names, documents and registers the routes: ``POST /rentals/{rental_id}/return`` is ``rentals_return``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from yijing.errors import Conflict, DomainError

# Routes are made at the HTTP edge: services that declare a lifecycle (and the worker) never import FastAPI.
if TYPE_CHECKING:
    from fastapi import APIRouter

ActionT = TypeVar("ActionT", bound=StrEnum)
StatusT = TypeVar("StatusT", bound=StrEnum)

# How a refused action answers, in the description of every action route.
REFUSAL_DOCUMENTED = "From any other status: 409 with `allowed_actions`."


class TransitionNotAllowed(Conflict):
    """An action the record's status does not allow: the problem names the status (``current_status``) and
    the actions it does allow (``allowed_actions``, in the order the lifecycle declares them). ``subject_zh``
    names the record in Chinese; statuses and actions stay the API's own codes in both languages."""

    code = "transition_not_allowed"

    def __init__(
        self, subject: str, status: StrEnum, action: StrEnum, allowed: Sequence[StrEnum], *, subject_zh: str
    ) -> None:
        choices = ", ".join(allowed) or f"nothing ({status} is final)"
        choices_zh = "、".join(allowed) or f"无（{status} 为终态）"
        super().__init__(
            f"the {subject}'s status is {status}, from which {action} is not allowed; allowed: {choices}",
            zh=f"该{subject_zh}当前状态为 {status}，不能执行 {action}；可执行的操作：{choices_zh}",
            current_status=str(status),
            allowed_actions=[str(name) for name in allowed],
        )


class Lifecycle(Mapping[ActionT, tuple[frozenset[StatusT], StatusT]], Generic[ActionT, StatusT]):
    """The transitions table of one kind of record (``subject`` names it in refusals, ``subject_zh`` in
    Chinese): each action with the statuses it applies from and the status it leads to. Read it like the
    dict it was declared as."""

    def __init__(
        self,
        subject: str,
        transitions: Mapping[ActionT, tuple[Iterable[StatusT], StatusT]],
        *,
        subject_zh: str,
        refusal: Callable[[StatusT], DomainError] | None = None,
        refusal_documented: str = REFUSAL_DOCUMENTED,
    ) -> None:
        """``refusal`` and ``refusal_documented`` are for a domain whose clients already know another 409
        for a refused action (captain swaps: ``swap_not_open``); a new domain keeps TransitionNotAllowed."""
        self.subject = subject
        self.subject_zh = subject_zh
        self._transitions = {
            action: (frozenset(sources), target) for action, (sources, target) in transitions.items()
        }
        self._refusal = refusal
        self.refusal_documented = refusal_documented

    def __getitem__(self, action: ActionT) -> tuple[frozenset[StatusT], StatusT]:
        return self._transitions[action]

    def __iter__(self) -> Iterator[ActionT]:
        return iter(self._transitions)

    def __len__(self) -> int:
        return len(self._transitions)

    def allowed(self, status: StatusT) -> list[ActionT]:
        """The actions the status allows, in declaration order (clients show them as offered)."""
        return [action for action, (sources, _) in self._transitions.items() if status in sources]

    def require(self, status: StatusT, action: ActionT) -> StatusT:
        """The status the action leads to from ``status``; raises the refusal when it does not apply."""
        sources, target = self._transitions[action]
        if status not in sources:
            if self._refusal is not None:
                raise self._refusal(status)
            raise TransitionNotAllowed(
                self.subject, status, action, self.allowed(status), subject_zh=self.subject_zh
            )
        return target

    def documented(self, action: ActionT) -> str:
        """The statuses the action applies from, and how it is refused from any other."""
        sources = ", ".join(sorted(self._transitions[action][0]))
        return f"Allowed from: {sources}. {self.refusal_documented}"


def add_action_routes(
    router: APIRouter,
    lifecycle: Lifecycle[ActionT, Any],
    endpoint: Callable[[ActionT], Callable[..., Awaitable[Any]]],
    *,
    path: str,
    operation_prefix: str,
    summaries: Mapping[ActionT, str],
    effects: str | Mapping[ActionT, str],
    responses: Mapping[int | str, dict[str, Any]],
) -> None:
    """One ``POST {path}/{action}`` per action of the lifecycle, handled by ``endpoint(action)`` and named
    ``{operation_prefix}_{action}`` (so client generators name each one). Its description says which
    statuses it applies from and how it is refused, then ``effects``: what else it does (what is kept, who
    is told), one text for every action or one per action."""
    for action in lifecycle:
        effect = effects if isinstance(effects, str) else effects[action]
        router.add_api_route(
            f"{path}/{action}",
            endpoint(action),
            methods=["POST"],
            operation_id=f"{operation_prefix}_{action}",
            summary=summaries[action],
            description=f"{lifecycle.documented(action)} {effect}",
            responses=dict(responses),
        )
