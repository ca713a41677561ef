"""Interpreting a verified Stripe event: the neutral facts, or EventNotUnderstood naming the field."""

from __future__ import annotations

import pytest

from providers.base.errors import EventNotUnderstood
from providers.base.webhooks import MAX_AMOUNT, ProviderEvent, VerifiedEvent, checked
from providers.stripe.provider import StripeProvider
from tests.support import stripe_events as se


def interpret(evt: dict) -> ProviderEvent:
    return StripeProvider().interpret_webhook(VerifiedEvent(provider_event_id=evt["id"], type=evt["type"], body=evt))


def paid(**fields) -> dict:
    pi = se.payment_intent("pi_1", "succeeded", amount_received=2000, metadata={"hub_tenant_id": "ten_1"})
    return se.event("payment_intent.succeeded", {**pi, **fields})


def test_a_well_formed_event_reads_as_its_neutral_facts():
    got = interpret(paid())
    assert (got.provider_payment_id, got.status, got.amount_received, got.hub_tenant_id) == (
        "pi_1",
        "succeeded",
        2000,
        "ten_1",
    )


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"amount": "abc"}, "`amount`"),
        ({"amount": "2000"}, "`amount`"),  # a numeric string is not coerced either
        ({"amount": True}, "`amount`"),
        ({"amount_received": 1e300}, "`amount_received`"),
        ({"amount_capturable": 20.5}, "`amount_capturable`"),
        ({"metadata": [1, 2]}, "`metadata`"),
        ({"amount_received": MAX_AMOUNT + 1}, "amount_received"),
        ({"id": "pi_" + "x" * 300}, "provider_payment_id"),
        ({"last_payment_error": {"code": "c" * 81}}, "last_error_code"),
    ],
)
def test_a_field_of_the_wrong_type_or_out_of_bounds_is_not_understood_and_named(fields, named):
    with pytest.raises(EventNotUnderstood) as exc:
        interpret(paid(**fields))
    assert named in exc.value.message
    assert "abc" not in exc.value.message and "1e+300" not in exc.value.message


def test_an_object_of_the_wrong_shape_is_not_understood():
    evt = se.event("payment_intent.succeeded", {"id": "pi_1", "status": ["succeeded"]})
    with pytest.raises(EventNotUnderstood):
        interpret(evt)


def test_an_unhandled_type_carries_no_facts_whatever_its_object_holds():
    got = interpret(se.event("customer.created", {"id": "cus_1", "metadata": [1, 2]}))
    assert got.provider_payment_id is None and got.status is None


def test_checked_refuses_what_a_plugin_built_beyond_the_neutral_bounds():
    assert (
        checked(ProviderEvent(provider_event_id="evt_1", type="t", created=1, amount_received=5)).amount_received == 5
    )
    with pytest.raises(EventNotUnderstood, match="amount_refunded"):
        checked(ProviderEvent(provider_event_id="evt_1", type="t", created=1, amount_refunded=-1))
