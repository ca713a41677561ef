"""Stripe's recurring objects -> neutral snapshots and events. Bodies are trimmed from Stripe's
published API fixtures (the fields the hub reads, with Stripe's names and types)."""

from __future__ import annotations

import pytest

from providers.base.errors import EventNotUnderstood, UnexpectedAnswer
from providers.base.invoices import InvoiceCreate, InvoiceLine
from providers.base.recurring import PriceCreate, Recurrence, SubscriptionCreate, SubscriptionItem
from providers.base.webhooks import VerifiedEvent
from providers.stripe.invoice_transformers import (
    invoice_from_stripe,
    invoice_params,
    payment_link_from_stripe,
)
from providers.stripe.provider import StripeProvider
from providers.stripe.recurring_transformers import (
    price_params,
    recurring_event,
    setup_intent_from_stripe,
    subscription_from_stripe,
    subscription_params,
)
from providers.stripe.transformers import FieldError

SUBSCRIPTION = {
    "id": "sub_1Pgc6rB7WZ01zgkWNy0Cn5nw",
    "object": "subscription",
    "status": "active",
    "cancel_at_period_end": False,
    "created": 1234567890,
    "latest_invoice": None,
    "metadata": {},
    "items": {
        "object": "list",
        "data": [
            {
                "id": "si_QXhVnC2h0Jczwc",
                "object": "subscription_item",
                "current_period_end": 976287773,
                "quantity": 1,
                "price": {"id": "price_1PgafmB7WZ01zgkW6dKueIc5", "object": "price"},
            }
        ],
    },
}


def test_a_subscription_reads_its_period_end_from_its_items_since_stripe_moved_it_there():
    snap = subscription_from_stripe(SUBSCRIPTION)
    assert (snap.provider_subscription_id, snap.status, snap.current_period_end) == (
        "sub_1Pgc6rB7WZ01zgkWNy0Cn5nw",
        "active",
        976287773,
    )
    assert snap.as_of == 1234567890 and snap.latest_invoice is None
    older_form = {
        **SUBSCRIPTION,
        "current_period_end": 1700000000,
        "latest_invoice": {"id": "in_1", "object": "invoice"},
    }
    assert subscription_from_stripe(older_form).current_period_end == 1700000000
    assert subscription_from_stripe(older_form).latest_invoice == "in_1"


def test_an_unknown_subscription_status_is_refused_never_guessed():
    with pytest.raises(UnexpectedAnswer):
        subscription_from_stripe({**SUBSCRIPTION, "status": "something_new"})


def test_prices_are_stripe_prices_and_emulator_plans():
    data = PriceCreate("prod_1", "usd", 2000, {"hub_tenant_id": "ten_1"}, Recurrence("month", 1))
    assert price_params(data, emulator=False) == {
        "currency": "usd",
        "product": "prod_1",
        "metadata": {"hub_tenant_id": "ten_1"},
        "unit_amount": 2000,
        "recurring": {"interval": "month", "interval_count": 1},
    }
    plan = price_params(data, emulator=True)
    assert (plan["amount"], plan["interval"], plan["interval_count"]) == (2000, "month", 1)


def test_subscription_items_name_prices_at_stripe_and_plans_at_the_emulator():
    data = SubscriptionCreate(
        "cus_1", (SubscriptionItem("price_1", 2),), {"hub_subscription_id": "sub_h"}, trial_days=7
    )
    assert subscription_params(data, emulator=False)["items"] == [{"price": "price_1", "quantity": 2}]
    assert subscription_params(data, emulator=True)["items"] == [{"plan": "price_1", "quantity": 2}]
    assert subscription_params(data, emulator=False)["trial_period_days"] == 7


def test_setup_intent_invoice_and_payment_link_snapshots():
    si = setup_intent_from_stripe(
        {
            "id": "seti_1Pgag7B7WZ01zgkWSgwGdb8Z",
            "object": "setup_intent",
            "client_secret": "seti_1Pgag7B7WZ01zgkWSgwGdb8Z_secret_QXg2",
            "payment_method": {"id": "pm_1", "object": "payment_method"},
            "status": "succeeded",
            "usage": "off_session",
        }
    )
    assert (si.status, si.payment_method) == ("succeeded", "pm_1")
    inv = invoice_from_stripe(
        {
            "id": "in_1Pgc6tB7WZ01zgkWu9fdqL6I",
            "object": "invoice",
            "amount_due": 1000,
            "amount_paid": 0,
            "currency": "USD",
            "due_date": 1234567890,
            "hosted_invoice_url": None,
            "status": "draft",
        }
    )
    assert (inv.status, inv.amount_due, inv.currency, inv.due_date) == ("draft", 1000, "usd", 1234567890)
    link = payment_link_from_stripe(
        {
            "id": "plink_1Pgc78B7WZ01zgkWC75kX0jg",
            "object": "payment_link",
            "active": True,
            "url": "https://buy.stripe.com/x",
        }
    )
    assert (link.provider_payment_link_id, link.active) == ("plink_1Pgc78B7WZ01zgkWC75kX0jg", True)


def test_an_invoice_is_collected_by_email_with_only_its_own_lines():
    data = InvoiceCreate("cus_1", "usd", (InvoiceLine("Room", 100, 2),), 14, {"hub_invoice_id": "inv_1"})
    params = invoice_params(data)
    assert params["collection_method"] == "send_invoice" and params["days_until_due"] == 14
    assert params["pending_invoice_items_behavior"] == "exclude" and params["auto_advance"] is False


def _event(type_: str, obj: dict) -> dict:
    return {"id": "evt_1", "object": "event", "type": type_, "created": 1700000100, "data": {"object": obj}}


def test_recurring_events_carry_their_snapshot_the_tenant_stamp_and_the_event_time():
    meta = {"hub_tenant_id": "ten_1", "hub_subscription_id": "sub_h"}
    evt = recurring_event(_event("customer.subscription.updated", {**SUBSCRIPTION, "metadata": meta}))
    assert evt is not None and evt.subscription is not None
    assert (evt.hub_tenant_id, evt.hub_object_id, evt.subscription.as_of) == ("ten_1", "sub_h", 1700000100)
    inv = recurring_event(_event("invoice.paid", {"id": "in_1", "status": "paid", "amount_paid": 5, "metadata": {}}))
    assert inv is not None and inv.invoice is not None and inv.invoice.status == "paid"
    assert recurring_event(_event("payment_intent.succeeded", {"id": "pi_1"})) is None


def test_a_recurring_event_with_a_wrong_field_type_is_not_understood_and_names_the_field():
    # Never an event without facts (the hub would store it as if nothing had happened): the hub
    # keeps it as failed with this reason, as it does payment events.
    body = _event("invoice.paid", {"id": "in_1", "status": "paid", "amount_paid": "lots"})
    with pytest.raises(FieldError, match="`amount_paid`"):
        recurring_event(body)
    with pytest.raises(EventNotUnderstood) as exc:
        StripeProvider().interpret_webhook(VerifiedEvent(provider_event_id="evt_1", type="invoice.paid", body=body))
    assert "`amount_paid`" in exc.value.message and "lots" not in exc.value.message
