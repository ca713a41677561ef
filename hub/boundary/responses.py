"""Headers on every /v1 response, errors and 404s included (hooked at the app's ``before_send``)."""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

#: Responses carry API keys, client secrets and payment data: no shared or browser cache may
#: keep them, and a browser must not guess a type other than the one declared.
HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


async def api_headers(message: Message, scope: Scope) -> None:
    if message["type"] != "http.response.start" or not str(scope.get("path", "")).startswith("/v1"):
        return
    headers = MutableScopeHeaders.from_message(message)
    for name, value in HEADERS.items():
        headers[name] = value
