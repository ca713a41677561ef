"""An invoice's status only moves forward: draft -> open -> (uncollectible) -> paid or void.

Unlike a subscription, an invoice never goes back, so ranks order any set of events.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hub.db.recurring import Invoice
from providers.base.invoices import InvoiceSnapshot
from providers.base.statuses import InvoiceStatus

_RANK: dict[str, int] = {
    InvoiceStatus.DRAFT: 0,
    InvoiceStatus.OPEN: 1,
    InvoiceStatus.UNCOLLECTIBLE: 2,
    InvoiceStatus.PAID: 3,
    InvoiceStatus.VOID: 3,
}
FINAL = frozenset({InvoiceStatus.PAID, InvoiceStatus.VOID})


def may_move(current: str, new: str) -> bool:
    if current == new or current in FINAL:
        return False
    return _RANK.get(new, 0) > _RANK.get(current, 0)


def apply_snapshot(row: Invoice, snap: InvoiceSnapshot) -> bool:
    """Apply what the provider says; returns whether the status changed. Amounts only grow."""
    moved = may_move(row.status, snap.status)
    if moved:
        row.status = snap.status
    if moved or row.status == snap.status:
        row.amount_due = snap.amount_due
    row.amount_paid = max(row.amount_paid, snap.amount_paid)
    if snap.hosted_invoice_url:
        row.hosted_invoice_url = snap.hosted_invoice_url
    if snap.due_date is not None:
        row.due_date = datetime.fromtimestamp(snap.due_date, UTC)
    return moved
