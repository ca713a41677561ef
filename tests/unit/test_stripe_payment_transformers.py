"""Stripe <-> neutral payment shapes, for both real Stripe's and the emulator's PaymentIntents."""

from __future__ import annotations

import stripe

from providers.base.payments import CheckoutCreate, CheckoutLineItem, PaymentCreate
from providers.stripe.transformers import (
    checkout_from_stripe,
    checkout_session_params,
    event_from_stripe,
    payment_from_stripe,
    payment_intent_params,
    refund_from_stripe,
)

REAL = {
    "id": "pi_1",
    "object": "payment_intent",
    "amount": 2000,
    "currency": "USD",
    "status": "requires_capture",
    "capture_method": "manual",
    "amount_capturable": 2000,
    "amount_received": 0,
    "latest_charge": "ch_1",
    "client_secret": "pi_1_secret_x",
    "metadata": {"hub_payment_id": "pay_1"},
}
EMULATED = {
    "id": "pi_2",
    "object": "payment_intent",
    "amount": 1500,
    "currency": "eur",
    "status": "succeeded",
    "capture_method": "automatic_async",
    "metadata": {},
    "latest_charge": {"id": "ch_2", "amount": 1500, "captured": True, "status": "succeeded"},
    "charges": {"data": [{"id": "ch_2", "amount": 1500, "captured": True, "status": "succeeded"}]},
}


def test_real_stripe_shape_is_read_from_its_amount_fields():
    snap = payment_from_stripe(stripe.StripeObject.construct_from(REAL, "sk_test_x"))
    assert (snap.status, snap.amount_capturable, snap.amount_received, snap.currency) == (
        "requires_capture",
        2000,
        0,
        "usd",
    )
    assert snap.capture_method == "manual" and snap.metadata == {"hub_payment_id": "pay_1"}


def test_emulator_shape_without_amount_fields_counts_captured_charges():
    snap = payment_from_stripe(EMULATED)
    assert (snap.status, snap.amount_received, snap.capture_method) == ("succeeded", 1500, "automatic")


def test_a_partial_capture_is_never_read_as_the_whole_charge():
    # 1,500 of 2,000 captured. The emulator's charge has no amount_captured and counts the released
    # 500 in amount_refunded; Stripe's Charge says amount_captured (its published Charge object).
    emulated = {"id": "ch_3", "amount": 2000, "amount_refunded": 500, "captured": True, "status": "succeeded"}
    pi = {**EMULATED, "amount": 2000, "capture_method": "manual", "latest_charge": emulated, "charges": None}
    assert payment_from_stripe(pi).amount_received == 1500
    stripe_charge = {**emulated, "object": "charge", "amount_captured": 1500}
    assert payment_from_stripe({**pi, "latest_charge": stripe_charge}).amount_received == 1500
    assert payment_from_stripe({**pi, "amount_received": 1500, "latest_charge": "ch_3"}).amount_received == 1500
    for charge, received, refunded in [(stripe_charge, 1500, 0), (emulated, 1500, 500)]:
        evt = {
            "id": "evt_1",
            "type": "charge.refunded",
            "created": 1,
            "data": {"object": {**charge, "payment_intent": "pi_2"}},
        }
        facts = event_from_stripe(evt)
        # Without amount_captured the release cannot be told from a refund: all of it is held back.
        assert (facts.amount_received, facts.amount_refunded) == (received, refunded)


def test_a_declined_intent_back_at_requires_payment_method_is_failed():
    declined = {
        **REAL,
        "status": "requires_payment_method",
        "amount_capturable": 0,
        "last_payment_error": {"code": "card_declined", "decline_code": "insufficient_funds"},
    }
    snap = payment_from_stripe(declined)
    assert (snap.status, snap.last_error_code, snap.decline_code) == ("failed", "card_declined", "insufficient_funds")
    assert payment_from_stripe({**declined, "last_payment_error": None}).status == "requires_payment_method"


def test_description_is_a_field_at_stripe_and_metadata_at_the_emulator():
    order = PaymentCreate(
        amount=2000,
        currency="usd",
        capture_method="manual",
        description="Order 7",
        metadata={"hub_payment_id": "pay_1"},
        payment_method="pm_card_visa",
        confirm=True,
    )
    real = payment_intent_params(order, emulator=False)
    assert real["description"] == "Order 7" and "hub_description" not in real["metadata"]
    assert real["confirm"] is True and real["payment_method"] == "pm_card_visa"
    emulated = payment_intent_params(order, emulator=True)
    assert "description" not in emulated and emulated["metadata"]["hub_description"] == "Order 7"


def test_refund_and_checkout_shapes():
    refund = refund_from_stripe(
        {
            "id": "re_1",
            "amount": 300,
            "status": "succeeded",
            "payment_intent": "pi_1",
            "metadata": {"hub_refund_id": "re_hub"},
        }
    )
    assert (refund.provider_refund_id, refund.amount, refund.metadata["hub_refund_id"]) == ("re_1", 300, "re_hub")
    session = checkout_from_stripe({"id": "cs_1", "url": "https://checkout.stripe.com/x", "payment_intent": None})
    assert session.provider_payment_id is None and (session.url or "").startswith("https://")
    params = checkout_session_params(
        CheckoutCreate(
            currency="usd",
            line_items=(CheckoutLineItem(name="Mug", unit_amount=1000, quantity=2),),
            success_url="https://s",
            cancel_url="https://c",
            capture_method="manual",
            metadata={"hub_payment_id": "p"},
        )
    )
    assert params["payment_intent_data"] == {"capture_method": "manual", "metadata": {"hub_payment_id": "p"}}
    assert params["line_items"][0]["price_data"]["product_data"] == {"name": "Mug"}


def _pi(body: dict) -> object:
    return stripe.StripeObject.construct_from(body, "sk_test_x")


def test_a_held_charge_says_until_when_it_may_be_captured():
    charge = {"id": "ch_1", "payment_method_details": {"card": {"capture_before": 1_800_000_000}}}
    assert payment_from_stripe(_pi({**REAL, "latest_charge": charge})).capture_before == (1_800_000_000)
    assert payment_from_stripe(_pi(REAL)).capture_before is None  # an id says nothing
    automatic = {**REAL, "capture_method": "automatic", "latest_charge": charge, "status": "succeeded"}
    assert payment_from_stripe(_pi(automatic)).capture_before is None
    lapsed = {**REAL, "status": "canceled", "cancellation_reason": "automatic"}
    assert payment_from_stripe(_pi(lapsed)).cancellation_reason == "automatic"


def test_connect_and_expand_parameters_of_a_payment_intent():
    held = PaymentCreate(
        amount=10_000,
        currency="usd",
        capture_method="manual",
        metadata={},
        transfer_destination="acct_1",
        application_fee_amount=1_500,
    )
    params = payment_intent_params(held, emulator=False)
    assert params["transfer_data"] == {"destination": "acct_1"} and params["application_fee_amount"] == 1_500
    assert params["expand"] == ["latest_charge"]
    assert "expand" not in payment_intent_params(held, emulator=True)
    plain = payment_intent_params(
        PaymentCreate(amount=1, currency="usd", capture_method="automatic", metadata={}), emulator=False
    )
    assert not {"transfer_data", "application_fee_amount", "expand"} & set(plain)
