"""Every recurring creation writes its hub row before Stripe is called (docs/architecture.md, the
write path): a refusal leaves no row, a lost answer leaves a pending row (hidden from reads) that
the retry with the same Idempotency-Key completes on the same Stripe object, or that Stripe's
event naming it fills in.

Stripe is the emulator behind the fault-injecting proxy (tests/support/stripe_proxy.py), which
replays a known Stripe idempotency key as Stripe does: a retry under another key would make a
second object and show up in the counts. Invoices and Payment Links, which the emulator lacks,
are played by the proxy itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from hub.db.recurring import Invoice, PaymentLink, Price, Product, SetupIntent, Subscription
from tests.support import stripe_events as se
from tests.support.hub import HubClient, TenantHandle, build_client, make_settings
from tests.support.inbox import delivered
from tests.support.payments import emulator_get, stripe_tenant
from tests.support.problem import assert_problem, db_rows
from tests.support.recurring import emulator_objects, monthly_price, new_customer, post
from tests.support.stripe_proxy import StripeProxy

#: Short, so that a held answer costs little; long enough for the emulator's ordinary calls.
DEADLINE = 4.0
WEBHOOK_SECRET = "whsec_tenantsecret00001"  # what stripe_tenant registers


@dataclass(frozen=True)
class Kind:
    route: str
    #: The Stripe POST that makes the object (the emulator's recurring prices are plans).
    stripe_path: str
    model: Any
    column: str
    #: The metadata key naming the hub's row at Stripe.
    stamp: str
    #: The hub route reading one object, where there is one.
    read: str | None = None
    #: ``GET route`` lists them.
    lists: bool = True


KINDS = {
    "product": Kind("/v1/products", "/v1/products", Product, "provider_product_id", "hub_product_id"),
    "price": Kind("/v1/prices", "/v1/plans", Price, "provider_price_id", "hub_price_id"),
    "subscription": Kind(
        "/v1/subscriptions",
        "/v1/subscriptions",
        Subscription,
        "provider_subscription_id",
        "hub_subscription_id",
        "/v1/subscriptions/{}",
    ),
    "invoice": Kind(
        "/v1/invoices", "/v1/invoices", Invoice, "provider_invoice_id", "hub_invoice_id", "/v1/invoices/{}"
    ),
    "payment_link": Kind(
        "/v1/payment-links", "/v1/payment_links", PaymentLink, "provider_payment_link_id", "hub_payment_link_id"
    ),
    "setup_intent": Kind(
        "/v1/setup-intents",
        "/v1/setup_intents",
        SetupIntent,
        "provider_setup_intent_id",
        "hub_setup_intent_id",
        lists=False,
    ),
}


@pytest.fixture
async def hub(database_url, tmp_path, stripe_proxy) -> AsyncIterator[HubClient]:
    settings = make_settings(
        database_url,
        str(tmp_path),
        HUB_STRIPE_API_BASE=stripe_proxy.url,
        HUB_STRIPE_DEADLINE_SECONDS=str(DEADLINE),
        HUB_STRIPE_MAX_NETWORK_RETRIES="2",  # the production default: the SDK's retries cross the proxy too
    )
    async with build_client(settings) as client:
        yield HubClient(client, settings)


@dataclass
class Case:
    kind: Kind
    tenant: TenantHandle
    sk: str
    body: dict[str, Any]

    async def send(self, hub: HubClient, key: str = "make-1") -> httpx.Response:
        return await post(hub, self.tenant, self.kind.route, self.body, key=key)


async def arrange(hub: HubClient, name: str) -> Case:
    """A tenant and what the creation of ``name`` needs, made before any fault is injected."""
    tenant, sk = await stripe_tenant(hub)
    body: dict[str, Any]
    if name == "product":
        body = {"name": "Membership"}
    elif name == "price":
        product = (await post(hub, tenant, "/v1/products", {"name": "Membership"})).json()
        body = {"product_id": product["id"], "currency": "usd", "unit_amount": 4900, "recurring": {"interval": "month"}}
    elif name == "subscription":
        price, member = await monthly_price(hub, tenant), await new_customer(hub, tenant)
        body = {"customer_id": member["id"], "items": [{"price_id": price["id"]}], "payment_method": "pm_card_visa"}
    elif name == "invoice":
        member = await new_customer(hub, tenant)
        line = {"description": "Consulting", "amount": 5000}
        body = {"customer_id": member["id"], "currency": "usd", "items": [line]}
    elif name == "payment_link":
        body = {"line_items": [{"price_id": (await monthly_price(hub, tenant))["id"], "quantity": 1}]}
    else:
        body = {"customer_id": (await new_customer(hub, tenant))["id"]}
    return Case(KINDS[name], tenant, sk, body)


async def rows(hub: HubClient, case: Case) -> list[Any]:
    model = case.kind.model
    return await db_rows(hub, select(model).where(model.tenant_id == case.tenant.id))


#: The objects the proxy plays (tests/support/stripe_invoicing.py), by their Stripe kind.
PLAYED = {Invoice: "invoice", PaymentLink: "payment_link"}


def at_stripe(emulator, proxy: StripeProxy, case: Case, hub_id: str) -> list[dict[str, Any]]:
    """The Stripe objects that name ``hub_id`` in their metadata."""
    stamp = {case.kind.stamp: hub_id}
    if case.kind.model in PLAYED:
        return proxy.invoicing.objects(PLAYED[case.kind.model], **stamp)
    return emulator_objects(emulator, case.sk, case.kind.stripe_path, **stamp)


async def listed(hub: HubClient, case: Case) -> list[str]:
    if not case.kind.lists:
        return []
    r = await hub.request("GET", f"{case.kind.route}?limit=100", headers=case.tenant.admin)
    assert r.status_code == 200, r.text
    return [o["id"] for o in r.json()["data"]]


async def lose_an_answer(hub: HubClient, proxy: StripeProxy, case: Case) -> Any:
    """The creation under a held answer: Stripe acts, the hub's deadline passes. Returns its pending row."""
    proxy.inject("delay", "POST", case.kind.stripe_path, times=None)
    started = time.monotonic()
    sent = asyncio.create_task(case.send(hub))
    deadline = time.monotonic() + 2 * DEADLINE
    while not proxy.posts(case.kind.stripe_path):
        assert time.monotonic() < deadline and not sent.done(), "the call never reached Stripe"
        await asyncio.sleep(0.02)
    # The call is held at Stripe: the hub's row is already written, without a provider id.
    [held] = await rows(hub, case)
    assert getattr(held, case.kind.column) is None
    assert_problem(await sent, 503, "provider_unavailable")
    # Within the overall deadline (its per-attempt timeout is the same 4 s here): a deadline
    # thrown into the call was once taken for the attempt's own timeout and retried, 13 s in all.
    elapsed = time.monotonic() - started
    assert elapsed < 2 * DEADLINE, f"{elapsed:.1f} s, past the {DEADLINE:g} s deadline"
    proxy.clear()
    [row] = await rows(hub, case)
    assert row.id == held.id and getattr(row, case.kind.column) is None
    return row


@pytest.mark.parametrize("name", KINDS)
async def test_a_creation_stripe_refuses_leaves_no_row_and_frees_the_key(hub, emulator, stripe_proxy, name):
    case = await arrange(hub, name)
    stripe_proxy.refuse("POST", case.kind.stripe_path)
    assert_problem(await case.send(hub), 400, "provider_error")
    assert await rows(hub, case) == []
    assert await listed(hub, case) == []

    made = await case.send(hub)  # the key is free again: this is a new creation
    assert made.status_code == 201, made.text
    [row] = await rows(hub, case)
    assert row.id == made.json()["id"] and getattr(row, case.kind.column) == made.json()[case.kind.column]
    assert len(at_stripe(emulator, stripe_proxy, case, row.id)) == 1


@pytest.mark.parametrize("name", KINDS)
async def test_a_lost_answer_leaves_a_pending_row_the_retry_completes_on_the_same_stripe_object(
    hub, emulator, stripe_proxy, name
):
    case = await arrange(hub, name)
    before = await listed(hub, case)
    pending = await lose_an_answer(hub, stripe_proxy, case)
    [made] = at_stripe(emulator, stripe_proxy, case, pending.id)  # Stripe acted once
    # Reads do not show a row whose provider id is unknown (the response's id fields are never null).
    assert await listed(hub, case) == before
    if case.kind.read:
        url = case.kind.read.format(pending.id)
        assert_problem(await hub.request("GET", url, headers=case.tenant.admin), 404, "not_found")
    if name == "subscription":  # nor does a sync trip over it (the retry is what completes it)
        synced = await hub.request("POST", f"/v1/subscriptions/{pending.id}/sync", headers=case.tenant.admin)
        assert_problem(synced, 404, "not_found")

    retried = await case.send(hub)
    assert retried.status_code == 201, retried.text
    answer = retried.json()
    assert answer["id"] == pending.id and answer[case.kind.column] == made["id"]
    [row] = await rows(hub, case)
    assert getattr(row, case.kind.column) == made["id"]
    assert [o["id"] for o in at_stripe(emulator, stripe_proxy, case, pending.id)] == [made["id"]]
    keys = {p.idempotency_key for p in stripe_proxy.posts(case.kind.stripe_path)}
    assert len(keys) == 1  # every attempt asked under one Stripe idempotency key
    again = await case.send(hub)  # a replay of the stored answer
    assert again.json() == answer and again.headers["idempotent-replayed"] == "true"


EVENTS = {
    "subscription": "customer.subscription.updated",
    "invoice": "invoice.finalized",
    "setup_intent": "setup_intent.succeeded",
}


@pytest.mark.parametrize("name", EVENTS)
async def test_stripes_event_fills_the_pending_row_it_names_and_the_retry_answers_it(hub, emulator, stripe_proxy, name):
    case = await arrange(hub, name)
    pending = await lose_an_answer(hub, stripe_proxy, case)
    [made] = at_stripe(emulator, stripe_proxy, case, pending.id)
    if case.kind.model not in PLAYED:
        made = emulator_get(emulator, case.sk, f"{case.kind.stripe_path}/{made['id']}")  # the whole object
    r = await delivered(hub, case.tenant.id, se.encode(se.event(EVENTS[name], made)), WEBHOOK_SECRET)
    assert r.status_code == 200, r.text
    [row] = await rows(hub, case)
    assert row.id == pending.id and getattr(row, case.kind.column) == made["id"]
    assert await listed(hub, case) == ([pending.id] if case.kind.lists else [])

    asked = len(stripe_proxy.posts(case.kind.stripe_path))
    retried = await case.send(hub)  # the row is complete: answered at once, Stripe is not asked again
    assert retried.status_code == 201, retried.text
    assert retried.json()["id"] == pending.id and retried.json()[case.kind.column] == made["id"]
    assert len(stripe_proxy.posts(case.kind.stripe_path)) == asked
    assert len(await rows(hub, case)) == 1
    assert len(at_stripe(emulator, stripe_proxy, case, pending.id)) == 1


async def test_a_lost_answer_without_a_key_leaves_no_row_for_nobody_to_resume(hub, emulator, stripe_proxy):
    case = await arrange(hub, "product")
    stripe_proxy.inject("reset_after", "POST", case.kind.stripe_path, times=None)
    r = await post(hub, case.tenant, case.kind.route, case.body)
    assert_problem(r, 503, "provider_unavailable")
    assert await rows(hub, case) == []
