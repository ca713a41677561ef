"""A small stateful stand-in for Stripe's webhook_endpoints API, served through httpx.MockTransport.

localstripe has no webhook_endpoints API, so the plugin is driven through the
real SDK over this transport. Bodies follow Stripe's API reference: the signing ``secret`` is
returned by create only, never by list/retrieve/update.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any
from urllib.parse import parse_qsl

import httpx

from tests.support.canaries.ledger import LEDGER

#: The hub's public URL in the tests played against this fake.
PUBLIC_URL = "https://hub.example.com"


class FakeStripe:
    def __init__(self, *, forbid_endpoints: bool = False) -> None:
        self.endpoints: dict[str, dict[str, Any]] = {}
        self.secrets: dict[str, str] = {}
        self.calls: list[tuple[str, str]] = []
        #: Endpoints created with ``connect=true`` (Stripe's object does not show it; the fake remembers).
        self.connect: set[str] = set()
        #: A restricted key without webhook endpoint access: 403 on /v1/webhook_endpoints.
        self.forbid_endpoints = forbid_endpoints
        #: A revoked key: 401 on everything.
        self.reject_key = False

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def add_endpoint(self, url: str, *, events: list[str] | None = None, status: str = "enabled") -> str:
        endpoint_id = "we_" + secrets.token_hex(12)
        self.endpoints[endpoint_id] = {
            "id": endpoint_id,
            "object": "webhook_endpoint",
            "application": None,
            "url": url,
            "enabled_events": events or ["payment_intent.succeeded"],
            "status": status,
            "metadata": {},
            "created": int(time.time()),
            "livemode": False,
            "api_version": None,
            "description": None,
        }
        self.secrets[endpoint_id] = "whsec_" + secrets.token_hex(16)
        LEDGER.harvest(self.secrets[endpoint_id], "a webhook endpoint secret the Stripe stand-in made")
        return endpoint_id

    def at(self, url: str) -> list[dict[str, Any]]:
        return [e for e in self.endpoints.values() if e["url"] == url]

    def handle(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        self.calls.append((method, path))
        form = _form(request)
        if self.reject_key:
            return _error(401, None, "Invalid API Key provided: sk_test_********0001")
        if path == "/v1/balance":
            return _json(
                {"object": "balance", "available": [{"amount": 0, "currency": "usd"}], "livemode": False, "pending": []}
            )
        if not path.startswith("/v1/webhook_endpoints"):
            return _error(404, "resource_missing", f"Unrecognized request URL ({method}: {path})")
        if self.forbid_endpoints:
            return _error(
                403,
                None,
                "The provided key does not have the required permissions for this endpoint",
                type_="invalid_request_error",
            )
        endpoint_id = path.removeprefix("/v1/webhook_endpoints").strip("/") or None
        if endpoint_id is None and method == "GET":
            data = sorted(self.endpoints.values(), key=lambda e: e["created"], reverse=True)
            return _json({"object": "list", "url": "/v1/webhook_endpoints", "has_more": False, "data": data})
        if endpoint_id is None and method == "POST":
            new_id = self.add_endpoint(form["url"], events=_list(form, "enabled_events"))
            e = self.endpoints[new_id]
            e["metadata"] = {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")}
            e["api_version"] = form.get("api_version")
            e["description"] = form.get("description")
            if form.get("connect") == "true":
                self.connect.add(new_id)
            return _json({**e, "secret": self.secrets[new_id]})
        if endpoint_id not in self.endpoints:
            return _error(404, "resource_missing", f"No such webhook endpoint: '{endpoint_id}'", param="id")
        e = self.endpoints[endpoint_id]
        if method == "DELETE":
            del self.endpoints[endpoint_id]
            return _json({"id": endpoint_id, "object": "webhook_endpoint", "deleted": True})
        if method == "POST":
            if "url" in form:
                e["url"] = form["url"]
            if _list(form, "enabled_events"):
                e["enabled_events"] = _list(form, "enabled_events")
            if "disabled" in form:
                e["status"] = "disabled" if form["disabled"] == "true" else "enabled"
        return _json(e)


def _form(request: httpx.Request) -> dict[str, str]:
    body = request.content.decode() if request.method != "GET" else request.url.query.decode()
    return dict(parse_qsl(body, keep_blank_values=True))


def _list(form: dict[str, str], name: str) -> list[str]:
    return [v for k, v in sorted(form.items(), key=lambda kv: _index(kv[0])) if k.startswith(f"{name}[")]


def _index(key: str) -> int:
    inside = key[key.find("[") + 1 : key.find("]")]
    return int(inside) if inside.isdigit() else 0


def _json(body: dict[str, Any], status: int = 200) -> httpx.Response:
    return httpx.Response(
        status,
        content=json.dumps(body).encode(),
        headers={"content-type": "application/json", "request-id": "req_fake"},
    )


def _error(
    status: int, code: str | None, message: str, *, param: str | None = None, type_: str = "invalid_request_error"
) -> httpx.Response:
    err: dict[str, Any] = {"type": type_, "message": message}
    if code:
        err["code"] = code
    if param:
        err["param"] = param
    return _json({"error": err}, status)
