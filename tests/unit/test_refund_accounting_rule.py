"""The one refund accounting rule (hub.payments.apply.totals), case by case.

Rows are (amount, status, provider time of that status); the figure is the provider's cumulative
refunded amount with the time it was true at.
"""

from __future__ import annotations

import pytest

from hub.db.payments import Payment, Refund
from hub.payments.apply import Totals, advance_refund, note_provider_refunded, settle_status, totals

Row = tuple[int, str, int | None]
CASES: dict[str, tuple[list[Row], int | None, int | None, tuple[int, int]]] = {
    # name: (rows, figure, figure_at, (returned, held))
    "nothing": ([], None, None, (0, 0)),
    "a pending refund holds but is not returned": ([(500, "pending", 5)], None, None, (0, 500)),
    "a succeeded refund is returned": ([(500, "succeeded", 5)], None, None, (500, 500)),
    "a failed refund is neither": ([(500, "failed", 9)], None, None, (0, 0)),
    "a figure that only repeats the rows adds nothing": ([(500, "succeeded", 5)], 500, 5, (500, 500)),
    "a figure older than a failure does not keep it": ([(500, "failed", 9)], 500, 5, (0, 0)),
    "a failure in the figure's own second is deducted": ([(500, "failed", 5)], 500, 5, (0, 0)),
    "a figure newer than a failure never counted it": ([(500, "failed", 4), (300, "succeeded", 6)], 300, 6, (300, 300)),
    "a Dashboard refund (no row) counts": ([(500, "succeeded", 5)], 800, 5, (800, 800)),
    "a Dashboard refund survives a later failure of a row": ([(500, "failed", 9)], 800, 5, (300, 300)),
    "a pending row the figure counts is not returned twice": ([(700, "pending", 5)], 700, 5, (0, 700)),
    "a row without a time may be in any figure": ([(500, "failed", None)], 500, 5, (0, 0)),
    "after a cancellation, what a newer figure holds is another refund": ([(200, "canceled", 3)], 200, 7, (200, 200)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_rule(case):
    rows, figure, figure_at, expected = CASES[case]
    assert totals(rows, figure, figure_at) == Totals(*expected)


def _refund(status: str, at: int | None) -> Refund:
    return Refund(id="ref_1", tenant_id="ten_1", payment_id="pay_1", amount=500, status=status, status_at=at)


def test_a_refund_moves_forward_only_and_keeps_the_earliest_time_of_its_state():
    refund = _refund("pending", 3)
    advance_refund(refund, "succeeded", 8)
    advance_refund(refund, "succeeded", 6)  # the same news, delivered late with its earlier time
    advance_refund(refund, "pending", 1)
    assert (refund.status, refund.status_at) == ("succeeded", 6)
    advance_refund(refund, "failed", 9)  # Stripe lets a succeeded refund fail
    advance_refund(refund, "succeeded", 10)
    assert (refund.status, refund.status_at) == ("failed", 9)
    with pytest.raises(ValueError):  # no state outside the one refund state machine, never a guess
        advance_refund(refund, "something_new", 11)
    assert refund.status == "failed"


def test_only_a_newer_figure_replaces_the_kept_one_and_of_one_second_the_larger():
    payment = Payment(provider_refunded=None, provider_refunded_at=None)
    assert note_provider_refunded(payment, 700, 10)
    assert not note_provider_refunded(payment, 300, 9)  # stale
    assert not note_provider_refunded(payment, 700, 10)  # a repeat
    assert not note_provider_refunded(payment, 500, 10)
    assert note_provider_refunded(payment, 900, 10)
    assert note_provider_refunded(payment, 200, 11)  # newer, even if lower (a refund failed)
    assert (payment.provider_refunded, payment.provider_refunded_at) == (200, 11)


@pytest.mark.parametrize(
    ("status", "received", "refunded", "settled"),
    [
        ("succeeded", 2000, 500, "partially_refunded"),
        ("partially_refunded", 2000, 0, "succeeded"),  # its only refund failed
        ("refunded", 2000, 500, "partially_refunded"),
        ("partially_refunded", 2000, 2000, "refunded"),
        ("processing", 0, 500, "processing"),  # nothing received yet: nothing to follow
        ("requires_payment_method", 2000, 500, "partially_refunded"),  # forward, before it is paid
        ("canceled", 2000, 500, "canceled"),
    ],
)
def test_a_paid_payments_status_follows_its_amounts(status, received, refunded, settled):
    payment = Payment(status=status, amount_received=received, amount_refunded=refunded)
    settle_status(payment)
    assert payment.status == settled
