"""One Idempotency-Key behaviour on every route docs/api.md lists under "Idempotency".

For each route, with the same key: the same body replays the first response (its status and its
very bytes) with ``Idempotent-Replayed: true`` and sends nothing to Stripe; another body (or the
same route on another object) is 409 ``idempotency_conflict``; and the key on another tenant, or
on another route of the same tenant, is a request of its own.

Stripe is the emulator where it has the objects (payment intents, refunds, customers, setup
intents) and Stripe-shaped fakes where it does not (checkout sessions, the catalogue's one-off
prices, price-based subscriptions, invoices, payment links); either way every write that reaches
"Stripe" is counted.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.integration.test_payments_sync import CHECKOUT_BODY, checkout_stripe
from tests.support.hub import HubClient, TenantHandle
from tests.support.payments import Recorder, create_payment, recorded_hub, stripe_tenant
from tests.support.problem import assert_problem
from tests.support.recurring import new_customer, post
from tests.support.stripe_mock import StripeMock, hub_over
from tests.support.stripe_recurring import StripeRecurring

KEY = "the-same-key"


@dataclass
class Case:
    """One route's request for one tenant, and another request with the same key on the same route."""

    path: str
    body: Any
    other_path: str
    other_body: Any


Setup = Callable[[HubClient, TenantHandle], Awaitable[Case]]
Writes = Callable[[], int]


async def _ok(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code in (200, 201), r.text
    return r.json()


async def _payment(hub: HubClient, tenant: TenantHandle, *, manual: bool = False) -> dict[str, Any]:
    return await _ok(
        await create_payment(
            hub, tenant, capture_method="manual" if manual else "automatic", payment_method="pm_card_visa", confirm=True
        )
    )


async def _price(hub: HubClient, tenant: TenantHandle, *, recurring: bool) -> dict[str, Any]:
    product = await _ok(await post(hub, tenant, "/v1/products", {"name": "Membership"}))
    body: dict[str, Any] = {"product_id": product["id"], "currency": "usd", "unit_amount": 900}
    if recurring:
        body["recurring"] = {"interval": "month"}
    return await _ok(await post(hub, tenant, "/v1/prices", body))


async def _subscription(hub: HubClient, tenant: TenantHandle) -> dict[str, Any]:
    member, price = await new_customer(hub, tenant), await _price(hub, tenant, recurring=True)
    body = {"customer_id": member["id"], "items": [{"price_id": price["id"]}], "trial_days": 7}
    return await _ok(await post(hub, tenant, "/v1/subscriptions", body))


async def _invoice(hub: HubClient, tenant: TenantHandle, *, send: bool) -> dict[str, Any]:
    guest = await new_customer(hub, tenant)
    body = {"customer_id": guest["id"], "currency": "usd", "items": [{"description": "Room", "amount": 1000}]}
    return await _ok(await post(hub, tenant, "/v1/invoices", {**body, "send": send}))


async def _link(hub: HubClient, tenant: TenantHandle) -> dict[str, Any]:
    price = await _price(hub, tenant, recurring=False)
    return await _ok(await post(hub, tenant, "/v1/payment-links", {"line_items": [{"price_id": price["id"]}]}))


async def payments(hub, tenant) -> Case:
    body = {"amount": 2000, "currency": "usd"}
    return Case("/v1/payments", body, "/v1/payments", {**body, "amount": 2001})


async def capture(hub, tenant) -> Case:
    path = f"/v1/payments/{(await _payment(hub, tenant, manual=True))['id']}/capture"
    return Case(path, {"amount": 1500}, path, {"amount": 1000})


async def cancel(hub, tenant) -> Case:
    one, two = await _payment(hub, tenant, manual=True), await _payment(hub, tenant, manual=True)
    return Case(f"/v1/payments/{one['id']}/cancel", None, f"/v1/payments/{two['id']}/cancel", None)


async def refunds(hub, tenant) -> Case:
    path = f"/v1/payments/{(await _payment(hub, tenant))['id']}/refunds"
    return Case(path, {"amount": 500}, path, {"amount": 600})


async def customers(hub, tenant) -> Case:
    return Case("/v1/customers", {"email": "ana@example.com"}, "/v1/customers", {"email": "bo@example.com"})


async def checkout_sessions(hub, tenant) -> Case:
    other = {**CHECKOUT_BODY, "line_items": [{"name": "Mug", "unit_amount": 1000, "quantity": 3}]}
    return Case("/v1/checkout/sessions", CHECKOUT_BODY, "/v1/checkout/sessions", other)


async def notification_endpoints(hub, tenant) -> Case:
    path = "/v1/notification-endpoints"
    return Case(path, {"url": "http://127.0.0.1:9/hooks"}, path, {"url": "http://127.0.0.1:9/other"})


async def setup_intents(hub, tenant) -> Case:
    one, two = await new_customer(hub, tenant), await new_customer(hub, tenant)
    return Case("/v1/setup-intents", {"customer_id": one["id"]}, "/v1/setup-intents", {"customer_id": two["id"]})


async def products(hub, tenant) -> Case:
    return Case("/v1/products", {"name": "Gold"}, "/v1/products", {"name": "Silver"})


async def prices(hub, tenant) -> Case:
    product = await _ok(await post(hub, tenant, "/v1/products", {"name": "Gold"}))
    body = {"product_id": product["id"], "currency": "usd", "unit_amount": 900, "recurring": {"interval": "month"}}
    return Case("/v1/prices", body, "/v1/prices", {**body, "unit_amount": 1000})


async def subscriptions(hub, tenant) -> Case:
    member, price = await new_customer(hub, tenant), await _price(hub, tenant, recurring=True)
    body = {"customer_id": member["id"], "items": [{"price_id": price["id"]}], "trial_days": 7}
    return Case("/v1/subscriptions", body, "/v1/subscriptions", {**body, "trial_days": 8})


async def subscription_cancel(hub, tenant) -> Case:
    path = f"/v1/subscriptions/{(await _subscription(hub, tenant))['id']}/cancel"
    return Case(path, {"at_period_end": True}, path, {"at_period_end": False})


async def invoices(hub, tenant) -> Case:
    guest = await new_customer(hub, tenant)
    body = {"customer_id": guest["id"], "currency": "usd", "items": [{"description": "Room", "amount": 1000}]}
    return Case("/v1/invoices", body, "/v1/invoices", {**body, "days_until_due": 5})


async def invoice_send(hub, tenant) -> Case:
    one, two = await _invoice(hub, tenant, send=False), await _invoice(hub, tenant, send=False)
    return Case(f"/v1/invoices/{one['id']}/send", None, f"/v1/invoices/{two['id']}/send", None)


async def invoice_void(hub, tenant) -> Case:
    one, two = await _invoice(hub, tenant, send=True), await _invoice(hub, tenant, send=True)
    return Case(f"/v1/invoices/{one['id']}/void", None, f"/v1/invoices/{two['id']}/void", None)


async def payment_links(hub, tenant) -> Case:
    price = await _price(hub, tenant, recurring=False)
    body = {"line_items": [{"price_id": price["id"]}]}
    return Case(
        "/v1/payment-links", body, "/v1/payment-links", {"line_items": [{"price_id": price["id"], "quantity": 2}]}
    )


async def payment_link_deactivate(hub, tenant) -> Case:
    one, two = await _link(hub, tenant), await _link(hub, tenant)
    return Case(f"/v1/payment-links/{one['id']}/deactivate", None, f"/v1/payment-links/{two['id']}/deactivate", None)


EMULATOR, FAKE = "emulator", "fake"

#: (route, its setup, the status of its first answer, the Stripe it talks to)
ROUTES: list[tuple[Setup, int, str]] = [
    (payments, 201, EMULATOR),
    (capture, 200, EMULATOR),
    (cancel, 200, EMULATOR),
    (refunds, 201, EMULATOR),
    (customers, 201, EMULATOR),
    (checkout_sessions, 201, EMULATOR),
    (notification_endpoints, 201, EMULATOR),
    (setup_intents, 201, EMULATOR),
    (products, 201, FAKE),
    (prices, 201, FAKE),
    (subscriptions, 201, FAKE),
    (subscription_cancel, 200, FAKE),
    (invoices, 201, FAKE),
    (invoice_send, 200, FAKE),
    (invoice_void, 200, FAKE),
    (payment_links, 201, FAKE),
    (payment_link_deactivate, 200, FAKE),
]


@asynccontextmanager
async def _hub(stripe: str, database_url: str, home: str, emulator_url: str) -> AsyncIterator[tuple[HubClient, Writes]]:
    """The hub, and a count of the writes that reached Stripe: the emulator (with checkout sessions,
    which it lacks, played in front of it), or a Stripe-shaped fake with real Stripe's one-off prices,
    price-based subscriptions, invoices and payment links."""
    if stripe == EMULATOR:
        recorder = Recorder(emulator_url, answer=checkout_stripe({}))
        async with recorded_hub(database_url, home, emulator_url, recorder) as hub:
            yield hub, lambda: sum(1 for method, _, _ in recorder.requests if method != "GET")
        return
    mock = StripeMock(StripeRecurring().handle)
    async with hub_over(mock, database_url, home) as hub:
        yield hub, lambda: sum(1 for r in mock.requests if r.method != "GET")


async def _send(hub: HubClient, tenant: TenantHandle, path: str, body: Any, key: str) -> httpx.Response:
    return await post(hub, tenant, path, body, key=key, scope="admin")


@pytest.mark.parametrize(("setup", "status", "stripe"), ROUTES, ids=[setup.__name__ for setup, _, _ in ROUTES])
async def test_every_route_replays_refuses_another_body_and_scopes_its_keys(
    database_url, emulator, tmp_path, setup, status, stripe
):
    async with _hub(stripe, database_url, str(tmp_path), emulator.url) as (hub, writes):
        a, _ = await stripe_tenant(hub, "A")
        b, _ = await stripe_tenant(hub, "B")
        mine, theirs = await setup(hub, a), await setup(hub, b)
        reaches_stripe = setup is not notification_endpoints

        before = writes()
        first = await _send(hub, a, mine.path, mine.body, KEY)
        assert first.status_code == status and "idempotent-replayed" not in first.headers, first.text
        made = writes()
        assert (made > before) == reaches_stripe

        again = await _send(hub, a, mine.path, mine.body, KEY)
        assert (again.status_code, again.content) == (first.status_code, first.content)
        assert again.headers["idempotent-replayed"] == "true"
        assert again.headers["content-type"].startswith("application/json")
        assert writes() == made  # nothing new at Stripe

        other = await _send(hub, a, mine.other_path, mine.other_body, KEY)
        assert_problem(other, 409, "idempotency_conflict", param="Idempotency-Key")
        assert writes() == made

        # The same key at another tenant is that tenant's own first request.
        at_b = await _send(hub, b, theirs.path, theirs.body, KEY)
        assert at_b.status_code == status and "idempotent-replayed" not in at_b.headers, at_b.text
        assert at_b.json()["id"] != first.json()["id"] and (writes() > made) == reaches_stripe

        # So is the same key on another route of the same tenant.
        elsewhere, body = ("/v1/products", {"name": "Elsewhere"}) if setup is customers else ("/v1/customers", {})
        r = await _send(hub, a, elsewhere, body, KEY)
        assert r.status_code == 201 and "idempotent-replayed" not in r.headers, r.text

        if not reaches_stripe:
            listed = (await hub.request("GET", mine.path, headers=a.admin)).json()["data"]
            assert [e["id"] for e in listed] == [first.json()["id"]]
