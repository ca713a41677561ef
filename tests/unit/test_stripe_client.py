"""The Stripe client factory: one shared HTTPXClient, a bounded (tenant, version) cache, explicit
timeout and retries, never a ``stripe.*`` global. Stripe is played by an httpx.MockTransport."""

from __future__ import annotations

import httpx
import pytest
import stripe

from providers.base import errors as perr
from providers.base.provider import ProviderOptions, TenantContext
from providers.base.types import CredentialsInput
from providers.stripe.client import SharedHTTPXClient, StripeClientFactory
from providers.stripe.errors import translate
from providers.stripe.provider import StripeProvider
from tests.support.stripe_mock import StripeMock, balance_ok, refuses_key, stripe_error, unreachable

KEY_A = "sk_test_51TenantAKey000000000A"
KEY_B = "sk_test_51TenantBKey000000000B"
# A host that cannot resolve: if the SDK ever bypassed our AsyncClient (and so our transport),
# the request would fail instead of quietly reaching the network.
NOWHERE = "http://stripe.invalid"

STRIPE_GLOBALS = (
    "api_key",
    "client_id",
    "api_base",
    "connect_api_base",
    "upload_api_base",
    "api_version",
    "verify_ssl_certs",
    "proxy",
    "default_http_client",
    "app_info",
    "max_network_retries",
    "stripe_account",
    "log",
)


def _globals() -> dict:
    return {name: getattr(stripe, name, "<absent>") for name in STRIPE_GLOBALS}


def factory(mock: StripeMock, **kw) -> StripeClientFactory:
    options = {"api_base": NOWHERE, "timeout": 7.0, "max_network_retries": 0, "cache_size": 8, **kw}
    return StripeClientFactory(transport=mock.transport, **options)


@pytest.fixture
def mock() -> StripeMock:
    return StripeMock()


async def test_requests_go_through_our_async_client_the_sdk_honours_client_async(mock):
    # stripe-python keeps its httpx.AsyncClient in the private ``_client_async``; the hub replaces it
    # to own the pool and the transport. If a new SDK stops using that attribute, this fails.
    f = factory(mock)
    balance = await f.for_tenant("ten_a", 1, KEY_A).v1.balance.retrieve_async()
    assert balance.object == "balance"
    [request] = mock.requests
    assert str(request.url) == f"{NOWHERE}/v1/balance"
    assert request.headers["authorization"] == f"Bearer {KEY_A}"
    await f.aclose()


async def test_every_tenant_client_shares_one_http_client(mock):
    f = factory(mock)
    a, b = f.for_tenant("ten_a", 1, KEY_A), f.for_tenant("ten_b", 1, KEY_B)
    assert a is not b
    # The SDK's own field for the HTTP client (pinned stripe major version).
    assert a._requestor._client is f.http_client and b._requestor._client is f.http_client
    assert isinstance(f.http_client, SharedHTTPXClient)
    await a.v1.balance.retrieve_async()
    await b.v1.balance.retrieve_async()
    await a.v1.balance.retrieve_async()
    assert mock.keys_used() == [KEY_A, KEY_B, KEY_A]
    await f.aclose()


async def test_same_tenant_and_version_reuse_one_client(mock):
    f = factory(mock)
    assert f.for_tenant("ten_a", 1, KEY_A) is f.for_tenant("ten_a", 1, KEY_A)
    assert len(f) == 1


async def test_a_new_version_replaces_the_old_one(mock):
    f = factory(mock)
    v1 = f.for_tenant("ten_a", 1, KEY_A)
    f.for_tenant("ten_b", 1, KEY_B)
    v2 = f.for_tenant("ten_a", 2, KEY_B)
    assert v2 is not v1 and len(f) == 2  # ten_a@1 dropped at once, ten_b untouched
    await v2.v1.balance.retrieve_async()
    assert mock.keys_used() == [KEY_B]
    assert f.for_tenant("ten_a", 1, KEY_A) is not v1  # rebuilt, never the stale one


async def test_a_reused_version_with_another_key_is_rebuilt(mock):
    # Credentials deleted and registered again restart at version 1: the key decides.
    f = factory(mock)
    first = f.for_tenant("ten_a", 1, KEY_A)
    second = f.for_tenant("ten_a", 1, KEY_B)
    assert second is not first and len(f) == 1
    await second.v1.balance.retrieve_async()
    assert mock.keys_used() == [KEY_B]


async def test_the_cache_is_bounded_and_drops_the_least_recently_used(mock):
    f = factory(mock, cache_size=2)
    a = f.for_tenant("ten_a", 1, KEY_A)
    b = f.for_tenant("ten_b", 1, KEY_B)
    assert f.for_tenant("ten_a", 1, KEY_A) is a  # a is now the most recent
    f.for_tenant("ten_c", 1, KEY_A)
    assert len(f) == 2
    assert f.for_tenant("ten_a", 1, KEY_A) is a
    assert f.for_tenant("ten_b", 1, KEY_B) is not b  # b was evicted and is rebuilt


async def test_timeout_is_explicit_with_a_short_connect_limit(mock):
    f = factory(mock, timeout=7.0)
    await f.for_tenant("ten_a", 1, KEY_A).v1.balance.retrieve_async()
    assert mock.requests[0].extensions["timeout"] == {"connect": 5.0, "read": 7.0, "write": 7.0, "pool": 7.0}


async def test_network_errors_are_retried_max_network_retries_times(mock):
    calls = iter([unreachable, balance_ok])
    mock.handler = lambda request: next(calls)(request)
    f = factory(mock, max_network_retries=1)
    await f.for_tenant("ten_a", 1, KEY_A).v1.balance.retrieve_async()
    assert len(mock.requests) == 2


async def test_no_retry_when_max_network_retries_is_zero(mock):
    mock.handler = unreachable
    f = factory(mock, max_network_retries=0)
    with pytest.raises(stripe.APIConnectionError) as info:
        await f.for_tenant("ten_a", 1, KEY_A).v1.balance.retrieve_async()
    assert len(mock.requests) == 1
    assert isinstance(translate(info.value), perr.ProviderUnavailable)


async def test_aclose_closes_the_shared_pool(mock):
    f = factory(mock)
    f.for_tenant("ten_a", 1, KEY_A)
    await f.aclose()
    client = f.http_client
    assert isinstance(client, SharedHTTPXClient)  # a transport was given
    assert len(f) == 0 and client._client_async.is_closed


def _provider(mock: StripeMock, **kw) -> StripeProvider:
    return StripeProvider(
        ProviderOptions(api_base=NOWHERE, timeout_seconds=5, max_network_retries=0, http_transport=mock.transport, **kw)
    )


def _ctx(provider: StripeProvider, tenant: str, key: str, version: int = 1) -> TenantContext:
    creds = provider.parse_credentials(CredentialsInput(publishable_key="pk_test_51Publishable0001", secret_key=key))
    return TenantContext(tenant_id=tenant, credentials_version=version, credentials=creds)


async def test_no_stripe_global_is_ever_set(mock):
    before = _globals()
    assert stripe.api_key is None
    provider = _provider(mock)
    check = await provider.check_credentials(_ctx(provider, "ten_a", KEY_A))
    assert check.ok and check.mode == "test"
    await provider.client(_ctx(provider, "ten_b", KEY_B)).v1.balance.retrieve_async()
    mock.handler = refuses_key
    with pytest.raises(perr.InvalidCredentials):
        await provider.check_credentials(_ctx(provider, "ten_a", KEY_A, 2))
    mock.handler = unreachable
    with pytest.raises(perr.ProviderUnavailable):
        await provider.check_credentials(_ctx(provider, "ten_b", KEY_B, 2))
    await provider.aclose()
    assert stripe.api_key is None
    assert _globals() == before


@pytest.mark.parametrize(
    ("handler", "error", "code"),
    [
        (refuses_key, perr.InvalidCredentials, "invalid_credentials"),
        (
            stripe_error(403, "invalid_request_error", "The provided key does not have permission"),
            perr.InvalidCredentials,
            "invalid_credentials",
        ),
        (
            stripe_error(429, "invalid_request_error", "Too many requests", code="rate_limit"),
            perr.RateLimited,
            "rate_limited",
        ),
        (stripe_error(500, "api_error", "Something went wrong"), perr.ProviderUnavailable, "provider_unavailable"),
        (
            stripe_error(404, "invalid_request_error", "No such payment_intent", code="resource_missing"),
            perr.InvalidRequest,
            "provider_error",
        ),
        (
            stripe_error(
                400,
                "invalid_request_error",
                "This PaymentIntent's status is succeeded",
                code="payment_intent_unexpected_state",
            ),
            perr.InvalidState,
            "invalid_state",
        ),
        (unreachable, perr.ProviderUnavailable, "provider_unavailable"),
    ],
)
async def test_sdk_errors_become_typed_errors(mock, handler, error, code):
    mock.handler = handler
    provider = _provider(mock)
    with pytest.raises(error) as info:
        await provider.check_credentials(_ctx(provider, "ten_a", KEY_A))
    assert info.value.code == code
    assert KEY_A not in str(info.value) and KEY_A[8:] not in info.value.message
    await provider.aclose()


async def test_card_decline_keeps_the_decline_code(mock):
    mock.handler = lambda request: httpx.Response(
        402,
        json={
            "error": {
                "type": "card_error",
                "code": "card_declined",
                "decline_code": "insufficient_funds",
                "message": "Your card has insufficient funds.",
                "payment_intent": {"id": "pi_123", "object": "payment_intent"},
            }
        },
    )
    f = factory(mock)
    with pytest.raises(stripe.CardError) as info:
        await f.for_tenant("ten_a", 1, KEY_A).v1.balance.retrieve_async()
    typed = translate(info.value)
    assert isinstance(typed, perr.CardDeclined)
    assert typed.decline_code == "insufficient_funds" and typed.provider_object_id == "pi_123"


async def test_a_stripe_message_that_echoes_a_key_is_scrubbed(mock):
    mock.handler = stripe_error(
        400, "invalid_request_error", f"Invalid key {KEY_B} and secret whsec_EchoedSecret123456 in request"
    )
    f = factory(mock)
    with pytest.raises(stripe.InvalidRequestError) as info:
        await f.for_tenant("ten_a", 1, KEY_A).v1.balance.retrieve_async()
    typed = translate(info.value)
    assert KEY_B[8:] not in typed.message and "EchoedSecret123456" not in typed.message
    assert typed.__cause__ is None
