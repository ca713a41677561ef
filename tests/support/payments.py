"""Helpers for payment tests: tenants with Stripe keys, the emulator's view, recording transports."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx

from tests.support.emulator import Emulator
from tests.support.hub import HubClient, TenantHandle, build_client, make_settings


async def stripe_tenant(hub: HubClient, name: str = "Acme") -> tuple[TenantHandle, str]:
    """A tenant with its own Stripe test keys registered; returns it and its secret key."""
    tenant = await hub.create_tenant(name)
    token = secrets.token_hex(8)
    sk = f"sk_test_{token}"
    r = await hub.register_stripe(tenant, secret_key=sk, publishable_key=f"pk_test_{token}")
    assert r.status_code == 200, r.text
    return tenant, sk


async def create_payment(hub: HubClient, tenant: TenantHandle, **body: Any) -> httpx.Response:
    headers = dict(tenant.storefront)
    if "idempotency_key" in body:
        headers["Idempotency-Key"] = body.pop("idempotency_key")
    payload = {"amount": 2000, "currency": "usd", **body}
    return await hub.request("POST", "/v1/payments", json=payload, headers=headers)


def emulator_intents(emulator: Emulator, secret_key: str, **metadata: str) -> list[dict[str, Any]]:
    """Every PaymentIntent at the emulator whose metadata holds ``metadata`` (it has no filter itself)."""
    found: list[dict[str, Any]] = []
    after: str | None = None
    with httpx.Client(base_url=emulator.url, auth=(secret_key, ""), timeout=10) as client:
        while True:
            params: dict[str, Any] = {"limit": 100}
            if after:
                params["starting_after"] = after
            page = client.get("/v1/payment_intents", params=params).raise_for_status().json()
            for pi in page["data"]:
                if all((pi.get("metadata") or {}).get(k) == v for k, v in metadata.items()):
                    found.append(pi)
            if not page.get("has_more") or not page["data"]:
                return found
            after = page["data"][-1]["id"]


def emulator_get(emulator: Emulator, secret_key: str, path: str) -> dict[str, Any]:
    r = httpx.get(f"{emulator.url}{path}", auth=(secret_key, ""), timeout=10)
    r.raise_for_status()
    return r.json()


def emulator_card(emulator: Emulator, secret_key: str, number: str) -> str:
    """A PaymentMethod for a raw test card number (the emulator accepts numbers; Stripe would not)."""
    r = httpx.post(
        f"{emulator.url}/v1/payment_methods",
        auth=(secret_key, ""),
        timeout=10,
        data={
            "type": "card",
            "card[number]": number,
            "card[exp_month]": "12",
            "card[exp_year]": "2040",
            "card[cvc]": "123",
        },
    )
    r.raise_for_status()
    return r.json()["id"]


class Recorder:
    """An HTTP transport that forwards to the emulator and records every request reaching "Stripe".

    ``delay`` holds each answer back, so that a concurrent request gets to run meanwhile;
    ``answer`` may replace the emulator for chosen requests (return None to forward).
    """

    def __init__(
        self,
        emulator_url: str,
        *,
        delay: float = 0.0,
        answer: Callable[[httpx.Request], httpx.Response | None] | None = None,
    ) -> None:
        self.emulator_url = emulator_url
        self.delay = delay
        self.answer = answer
        self.requests: list[tuple[str, str, bytes]] = []
        self.headers: list[httpx.Headers] = []
        self.transport = httpx.MockTransport(self._handle)

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        self.requests.append((request.method, request.url.path, body))
        self.headers.append(request.headers)
        if self.answer is not None:
            canned = self.answer(request)
            if canned is not None:
                return canned
        if self.delay:
            await asyncio.sleep(self.delay)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in {"host", "content-length"}}
        async with httpx.AsyncClient(timeout=10) as client:
            r = await client.request(
                request.method, f"{self.emulator_url}{request.url.raw_path.decode()}", headers=headers, content=body
            )
        drop = {"content-encoding", "content-length", "transfer-encoding", "connection"}
        return httpx.Response(
            r.status_code, headers={k: v for k, v in r.headers.items() if k.lower() not in drop}, content=r.content
        )

    def calls(self, method: str, path: str) -> int:
        return sum(1 for m, p, _ in self.requests if m == method and p == path)

    def idempotency_keys(self, method: str, path: str) -> list[str | None]:
        return [
            h.get("idempotency-key")
            for (m, p, _), h in zip(self.requests, self.headers, strict=False)
            if m == method and p == path
        ]


def stripe_error(status: int, type_: str, message: str, **fields: Any) -> httpx.Response:
    """A Stripe-shaped error answer (API reference, "Errors")."""
    return httpx.Response(status, json={"error": {"type": type_, "message": message, **fields}})


def lose_answers(recorder: Recorder, method: str, path: str, times: int = 1) -> None:
    """The request reaches Stripe (the emulator acts on it) but its answer is lost: a 500 after the fact."""
    original = recorder._handle
    left = {"n": times}

    async def lossy(request: httpx.Request) -> httpx.Response:
        response = await original(request)
        if request.method == method and request.url.path == path and left["n"]:
            left["n"] -= 1
            return stripe_error(500, "api_error", "Something went wrong on Stripe's end.")
        return response

    recorder.transport = httpx.MockTransport(lossy)


@asynccontextmanager
async def recorded_hub(
    database_url: str, home: str, emulator_url: str, recorder: Recorder, *, shared: bool = False, **env: str
) -> AsyncIterator[HubClient]:
    """A hub instance whose Stripe traffic goes through ``recorder`` (several may share one database);
    ``shared``: on the app built once for these settings (see ``build_client``)."""
    settings = make_settings(database_url, home, HUB_STRIPE_API_BASE=emulator_url, **env)
    options = {"http_transport": recorder.transport}
    async with build_client(settings, shared=shared, provider_options=options) as client:
        yield HubClient(client, settings)
