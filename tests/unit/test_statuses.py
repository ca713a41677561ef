"""Each status name is defined once (providers.base.statuses), and the Stripe plugin maps Stripe's exhaustively."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any, get_args

import pytest

from providers.base import statuses as st
from providers.base.errors import ProviderUnavailable, UnexpectedAnswer
from providers.stripe.invoice_transformers import invoice_from_stripe
from providers.stripe.recurring_transformers import setup_intent_from_stripe, subscription_from_stripe
from providers.stripe.transformers import payment_from_stripe, refund_from_stripe

PAIRS = [
    (st.PaymentStatus, st.PaymentStatusName),
    (st.RefundStatus, st.RefundStatusName),
    (st.SubscriptionStatus, st.SubscriptionStatusName),
    (st.InvoiceStatus, st.InvoiceStatusName),
    (st.ConnectedAccountStatus, st.ConnectedAccountStatusName),
    (st.Interval, st.IntervalName),
]


@pytest.mark.parametrize(("enum", "literal"), PAIRS, ids=[e.__name__ for e, _ in PAIRS])
def test_each_literal_names_exactly_its_enums_values(enum: type[StrEnum], literal: object) -> None:
    assert list(get_args(literal)) == [m.value for m in enum]


def test_a_refund_may_be_asked_for_with_each_reason_but_the_one_the_provider_gives_itself() -> None:
    assert set(get_args(st.RefundReasonName)) == set(st.RefundReason) - {st.RefundReason.EXPIRED_UNCAPTURED_CHARGE}


def test_the_refund_state_machine_is_stripes_lifecycle_order() -> None:
    order = sorted(st.REFUND_ORDER, key=st.REFUND_ORDER.__getitem__)
    assert order == ["pending", "requires_action", "succeeded", "failed", "canceled"]
    assert {"pending", "requires_action", "succeeded"} == st.OPEN_REFUND and {"succeeded"} == st.COUNTED_REFUND


def test_an_unexpected_answer_is_an_outcome_unknown_provider_error() -> None:
    # The hub keeps what it had and lets a sync repair it, as for an answer that never came.
    assert issubclass(UnexpectedAnswer, ProviderUnavailable)


PI = {"id": "pi_1", "object": "payment_intent", "amount": 2000, "currency": "usd", "capture_method": "automatic"}
READERS: dict[str, tuple[Callable[[Any], object], dict[str, Any]]] = {
    "payment": (payment_from_stripe, PI),
    "refund": (refund_from_stripe, {"id": "re_1", "object": "refund", "amount": 100, "payment_intent": "pi_1"}),
    "subscription": (subscription_from_stripe, {"id": "sub_1", "object": "subscription", "created": 1}),
    "invoice": (invoice_from_stripe, {"id": "in_1", "object": "invoice", "amount_due": 0, "amount_paid": 0}),
    "setup_intent": (setup_intent_from_stripe, {"id": "seti_1", "object": "setup_intent"}),
}


@pytest.mark.parametrize("kind", sorted(READERS))
@pytest.mark.parametrize("status", ["something_new", None, ""])
def test_a_status_stripe_does_not_document_is_refused_never_guessed(kind: str, status: object) -> None:
    read, obj = READERS[kind]
    with pytest.raises(UnexpectedAnswer) as exc:
        read({**obj, "status": status})
    assert "`status`" in exc.value.message


def test_the_refused_status_is_named_only_when_it_looks_like_a_status_name() -> None:
    with pytest.raises(UnexpectedAnswer) as exc:
        payment_from_stripe({**PI, "status": "something_new"})
    assert "something_new" in exc.value.message
    with pytest.raises(UnexpectedAnswer) as exc:
        payment_from_stripe({**PI, "status": "<script>sk_live_x"})
    assert "script" not in exc.value.message and "sk_live" not in exc.value.message


@pytest.mark.parametrize("status", list(st.RefundStatus))
def test_every_stripe_refund_status_is_kept_as_its_own_state(status: st.RefundStatus) -> None:
    refund = {"id": "re_1", "object": "refund", "amount": 100, "payment_intent": "pi_1", "status": status.value}
    assert refund_from_stripe(refund).status == status
