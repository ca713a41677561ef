"""The Wompi client (providers/wompi/client.py) over real HTTP against the Wompi stand-in: the base
URL by key prefix, the overall deadline, the retries it may make and the ones it must not, the
recovery of a create by its reference, and Wompi's errors as the hub's typed errors."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from providers.base import errors as perr
from providers.base.provider import ProviderOptions
from providers.base.statuses import PaymentStatus
from providers.wompi import transformers, wire
from providers.wompi.client import PRODUCTION, SANDBOX, WompiClient, base_url_for, key_mode, operation_name
from providers.wompi.errors import mask
from tests.support.wompi_standin import APPROVED_CARD, DECLINED_CARD, Merchant, WompiStandin

AMOUNT = 2_500_000


@pytest.fixture(scope="module")
def standin() -> Iterator[WompiStandin]:
    s = WompiStandin(settle_delay=0.02, url_delay=0.01)
    yield s
    s.close()


class Calls(list[tuple[str, str, float]]):
    def __call__(self, operation: str, outcome: str, seconds: float) -> None:
        self.append((operation, outcome, seconds))


@pytest.fixture
async def client(standin: WompiStandin) -> AsyncIterator[WompiClient]:
    c = WompiClient(api_base=standin.url, timeout=2.0, deadline=2.0, max_network_retries=2, backoff=0.01)
    yield c
    await c.aclose()


def card(m: Merchant, standin: WompiStandin, number: str = APPROVED_CARD) -> wire.CardMethod:
    return wire.CardMethod(token=standin.card_token(m, number), installments=1)


async def create(
    client: WompiClient,
    m: Merchant,
    method: wire.PaymentMethodCreate,
    reference: str,
    amount: int = AMOUNT,
    integrity_secret: str | None = None,
) -> wire.Transaction:
    return await client.create_transaction(
        private_key=m.private_key,
        integrity_secret=integrity_secret or m.integrity_secret,
        reference=reference,
        amount_in_cents=amount,
        customer_email="comprador@example.com",
        acceptance_token=m.acceptance_token,
        payment_method=method,
    )


def test_the_base_url_follows_the_key_prefix_unless_overridden() -> None:
    assert base_url_for("pub_test_abc") == SANDBOX == "https://sandbox.wompi.co/v1"
    assert base_url_for("prv_test_abc") == SANDBOX
    assert base_url_for("pub_prod_abc") == PRODUCTION == "https://production.wompi.co/v1"
    assert base_url_for("prv_prod_abc") == PRODUCTION
    assert base_url_for("prv_prod_abc", "http://127.0.0.1:9/v1/") == "http://127.0.0.1:9/v1"
    with pytest.raises(perr.CredentialsFormatError) as bad:
        base_url_for("sk_test_abc")
    assert bad.value.param == "private_key"
    assert [key_mode(k) for k in ("test_events_x", "prod_integrity_x", "pub_live_x")] == ["test", "prod", None]
    assert operation_name("GET", "/v1/transactions/1234-1610641025-49201") == "GET /v1/transactions/{id}"
    assert operation_name("POST", "/v1/transactions/1234-1610641025-49201/void") == "POST /v1/transactions/{id}/void"
    assert operation_name("GET", "/v1/merchants/pub_test_Q1w2E3r4T5y6") == "GET /v1/merchants/{id}"
    assert operation_name("GET", "/v1/pse/financial_institutions") == "GET /v1/pse/financial_institutions"


def test_from_options_takes_the_hubs_settings() -> None:
    calls = Calls()
    c = WompiClient.from_options(
        ProviderOptions(
            api_base="http://127.0.0.1:1/v1", deadline_seconds=3.0, max_network_retries=1, call_observer=calls
        )
    )
    assert (c.api_base, c.deadline, c.max_network_retries) == ("http://127.0.0.1:1/v1", 3.0, 1)


async def test_merchant_banks_and_a_card_payment(standin: WompiStandin, client: WompiClient) -> None:
    m = standin.add_merchant()
    merchant = await client.merchant(m.public_key)
    assert merchant.presigned_acceptance.acceptance_token == m.acceptance_token
    assert merchant.presigned_personal_data_auth is not None
    banks = await client.pse_banks(m.public_key)
    assert {"1", "2"} <= {b.financial_institution_code for b in banks}
    await client.check_private_key(m.private_key)

    tx = await create(client, m, card(m, standin), "pay_client_card")
    assert tx.status == "PENDING" and tx.reference == "pay_client_card" and tx.amount_in_cents == AMOUNT
    assert transformers.payment_status(tx.status) is PaymentStatus.PROCESSING
    standin.wait_status(tx.id)
    read = await client.transaction(m.public_key, tx.id)
    assert read.status == "APPROVED" and transformers.snapshot(read).amount_received == AMOUNT
    voided = await client.void(m.private_key, tx.id)
    assert voided.status == "VOIDED" and standin.voids[tx.id] == 1
    assert transformers.snapshot(voided).status is PaymentStatus.REFUNDED
    # Voided already (a retried refund whose first answer was lost): Wompi refuses, the read says VOIDED.
    again = await client.void(m.private_key, tx.id)
    assert again.status == "VOIDED" and standin.voids[tx.id] == 1
    assert standin.refused["POST /v1/transactions/{id}/void"] >= 1


async def test_racing_creates_and_voids_make_one_transaction_and_one_void(
    standin: WompiStandin, client: WompiClient
) -> None:
    m = standin.add_merchant()
    method = card(m, standin)
    many = await asyncio.gather(*(create(client, m, method, "pay_client_race") for _ in range(4)))
    assert len({t.id for t in many}) == 1 and standin.created["pay_client_race"] == 1
    standin.wait_status(many[0].id)
    voided = await asyncio.gather(*(client.void(m.private_key, many[0].id) for _ in range(3)))
    assert {t.status for t in voided} == {"VOIDED"} and standin.voids[many[0].id] == 1


async def test_a_bank_payment_gets_its_url_by_a_bounded_poll(standin: WompiStandin, client: WompiClient) -> None:
    s = WompiStandin(settle_delay=None, url_delay=0.05)
    c = WompiClient(api_base=s.url, deadline=2.0, backoff=0.01)
    try:
        m = s.add_merchant()
        method = wire.PseMethod(
            user_type=0,
            user_legal_id_type="CC",
            user_legal_id="1999888777",
            financial_institution_code="1",
            payment_description="Pedido 42",
        )
        tx = await create(c, m, method, "pay_client_pse")
        assert tx.async_payment_url is None and transformers.next_action(tx) is None
        c.poll_attempts, c.poll_interval = 8, 0.01
        polled = await c.wait_for_async_url(m.public_key, tx)
        assert polled.status == "PENDING"
        assert transformers.next_action(polled) == {"type": "redirect_to_url", "url": polled.async_payment_url}
        assert polled.async_payment_url and polled.async_payment_url.startswith("http")
        assert transformers.snapshot(polled).status is PaymentStatus.PROCESSING
        # Bounded: a URL that never comes is given up on after the attempts, the transaction as last read.
        s.url_delay = 60
        other = await create(c, m, wire.BancolombiaTransferMethod(payment_description="x"), "pay_client_bt")
        reads = s.requests["GET /v1/transactions/{id}"]
        gave_up = await c.wait_for_async_url(m.public_key, other, attempts=3, interval=0.005)
        assert gave_up.id == other.id and gave_up.status == "PENDING" and gave_up.async_payment_url is None
        assert s.requests["GET /v1/transactions/{id}"] == reads + 3
    finally:
        await c.aclose()
        s.close()


async def test_a_get_is_retried_after_a_5xx_and_the_call_reported_once(standin: WompiStandin) -> None:
    calls = Calls()
    c = WompiClient(api_base=standin.url, deadline=2.0, max_network_retries=2, backoff=0.01, observer=calls)
    try:
        m = standin.add_merchant()
        before = standin.requests["GET /v1/pse/financial_institutions"]
        standin.inject("GET /v1/pse/financial_institutions", status=503, times=2)
        assert await c.pse_banks(m.public_key)
        assert standin.requests["GET /v1/pse/financial_institutions"] == before + 3
        assert calls == [("GET /v1/pse/financial_institutions", "ok", calls[0][2])]
        standin.inject("GET /v1/pse/financial_institutions", status=503, times=3)
        with pytest.raises(perr.ProviderUnavailable):
            await c.pse_banks(m.public_key)
        assert standin.requests["GET /v1/pse/financial_institutions"] == before + 6
        assert calls[-1][:2] == ("GET /v1/pse/financial_institutions", "server_error")
        standin.inject("GET /v1/pse/financial_institutions", status=429, times=1)
        assert await c.pse_banks(m.public_key)
    finally:
        await c.aclose()


async def test_the_deadline_bounds_a_call_with_its_retries(standin: WompiStandin) -> None:
    c = WompiClient(api_base=standin.url, timeout=5.0, deadline=0.2, max_network_retries=2, backoff=0.01)
    try:
        m = standin.add_merchant()
        standin.inject("GET /v1/pse/financial_institutions", delay=1.0)
        started = time.monotonic()
        with pytest.raises(perr.ProviderUnavailable) as late:
            await c.pse_banks(m.public_key)
        assert time.monotonic() - started < 0.8
        assert late.value.provider_code == "deadline"
    finally:
        await c.aclose()


async def test_an_unreachable_wompi_is_unavailable() -> None:
    from tests.support.emulator import free_port

    c = WompiClient(api_base=f"http://127.0.0.1:{free_port()}/v1", deadline=2.0, max_network_retries=1, backoff=0.01)
    try:
        with pytest.raises(perr.ProviderUnavailable) as down:
            await c.merchant("pub_test_nobody")
        assert down.value.code == "provider_unavailable"
    finally:
        await c.aclose()


async def test_a_create_is_never_sent_twice(standin: WompiStandin, client: WompiClient) -> None:
    m = standin.add_merchant()
    method = card(m, standin)
    # A 5xx before Wompi acted: not sent again; the lookup by reference finds nothing: unknown outcome.
    standin.inject("POST /v1/transactions", status=503)
    posts = standin.requests["POST /v1/transactions"]
    with pytest.raises(perr.ProviderUnavailable):
        await create(client, m, method, "pay_client_once")
    assert standin.requests["POST /v1/transactions"] == posts + 1 and standin.created["pay_client_once"] == 0

    # Wompi acted, its answer was lost: the transaction is found by its reference, not made again.
    standin.inject("POST /v1/transactions", status=502, after=True)
    tx = await create(client, m, method, "pay_client_once")
    assert standin.created["pay_client_once"] == 1 and standin.requests["POST /v1/transactions"] == posts + 2
    assert tx.reference == "pay_client_once" and tx.amount_in_cents == AMOUNT

    # A later try of the same create (another process, a retried operation): Wompi refuses the used
    # reference, and the answer is the transaction it already has.
    again = await create(client, m, method, "pay_client_once")
    assert again.id == tx.id and standin.created["pay_client_once"] == 1
    # The same reference for another amount is not this payment: refused, naming the field.
    with pytest.raises(perr.InvalidRequest) as other:
        await create(client, m, method, "pay_client_once", amount=AMOUNT + 100)
    assert other.value.param == "reference"
    assert standin.created["pay_client_once"] == 1


async def test_wompis_refusals_as_typed_errors(standin: WompiStandin, client: WompiClient) -> None:
    m = standin.add_merchant()
    with pytest.raises(perr.InvalidCredentials) as unknown_public:
        await client.merchant("pub_test_nobodyknowsthis")
    assert unknown_public.value.param == "public_key"
    with pytest.raises(perr.InvalidCredentials) as unknown_private:
        await client.check_private_key("prv_test_nobodyknowsthis")
    assert unknown_private.value.param == "private_key"
    with pytest.raises(perr.InvalidCredentials) as public_for_private:
        await client.check_private_key(m.public_key)
    assert public_for_private.value.param == "private_key"
    assert m.public_key not in str(public_for_private.value)

    with pytest.raises(perr.InvalidRequest) as unsigned:
        await create(client, m, card(m, standin), "pay_client_bad_sig", integrity_secret="test_integrity_wrong")
    assert unsigned.value.param == "signature" and "test_integrity_wrong" not in str(unsigned.value)
    assert standin.created["pay_client_bad_sig"] == 0
    with pytest.raises(perr.InvalidRequest) as missing:
        await client.transaction(m.private_key, "1-1-1")
    assert missing.value.provider_code == "NOT_FOUND_ERROR"
    # An id is one path segment: it never reaches another endpoint.
    for odd in ("../merchants/" + m.public_key, "..", "", "x?reference=y", "a/void"):
        with pytest.raises(perr.InvalidRequest):
            await client.transaction(m.private_key, odd)
    with pytest.raises(perr.InvalidCredentials):
        await client.merchant("../pse/financial_institutions")

    declined = await create(client, m, card(m, standin, DECLINED_CARD), "pay_client_declined")
    standin.wait_status(declined.id)
    failed = await client.transaction(m.private_key, declined.id)
    assert transformers.payment_status(failed.status) is PaymentStatus.FAILED
    assert transformers.failure_code(failed) == "card_declined"
    error = transformers.decline_error(failed)
    assert error is not None and error.code == "card_declined" and error.provider_object_id == declined.id
    with pytest.raises(perr.InvalidState):
        await client.void(m.private_key, declined.id)
    assert standin.voids[declined.id] == 0


class CutAfterSending(httpx.AsyncBaseTransport):
    """The network under the client: the real transport, except that the next ``fail`` POSTs meet
    ``error`` either before anything is sent (``sent=False``) or after Wompi got them (``sent=True``)."""

    def __init__(self, error: type[httpx.TransportError], *, sent: bool, fail: int = 1) -> None:
        self.real = httpx.AsyncHTTPTransport()
        self.error, self.sent, self.fail = error, sent, fail

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and self.fail > 0:
            self.fail -= 1
            if self.sent:
                answer = await self.real.handle_async_request(request)
                await answer.aread()
            raise self.error("cut", request=request)
        return await self.real.handle_async_request(request)

    async def aclose(self) -> None:
        await self.real.aclose()


async def test_a_post_never_sent_is_tried_again_one_that_may_have_arrived_is_not(standin: WompiStandin) -> None:
    m = standin.add_merchant()
    method = card(m, standin)
    for error, sent, reference in (
        (httpx.ConnectError, False, "pay_client_not_sent"),
        (httpx.ReadError, True, "pay_client_cut"),
        (httpx.RemoteProtocolError, True, "pay_client_cut_2"),
    ):
        c = WompiClient(api_base=standin.url, deadline=2.0, backoff=0.01, transport=CutAfterSending(error, sent=sent))
        try:
            posts = standin.requests["POST /v1/transactions"]
            tx = await create(c, m, method, reference)
        finally:
            await c.aclose()
        # Either way one POST reached Wompi and one transaction exists: sent again only when it never left.
        assert standin.requests["POST /v1/transactions"] == posts + 1, error
        assert standin.created[reference] == 1 and tx.reference == reference


def test_unknown_statuses_are_refused_and_secrets_masked() -> None:
    with pytest.raises(perr.UnexpectedAnswer):
        transformers.payment_status("REFUNDED")
    text = mask("keys prv_test_abcdefghijkl and test_events_abcdefghij and test_integrity_abcdefghijk")
    assert "abcdefghij" not in text and "prv_test" in text
