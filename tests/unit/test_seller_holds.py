"""What a destination charge's seller still holds after refunds that took its share back
(``hub.payments.common.seller_holds``): never more than its share, never below nothing, and never
more than the refunds left, so ``platform_amount`` is never negative because of them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hub.db.payments import Payment
from hub.payments.common import amount_transferred, seller_holds


def charge(received: int, fee: int | None, reversed_: int = 0) -> Payment:
    return Payment(
        transfer_to="acc_1", amount_received=received, application_fee_amount=fee, amount_refund_reversed=reversed_
    )


@given(st.data())
def test_the_seller_and_the_tenant_each_keep_their_share_of_what_was_not_refunded(data: st.DataObject) -> None:
    received = data.draw(st.integers(min_value=1, max_value=10**9))
    fee = data.draw(st.integers(min_value=0, max_value=received))
    refunded = data.draw(st.integers(min_value=0, max_value=received))
    held = seller_holds(charge(received, fee), refunded)
    share = received - fee
    assert 0 <= held <= share
    assert held <= received - refunded  # platform_amount = received - refunded - held >= 0
    assert (received - refunded) - held <= fee  # the tenant never keeps more than its fee
    if refunded == 0:
        assert held == share
    if refunded == received:
        assert held == 0


def test_the_example_of_the_docs() -> None:
    assert seller_holds(charge(10_000, 1_000), 2_500) == 6_750
    assert amount_transferred(charge(10_000, 1_000, 2_500)) == 6_750
    assert amount_transferred(charge(10_000, 1_000)) == 9_000
    assert amount_transferred(charge(0, 1_000)) == 0
    assert amount_transferred(charge(10_000, None, 4_000)) == 6_000
