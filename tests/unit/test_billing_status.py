"""Billing status rules and reading Stripe subscription snapshots of either API shape."""

from __future__ import annotations

import pytest

from hub.billing.records import facts_from_subscription
from hub.billing.status import should_apply, status_after_invoice


@pytest.mark.parametrize(
    ("current", "at", "new", "new_at", "expected"),
    [
        ("active", 100, "past_due", 200, True),  # newer fact wins
        ("past_due", 200, "active", 100, False),  # older fact never overrides
        ("canceled", 100, "active", 200, False),  # an end is final, even against a later-looking fact
        ("incomplete_expired", 100, "active", 200, False),
        ("active", 300, "canceled", 100, True),  # an end applies whenever it is learnt
        ("active", 100, "incomplete", 100, False),  # same second: not backwards along the lifecycle
        ("incomplete", 100, "active", 100, True),
        ("incomplete", 0, "trialing", 50, True),  # a row with no fact yet takes the first one
    ],
)
def test_should_apply(current, at, new, new_at, expected):
    assert should_apply(current, at, new, new_at) is expected


@pytest.mark.parametrize(
    ("current", "event", "amount_paid", "expected"),
    [
        ("past_due", "invoice.payment_succeeded", 2900, "active"),
        ("trialing", "invoice.payment_succeeded", 2900, "active"),
        ("trialing", "invoice.payment_succeeded", 0, None),  # the trial's zero invoice
        ("canceled", "invoice.payment_succeeded", 2900, None),
        ("active", "invoice.payment_failed", 0, "past_due"),
        ("trialing", "invoice.payment_failed", 0, "past_due"),
        ("incomplete", "invoice.payment_failed", 0, None),  # a failed first invoice stays incomplete
        ("canceled", "invoice.payment_failed", 0, None),
        ("active", "invoice.created", 0, None),
    ],
)
def test_status_after_invoice(current, event, amount_paid, expected):
    assert status_after_invoice(current, event, amount_paid) == expected


def test_facts_read_the_legacy_shape_with_period_and_plan_on_the_subscription():
    facts = facts_from_subscription(
        {
            "id": "sub_1",
            "customer": "cus_1",
            "status": "active",
            "current_period_end": 1_900_000_000,
            "cancel_at_period_end": True,
            "plan": {"id": "plan_a"},
            "items": {"data": [{"id": "si_1", "plan": {"id": "plan_a"}}]},
        },
        as_of=123,
    )
    assert facts is not None
    assert (facts.subscription_id, facts.customer_id, facts.status, facts.as_of, facts.price_id) == (
        "sub_1",
        "cus_1",
        "active",
        123,
        "plan_a",
    )
    assert facts.current_period_end is not None and facts.current_period_end.year == 2030
    assert facts.cancel_at_period_end is True


def test_facts_read_the_current_shape_with_price_and_period_on_the_item():
    facts = facts_from_subscription(
        {
            "id": "sub_2",
            "customer": {"id": "cus_2", "object": "customer"},
            "status": "trialing",
            "items": {"data": [{"id": "si_2", "price": {"id": "price_b"}, "current_period_end": 1_900_000_000}]},
        },
        as_of=5,
    )
    assert facts is not None and facts.customer_id == "cus_2" and facts.price_id == "price_b"
    assert facts.current_period_end is not None and facts.status == "trialing"


@pytest.mark.parametrize(
    "obj",
    [
        {"id": "sub_1", "customer": "cus_1", "status": "exploded"},
        {"id": "in_1", "customer": "cus_1", "status": "active"},
        {"id": "sub_1", "status": "active"},
        {},
    ],
)
def test_snapshots_that_are_not_subscriptions_give_no_facts(obj):
    assert facts_from_subscription(obj, as_of=1) is None
