"""Event hooks that show the ledger every request an HTTP client sends the hub and every answer it gets.

Hooks observe; they change nothing: the response body is read (as the tests read it anyway) so
that its bytes can be scanned.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from tests.support.canaries.ledger import LEDGER, Ledger

Client = TypeVar("Client", bound=httpx.Client | httpx.AsyncClient)


def _async_hooks(ledger: Ledger) -> tuple[Callable[..., Any], Callable[..., Any]]:
    async def on_request(request: httpx.Request) -> None:
        ledger.harvest_request(request)

    async def on_response(response: httpx.Response) -> None:
        await response.aread()
        ledger.observe_response(response)

    return on_request, on_response


def _sync_hooks(ledger: Ledger) -> tuple[Callable[..., Any], Callable[..., Any]]:
    def on_request(request: httpx.Request) -> None:
        ledger.harvest_request(request)

    def on_response(response: httpx.Response) -> None:
        response.read()
        ledger.observe_response(response)

    return on_request, on_response


def observed(client: Client, ledger: Ledger = LEDGER) -> Client:
    """``client``, with every request harvested and every response scanned by ``ledger``."""
    on_request, on_response = _async_hooks(ledger) if isinstance(client, httpx.AsyncClient) else _sync_hooks(ledger)
    hooks = client.event_hooks
    client.event_hooks = {
        "request": [*hooks.get("request", []), on_request],
        "response": [*hooks.get("response", []), on_response],
    }
    return client
