"""A fast Stripe stand-in for the benchmark: a bare ASGI app (no framework) on loopback.

It answers only the calls the hub makes on its hot paths, with the shapes of Stripe's API
reference, and keeps the PaymentIntents it created so a retrieve finds them:
- ``GET /v1/balance``: the credential check of ``PUT /v1/providers/stripe/credentials``;
- ``POST /v1/payment_intents``, ``GET /v1/payment_intents/{id}``, ``GET /v1/payment_intents/search``;
- ``GET/POST /v1/webhook_endpoints``: an empty list and a created endpoint with its ``secret``,
  in case a hub registers its endpoint itself (the benchmark passes a webhook secret, so it should not).

Anything else is Stripe's 404 ``resource_missing``, so a new call the hub starts making shows up
as an error count in the benchmark, never as a silent success.

Run: ``python bench/standin.py --port 8421`` (uvicorn, one process, no access log).
"""

from __future__ import annotations

import argparse
import json
import secrets
import time
from typing import Any
from urllib.parse import parse_qsl

_INTENTS: dict[str, dict[str, Any]] = {}
_INTENTS_KEPT = 200_000  # a bound, so a long run cannot grow the stand-in without end


def _form(body: bytes) -> dict[str, Any]:
    """Stripe's form encoding (``metadata[k]=v``) to a dict with a nested ``metadata``."""
    out: dict[str, Any] = {"metadata": {}}
    for key, value in parse_qsl(body.decode(), keep_blank_values=True):
        if key.startswith("metadata[") and key.endswith("]"):
            out["metadata"][key[9:-1]] = value
        else:
            out[key] = value
    return out


def payment_intent(form: dict[str, Any]) -> dict[str, Any]:
    pi_id = "pi_" + secrets.token_hex(12)
    confirm = form.get("confirm") == "true"
    manual = form.get("capture_method") == "manual"
    amount = int(form.get("amount") or 0)
    status = "requires_payment_method"
    if confirm and form.get("payment_method"):
        status = "requires_capture" if manual else "succeeded"
    return {
        "id": pi_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": amount if status == "requires_capture" else 0,
        "amount_received": amount if status == "succeeded" else 0,
        "capture_method": "manual" if manual else "automatic",
        "client_secret": f"{pi_id}_secret_{secrets.token_hex(8)}",
        "confirmation_method": "automatic",
        "created": int(time.time()),
        "currency": form.get("currency", "usd"),
        "customer": form.get("customer"),
        "description": form.get("description"),
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": form.get("metadata", {}),
        "payment_method": form.get("payment_method"),
        "payment_method_types": ["card"],
        "status": status,
    }


def route(method: str, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
    if path == "/v1/balance":
        return 200, {
            "object": "balance",
            "available": [{"amount": 0, "currency": "usd", "source_types": {"card": 0}}],
            "pending": [{"amount": 0, "currency": "usd", "source_types": {"card": 0}}],
            "livemode": False,
        }
    if path == "/v1/payment_intents" and method == "POST":
        pi = payment_intent(_form(body))
        if len(_INTENTS) >= _INTENTS_KEPT:
            _INTENTS.pop(next(iter(_INTENTS)))
        _INTENTS[pi["id"]] = pi
        return 200, pi
    if path == "/v1/payment_intents/search":
        return 200, {"object": "search_result", "url": path, "has_more": False, "next_page": None, "data": []}
    if path.startswith("/v1/payment_intents/") and method == "GET":
        found = _INTENTS.get(path.rsplit("/", 1)[1])
        if found is not None:
            return 200, found
    if path == "/v1/webhook_endpoints":
        if method == "GET":
            return 200, {"object": "list", "url": path, "has_more": False, "data": []}
        form = _form(body)
        endpoint_id = "we_" + secrets.token_hex(12)
        return 200, {
            "id": endpoint_id,
            "object": "webhook_endpoint",
            "url": form.get("url"),
            "enabled_events": [v for k, v in parse_qsl(body.decode()) if k.startswith("enabled_events[")],
            "status": "enabled",
            "metadata": form["metadata"],
            "secret": "whsec_" + secrets.token_hex(16),
            "created": int(time.time()),
            "livemode": False,
            "api_version": form.get("api_version"),
            "description": form.get("description"),
        }
    return 404, {
        "error": {
            "type": "invalid_request_error",
            "code": "resource_missing",
            "message": f"Unrecognized request URL ({method}: {path})",
        }
    }


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    chunks = []
    more = True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    status, payload = route(scope["method"], scope["path"], b"".join(chunks))
    raw = json.dumps(payload).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"request-id", b"req_" + secrets.token_hex(7).encode()),
        (b"stripe-version", b"2026-10-28.endive"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": raw})


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False, server_header=False)


if __name__ == "__main__":
    main()
