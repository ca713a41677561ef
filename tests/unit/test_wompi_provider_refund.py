"""The Wompi plugin's refund, over real HTTP against the Wompi stand-in: a void is always the whole
transaction, so an amount other than Wompi's own figure is refused before anything is voided."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from providers.base import errors as perr
from providers.base.provider import ProviderOptions, TenantContext
from providers.wompi import wire
from providers.wompi.credentials import WompiCredentials
from providers.wompi.provider import WompiProvider
from tests.support.wompi_standin import APPROVED_CARD, Merchant, WompiStandin

AMOUNT = 2_500_000


@pytest.fixture(scope="module")
def standin() -> Iterator[WompiStandin]:
    s = WompiStandin(settle_delay=0.01, url_delay=0.01)
    yield s
    s.close()


@pytest.fixture
async def provider(standin: WompiStandin) -> AsyncIterator[WompiProvider]:
    p = WompiProvider(ProviderOptions(api_base=standin.url, deadline_seconds=5.0, timeout_seconds=2.0))
    yield p
    await p.aclose()


def context(m: Merchant) -> TenantContext:
    credentials = WompiCredentials(
        mode="test",
        public_key=m.public_key,
        private_key=m.private_key,
        events_secrets=(m.events_secret,),
        integrity_secret=m.integrity_secret,
    )
    return TenantContext(tenant_id="ten_refund", credentials_version=1, credentials=credentials)


async def approved(provider: WompiProvider, standin: WompiStandin, m: Merchant, reference: str) -> str:
    tx = await provider.client.create_transaction(
        private_key=m.private_key,
        integrity_secret=m.integrity_secret,
        reference=reference,
        amount_in_cents=AMOUNT,
        customer_email="comprador@example.com",
        acceptance_token=m.acceptance_token,
        payment_method=wire.CardMethod(token=standin.card_token(m, APPROVED_CARD), installments=1),
    )
    assert standin.wait_status(tx.id) == "APPROVED"
    return tx.id


async def test_a_partial_amount_is_refused_before_the_void(provider: WompiProvider, standin: WompiStandin) -> None:
    m = standin.add_merchant()
    tx_id = await approved(provider, standin, m, "pay_partial")
    with pytest.raises(perr.NotSupported) as refused:
        await provider.create_refund(context(m), tx_id, AMOUNT - 1, reason=None, metadata={}, idempotency_key="k1")
    assert refused.value.param == "amount"
    assert standin.voids.get(tx_id, 0) == 0
    assert standin.transaction(tx_id)["status"] == "APPROVED"


async def test_the_whole_amount_is_voided_once(provider: WompiProvider, standin: WompiStandin) -> None:
    m = standin.add_merchant()
    tx_id = await approved(provider, standin, m, "pay_whole")
    refund = await provider.create_refund(
        context(m), tx_id, AMOUNT, reason=None, metadata={"order": "7"}, idempotency_key="k2"
    )
    assert (refund.amount, refund.metadata) == (AMOUNT, {"order": "7"})
    assert standin.voids[tx_id] == 1


@pytest.mark.parametrize("connect", [{"reverse_transfer": True}, {"refund_application_fee": True}])
async def test_a_connect_refund_is_refused_before_the_void(
    provider: WompiProvider, standin: WompiStandin, connect: dict[str, bool]
) -> None:
    """Wompi has no connected accounts (``destination_charges`` is off): nothing to take back."""
    assert not provider.capabilities.destination_charges
    m = standin.add_merchant()
    tx_id = await approved(provider, standin, m, f"pay_connect_{len(standin.voids)}_{sorted(connect)[0]}")
    with pytest.raises(perr.NotSupported) as refused:
        await provider.create_refund(
            context(m), tx_id, AMOUNT, reason=None, metadata={}, idempotency_key="k3", **connect
        )
    assert refused.value.param == "reverse_transfers"
    assert standin.voids.get(tx_id, 0) == 0
    assert standin.transaction(tx_id)["status"] == "APPROVED"
