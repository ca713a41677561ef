"""Stripe faults on a real network hop, for every money-moving call: a clear code within the
deadline, never a second object at Stripe, the same Stripe idempotency key on every attempt, and
a retry with the same Idempotency-Key, or a sync alone, repairs what the fault left pending.

The hub talks to the fault-injecting proxy (tests/support/stripe_proxy.py) over TCP, with the
SDK's production retries (2) and a short deadline. The proxy replays a known Stripe idempotency
key like Stripe does, so a retry under another key would act twice and show up in the counts.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import stripe._http_client as stripe_http

from tests.support.hub import HubClient, TenantHandle, build_client, make_settings
from tests.support.payments import create_payment, emulator_get, stripe_tenant
from tests.support.problem import assert_problem
from tests.support.recurring import emulator_objects
from tests.support.stripe_proxy import FAULTS as ACTED
from tests.support.stripe_proxy import StripeProxy

#: Short enough that a held answer costs little, long enough that the emulator's ordinary calls
#: (a shared, loaded machine) never reach it. The bound DEADLINE + MARGIN still catches a missing
#: overall deadline: a held answer would then cost three attempts of up to DEADLINE each.
DEADLINE = 5.0
#: Database work and scheduling around the one Stripe call each operation makes. One more deadline:
#: a loaded 2-core CI machine took 8.6 s once, while a hub without its overall deadline takes three
#: attempts of up to DEADLINE each (16.4 s measured), so the bound still tells the two apart.
MARGIN = DEADLINE
#: proxy fault -> the hub's answer
ANSWERS = {
    "delay": (503, "provider_unavailable"),
    "error_500": (503, "provider_unavailable"),
    "rate_limit_429": (429, "rate_limited"),
    "reset_before": (503, "provider_unavailable"),
    "reset_after": (503, "provider_unavailable"),
    "truncate": (503, "provider_unavailable"),
}
#: operation -> the answer to the client's retry: the route's own status, since the first attempt
#: ended in an error (not a stored answer), and the retry is the request that completes it
OPERATIONS = {"create": 201, "capture": 200, "refund": 201}
REFUND = 700


@pytest.fixture(autouse=True)
def short_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK waits 0.5 s, then up to 1 s, between its retries: about 1.5 s of sleep per faulted
    call, which these tests make by the dozen. The retries, their count and their keys are what is
    checked, not the pause between them, so the pause here is 20 ms (the hub runs in this process)."""
    monkeypatch.setattr(stripe_http.HTTPClient, "INITIAL_DELAY", 0.02)
    monkeypatch.setattr(stripe_http.HTTPClient, "MAX_DELAY", 0.04)


@asynccontextmanager
async def proxied_hub(database_url: str, home: str, proxy: StripeProxy) -> AsyncIterator[HubClient]:
    settings = make_settings(
        database_url,
        home,
        HUB_STRIPE_API_BASE=proxy.url,
        HUB_STRIPE_DEADLINE_SECONDS=str(DEADLINE),
        HUB_STRIPE_MAX_NETWORK_RETRIES="2",  # the production default: the SDK's retries cross the proxy too
    )
    async with build_client(settings, shared=True) as client:
        yield HubClient(client, settings)


@dataclass
class Case:
    """One money-moving call: the hub route, its body and key, and the Stripe POST it makes."""

    op: str
    tenant: TenantHandle
    sk: str
    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    stripe_path: str
    payment_id: str | None = None

    async def send(self, hub: HubClient) -> httpx.Response:
        return await hub.request("POST", self.path, json=self.body, headers=self.headers)


async def prepare(hub: HubClient, op: str) -> Case:
    tenant, sk = await stripe_tenant(hub)
    key = {"Idempotency-Key": f"{op}-{secrets.token_hex(6)}"}
    if op == "create":
        body = {"amount": 2000, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
        return Case(op, tenant, sk, "/v1/payments", body, {**tenant.storefront, **key}, "/v1/payment_intents")
    capture = "manual" if op == "capture" else "automatic"
    r = await create_payment(hub, tenant, capture_method=capture, payment_method="pm_card_visa", confirm=True)
    payment = r.json()
    assert payment["status"] == ("requires_capture" if op == "capture" else "succeeded"), r.text
    if op == "capture":
        path, stripe_path = (
            f"/v1/payments/{payment['id']}/capture",
            f"/v1/payment_intents/{payment['provider_payment_id']}/capture",
        )
        return Case(op, tenant, sk, path, {}, {**tenant.storefront, **key}, stripe_path, payment["id"])
    path = f"/v1/payments/{payment['id']}/refunds"
    return Case(op, tenant, sk, path, {"amount": REFUND}, {**tenant.admin, **key}, "/v1/refunds", payment["id"])


async def fail_once(hub: HubClient, proxy: StripeProxy, case: Case, fault: str) -> str:
    """The call under ``fault`` (every attempt, the SDK's retries included); returns the hub payment id."""
    proxy.inject(fault, "POST", case.stripe_path, times=None)
    started = time.monotonic()
    r = await case.send(hub)
    elapsed = time.monotonic() - started
    status, code = ANSWERS[fault]
    body = assert_problem(r, status, code)
    assert elapsed < DEADLINE + MARGIN, f"{elapsed:.1f} s, past the {DEADLINE:g} s deadline"
    proxy.clear()
    assert case.payment_id in (None, body["payment_id"])
    return body["payment_id"]


def assert_one_at_stripe(emulator, case: Case, payment_id: str, *, acted: bool) -> None:
    """Exactly one PaymentIntent per hub payment, and one refund per refund request (none if Stripe never acted)."""
    intents = emulator_objects(emulator, case.sk, "/v1/payment_intents", hub_payment_id=payment_id)
    refunds = emulator_objects(emulator, case.sk, "/v1/refunds", hub_payment_id=payment_id)
    assert len(intents) == (0 if case.op == "create" and not acted else 1), intents
    assert len(refunds) == (1 if case.op == "refund" and acted else 0), refunds
    if case.op == "capture":
        assert intents[0]["status"] == ("succeeded" if acted else "requires_capture")


def assert_one_key(proxy: StripeProxy, case: Case, *, attempts: int) -> None:
    """Every POST of the operation carried one Stripe idempotency key, and Stripe acted on it once."""
    posts = proxy.posts(case.stripe_path)
    assert len(posts) >= attempts, posts
    assert posts[0].idempotency_key and {p.idempotency_key for p in posts} == {posts[0].idempotency_key}, posts
    assert [p.outcome for p in posts].count("forwarded") == 1, posts


async def assert_equals_stripe(hub: HubClient, emulator, case: Case, payment: dict[str, Any]) -> None:
    """The hub's payment and refunds are the emulator's: status and every amount."""
    pi = emulator_get(emulator, case.sk, f"/v1/payment_intents/{payment['provider_payment_id']}")
    refunds = emulator_objects(emulator, case.sk, "/v1/refunds", hub_payment_id=payment["id"])
    charges = pi["charges"]["data"]
    received = sum(c["amount"] for c in charges if c["captured"] and c["status"] == "succeeded")
    refunded = sum(r["amount"] for r in refunds if r["status"] == "succeeded")
    status = pi["status"] if not refunded else ("refunded" if refunded == received else "partially_refunded")
    expected = {
        "status": status,
        "amount_received": received,
        "amount_capturable": pi["amount"] if pi["status"] == "requires_capture" else 0,
        "amount_refunded": refunded,
    }
    assert {k: payment[k] for k in expected} == expected, (payment, pi)
    listed = (await hub.request("GET", f"/v1/payments/{payment['id']}/refunds", headers=case.tenant.admin)).json()
    theirs = sorted((r["id"], r["amount"], r["status"]) for r in refunds)
    assert sorted((r["provider_refund_id"], r["amount"], r["status"]) for r in listed["data"]) == theirs


async def assert_left_pending(hub: HubClient, case: Case, payment_id: str) -> None:
    """The hub does not know what Stripe did (so the sync below has something to repair)."""
    payment = (await hub.request("GET", f"/v1/payments/{payment_id}", headers=case.tenant.storefront)).json()
    refunds = (await hub.request("GET", f"/v1/payments/{payment_id}/refunds", headers=case.tenant.admin)).json()
    pending = {
        "create": payment["provider_payment_id"] is None,
        "capture": payment["status"] == "requires_capture",
        "refund": [(r["provider_refund_id"], r["status"]) for r in refunds["data"]] == [(None, "pending")],
    }
    assert pending[case.op], (payment, refunds)


async def sync(hub: HubClient, case: Case, payment_id: str) -> dict[str, Any]:
    r = await hub.request("POST", f"/v1/payments/{payment_id}/sync", headers=case.tenant.storefront)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("op", OPERATIONS)
@pytest.mark.parametrize("fault", sorted(ANSWERS))
async def test_a_fault_then_a_retry_with_the_same_key_makes_one_object_at_stripe(
    database_url, emulator, shared_home, stripe_proxy, fault, op
):
    async with proxied_hub(database_url, str(shared_home), stripe_proxy) as hub:
        case = await prepare(hub, op)
        payment_id = await fail_once(hub, stripe_proxy, case, fault)
        assert_one_at_stripe(emulator, case, payment_id, acted=ACTED[fault])

        r = await case.send(hub)  # the client retries with its Idempotency-Key
        assert r.status_code == OPERATIONS[op], r.text
        assert r.json()["status"] == "succeeded", r.text
        assert_one_at_stripe(emulator, case, payment_id, acted=True)
        assert_one_key(stripe_proxy, case, attempts=2)
        payments = (await hub.request("GET", "/v1/payments", headers=case.tenant.storefront)).json()["data"]
        assert [p["id"] for p in payments] == [payment_id]

        await assert_equals_stripe(hub, emulator, case, await sync(hub, case, payment_id))


@pytest.mark.parametrize("op", OPERATIONS)
@pytest.mark.parametrize("fault", sorted(f for f, acted in ACTED.items() if acted))
async def test_sync_alone_repairs_what_a_fault_after_stripe_acted_left_pending(
    database_url, emulator, shared_home, stripe_proxy, fault, op
):
    async with proxied_hub(database_url, str(shared_home), stripe_proxy) as hub:
        case = await prepare(hub, op)
        payment_id = await fail_once(hub, stripe_proxy, case, fault)
        await assert_left_pending(hub, case, payment_id)

        payment = await sync(hub, case, payment_id)
        assert payment["provider_payment_id"] is not None
        await assert_equals_stripe(hub, emulator, case, payment)
        assert_one_at_stripe(emulator, case, payment_id, acted=True)
        assert_one_key(stripe_proxy, case, attempts=1)


@pytest.mark.parametrize("op", ["capture", "cancel"])
async def test_an_operation_recorded_by_sync_then_retried_with_its_key_answers_the_payment(
    database_url, emulator, shared_home, stripe_proxy, op
):
    """Stripe acted, its answer was lost, a sync recorded the outcome: the client's retry with the
    same key gets the payment (the operation happened once), not 409 ``invalid_state``."""
    async with proxied_hub(database_url, str(shared_home), stripe_proxy) as hub:
        case = await prepare(hub, "capture")  # a manual-capture payment, requires_capture
        if op == "cancel":
            case.path = case.path.removesuffix("/capture") + "/cancel"
            case.stripe_path = case.stripe_path.removesuffix("/capture") + "/cancel"
        outcome = {"capture": "succeeded", "cancel": "canceled"}[op]
        payment_id = await fail_once(hub, stripe_proxy, case, "error_500")
        assert (await sync(hub, case, payment_id))["status"] == outcome

        r = await case.send(hub)
        assert r.status_code == 200, r.text
        assert r.json()["id"] == payment_id and r.json()["status"] == outcome, r.text
        assert_one_key(stripe_proxy, case, attempts=1)
        # Without the key it is another request, and the payment is past that operation.
        other = await hub.request("POST", case.path, json={}, headers=case.tenant.storefront)
        assert_problem(other, 409, "invalid_state")
