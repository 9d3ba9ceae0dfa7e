from __future__ import annotations

from yijing.conflicts import Clash, register
from yijing.errors import Conflict, Forbidden, NotFound


class SwapNotFound(NotFound):
    code = "captain_swap_not_found"


class SwapAlreadyOpen(Conflict):
    """One open swap per week: the problem names it (``existing_swap_id``)."""

    code = "swap_already_open"


class SwapNotOpen(Conflict):
    """The swap was accepted, declined, cancelled or has expired (``swap_status``)."""

    code = "swap_not_open"


class SwapExpired(Conflict):
    """The week's handoff has passed: the swap is marked expired, and that mark is kept."""

    code = "swap_expired"
    keeps_changes = True


class SwapCaptainChanged(Conflict):
    """The week has another captain since the swap was asked for: the swap is cancelled, and that is kept."""

    code = "swap_captain_changed"
    keeps_changes = True


class SwapTargetNotServing(Conflict):
    """The member asked to take the week has left the group or is no longer active."""

    code = "swap_target_not_serving"


class NotSwapParty(Forbidden):
    """A volunteer acting on a swap (or a week) that is not theirs to act on."""

    code = "swap_not_yours"


# One open swap per week: a request that raced another past the service's check.
register(
    {
        "uq_captain_swaps_open_week": Clash(
            SwapAlreadyOpen,
            "the week has an open swap already ({holder})",
            holder="existing_swap_id",
            zh="本周已有一个待处理的换班申请（{holder}）",
        )
    }
)
