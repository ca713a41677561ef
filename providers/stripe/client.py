"""Stripe clients for many tenants: one shared connection pool, a bounded cache of per-tenant clients.

Never sets a ``stripe.*`` global: each tenant's key lives only in its own ``StripeClient``.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx
import stripe

from providers.stripe.errors import DeadlineExceeded

log = logging.getLogger("providers.stripe")

#: ``(operation, outcome, seconds)``, called once per API call (see ProviderOptions.call_observer).
CallObserver = Callable[[str, str, float], None]

#: A path segment that is an object id (``pi_3Mtw…``, ``cus_…``): digits or capitals, or long.
_ID_SEGMENT = re.compile(r"(?=.*[0-9A-Z])[A-Za-z0-9_.-]+|[a-z]+_[a-z0-9]{12,}|.{25,}")


def operation_name(method: str, url: str) -> str:
    """``POST /v1/payment_intents/{id}/capture`` for a call to ``…/v1/payment_intents/pi_123/capture?…``.

    Bounded: ids never become part of the name, so it is safe as a metric label.
    """
    segments = [("{id}" if s != "v1" and _ID_SEGMENT.fullmatch(s) else s) for s in urlsplit(url).path.split("/")]
    return f"{method.upper()} {'/'.join(segments)}"


def _outcome(status: int | None) -> str:
    if status is None:
        return "unreachable"
    if status < 400:
        return "ok"
    return "client_error" if status < 500 else "server_error"


class SharedHTTPXClient(stripe.HTTPXClient):
    """``stripe.HTTPXClient`` whose ``httpx.AsyncClient`` (pool, timeouts, transport) the hub builds.

    stripe-python keeps the async client in the private ``_client_async``, and offers no public
    way to give it one: its constructor builds its own ``httpx.AsyncClient`` from nothing but a
    timeout, with no transport, pool limits or client argument. So it is replaced here (once, at
    construction); a test fails if the SDK stops honouring it (tests/unit/test_stripe_client.py).
    """

    def __init__(
        self,
        *,
        timeout: float,
        deadline: float = 25.0,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 100,
        observer: CallObserver | None = None,
    ) -> None:
        self.deadline = deadline
        timeout = min(timeout, deadline)
        # A short connect timeout: an unreachable Stripe should fail fast, not hold a worker.
        timeouts = httpx.Timeout(timeout, connect=min(timeout, 5.0))
        # The SDK passes its ``_timeout`` on every request, overriding the client's own: give it
        # the same object so the connect limit is not replaced by a flat one.
        super().__init__(timeout=timeouts)
        # Every connection is kept alive: a pool that keeps fewer than the calls in flight closes
        # and reopens connections (a TCP and TLS handshake each) under a steady load.
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._client_async = httpx.AsyncClient(transport=transport, limits=limits, timeout=timeouts)
        self._observer = observer

    async def request_with_retries_async(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        post_data: Any = None,
        max_network_retries: int | None = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[Any, int, Any]:
        """The SDK's call with its retries, under one overall deadline, timed once.

        Per-attempt timeouts alone allow (timeout + back-off) x attempts, past what a storefront
        or a load balancer waits; the caller gets a clear "unavailable" within the deadline instead.
        The Stripe idempotency key makes a later retry of a call cut short here safe. Each call
        writes one DEBUG line and one observation (the hub's metrics), retries included.
        """
        started = time.perf_counter()
        status: int | None = None
        try:
            async with asyncio.timeout(self.deadline):
                result = await super().request_with_retries_async(
                    method, url, headers, post_data, max_network_retries, _usage=_usage
                )
            status = result[1]
            return result
        except TimeoutError:
            raise DeadlineExceeded(
                f"Stripe did not answer within the {self.deadline:g} s deadline", should_retry=False
            ) from None
        finally:
            seconds = time.perf_counter() - started
            operation, outcome = operation_name(method, url), _outcome(status)
            log.debug("stripe %s -> %s in %.0f ms", operation, status or outcome, seconds * 1000)
            if self._observer is not None:
                self._observer(operation, outcome, seconds)

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
        deadline: float = 25.0,
        transport: httpx.AsyncBaseTransport | None = None,
        observer: CallObserver | None = None,
        max_connections: int = 100,
    ) -> None:
        self._api_base = api_base.rstrip("/") if api_base else None
        self._max_network_retries = max_network_retries
        self._cache_size = max(1, cache_size)
        # value: (the secret key it was built with, client). The key check makes a reused
        # version number (credentials deleted, then registered again) rebuild, never reuse.
        self._cache: OrderedDict[tuple[str, int], tuple[str, stripe.StripeClient]] = OrderedDict()
        self.http_client = SharedHTTPXClient(
            timeout=timeout, deadline=deadline, transport=transport, observer=observer, max_connections=max_connections
        )

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
