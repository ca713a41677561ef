"""Refunds of destination charges (``transfer_to``): the seller's share is taken back only when the
refund says ``reverse_transfers``, as Stripe does it (``reverse_transfer`` and
``refund_application_fee``: the destination transfer and the platform's fee both returned in
proportion to the refund), against the Connect stand-in behind the Stripe proxy.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.integration.test_transfers import market, paid, payment_of, release, seller
from tests.support import stripe_events as se
from tests.support.hub import HubClient, TenantHandle
from tests.support.inbox import wait_applied
from tests.support.payments import emulator_get
from tests.support.problem import assert_problem
from tests.support.stripe_proxy import StripeProxy

__all__ = ["market"]  # the fixture, imported for the tests below

WEBHOOK_SECRET = "whsec_tenantsecret00001"  # the one tests.support.hub registers


async def destination_charge(hub: HubClient, tenant: TenantHandle, proxy: StripeProxy) -> dict[str, Any]:
    """A paid 10,000 charge sent on to a seller, 1,000 of it the tenant's fee (``seller``: its account)."""
    account = await seller(hub, tenant, proxy)
    payment = await paid(hub, tenant, transfer_to=account["id"], application_fee_amount=1_000)
    assert (payment["amount_transferred"], payment["platform_amount"]) == (9_000, 1_000)
    return {**payment, "seller": account}


def refunds_path(payment: dict[str, Any]) -> str:
    return f"/v1/payments/{payment['id']}/refunds"


async def money(hub: HubClient, tenant: TenantHandle, payment_id: str) -> tuple[int, int, int, str]:
    shown = await payment_of(hub, tenant, payment_id)
    return shown["amount_refunded"], shown["amount_transferred"], shown["platform_amount"], shown["status"]


def destination_transfer(proxy: StripeProxy, sk: str) -> dict[str, Any]:
    [transfer] = proxy.connect.objects("transfer", sk)
    return transfer


async def test_a_refund_without_reverse_transfers_is_refused_and_changes_nothing(market, emulator):
    hub, tenant, sk, proxy = market
    payment = await destination_charge(hub, tenant, proxy)
    before = await payment_of(hub, tenant, payment["id"])
    for body in ({}, {"amount": 2_500}, {"amount": 2_500, "reverse_transfers": False}):
        r = await hub.request("POST", refunds_path(payment), json=body, headers=tenant.admin)
        assert_problem(r, 409, "transfers_outstanding", param="reverse_transfers")
    at_stripe = emulator_get(emulator, sk, f"/v1/refunds?payment_intent={payment['provider_payment_id']}")
    assert at_stripe["data"] == []
    assert proxy.posts("/v1/refunds") == []
    assert proxy.connect.count("transfer_reversal", sk) == 0
    r = await hub.request("GET", refunds_path(payment), headers=tenant.admin)
    assert r.status_code == 200 and r.json()["data"] == []
    assert await payment_of(hub, tenant, payment["id"]) == before


async def test_partial_then_full_refund_takes_back_the_sellers_share_in_proportion(market):
    hub, tenant, sk, proxy = market
    payment = await destination_charge(hub, tenant, proxy)
    r = await hub.request(
        "POST", refunds_path(payment), json={"amount": 2_500, "reverse_transfers": True}, headers=tenant.admin
    )
    assert r.status_code == 201, r.text
    first = r.json()
    assert (first["amount"], first["status"]) == (2_500, "succeeded")
    assert proxy.connect.refund_params(first["provider_refund_id"]) == {
        "reverse_transfer": "true",
        "refund_application_fee": "true",
    }
    transfer = destination_transfer(proxy, sk)
    assert transfer["destination"] == payment["seller"]["provider_account_id"]
    [reversal] = proxy.connect.objects("transfer_reversal", sk)
    assert (reversal["amount"], reversal["source_refund"], reversal["transfer"]) == (
        2_500,
        first["provider_refund_id"],
        transfer["id"],
    )
    assert transfer["amount_reversed"] == 2_500
    refund_at_stripe = httpx.get(
        f"{proxy.url}/v1/refunds/{first['provider_refund_id']}", headers={"Authorization": f"Bearer {sk}"}, timeout=10
    ).json()
    assert refund_at_stripe["transfer_reversal"] == reversal["id"]
    [fee] = proxy.connect.objects("application_fee", sk)
    assert (fee["amount"], fee["amount_refunded"]) == (1_000, 250)
    # The seller gave back 2,250 of its 9,000, the tenant 250 of its 1,000 fee.
    assert await money(hub, tenant, payment["id"]) == (2_500, 6_750, 750, "partially_refunded")

    r = await hub.request("POST", refunds_path(payment), json={"reverse_transfers": True}, headers=tenant.admin)
    assert r.status_code == 201, r.text
    assert r.json()["amount"] == 7_500
    transfer = destination_transfer(proxy, sk)
    assert (transfer["amount_reversed"], transfer["reversed"]) == (10_000, True)
    assert proxy.connect.count("transfer_reversal", sk) == 2
    [fee] = proxy.connect.objects("application_fee", sk)
    assert fee["amount_refunded"] == 1_000
    assert await money(hub, tenant, payment["id"]) == (10_000, 0, 0, "refunded")


async def test_a_retried_refund_makes_one_refund_and_one_reversal(market):
    hub, tenant, sk, proxy = market
    payment = await destination_charge(hub, tenant, proxy)
    headers = {**tenant.admin, "Idempotency-Key": "dest-refund-1"}
    body = {"amount": 4_000, "reverse_transfers": True}
    proxy.inject("reset_after", "POST", "/v1/refunds")  # Stripe refunds; its answer is lost
    r = await hub.request("POST", refunds_path(payment), json=body, headers=headers)
    assert r.status_code in (502, 503), r.text
    again = await hub.request("POST", refunds_path(payment), json=body, headers=headers)
    assert again.status_code == 201, again.text
    replay = await hub.request("POST", refunds_path(payment), json=body, headers=headers)
    assert replay.status_code == 201 and replay.json() == again.json()
    assert proxy.connect.count("refund", sk) == 1
    [reversal] = proxy.connect.objects("transfer_reversal", sk)
    assert reversal["amount"] == 4_000
    r = await hub.request("GET", refunds_path(payment), headers=tenant.admin)
    assert [x["amount"] for x in r.json()["data"]] == [4_000]
    assert await money(hub, tenant, payment["id"]) == (4_000, 5_400, 600, "partially_refunded")


async def test_a_refund_made_at_stripe_is_counted_from_its_events_in_either_order(market):
    hub, tenant, sk, proxy = market
    account = await seller(hub, tenant, proxy)
    for order in (("refund.updated", "charge.refunded"), ("charge.refunded", "refund.updated")):
        payment = await paid(hub, tenant, transfer_to=account["id"], application_fee_amount=1_000)
        pi = payment["provider_payment_id"]
        # Refunded in the Stripe Dashboard, with the seller's share taken back.
        r = httpx.post(
            f"{proxy.url}/v1/refunds",
            headers={"Authorization": f"Bearer {sk}"},
            data={"payment_intent": pi, "amount": "5000", "reverse_transfer": "true", "refund_application_fee": "true"},
            timeout=10,
        )
        assert r.status_code == 200, r.text
        refund = r.json()
        assert refund["transfer_reversal"]
        objects = {
            "refund.updated": refund,
            "charge.refunded": se.charge(pi, amount=10_000, amount_refunded=5_000),
        }
        for kind in order:
            delivered = await se.deliver(hub.http, tenant.id, se.encode(se.event(kind, objects[kind])), WEBHOOK_SECRET)
            assert delivered.status_code == 200, delivered.text
            await wait_applied(hub.settings.database.url, tenant.id)
        assert await money(hub, tenant, payment["id"]) == (5_000, 4_500, 500, "partially_refunded"), order
        # The seller's remaining share is still outstanding.
        r = await hub.request("POST", refunds_path(payment), json={"amount": 100}, headers=tenant.admin)
        assert_problem(r, 409, "transfers_outstanding", param="reverse_transfers")


async def test_a_refund_of_a_separate_transfer_payment_asks_stripe_for_a_plain_refund(market):
    hub, tenant, sk, proxy = market
    account = await seller(hub, tenant, proxy)
    payment = await paid(hub, tenant)
    assert (await release(hub, tenant, payment["id"], account["id"], 6_000)).status_code == 201
    r = await hub.request("POST", refunds_path(payment), json={"amount": 3_000}, headers=tenant.admin)
    assert_problem(r, 409, "transfers_outstanding", param="reverse_transfers")
    r = await hub.request(
        "POST", refunds_path(payment), json={"amount": 5_000, "reverse_transfers": True}, headers=tenant.admin
    )
    assert r.status_code == 201, r.text
    # The hub reversed 1,000 itself (the tenant held 4,000); Stripe's refund reverses nothing more.
    assert proxy.connect.refund_params(r.json()["provider_refund_id"]) == {}
    [reversal] = proxy.connect.objects("transfer_reversal", sk)
    assert (reversal["amount"], reversal["source_refund"]) == (1_000, None)
    assert await money(hub, tenant, payment["id"]) == (5_000, 5_000, 0, "partially_refunded")


async def test_a_destination_charge_without_a_fee_reverses_the_transfer_alone(market):
    hub, tenant, sk, proxy = market
    account = await seller(hub, tenant, proxy)
    payment = await paid(hub, tenant, transfer_to=account["id"])
    assert (payment["amount_transferred"], payment["platform_amount"]) == (10_000, 0)
    r = await hub.request(
        "POST", refunds_path(payment), json={"amount": 4_000, "reverse_transfers": True}, headers=tenant.admin
    )
    assert r.status_code == 201, r.text
    # No fee to refund: Stripe would refuse refund_application_fee, so it is not sent.
    assert proxy.connect.refund_params(r.json()["provider_refund_id"]) == {"reverse_transfer": "true"}
    [reversal] = proxy.connect.objects("transfer_reversal", sk)
    assert reversal["amount"] == 4_000
    assert await money(hub, tenant, payment["id"]) == (4_000, 6_000, 0, "partially_refunded")


async def test_the_refunds_event_before_the_retry_counts_the_reversal_once(market):
    hub, tenant, sk, proxy = market
    payment = await destination_charge(hub, tenant, proxy)
    headers = {**tenant.admin, "Idempotency-Key": "dest-refund-event-first"}
    body = {"amount": 5_000, "reverse_transfers": True}
    proxy.inject("reset_after", "POST", "/v1/refunds")  # Stripe refunds; its answer is lost
    r = await hub.request("POST", refunds_path(payment), json=body, headers=headers)
    assert r.status_code in (502, 503), r.text
    listed = httpx.get(
        f"{proxy.url}/v1/refunds",
        params={"payment_intent": payment["provider_payment_id"]},
        headers={"Authorization": f"Bearer {sk}"},
        timeout=10,
    ).json()["data"]
    [refund] = listed
    assert refund["transfer_reversal"]
    evt = se.event("refund.updated", refund)
    assert (await se.deliver(hub.http, tenant.id, se.encode(evt), WEBHOOK_SECRET)).status_code == 200
    await wait_applied(hub.settings.database.url, tenant.id)
    assert await money(hub, tenant, payment["id"]) == (5_000, 4_500, 500, "partially_refunded")
    again = await hub.request("POST", refunds_path(payment), json=body, headers=headers)
    assert again.status_code == 201, again.text
    assert again.json()["provider_refund_id"] == refund["id"]
    r = await hub.request("GET", refunds_path(payment), headers=tenant.admin)
    assert [x["provider_refund_id"] for x in r.json()["data"]] == [refund["id"]]
    assert proxy.connect.count("transfer_reversal", sk) == 1
    assert await money(hub, tenant, payment["id"]) == (5_000, 4_500, 500, "partially_refunded")
