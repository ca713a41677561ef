"""Fixtures for the integration tests that play Stripe through a mock transport."""

from __future__ import annotations

import pytest

from tests.support.stripe_mock import StripeMock, hub_over


@pytest.fixture
def stripe_mock() -> StripeMock:
    """A Stripe played over httpx.MockTransport, under the real SDK (what the emulator cannot play)."""
    return StripeMock()


@pytest.fixture
async def mocked(stripe_mock, database_url, hub_home):
    """The hub whose tenant Stripe clients talk to ``stripe_mock``."""
    async with hub_over(stripe_mock, database_url, str(hub_home)) as client:
        yield client
