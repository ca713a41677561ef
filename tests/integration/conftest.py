"""Fixtures for the integration tests that play Stripe through a mock transport or a fault-injecting proxy."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.support.hub import HubClient, build_client, make_settings
from tests.support.stripe_fake import PUBLIC_URL, FakeStripe
from tests.support.stripe_mock import StripeMock, hub_over
from tests.support.stripe_proxy import StripeProxy


@pytest.fixture
def stripe_mock() -> StripeMock:
    """A Stripe played over httpx.MockTransport, under the real SDK (what the emulator cannot play)."""
    return StripeMock()


@pytest.fixture
async def mocked(stripe_mock, database_url, hub_home):
    """The hub whose tenant Stripe clients talk to ``stripe_mock``."""
    async with hub_over(stripe_mock, database_url, str(hub_home)) as client:
        yield client


@pytest.fixture
def fake() -> FakeStripe:
    """A Stripe that keeps webhook endpoints (the emulator has none), under the real SDK."""
    return FakeStripe()


@pytest.fixture
async def hub_on_fake(database_url, hub_home, fake) -> AsyncIterator[HubClient]:
    """The hub at ``PUBLIC_URL`` whose tenant Stripe clients talk to ``fake``."""
    settings = make_settings(database_url, str(hub_home), HUB_PUBLIC_URL=PUBLIC_URL)
    async with build_client(settings, provider_options={"http_transport": fake.transport()}) as client:
        yield HubClient(client, settings)


@pytest.fixture
def stripe_proxy(emulator) -> Iterator[StripeProxy]:
    """A fault-injecting proxy on its own loopback port in front of the emulator (a real network hop)."""
    proxy = StripeProxy(emulator.url)
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
