"""The order rules of subscriptions (time, plus two fixed rules) and invoices (forward only)."""

from __future__ import annotations

import pytest

from hub.db.recurring import Invoice, Subscription
from hub.invoices import status as invoice_status
from hub.subscriptions import status as sub_status
from providers.base.invoices import InvoiceSnapshot
from providers.base.recurring import SubscriptionSnapshot
from providers.base.statuses import InvoiceStatus, SubscriptionStatus


def _sub(status: str, as_of: int) -> Subscription:
    return Subscription(status=status, status_as_of=as_of, cancel_at_period_end=False)


def _snap(status: str, as_of: int, **kw) -> SubscriptionSnapshot:
    return SubscriptionSnapshot(provider_subscription_id="sub_1", status=SubscriptionStatus(status), as_of=as_of, **kw)


@pytest.mark.parametrize(
    "current,new,newer,moves",
    [
        ("active", "incomplete", True, False),  # incomplete is only ever first
        ("trialing", "active", True, True),
        ("active", "past_due", True, True),
        ("past_due", "active", True, True),  # back and forth, in time order
        ("past_due", "active", False, False),  # an older "active" is history
        ("active", "canceled", False, True),  # ending is final, even learnt late
        ("canceled", "active", True, False),
        ("incomplete_expired", "active", True, False),
        ("active", "active", True, False),
    ],
)
def test_subscription_status_rules(current, new, newer, moves):
    assert sub_status.may_move(current, new, newer=newer) is moves


def test_older_news_changes_neither_status_nor_the_other_fields():
    row = _sub("active", 200)
    assert not sub_status.apply_snapshot(row, _snap("trialing", 100, cancel_at_period_end=True))
    assert (row.status, row.cancel_at_period_end, row.status_as_of) == ("active", False, 200)
    assert sub_status.apply_snapshot(row, _snap("past_due", 300, cancel_at_period_end=True, current_period_end=10))
    assert (row.status, row.cancel_at_period_end, row.status_as_of) == ("past_due", True, 300)
    assert row.current_period_end is not None and row.current_period_end.timestamp() == 10


@pytest.mark.parametrize(
    "current,new,moves",
    [
        ("draft", "open", True),
        ("open", "draft", False),
        ("open", "paid", True),
        ("uncollectible", "paid", True),
        ("paid", "void", False),
        ("void", "paid", False),
        ("paid", "open", False),
    ],
)
def test_invoice_status_moves_forward_only(current, new, moves):
    assert invoice_status.may_move(current, new) is moves


def test_invoice_amount_paid_only_grows():
    row = Invoice(status="paid", amount_due=0, amount_paid=500)
    snap = InvoiceSnapshot("in_1", status=InvoiceStatus.OPEN, amount_due=500, amount_paid=0, currency="usd")
    assert not invoice_status.apply_snapshot(row, snap)
    assert (row.status, row.amount_paid, row.amount_due) == ("paid", 500, 0)
