"""The plugin's typed readers of Stripe's objects decode Stripe's published shapes and the emulator's older ones.

The published bodies are trimmed from stripe/openapi's fixtures3.json (the fields the hub reads,
plus a few it does not, which are ignored); the emulator's are the shapes localstripe answers with.
"""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from providers.base.errors import UnexpectedAnswer
from providers.stripe import wire
from providers.stripe.invoice_transformers import invoice_from_stripe, payment_link_from_stripe
from providers.stripe.recurring_transformers import (
    payment_method_from_stripe,
    price_from_stripe,
    product_from_stripe,
    setup_intent_from_stripe,
    subscription_from_stripe,
)
from providers.stripe.transformers import (
    checkout_from_stripe,
    customer_from_stripe,
    payment_from_stripe,
    refund_from_stripe,
)

PUBLISHED: dict[str, dict[str, Any]] = {
    "payment_intent": {
        "id": "pi_1PgafyB7WZ01zgkWSjxsAJo3",
        "object": "payment_intent",
        "amount": 1099,
        "amount_capturable": 0,
        "amount_received": 0,
        "capture_method": "automatic",
        "client_secret": "pi_1PgafyB7WZ01zgkWSjxsAJo3_secret_x",
        "currency": "usd",
        "latest_charge": None,
        "last_payment_error": {"type": "idempotency_error"},
        "metadata": {},
        "payment_method_types": ["card"],
        "status": "requires_payment_method",
    },
    "charge": {
        "id": "ch_1PgafuB7WZ01zgkWXYmPNZs8",
        "object": "charge",
        "amount": 100,
        "amount_captured": 0,
        "amount_refunded": 0,
        "captured": False,
        "currency": "usd",
        "paid": True,
        "payment_intent": None,
        "metadata": {},
        "refunded": False,
        "status": "succeeded",
    },
    "refund": {
        "id": "re_1Pgc72B7WZ01zgkWqPvrRrPE",
        "object": "refund",
        "amount": 100,
        "charge": "ch_1PgafuB7WZ01zgkWXYmPNZs8",
        "currency": "usd",
        "metadata": {},
        "payment_intent": None,
        "reason": None,
        "status": "succeeded",
    },
    "subscription": {
        "id": "sub_1Pgc6rB7WZ01zgkWNy0Cn5nw",
        "object": "subscription",
        "cancel_at_period_end": True,
        "created": 1234567890,
        "customer": "cus_QXg1o8vcGmoR32",
        "latest_invoice": None,
        "metadata": {},
        "status": "active",
        "items": {
            "object": "list",
            "data": [
                {
                    "id": "si_QXhVnC2h0Jczwc",
                    "object": "subscription_item",
                    "current_period_end": 976287773,
                    "price": {"id": "price_1PgafmB7WZ01zgkW6dKueIc5", "object": "price", "unit_amount": 2000},
                    "quantity": 1,
                }
            ],
        },
    },
    "invoice": {
        "id": "in_1Pgc6tB7WZ01zgkWu9fdqL6I",
        "object": "invoice",
        "amount_due": 1000,
        "amount_paid": 0,
        "currency": "usd",
        "customer": "cus_QXg1o8vcGmoR32",
        "due_date": 1234567890,
        "hosted_invoice_url": None,
        "metadata": {},
        "parent": {"subscription_details": {"metadata": None, "subscription": "sub_1"}, "type": "subscription_details"},
        "status": "draft",
    },
    "setup_intent": {
        "id": "seti_1Pgag7B7WZ01zgkWSgwGdb8Z",
        "object": "setup_intent",
        "client_secret": "seti_1Pgag7B7WZ01zgkWSgwGdb8Z_secret_x",
        "metadata": {},
        "payment_method": None,
        "status": "requires_payment_method",
        "usage": "off_session",
    },
    "checkout.session": {
        "id": "cs_test_a1YS1URlnyQCN5fUUduORoQ7Pw41PJ",
        "object": "checkout.session",
        "metadata": {},
        "mode": "payment",
        "payment_intent": "pi_1PgafyB7WZ01zgkWSjxsAJo3",
        "status": "open",
        "url": "https://checkout.stripe.com/pay/c/cs_test_a1YS1URlnyQCN5fUUduORoQ7Pw41PJ",
    },
    "dispute": {
        "id": "dp_1Pgc71B7WZ01zgkWMevJiAUx",
        "object": "dispute",
        "amount": 1000,
        "charge": "ch_1PgafuB7WZ01zgkWXYmPNZs8",
        "payment_intent": None,
        "reason": "general",
        "status": "warning_needs_response",
    },
    "payment_method": {
        "id": "pm_1Pgc75B7WZ01zgkWlHVgdEGJ",
        "object": "payment_method",
        "type": "card",
        "card": {"brand": "visa", "last4": "4242", "exp_month": 8, "exp_year": 2030, "funding": "credit"},
    },
    "customer": {"id": "cus_QXg1o8vcGmoR32", "object": "customer", "email": None, "name": None},
    "product": {"id": "prod_QXg1hqf4jFNsqG", "object": "product", "name": "T-shirt", "active": True},
    "price": {"id": "price_1PgafmB7WZ01zgkW6dKueIc5", "object": "price", "active": True, "unit_amount": 2000},
    "payment_link": {
        "id": "plink_1Pgc78B7WZ01zgkWC75kX0jg",
        "object": "payment_link",
        "active": True,
        "url": "https://buy.stripe.com/test_eVa16Q1Vd7yU1Ne8ww",
    },
}

STRUCTS: dict[str, type[wire.Wire]] = {
    "payment_intent": wire.PaymentIntent,
    "charge": wire.Charge,
    "refund": wire.Refund,
    "subscription": wire.Subscription,
    "invoice": wire.Invoice,
    "setup_intent": wire.SetupIntent,
    "checkout.session": wire.CheckoutSession,
    "dispute": wire.Dispute,
    "payment_method": wire.PaymentMethod,
    "customer": wire.Customer,
    "product": wire.Product,
    "price": wire.Price,
    "payment_link": wire.PaymentLink,
}


@pytest.mark.parametrize("kind", sorted(STRUCTS))
def test_each_published_object_decodes_as_a_dict_and_as_the_sdks_object(kind: str) -> None:
    body = PUBLISHED[kind]
    as_dict = wire.decode(body, STRUCTS[kind])
    assert getattr(as_dict, "id", None) == body["id"]
    assert wire.decode(stripe.StripeObject.construct_from(body, "sk_test_x"), STRUCTS[kind]) == as_dict


def test_the_published_objects_read_as_their_neutral_snapshots() -> None:
    p = PUBLISHED
    pi = payment_from_stripe(p["payment_intent"])
    # Stripe keeps the error of a declined attempt on an intent back at requires_payment_method.
    assert (pi.status, pi.amount, pi.amount_received, pi.capture_method) == ("failed", 1099, 0, "automatic")
    assert refund_from_stripe(p["refund"]).status == "succeeded"
    sub = subscription_from_stripe(p["subscription"])
    assert (sub.status, sub.current_period_end, sub.cancel_at_period_end) == ("active", 976287773, True)
    invoice = invoice_from_stripe(p["invoice"])
    assert (invoice.status, invoice.amount_due, invoice.due_date) == ("draft", 1000, 1234567890)
    assert wire.decode(p["invoice"], wire.Invoice).subscription_id == "sub_1"
    assert setup_intent_from_stripe(p["setup_intent"]).status == "requires_payment_method"
    assert checkout_from_stripe(p["checkout.session"]).provider_payment_id == "pi_1PgafyB7WZ01zgkWSjxsAJo3"
    card = payment_method_from_stripe(p["payment_method"]).card
    assert card is not None and (card.brand, card.last4) == ("visa", "4242")
    assert customer_from_stripe(p["customer"]).provider_customer_id == "cus_QXg1o8vcGmoR32"
    assert product_from_stripe(p["product"]).name == "T-shirt"
    assert price_from_stripe(p["price"]).active
    assert payment_link_from_stripe(p["payment_link"]).url.startswith("https://")


EMULATOR_PI = {
    "id": "pi_emu",
    "object": "payment_intent",
    "amount": 2000,
    "currency": "usd",
    "status": "succeeded",
    "capture_method": "manual",
    "metadata": {},
    "last_payment_error": None,
    "latest_charge": {"id": "ch_emu", "amount": 2000, "captured": True, "amount_refunded": 500, "status": "succeeded"},
    "charges": {
        "object": "list",
        "data": [{"id": "ch_emu", "amount": 2000, "captured": True, "amount_refunded": 500, "status": "succeeded"}],
    },
}
EMULATOR_SUB = {
    "id": "sub_emu",
    "object": "subscription",
    "status": "trialing",
    "created": 1700000000,
    "current_period_end": 1700864000,
    "plan": {"id": "plan_emu", "object": "plan"},
    "items": {"object": "list", "data": [{"id": "si_emu", "plan": {"id": "plan_emu"}}]},
    "latest_invoice": {"id": "in_emu", "object": "invoice"},
    "metadata": {"hub_tenant_id": "ten_1"},
}


def test_the_emulators_older_shapes_decode_too() -> None:
    pi = payment_from_stripe(EMULATOR_PI)
    assert (pi.status, pi.amount_received) == ("succeeded", 1500)  # captured 1,500: the charge shows 500 released
    sub = subscription_from_stripe(EMULATOR_SUB)
    assert (sub.status, sub.current_period_end, sub.latest_invoice) == ("trialing", 1700864000, "in_emu")
    assert wire.ref_id(wire.decode(EMULATOR_SUB, wire.Subscription).plan) == "plan_emu"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"amount": "1099"}, "`amount`"),
        ({"latest_charge": {"id": "ch_1", "amount": 1.5}}, "`latest_charge.amount`"),
        ({"metadata": {"k": 1}}, "`metadata[...]`"),  # a key is not named either
        ({"id": ""}, "`id`"),
    ],
)
def test_a_field_of_another_type_is_an_unexpected_answer_naming_the_field_not_its_value(change, named) -> None:
    with pytest.raises(UnexpectedAnswer) as exc:
        payment_from_stripe({**PUBLISHED["payment_intent"], **change})
    assert named in exc.value.message and "1099" not in exc.value.message
