"""Billing status rules: what a Stripe fact may do to a subscription's recorded status.

Stripe delivers events late, twice and out of order. Each status is stored with the Stripe
time of the fact that set it; an older fact never overrides a newer one, and an ended
subscription (``canceled``, ``incomplete_expired``) never comes back: Stripe itself cannot
reactivate it, so any later-looking "active" about it is stale.
"""

from __future__ import annotations

from providers.base.statuses import SUBSCRIPTION_ENDED as ENDED
from providers.base.statuses import SubscriptionStatus as S

# Within the same second Stripe's clock cannot order two facts; prefer the one further along
# the lifecycle (a same-second "incomplete" snapshot must not undo "active").
_RANK = {
    S.INCOMPLETE: 0,
    S.TRIALING: 1,
    S.ACTIVE: 2,
    S.PAUSED: 2,
    S.PAST_DUE: 3,
    S.UNPAID: 4,
    S.INCOMPLETE_EXPIRED: 5,
    S.CANCELED: 5,
}


def should_apply(current: str, current_as_of: int, new: str, new_as_of: int) -> bool:
    """Whether a fact saying ``new`` at ``new_as_of`` replaces ``current`` set at ``current_as_of``."""
    if current in ENDED:
        return False
    if new in ENDED:
        return True  # an end is final whenever it is learnt
    if new_as_of != current_as_of:
        return new_as_of > current_as_of
    return _RANK[S(new)] >= _RANK[S(current)]


def status_after_invoice(current: str, event_type: str, amount_paid: int) -> str | None:
    """The status an invoice outcome implies for its subscription, or None when it says nothing.

    A paid zero-amount invoice (the one Stripe issues when a trial starts) proves nothing about
    payment; a failed first invoice leaves the subscription ``incomplete`` as Stripe does, while
    a failed renewal makes it ``past_due``.
    """
    if event_type == "invoice.payment_succeeded":
        if amount_paid > 0 and current in {S.INCOMPLETE, S.TRIALING, S.PAST_DUE, S.UNPAID, S.ACTIVE}:
            return S.ACTIVE
        return None
    if event_type == "invoice.payment_failed":
        return S.PAST_DUE if current in {S.ACTIVE, S.TRIALING, S.PAST_DUE} else None
    return None
