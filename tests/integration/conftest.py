"""Fixtures for the integration tests that play Stripe through a mock transport or a fault-injecting proxy."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.support.emulator import free_port
from tests.support.hub import HubClient, build_client, make_settings
from tests.support.stripe_fake import PUBLIC_URL, FakeStripe
from tests.support.stripe_mock import StripeMock, hub_over
from tests.support.stripe_proxy import StripeProxy


@pytest.fixture
def stripe_mock() -> StripeMock:
    """A Stripe played over httpx.MockTransport, under the real SDK (what the emulator cannot play)."""
    return StripeMock()


@pytest.fixture
async def mocked(stripe_mock, database_url, shared_home):
    """The hub whose tenant Stripe clients talk to ``stripe_mock`` (on an app shared across tests)."""
    async with hub_over(stripe_mock, database_url, str(shared_home), shared=True) as client:
        yield client


@pytest.fixture
def fake() -> FakeStripe:
    """A Stripe that keeps webhook endpoints (the emulator has none), under the real SDK."""
    return FakeStripe()


@pytest.fixture
async def hub_on_fake(database_url, shared_home, fake) -> AsyncIterator[HubClient]:
    """The hub at ``PUBLIC_URL`` whose tenant Stripe clients talk to ``fake`` (on an app shared across tests)."""
    settings = make_settings(database_url, str(shared_home), HUB_PUBLIC_URL=PUBLIC_URL)
    async with build_client(settings, shared=True, provider_options={"http_transport": fake.transport()}) as client:
        yield HubClient(client, settings)


@pytest.fixture(scope="session")
def stripe_proxy_port() -> int:
    """The loopback port of this worker's ``stripe_proxy``: the same for every test, so the hub's
    settings (its Stripe API base) are too, and the app built for them is built once."""
    return free_port()


@pytest.fixture
def stripe_proxy(emulator, stripe_proxy_port) -> Iterator[StripeProxy]:
    """A fault-injecting proxy in front of the emulator (a real network hop), new for each test."""
    proxy = StripeProxy(emulator.url, stripe_proxy_port)
    yield proxy
    proxy.close()


@pytest.fixture
async def wompi_hub(database_url, emulator, shared_home, wompi) -> AsyncIterator[HubClient]:
    """The hub whose Wompi calls go to the stand-in over HTTP, and whose Stripe calls go to the emulator."""
    settings = make_settings(
        database_url, str(shared_home), HUB_STRIPE_API_BASE=emulator.url, HUB_WOMPI_API_BASE=wompi.url
    )
    async with build_client(settings, shared=True) as client:
        yield HubClient(client, settings)
