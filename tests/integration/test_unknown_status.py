"""A status Stripe does not document is never stored under a guessed name.

On a webhook event it is kept ``failed`` with a reason naming the field (the event log shows
it) and changes nothing; on an API answer the caller gets a 502 problem+json
(``provider_unavailable``: the hub could not read what Stripe did) and the payment keeps what
it had, for a sync to repair.
"""

from __future__ import annotations

import httpx
import pytest

from tests.support import stripe_events as se
from tests.support.inbox import wait_applied
from tests.support.payments import create_payment, stripe_tenant
from tests.support.stripe_mock import StripeMock, account_ok, hub_over

WEBHOOK_SECRET = "whsec_tenantsecret00001"  # what stripe_tenant registers


async def _paid(hub, tenant) -> dict:
    r = await create_payment(hub, tenant, payment_method="pm_card_visa", confirm=True)
    assert r.status_code == 201 and r.json()["status"] == "succeeded", r.text
    return r.json()


def _events(pi_id: str, meta: dict) -> dict[str, dict]:
    return {
        "payment": se.event(
            "payment_intent.succeeded", se.payment_intent(pi_id, "something_new", amount_received=2000, metadata=meta)
        ),
        "refund": se.event(
            "refund.updated", {**se.refund(pi_id, "re_unknown1", 500, "something_new"), "metadata": meta}
        ),
    }


@pytest.mark.parametrize("kind", ["payment", "refund"])
async def test_an_unknown_status_in_a_signed_event_is_kept_failed_with_a_reason(hub, emulator, kind):
    tenant, _ = await stripe_tenant(hub)
    payment = await _paid(hub, tenant)
    meta = {"hub_tenant_id": tenant.id, "hub_payment_id": payment["id"]}
    evt = _events(payment["provider_payment_id"], meta)[kind]
    r = await se.deliver(hub.http, tenant.id, se.encode(evt), WEBHOOK_SECRET)
    assert r.status_code == 200, r.text
    await wait_applied(hub.settings.database.url, tenant.id)
    shown = [e for e in (await hub.request("GET", "/v1/events", headers=tenant.admin)).json()["data"]]
    [mine] = [e for e in shown if e["provider_event_id"] == evt["id"]]
    assert mine["outcome"] == "failed", mine
    assert "`status`" in mine["reason"] and "something_new" in mine["reason"], mine["reason"]
    after = (await hub.request("GET", f"/v1/payments/{payment['id']}", headers=tenant.storefront)).json()
    assert (after["status"], after["amount_refunded"]) == ("succeeded", 0)


class UnknownStatusStripe:
    """Stripe answering a PaymentIntent whose status it has not documented (yet)."""

    def __init__(self) -> None:
        self.status = "succeeded"

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/v1/payment_intents"):
            form = dict(httpx.QueryParams(request.content.decode()))
            pi = se.payment_intent("pi_3Unknown", self.status, amount_received=2000)
            pi["metadata"] = {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")}
            return httpx.Response(200, json=pi)
        return account_ok(request)


async def test_an_unknown_status_in_an_api_answer_is_a_502_and_nothing_is_stored_wrongly(database_url, hub_home):
    stripe = UnknownStatusStripe()
    async with hub_over(StripeMock(stripe.handle), database_url, str(hub_home)) as hub:
        tenant, _ = await stripe_tenant(hub)
        payment = await _paid(hub, tenant)
        stripe.status = "something_new"
        r = await hub.request("POST", f"/v1/payments/{payment['id']}/sync", headers=tenant.storefront)
        assert r.status_code == 502, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "provider_unavailable" and "`status`" in r.json()["detail"], r.json()
        after = (await hub.request("GET", f"/v1/payments/{payment['id']}", headers=tenant.storefront)).json()
        assert (after["status"], after["amount_received"]) == ("succeeded", 2000)
        r = await create_payment(hub, tenant, payment_method="pm_card_visa", confirm=True)
        assert r.status_code == 502 and r.json()["code"] == "provider_unavailable", r.text
        listed = (await hub.request("GET", "/v1/payments", headers=tenant.storefront)).json()["data"]
        assert "something_new" not in {p["status"] for p in listed}
