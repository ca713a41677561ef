"""A signed subscription, invoice or setup event the hub cannot read is kept as failed, with a reason.

The same rule as payment events (test_webhooks_inbox): a field whose type is not the one Stripe
documents is never coerced nor read as "no facts"; the event is stored ``failed`` naming the
field (never its value), answered 200 (Stripe would retry an unchanging body for days), and
changes nothing. Through the real signed-webhook route, on both databases.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.support import stripe_events as se
from tests.support.inbox import delivered, pending_count

SECRET = "whsec_tenantAsecret0001"


def subscription(**fields: Any) -> dict[str, Any]:
    return {
        "id": "sub_1",
        "object": "subscription",
        "status": "active",
        "cancel_at_period_end": False,
        "created": int(time.time()) - 60,
        "current_period_end": int(time.time()) + 86400,
        "latest_invoice": "in_1",
        "metadata": {},
        **fields,
    }


def invoice(**fields: Any) -> dict[str, Any]:
    return {
        "id": "in_1",
        "object": "invoice",
        "status": "paid",
        "amount_due": 2000,
        "amount_paid": 2000,
        "currency": "usd",
        "hosted_invoice_url": None,
        "due_date": None,
        "metadata": {},
        **fields,
    }


def setup_intent(**fields: Any) -> dict[str, Any]:
    return {"id": "seti_1", "object": "setup_intent", "status": "succeeded", "payment_method": "pm_1", **fields}


#: name: (event, the field the reason names)
UNREADABLE = {
    "subscription_period_end_a_string": (
        se.event("customer.subscription.updated", subscription(current_period_end="soon")),
        "current_period_end",
    ),
    "subscription_status_a_list": (se.event("customer.subscription.updated", subscription(status=["x"])), "status"),
    "subscription_status_unknown": (
        se.event("customer.subscription.updated", subscription(status="something_new")),
        "status",
    ),
    "invoice_status_unknown": (se.event("invoice.paid", invoice(status="something_new")), "status"),
    "setup_intent_status_unknown": (se.event("setup_intent.succeeded", setup_intent(status="something_new")), "status"),
    "subscription_cancel_flag_a_string": (
        se.event("customer.subscription.updated", subscription(cancel_at_period_end="abc")),
        "cancel_at_period_end",
    ),
    "subscription_metadata_a_list": (
        se.event("customer.subscription.deleted", subscription(metadata=[1, 2])),
        "metadata",
    ),
    "subscription_event_created_a_string": (
        {**se.event("customer.subscription.created", subscription()), "created": "yesterday"},
        "created",
    ),
    "invoice_amount_paid_a_numeric_string": (se.event("invoice.paid", invoice(amount_paid="2000")), "amount_paid"),
    "invoice_amount_due_a_float": (se.event("invoice.finalized", invoice(amount_due=1e300)), "amount_due"),
    "invoice_amount_paid_beyond_any_bound": (se.event("invoice.paid", invoice(amount_paid=2**70)), "amount_paid"),
    "subscription_period_end_negative": (
        se.event("customer.subscription.updated", subscription(current_period_end=-1)),
        "current_period_end",
    ),
    "invoice_due_date_a_float": (se.event("invoice.payment_failed", invoice(due_date=1.5)), "due_date"),
    "invoice_id_a_number": (se.event("invoice.voided", invoice(id=42)), "id"),
    "setup_intent_payment_method_a_number": (
        se.event("setup_intent.succeeded", setup_intent(payment_method=42)),
        "payment_method",
    ),
}


@pytest.fixture
async def tenant(hub):
    t = await hub.create_tenant("A")
    assert (await hub.register_stripe(t, webhook_secret=SECRET)).status_code == 200
    return t


@pytest.mark.parametrize("case", sorted(UNREADABLE))
async def test_a_signed_recurring_event_with_a_wrong_field_type_is_kept_as_failed_with_a_reason(hub, tenant, case):
    evt, named = UNREADABLE[case]
    for _ in range(2):
        r = await delivered(hub, tenant.id, se.encode(evt), SECRET)
        assert r.status_code == 200 and r.json() == {"received": True}, r.text
    [shown] = (await hub.request("GET", "/v1/events", headers=tenant.admin)).json()["data"]
    assert (shown["provider_event_id"], shown["outcome"], shown["deliveries"]) == (evt["id"], "failed", 2), shown
    assert named in shown["reason"], shown["reason"]
    for value in ("soon", "abc", "yesterday", "1e+300"):  # the reason names the field, never its value
        assert value not in shown["reason"]
    assert await pending_count(hub.settings.database.url, tenant.id) == 0


async def test_a_well_formed_recurring_event_about_nothing_the_hub_knows_is_ignored_not_failed(hub, tenant):
    # The control: the same shapes with the documented types are read, and (no such object) ignored.
    for evt in (
        se.event("customer.subscription.updated", subscription()),
        se.event("invoice.paid", invoice(due_date=int(time.time()))),
        se.event("setup_intent.succeeded", setup_intent(payment_method={"id": "pm_1", "object": "payment_method"})),
    ):
        assert (await delivered(hub, tenant.id, se.encode(evt), SECRET)).status_code == 200
    shown = (await hub.request("GET", "/v1/events", headers=tenant.admin)).json()["data"]
    assert [e["outcome"] for e in shown] == ["ignored"] * 3
