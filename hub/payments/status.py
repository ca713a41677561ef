"""Status rules: a payment's status only moves forward, whatever order provider news arrives in.

Ranks give the partial order; terminal states never move except along the refund path
(succeeded -> partially_refunded -> refunded).
"""

from __future__ import annotations

from providers.base.statuses import PaymentStatus as P
from providers.base.statuses import PaymentStatusName

#: The provider-neutral payment statuses, as the API names them (``providers.base.statuses``).
Status = PaymentStatusName
STATUSES: tuple[P, ...] = tuple(P)

_RANK = {
    P.REQUIRES_PAYMENT_METHOD: 0,
    P.REQUIRES_CONFIRMATION: 1,
    P.REQUIRES_ACTION: 2,
    P.PROCESSING: 3,
    P.REQUIRES_CAPTURE: 4,
    P.FAILED: 5,
    P.CANCELED: 6,
    P.SUCCEEDED: 6,
    P.PARTIALLY_REFUNDED: 7,
    P.REFUNDED: 8,
}
TERMINAL = frozenset({P.CANCELED, P.REFUNDED})
_BEFORE_PAID = frozenset({P.REQUIRES_PAYMENT_METHOD, P.REQUIRES_CONFIRMATION, P.REQUIRES_ACTION, P.PROCESSING})


def may_move(current: str, new: str) -> bool:
    """True when ``new`` is a legal successor of ``current`` (never backwards, never out of a terminal)."""
    if current == new:
        return False
    if current in TERMINAL:
        return False
    if current == P.FAILED:
        # A failed attempt can be retried by the customer with another card.
        return new != P.FAILED
    if current == P.SUCCEEDED:
        return new in {P.PARTIALLY_REFUNDED, P.REFUNDED}
    if current == P.PARTIALLY_REFUNDED:
        return new == P.REFUNDED
    if new == P.FAILED:
        return current in _BEFORE_PAID
    return _RANK[P(new)] > _RANK[P(current)]


def refund_status(amount_received: int, amount_refunded: int) -> P | None:
    """partially_refunded / refunded from money actually returned; None when nothing was refunded."""
    if amount_refunded <= 0 or amount_received <= 0:
        return None
    return P.REFUNDED if amount_refunded >= amount_received else P.PARTIALLY_REFUNDED
