"""Status rules: a payment's status only moves forward, whatever order provider news arrives in.

Ranks give the partial order; terminal states never move except along the refund path
(succeeded -> partially_refunded -> refunded).
"""

from __future__ import annotations

from typing import Literal, get_args

#: The provider-neutral payment statuses, as the API names them.
Status = Literal[
    "requires_payment_method",
    "requires_confirmation",
    "requires_action",
    "processing",
    "requires_capture",
    "succeeded",
    "canceled",
    "failed",
    "partially_refunded",
    "refunded",
]
STATUSES: tuple[str, ...] = get_args(Status)

_RANK = {
    "requires_payment_method": 0,
    "requires_confirmation": 1,
    "requires_action": 2,
    "processing": 3,
    "requires_capture": 4,
    "failed": 5,
    "canceled": 6,
    "succeeded": 6,
    "partially_refunded": 7,
    "refunded": 8,
}
TERMINAL = frozenset({"canceled", "refunded"})


def may_move(current: str, new: str) -> bool:
    """True when ``new`` is a legal successor of ``current`` (never backwards, never out of a terminal)."""
    if current == new:
        return False
    if current in TERMINAL:
        return False
    if current == "failed":
        # A failed attempt can be retried by the customer with another card.
        return new != "failed"
    if current == "succeeded":
        return new in {"partially_refunded", "refunded"}
    if current == "partially_refunded":
        return new == "refunded"
    if new == "failed":
        return current in {"requires_payment_method", "requires_confirmation", "requires_action", "processing"}
    return _RANK[new] > _RANK[current]


def refund_status(amount_received: int, amount_refunded: int) -> str | None:
    """partially_refunded / refunded from money actually returned; None when nothing was refunded."""
    if amount_refunded <= 0 or amount_received <= 0:
        return None
    return "refunded" if amount_refunded >= amount_received else "partially_refunded"
