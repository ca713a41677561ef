"""Stripe clients for many tenants: one shared connection pool, a bounded cache of per-tenant clients.

Never sets a ``stripe.*`` global: each tenant's key lives only in its own ``StripeClient``.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import httpx
import stripe


class SharedHTTPXClient(stripe.HTTPXClient):
    """``stripe.HTTPXClient`` whose ``httpx.AsyncClient`` (pool, timeouts, transport) the hub builds.

    stripe-python keeps the async client in the private ``_client_async``; a test fails if the
    SDK stops honouring it (tests/unit/test_stripe_client.py).
    """

    def __init__(
        self, *, timeout: float, transport: httpx.AsyncBaseTransport | None = None, max_connections: int = 100
    ) -> None:
        # A short connect timeout: an unreachable Stripe should fail fast, not hold a worker.
        timeouts = httpx.Timeout(timeout, connect=min(timeout, 5.0))
        # The SDK passes its ``_timeout`` on every request, overriding the client's own: give it
        # the same object so the connect limit is not replaced by a flat one.
        super().__init__(timeout=timeouts)
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=20)
        self._client_async = httpx.AsyncClient(transport=transport, limits=limits, timeout=timeouts)

    async def aclose(self) -> None:
        await self._client_async.aclose()


class StripeClientFactory:
    """Builds and caches ``StripeClient`` objects keyed by (tenant_id, credentials_version)."""

    def __init__(
        self,
        *,
        api_base: str | None,
        timeout: float,
        max_network_retries: int,
        cache_size: int,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._api_base = api_base.rstrip("/") if api_base else None
        self._max_network_retries = max_network_retries
        self._cache_size = max(1, cache_size)
        # value: (the secret key it was built with, client). The key check makes a reused
        # version number (credentials deleted, then registered again) rebuild, never reuse.
        self._cache: OrderedDict[tuple[str, int], tuple[str, stripe.StripeClient]] = OrderedDict()
        self.http_client = SharedHTTPXClient(timeout=timeout, transport=transport)

    def _build(self, secret_key: str) -> stripe.StripeClient:
        kwargs: dict[str, Any] = {
            "http_client": self.http_client,
            "max_network_retries": self._max_network_retries,
        }
        if self._api_base:
            kwargs["base_addresses"] = {"api": self._api_base, "files": self._api_base, "connect": self._api_base}
        return stripe.StripeClient(secret_key, **kwargs)

    def for_tenant(self, tenant_id: str, credentials_version: int, secret_key: str) -> stripe.StripeClient:
        key = (tenant_id, credentials_version)
        hit = self._cache.get(key)
        if hit is not None and hit[0] == secret_key:
            self._cache.move_to_end(key)
            return hit[1]
        client = self._build(secret_key)
        self._cache[key] = (secret_key, client)
        # Drop this tenant's older versions at once, then the least recently used beyond the bound.
        for stale in [k for k in self._cache if k[0] == tenant_id and k[1] != credentials_version]:
            del self._cache[stale]
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return client

    def unbound(self, secret_key: str) -> stripe.StripeClient:
        """A client that is not cached: for checking credentials that are not stored yet."""
        return self._build(secret_key)

    def __len__(self) -> int:
        return len(self._cache)

    async def aclose(self) -> None:
        self._cache.clear()
        await self.http_client.aclose()
