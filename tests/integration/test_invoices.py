"""Invoices: created with lines, sent (Stripe emails its hosted page), voided, and kept true by events.

The emulator's invoices predate ``send_invoice`` collection and hosted pages, so Stripe is played
over a mock transport with bodies shaped like Stripe's own (the real SDK and hub above it).
"""

from __future__ import annotations

import pytest

from tests.support import stripe_events as se
from tests.support.inbox import delivered
from tests.support.payments import stripe_tenant
from tests.support.problem import assert_problem
from tests.support.recurring import new_customer, post
from tests.support.stripe_mock import StripeMock, hub_over
from tests.support.stripe_recurring import StripeRecurring

WEBHOOK_SECRET = "whsec_tenantsecret00001"
LINES = [
    {"description": "Room 12, 2 nights", "amount": 12000, "quantity": 2},
    {"description": "Breakfast", "amount": 1500},
]


@pytest.fixture
async def billing(database_url, shared_home):
    fake = StripeRecurring()
    async with hub_over(StripeMock(fake.handle), database_url, str(shared_home), shared=True) as hub:
        owner, _ = await stripe_tenant(hub, "Hotel")
        other, _ = await stripe_tenant(hub, "Other")
        guest = await new_customer(hub, owner)
        yield hub, fake, owner, other, guest


async def create(hub, tenant, guest, key=None, **body):
    return await post(
        hub, tenant, "/v1/invoices", {"customer_id": guest["id"], "currency": "usd", "items": LINES, **body}, key=key
    )


def stripe_calls(fake) -> int:
    return sum(1 for r in fake.requests if r.url.path != "/v1/balance")


async def test_an_invoice_sent_at_once_is_open_with_its_hosted_page(billing):
    hub, fake, owner, _, guest = billing
    r = await create(hub, owner, guest, send=True, days_until_due=7)
    assert r.status_code == 201, r.text
    inv = r.json()
    assert inv["status"] == "open" and inv["amount_due"] == 25500 and inv["amount_paid"] == 0
    assert inv["hosted_invoice_url"].startswith("https://invoice.stripe.com/") and inv["due_date"] is not None
    assert inv["items"] == [{**LINES[0]}, {**LINES[1], "quantity": 1}]
    (sent,) = fake.sent("POST", "/v1/invoices")
    assert sent["collection_method"] == "send_invoice" and sent["days_until_due"] == "7"
    assert sent["customer"] == guest["provider_customer_id"] and sent["auto_advance"] == "false"
    assert sent["metadata[hub_tenant_id]"] == owner.id and sent["metadata[hub_invoice_id]"] == inv["id"]
    items = fake.sent("POST", "/v1/invoiceitems")
    assert [(i["description"], i["unit_amount_decimal"], i["quantity"]) for i in items] == [
        ("Room 12, 2 nights", "12000", "2"),
        ("Breakfast", "1500", "1"),
    ]
    assert len(fake.sent("POST", f"/v1/invoices/{inv['provider_invoice_id']}/send")) == 1
    assert (await hub.request("GET", f"/v1/invoices/{inv['id']}", headers=owner.storefront)).json() == inv
    listed = (
        await hub.request("GET", f"/v1/invoices?customer_id={guest['id']}&status=open", headers=owner.storefront)
    ).json()
    assert [i["id"] for i in listed["data"]] == [inv["id"]]


async def test_a_draft_is_sent_then_voided_and_a_void_invoice_moves_no_more(billing):
    hub, fake, owner, _, guest = billing
    draft = (await create(hub, owner, guest)).json()
    assert draft["status"] == "draft" and draft["hosted_invoice_url"] is None
    sent = await post(hub, owner, f"/v1/invoices/{draft['id']}/send", None, scope="admin")
    assert sent.status_code == 200, sent.text
    assert sent.json()["status"] == "open" and sent.json()["hosted_invoice_url"]
    voided = await post(hub, owner, f"/v1/invoices/{draft['id']}/void", None, scope="admin")
    assert voided.status_code == 200 and voided.json()["status"] == "void"
    before = stripe_calls(fake)
    assert_problem(
        await post(hub, owner, f"/v1/invoices/{draft['id']}/void", None, scope="admin"), 409, "invalid_state"
    )
    assert_problem(
        await post(hub, owner, f"/v1/invoices/{draft['id']}/send", None, scope="admin"), 409, "invalid_state"
    )
    assert stripe_calls(fake) == before


async def test_invoice_events_move_it_forward_only_in_any_order(billing):
    hub, _, owner, _, guest = billing
    inv = (await create(hub, owner, guest, send=True)).json()
    obj = {
        "id": inv["provider_invoice_id"],
        "object": "invoice",
        "currency": "usd",
        "amount_due": 25500,
        "amount_paid": 25500,
        "hosted_invoice_url": inv["hosted_invoice_url"],
        "metadata": {"hub_tenant_id": owner.id, "hub_invoice_id": inv["id"]},
        "status": "paid",
    }
    paid = se.event("invoice.paid", obj)
    for evt in (paid, se.event("invoice.finalized", {**obj, "status": "open", "amount_paid": 0}), paid):
        r = await delivered(hub, owner.id, se.encode(evt), WEBHOOK_SECRET)
        assert r.status_code == 200, r.text
    got = (await hub.request("GET", f"/v1/invoices/{inv['id']}", headers=owner.admin)).json()
    assert got["status"] == "paid" and got["amount_paid"] == 25500
    # A subscription's own invoice (no hub invoice) and one stamped for another tenant change nothing.
    foreign = se.event("invoice.payment_failed", {**obj, "id": "in_notours", "status": "open", "metadata": {}})
    stamped = se.event("invoice.voided", {**obj, "status": "void", "metadata": {"hub_tenant_id": "ten_other"}})
    for evt in (foreign, stamped):
        assert (await delivered(hub, owner.id, se.encode(evt), WEBHOOK_SECRET)).status_code == 200
    events = {
        e["provider_event_id"]: e
        for e in (await hub.request("GET", "/v1/events?limit=100", headers=owner.admin)).json()["data"]
    }
    assert events[paid["id"]]["outcome"] == "applied" and events[paid["id"]]["deliveries"] == 2
    assert events[foreign["id"]]["outcome"] == events[stamped["id"]]["outcome"] == "ignored"
    assert (await hub.request("GET", f"/v1/invoices/{inv['id']}", headers=owner.admin)).json()["status"] == "paid"


async def test_create_send_and_void_replay_with_the_same_key_and_conflict_with_another_body(billing):
    hub, fake, owner, _, guest = billing
    first = await create(hub, owner, guest, key="inv-1")
    again = await create(hub, owner, guest, key="inv-1")
    assert first.status_code == again.status_code == 201 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true" and len(fake.sent("POST", "/v1/invoices")) == 1
    assert_problem(await create(hub, owner, guest, key="inv-1", days_until_due=5), 409, "idempotency_conflict")
    path = f"/v1/invoices/{first.json()['id']}/send"
    s1 = await post(hub, owner, path, None, key="send-1", scope="admin")
    s2 = await post(hub, owner, path, None, key="send-1", scope="admin")
    assert s1.status_code == s2.status_code == 200 and s2.json() == s1.json()
    assert s2.headers["idempotent-replayed"] == "true"
    assert len(fake.sent("POST", f"/v1/invoices/{first.json()['provider_invoice_id']}/send")) == 1


async def test_another_tenants_invoice_and_customer_are_404_and_nothing_reaches_stripe(billing):
    hub, fake, owner, other, guest = billing
    inv = (await create(hub, owner, guest)).json()
    before = stripe_calls(fake)
    assert_problem(await hub.request("GET", f"/v1/invoices/{inv['id']}", headers=other.admin), 404, "not_found")
    for action in ("send", "void"):
        assert_problem(
            await post(hub, other, f"/v1/invoices/{inv['id']}/{action}", None, scope="admin"), 404, "not_found"
        )
    assert_problem(await create(hub, other, guest), 404, "not_found")
    assert (await hub.request("GET", "/v1/invoices", headers=other.admin)).json()["data"] == []
    assert stripe_calls(fake) == before
    assert (await hub.request("GET", f"/v1/invoices/{inv['id']}", headers=owner.admin)).json()["status"] == "draft"


@pytest.mark.parametrize(
    "body,code,param",
    [
        ({"items": []}, "validation_error", "items"),
        ({"items": [{"description": "x", "amount": "100"}]}, "validation_error", "items.0.amount"),
        ({"items": [{"description": "x", "amount": -5}]}, "amount_too_small", "items.0.amount"),
        ({"items": [{"description": "x", "amount": 10}]}, "amount_too_small", "items"),
        ({"currency": "zzz"}, "unsupported_currency", "currency"),
        ({"days_until_due": 0}, "validation_error", "days_until_due"),
        ({"send": "yes"}, "validation_error", "send"),
    ],
)
async def test_a_bad_invoice_is_refused_before_stripe(billing, body, code, param):
    hub, fake, owner, _, guest = billing
    before = stripe_calls(fake)
    assert_problem(await create(hub, owner, guest, **body), 422, code, param=param)
    assert stripe_calls(fake) == before


async def test_storefront_keys_create_and_read_but_cannot_send_or_void(billing):
    hub, fake, owner, _, guest = billing
    inv = (await create(hub, owner, guest)).json()
    before = stripe_calls(fake)
    for action in ("send", "void"):
        assert_problem(await post(hub, owner, f"/v1/invoices/{inv['id']}/{action}", None), 403, "forbidden")
    assert stripe_calls(fake) == before


async def test_a_signed_invoice_event_with_wrong_field_types_is_stored_and_changes_nothing(billing):
    hub, _, owner, _, guest = billing
    inv = (await create(hub, owner, guest, send=True)).json()
    obj = {"id": inv["provider_invoice_id"], "object": "invoice", "status": "paid", "amount_paid": "lots"}
    evt = se.event("invoice.paid", obj)
    assert (await delivered(hub, owner.id, se.encode(evt), WEBHOOK_SECRET)).status_code == 200
    assert (await hub.request("GET", f"/v1/invoices/{inv['id']}", headers=owner.admin)).json()["status"] == "open"
    # Kept as failed with the reason (the field, never its value), as a payment event would be.
    [stored] = [
        e
        for e in (await hub.request("GET", "/v1/events", headers=owner.admin)).json()["data"]
        if e["provider_event_id"] == evt["id"]
    ]
    assert stored["outcome"] == "failed" and "`amount_paid`" in stored["reason"] and "lots" not in stored["reason"]


async def test_invoice_paid_and_payment_failed_are_announced_once_each(billing):
    hub, _, owner, _, guest = billing
    endpoint = await hub.request(
        "POST", "/v1/notification-endpoints", json={"url": "http://127.0.0.1:9/hooks"}, headers=owner.admin
    )
    assert endpoint.status_code == 201, endpoint.text
    inv = (await create(hub, owner, guest, send=True)).json()
    obj = {
        "id": inv["provider_invoice_id"],
        "object": "invoice",
        "currency": "usd",
        "amount_due": 25500,
        "amount_paid": 0,
        "metadata": {"hub_tenant_id": owner.id, "hub_invoice_id": inv["id"]},
        "status": "open",
    }
    failed = se.event("invoice.payment_failed", obj)
    paid = se.event("invoice.paid", {**obj, "status": "paid", "amount_paid": 25500})
    for evt in (failed, paid, paid):  # the repeat is one event, applied and announced once
        assert (await delivered(hub, owner.id, se.encode(evt), WEBHOOK_SECRET)).status_code == 200
    deliveries = (
        await hub.request("GET", f"/v1/notification-endpoints/{endpoint.json()['id']}/deliveries", headers=owner.admin)
    ).json()["data"]
    assert sorted(d["type"] for d in deliveries) == ["invoice.paid", "invoice.payment_failed"]
