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


class _Timed:
    """One overall deadline and one observation per call, over the SDK's own retries.

    Mixed into both HTTP clients below, before the SDK's class, so it wraps the SDK's call.
    """

    deadline: float
    _observer: CallObserver | None

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
        # The call runs as a task of its own and the deadline is waited for beside it, not raised
        # inside it: a cancellation thrown into the call can be taken for the HTTP client's own
        # per-attempt timeout when both fire together (aiohttp turns it into its TimeoutError,
        # which the SDK retries), and the deadline would then pass unnoticed.
        call = asyncio.ensure_future(
            super().request_with_retries_async(  # type: ignore[misc]
                method, url, headers, post_data, max_network_retries, _usage=_usage
            )
        )
        try:
            done, _ = await asyncio.wait({call}, timeout=self.deadline)
            if not done:
                raise DeadlineExceeded(
                    f"Stripe did not answer within the {self.deadline:g} s deadline", should_retry=False
                )
            result: tuple[Any, int, Any] = call.result()
            status = result[1]
            return result
        finally:
            if not call.done():
                call.cancel()  # past the deadline, or the request itself was cancelled
                # Its end, whatever it is, is nobody's answer now: retrieved so nothing logs it.
                call.add_done_callback(lambda task: task.cancelled() or task.exception())
            seconds = time.perf_counter() - started
            operation, outcome = operation_name(method, url), _outcome(status)
            log.debug("stripe %s -> %s in %.0f ms", operation, status or outcome, seconds * 1000)
            if self._observer is not None:
                self._observer(operation, outcome, seconds)


class SharedHTTPXClient(_Timed, stripe.HTTPXClient):
    """``stripe.HTTPXClient`` whose ``httpx.AsyncClient`` (pool, timeouts, transport) the hub builds.

    Used when a transport is given (tests put a recorder or a fake Stripe there). stripe-python
    keeps the async client in the private ``_client_async``, and offers no public way to give it
    one: its constructor builds its own ``httpx.AsyncClient`` from nothing but a timeout, with no
    transport, pool limits or client argument. So it is replaced here (once, at construction); a
    test fails if the SDK stops honouring it (tests/unit/test_stripe_client.py).
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

    async def aclose(self) -> None:
        await self._client_async.aclose()


class SharedAIOHTTPClient(_Timed, stripe.AIOHTTPClient):
    """``stripe.AIOHTTPClient`` over one ``aiohttp`` session and pool: the hub's network client.

    Measured against the same Stripe stand-in, stripe-python over aiohttp costs a fraction of
    what it costs over httpx per call (``bench/run``; docs/architecture.md), with the same retries
    (the SDK's), the same deadline and the same observation (``_Timed``). The session is made at
    the first call, inside the running loop. A failure while the body is read (a connection cut
    mid-answer) is the SDK's connection error, retried like any other, as over httpx.
    """

    def __init__(
        self,
        *,
        timeout: float,
        deadline: float = 25.0,
        max_connections: int = 100,
        observer: CallObserver | None = None,
    ) -> None:
        import aiohttp

        self.deadline = deadline
        timeout = min(timeout, deadline)
        # A short connect timeout: an unreachable Stripe should fail fast, not hold a worker.
        super().__init__(timeout=aiohttp.ClientTimeout(total=timeout, connect=min(timeout, 5.0)))
        self._max_connections = max_connections
        self._observer = observer

    @property
    def _session(self) -> Any:
        if self._cached_session is None:
            import ssl

            import aiohttp

            context = ssl.create_default_context(cafile=stripe.ca_bundle_path)
            connector = aiohttp.TCPConnector(ssl=context, limit=self._max_connections)
            self._cached_session = aiohttp.ClientSession(connector=connector)  # type: ignore[assignment]
        return self._cached_session

    async def request_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        content, status, response_headers = await self.request_stream_async(method, url, headers, post_data)
        try:
            body = await content.read()
        except Exception as exc:  # the SDK's own reading lets these escape its connection error
            self._handle_request_error(exc)
        return body, status, response_headers

    async def aclose(self) -> None:
        if self._cached_session is not None:
            await self._cached_session.close()
            self._cached_session = None


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
        # Over the network, aiohttp; through a transport a test gives (a recorder, a fake), httpx.
        self.http_client: SharedHTTPXClient | SharedAIOHTTPClient
        if transport is not None:
            self.http_client = SharedHTTPXClient(
                timeout=timeout,
                deadline=deadline,
                transport=transport,
                observer=observer,
                max_connections=max_connections,
            )
        else:
            self.http_client = SharedAIOHTTPClient(
                timeout=timeout, deadline=deadline, observer=observer, max_connections=max_connections
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
