"""Items 2 and 3: each verified event is stored once and applied once, in any order, to the payment
the tenant owns; events about anything else are stored as ignored and change nothing."""

from __future__ import annotations

import itertools
import secrets

import pytest

from tests.support import stripe_events as se
from tests.support.inbox import wait_applied
from tests.support.payment_rows import count_rows, hub_payment, insert_payment, payment_row

SECRET = "whsec_tenantAsecret0001"
SECRET_B = "whsec_tenantBsecret0002"


@pytest.fixture
async def tenant(hub):
    t = await hub.create_tenant("A")
    assert (await hub.register_stripe(t, webhook_secret=SECRET)).status_code == 200
    return t


async def send(hub, tenant, evt, secret=SECRET):
    r = await se.deliver(hub.http, tenant.id, se.encode(evt), secret)
    assert r.status_code == 200, r.text
    assert r.json() == {"received": True}
    await wait_applied(hub.settings.database.url, tenant.id)
    return r


async def events_of(hub, tenant) -> dict[str, dict]:
    r = await hub.request("GET", "/v1/events?limit=100", headers=tenant.admin)
    assert r.status_code == 200, r.text
    return {e["provider_event_id"]: e for e in r.json()["data"]}


def meta(tenant_id: str, payment_id: str) -> dict[str, str]:
    return {"hub_tenant_id": tenant_id, "hub_payment_id": payment_id}


def pi_event(type_, pi_id, status, tenant_id, payment_id, **kw):
    return se.event(type_, se.payment_intent(pi_id, status, metadata=meta(tenant_id, payment_id), **kw))


async def test_succeeded_event_moves_the_payment_and_is_recorded_as_applied(hub, tenant, database_url, emulator):
    payment_id, pi_id = await hub_payment(database_url, emulator.url, tenant.id)
    evt = pi_event("payment_intent.succeeded", pi_id, "succeeded", tenant.id, payment_id, amount_received=2000)
    await send(hub, tenant, evt)
    row = await payment_row(database_url, payment_id)
    assert (row["status"], row["amount_received"], row["amount_capturable"]) == ("succeeded", 2000, 0)
    stored = (await events_of(hub, tenant))[evt["id"]]
    assert (stored["outcome"], stored["payment_id"], stored["type"]) == (
        "applied",
        payment_id,
        "payment_intent.succeeded",
    )


async def test_duplicate_delivery_is_answered_200_counted_and_applied_once(hub, tenant, database_url, emulator):
    payment_id, pi_id = await hub_payment(database_url, emulator.url, tenant.id)
    evt = pi_event("payment_intent.succeeded", pi_id, "succeeded", tenant.id, payment_id, amount_received=2000)
    await send(hub, tenant, evt)
    after_first = await payment_row(database_url, payment_id)
    for _ in range(2):
        await send(hub, tenant, evt)
    assert await payment_row(database_url, payment_id) == after_first  # updated_at included
    assert (await events_of(hub, tenant))[evt["id"]]["deliveries"] == 3
    assert await count_rows(database_url, "webhook_events") == 1


async def test_a_late_processing_never_overwrites_succeeded(hub, tenant, database_url, emulator):
    payment_id, pi_id = await hub_payment(database_url, emulator.url, tenant.id)
    await send(
        hub,
        tenant,
        pi_event("payment_intent.succeeded", pi_id, "succeeded", tenant.id, payment_id, amount_received=2000),
    )
    await send(hub, tenant, pi_event("payment_intent.processing", pi_id, "processing", tenant.id, payment_id))
    await send(hub, tenant, pi_event("payment_intent.requires_action", pi_id, "requires_action", tenant.id, payment_id))
    row = await payment_row(database_url, payment_id)
    assert (row["status"], row["amount_received"]) == ("succeeded", 2000)


async def test_status_walks_forward_through_action_and_processing(hub, tenant, database_url, emulator):
    payment_id, pi_id = await hub_payment(database_url, emulator.url, tenant.id)
    await send(hub, tenant, pi_event("payment_intent.requires_action", pi_id, "requires_action", tenant.id, payment_id))
    assert (await payment_row(database_url, payment_id))["status"] == "requires_action"
    await send(hub, tenant, pi_event("payment_intent.processing", pi_id, "processing", tenant.id, payment_id))
    assert (await payment_row(database_url, payment_id))["status"] == "processing"


async def test_failed_attempt_records_the_decline_and_a_later_success_wins_in_either_order(
    hub, tenant, database_url, emulator
):
    error = {"code": "card_declined", "decline_code": "insufficient_funds", "message": "declined"}
    for order in ("failed_first", "succeeded_first"):
        payment_id, pi_id = await hub_payment(database_url, emulator.url, tenant.id)
        failed = pi_event(
            "payment_intent.payment_failed",
            pi_id,
            "requires_payment_method",
            tenant.id,
            payment_id,
            last_payment_error=error,
        )
        ok = pi_event("payment_intent.succeeded", pi_id, "succeeded", tenant.id, payment_id, amount_received=2000)
        first, second = (failed, ok) if order == "failed_first" else (ok, failed)
        await send(hub, tenant, first)
        if order == "failed_first":
            row = await payment_row(database_url, payment_id)
            assert (row["status"], row["last_error_code"], row["decline_code"]) == (
                "failed",
                "card_declined",
                "insufficient_funds",
            )
        await send(hub, tenant, second)
        assert (await payment_row(database_url, payment_id))["status"] == "succeeded", order


async def test_manual_capture_authorisation_then_cancel_and_a_late_capturable_update(
    hub, tenant, database_url, emulator
):
    payment_id, pi_id = await hub_payment(database_url, emulator.url, tenant.id, capture_method="manual")
    capturable = pi_event(
        "payment_intent.amount_capturable_updated",
        pi_id,
        "requires_capture",
        tenant.id,
        payment_id,
        capture_method="manual",
        amount_capturable=2000,
    )
    await send(hub, tenant, capturable)
    row = await payment_row(database_url, payment_id)
    assert (row["status"], row["amount_capturable"]) == ("requires_capture", 2000)
    await send(
        hub,
        tenant,
        pi_event("payment_intent.canceled", pi_id, "canceled", tenant.id, payment_id, capture_method="manual"),
    )
    late = pi_event(
        "payment_intent.amount_capturable_updated",
        pi_id,
        "requires_capture",
        tenant.id,
        payment_id,
        capture_method="manual",
        amount_capturable=2000,
    )
    await send(hub, tenant, late)
    row = await payment_row(database_url, payment_id)
    assert (row["status"], row["amount_capturable"]) == ("canceled", 0)


REFUND_SCENARIOS = {
    # name: (events as (type, args), expected status, received, refunded)
    "partial": (
        [("succeeded", 2000), ("refund", "re_1", 500), ("refund", "re_2", 300), ("charge_refunded", 800)],
        "partially_refunded",
        2000,
        800,
    ),
    "full": (
        [("succeeded", 2000), ("refund", "re_1", 1500), ("refund", "re_2", 500), ("charge_refunded", 2000)],
        "refunded",
        2000,
        2000,
    ),
}


def _build(spec, pi_id, tenant_id, payment_id):
    kind = spec[0]
    if kind == "succeeded":
        return pi_event("payment_intent.succeeded", pi_id, "succeeded", tenant_id, payment_id, amount_received=spec[1])
    if kind == "refund":
        return se.event("refund.updated", se.refund(pi_id, f"{spec[1]}_{pi_id}", spec[2]))
    return se.event("charge.refunded", se.charge(pi_id, amount_refunded=spec[1]))


@pytest.mark.parametrize("scenario", sorted(REFUND_SCENARIOS))
async def test_amounts_received_and_refunded_come_out_right_in_every_order(hub, tenant, database_url, scenario):
    specs, status, received, refunded = REFUND_SCENARIOS[scenario]
    for order in itertools.permutations(specs):
        pi_id = "pi_" + secrets.token_hex(8)
        payment_id = await insert_payment(database_url, tenant_id=tenant.id, provider_payment_id=pi_id, amount=2000)
        for spec in order:
            await send(hub, tenant, _build(spec, pi_id, tenant.id, payment_id))
        row = await payment_row(database_url, payment_id)
        assert (row["status"], row["amount_received"], row["amount_refunded"]) == (status, received, refunded), order
        assert await count_rows(database_url, "refunds", f"WHERE payment_id = '{payment_id}'") == 2


async def test_released_remainder_of_a_partial_capture_is_not_a_refund(hub, tenant, database_url, emulator):
    payment_id, pi_id = await hub_payment(database_url, emulator.url, tenant.id, capture_method="manual")
    # Stripe reports it so: amount 2000 captured 1500 -> the charge reports amount_refunded 500 before any refund.
    await send(
        hub,
        tenant,
        se.event("charge.refunded", se.charge(pi_id, amount=2000, amount_captured=1500, amount_refunded=500)),
    )
    await send(
        hub,
        tenant,
        pi_event(
            "payment_intent.succeeded",
            pi_id,
            "succeeded",
            tenant.id,
            payment_id,
            capture_method="manual",
            amount_received=1500,
        ),
    )
    row = await payment_row(database_url, payment_id)
    assert (row["status"], row["amount_received"], row["amount_refunded"]) == ("succeeded", 1500, 0)
    # Refunding the 1500 actually captured makes it fully refunded.
    await send(
        hub,
        tenant,
        se.event("charge.refunded", se.charge(pi_id, amount=2000, amount_captured=1500, amount_refunded=2000)),
    )
    row = await payment_row(database_url, payment_id)
    assert (row["status"], row["amount_refunded"]) == ("refunded", 1500)


async def test_a_pending_refund_counts_once_it_succeeds_and_never_goes_back(hub, tenant, database_url, emulator):
    payment_id, pi_id = await hub_payment(database_url, emulator.url, tenant.id)
    await send(
        hub,
        tenant,
        pi_event("payment_intent.succeeded", pi_id, "succeeded", tenant.id, payment_id, amount_received=2000),
    )
    await send(hub, tenant, se.event("refund.updated", se.refund(pi_id, "re_p", 700, status="succeeded")))
    await send(hub, tenant, se.event("refund.created", se.refund(pi_id, "re_p", 700, status="pending")))
    row = await payment_row(database_url, payment_id)
    assert (row["status"], row["amount_refunded"]) == ("partially_refunded", 700)


async def test_dispute_is_recorded_on_the_payment_and_a_late_created_does_not_reopen_it(
    hub, tenant, database_url, emulator
):
    payment_id, pi_id = await hub_payment(database_url, emulator.url, tenant.id)
    await send(
        hub,
        tenant,
        pi_event("payment_intent.succeeded", pi_id, "succeeded", tenant.id, payment_id, amount_received=2000),
    )
    created = se.event("charge.dispute.created", se.dispute(pi_id, "needs_response"))
    await send(hub, tenant, created)
    row = await payment_row(database_url, payment_id)
    assert (row["status"], row["dispute_status"]) == ("succeeded", "needs_response")
    await send(hub, tenant, se.event("charge.dispute.closed", se.dispute(pi_id, "won")))
    await send(hub, tenant, se.event("charge.dispute.created", se.dispute(pi_id, "warning_needs_response")))
    assert (await payment_row(database_url, payment_id))["dispute_status"] == "won"
    assert (await events_of(hub, tenant))[created["id"]]["outcome"] == "applied"


async def test_event_about_an_unknown_payment_is_stored_as_ignored(hub, tenant, database_url, emulator):
    payment_id, _pi_id = await hub_payment(database_url, emulator.url, tenant.id)
    before = await payment_row(database_url, payment_id)
    evt = se.event("payment_intent.succeeded", se.payment_intent("pi_unknown0001", "succeeded", amount_received=9))
    await send(hub, tenant, evt)
    stored = (await events_of(hub, tenant))[evt["id"]]
    assert (stored["outcome"], stored["payment_id"]) == ("ignored", None)
    assert await payment_row(database_url, payment_id) == before


async def test_event_whose_metadata_names_another_tenant_is_ignored_even_for_a_known_id(
    hub, tenant, database_url, emulator
):
    payment_id, pi_id = await hub_payment(database_url, emulator.url, tenant.id)
    before = await payment_row(database_url, payment_id)
    evt = pi_event("payment_intent.succeeded", pi_id, "succeeded", "ten_someoneelse", payment_id, amount_received=2000)
    await send(hub, tenant, evt)
    assert (await events_of(hub, tenant))[evt["id"]]["outcome"] == "ignored"
    assert await payment_row(database_url, payment_id) == before


async def test_another_tenants_payment_event_at_this_tenants_endpoint_changes_nothing(
    hub, tenant, database_url, emulator
):
    other = await hub.create_tenant("B")
    assert (await hub.register_stripe(other, webhook_secret=SECRET_B)).status_code == 200
    payment_id, pi_id = await hub_payment(database_url, emulator.url, tenant.id)
    before = await payment_row(database_url, payment_id)
    # The same Stripe event reaches B's endpoint signed with B's secret (one shared emulator account).
    evt = pi_event("payment_intent.succeeded", pi_id, "succeeded", tenant.id, payment_id, amount_received=2000)
    await send(hub, other, evt, SECRET_B)
    assert (await events_of(hub, other))[evt["id"]]["outcome"] == "ignored"
    assert await payment_row(database_url, payment_id) == before
    assert await events_of(hub, tenant) == {}
    # ...and A's own delivery of it is still applied: dedup is per tenant.
    await send(hub, tenant, evt)
    assert (await payment_row(database_url, payment_id))["status"] == "succeeded"


async def test_unhandled_event_types_are_stored_as_ignored(hub, tenant):
    evt = se.event("customer.created", {"id": "cus_1", "object": "customer", "metadata": {}})
    await send(hub, tenant, evt)
    assert (await events_of(hub, tenant))[evt["id"]]["outcome"] == "ignored"


async def test_a_payment_row_written_before_its_provider_id_is_found_by_the_hub_metadata(hub, tenant, database_url):
    payment_id = await insert_payment(database_url, tenant_id=tenant.id, provider_payment_id=None, amount=2000)
    pi_id = "pi_" + secrets.token_hex(8)
    await send(
        hub,
        tenant,
        pi_event("payment_intent.succeeded", pi_id, "succeeded", tenant.id, payment_id, amount_received=2000),
    )
    row = await payment_row(database_url, payment_id)
    assert (row["status"], row["provider_payment_id"]) == ("succeeded", pi_id)
