"""Which news about a subscription may change the hub's record, whatever order it arrives in.

Unlike a payment's, a subscription's status goes back and forth (``active`` -> ``past_due`` ->
``active``), so ranks alone cannot order it: the provider's time of each fact does. On top of
time, two rules hold whatever the clocks say: ``incomplete`` is only ever a first status (a
late ``incomplete`` never overwrites ``active``), and the ended statuses never move again.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hub.db.recurring import Subscription
from providers.base.recurring import SubscriptionSnapshot
from providers.base.statuses import SUBSCRIPTION_ENDED as ENDED
from providers.base.statuses import SubscriptionStatus

FIRST_ONLY = frozenset({SubscriptionStatus.INCOMPLETE})


def may_move(current: str, new: str, *, newer: bool) -> bool:
    """True when ``new`` may replace ``current``; ``newer``: the fact is at least as recent as the stored one."""
    if current == new or current in ENDED:
        return False
    if new in FIRST_ONLY:
        return False
    # Ending is final whenever it is learnt: an older "canceled" still means the subscription ended.
    return newer or new in ENDED


def apply_snapshot(row: Subscription, snap: SubscriptionSnapshot) -> bool:
    """Apply what the provider says to ``row``; returns whether the status changed."""
    newer = snap.as_of >= row.status_as_of
    moved = may_move(row.status, snap.status, newer=newer)
    if moved:
        row.status = snap.status
    if newer:
        row.status_as_of = snap.as_of
        row.cancel_at_period_end = snap.cancel_at_period_end
        if snap.current_period_end is not None:
            row.current_period_end = datetime.fromtimestamp(snap.current_period_end, UTC)
        if snap.latest_invoice is not None:
            row.latest_invoice_id = snap.latest_invoice
    return moved
