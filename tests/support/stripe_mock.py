"""Playing Stripe where the emulator cannot: an ``httpx.MockTransport`` with Stripe-shaped bodies.

The hub's real Stripe SDK talks to it through ``create_app(provider_options={"http_transport": ...})``,
so everything above the network (SDK, error translation, hub) is the real code.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx

from tests.support.hub import HubClient, build_client, make_settings

Handler = Callable[[httpx.Request], httpx.Response]

BALANCE = {
    "object": "balance",
    "available": [{"amount": 0, "currency": "usd", "source_types": {"card": 0}}],
    "livemode": False,
    "pending": [{"amount": 0, "currency": "usd", "source_types": {"card": 0}}],
}


def balance_ok(_: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=BALANCE, headers={"request-id": "req_mock"})


def account_ok(request: httpx.Request) -> httpx.Response:
    """A working key on an account without webhook endpoints: the balance, and an empty endpoint list."""
    if request.url.path == "/v1/webhook_endpoints" and request.method == "GET":
        empty = {"object": "list", "url": "/v1/webhook_endpoints", "has_more": False, "data": []}
        return httpx.Response(200, json=empty, headers={"request-id": "req_mock"})
    return balance_ok(request)


def stripe_error(status: int, type_: str, message: str, *, code: str | None = None) -> Handler:
    """A handler answering like Stripe's API does on an error (``{"error": {...}}``)."""

    def handle(_: httpx.Request) -> httpx.Response:
        error = {"type": type_, "message": message}
        if code:
            error["code"] = code
        return httpx.Response(status, json={"error": error}, headers={"request-id": "req_mock_err"})

    return handle


def refuses_key(request: httpx.Request) -> httpx.Response:
    """Stripe's 401 for an unknown key. Real Stripe masks the key; this echoes it whole, the worst case."""
    key = request.headers.get("authorization", "").removeprefix("Bearer ")
    return stripe_error(401, "invalid_request_error", f"Invalid API Key provided: {key}")(request)


def unreachable(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("All connection attempts failed", request=request)


def times_out(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


class StripeMock:
    """Records every request; answers with ``self.handler`` (replaceable mid-test)."""

    def __init__(self, handler: Handler = account_ok) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []
        self.transport = httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)

    def keys_used(self) -> list[str]:
        return [r.headers.get("authorization", "").removeprefix("Bearer ") for r in self.requests]

    @staticmethod
    def body(request: httpx.Request) -> dict:
        return json.loads(request.content or b"{}")


@asynccontextmanager
async def hub_over(
    mock: StripeMock, database_url: str, home: str, *, shared: bool = False, **env: str
) -> AsyncIterator[HubClient]:
    """The hub on ``database_url`` whose tenant Stripe clients all go through ``mock``; ``shared``: on
    the app built once for these settings (see ``build_client``)."""
    settings = make_settings(database_url, home, **env)
    async with build_client(settings, shared=shared, provider_options={"http_transport": mock.transport}) as client:
        yield HubClient(client, settings)
