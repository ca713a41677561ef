"""Release by transfer (separate charges and transfers), reversals, refunds of payments with
transfers, and destination charges, against the Connect stand-in behind the Stripe proxy.

Every refusal is decided before Stripe is called, and every failure leaves nothing at Stripe the
hub does not know about: the stand-in counts what exists there.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import create_async_engine

from hub.db.base import utcnow
from hub.db.payments import Transfer
from tests.integration.test_console_actions import action_form, signed_in
from tests.support import stripe_events as se
from tests.support.hub import HubClient, TenantHandle, build_client, make_settings
from tests.support.inbox import wait_applied
from tests.support.notifications import FAST, add_endpoint, eventually, receiver
from tests.support.payments import create_payment, emulator_get, stripe_tenant
from tests.support.problem import assert_problem
from tests.support.stripe_proxy import StripeProxy


@pytest.fixture
async def market(database_url, stripe_proxy, shared_home):
    """The hub with its tenants' Stripe traffic through the proxy (the emulator and the Connect stand-in)."""
    settings = make_settings(database_url, str(shared_home), HUB_STRIPE_API_BASE=stripe_proxy.url, **FAST)
    async with build_client(settings, shared=True) as client:
        hub = HubClient(client, settings)
        tenant, sk = await stripe_tenant(hub)
        yield hub, tenant, sk, stripe_proxy


async def seller(hub: HubClient, tenant: TenantHandle, proxy: StripeProxy, *, ready: bool = True) -> dict[str, Any]:
    """A connected account; ``ready``: its onboarding finished at Stripe and synced (transfers enabled)."""
    r = await hub.request("POST", "/v1/connected-accounts", json={"email": "seller@example.com"}, headers=tenant.admin)
    assert r.status_code == 201, r.text
    account = r.json()
    if ready:
        proxy.connect.finish_onboarding(account["provider_account_id"])
        r = await hub.request("POST", f"/v1/connected-accounts/{account['id']}/sync", headers=tenant.admin)
        assert r.status_code == 200, r.text
        account = r.json()
        assert account["transfers_enabled"] and account["status"] == "active"
    return account


async def paid(hub: HubClient, tenant: TenantHandle, amount: int = 10_000, **body: Any) -> dict[str, Any]:
    r = await create_payment(hub, tenant, amount=amount, payment_method="pm_card_visa", confirm=True, **body)
    assert r.status_code == 201, r.text
    return r.json()


async def release(
    hub: HubClient, tenant: TenantHandle, payment_id: str, account_id: str, amount: int, key: str | None = None
):
    headers = dict(tenant.admin)
    if key is not None:
        headers["Idempotency-Key"] = key
    body = {"connected_account_id": account_id, "amount": amount}
    return await hub.request("POST", f"/v1/payments/{payment_id}/transfers", json=body, headers=headers)


async def payment_of(hub: HubClient, tenant: TenantHandle, payment_id: str) -> dict[str, Any]:
    r = await hub.request("GET", f"/v1/payments/{payment_id}", headers=tenant.storefront)
    assert r.status_code == 200, r.text
    return r.json()


def charge_of(proxy: StripeProxy, sk: str, provider_payment_id: str) -> str:
    pi = emulator_get_via(proxy, sk, f"/v1/payment_intents/{provider_payment_id}")
    charges = (pi.get("charges") or {}).get("data") or []
    latest = pi.get("latest_charge")
    charge = charges[-1]["id"] if charges else (latest["id"] if isinstance(latest, dict) else latest)
    assert isinstance(charge, str), pi
    return charge


def emulator_get_via(proxy: StripeProxy, sk: str, path: str) -> dict[str, Any]:
    class _At:
        url = proxy.emulator_url

    return emulator_get(_At(), sk, path)  # type: ignore[arg-type]


async def test_release_sends_a_transfer_from_the_charge_in_the_payment_group_and_replays_by_key(market):
    hub, tenant, sk, proxy = market
    account = await seller(hub, tenant, proxy)
    payment = await paid(hub, tenant)
    r = await release(hub, tenant, payment["id"], account["id"], 8_500, key="release-1")
    assert r.status_code == 201, r.text
    transfer = r.json()
    assert transfer["status"] == "paid"
    assert (transfer["amount"], transfer["amount_reversed"], transfer["currency"]) == (8_500, 0, "usd")
    assert transfer["payment_id"] == payment["id"] and transfer["connected_account_id"] == account["id"]

    [sent] = proxy.connect.objects("transfer", sk)
    assert sent["id"] == transfer["provider_transfer_id"]
    assert sent["destination"] == account["provider_account_id"]
    assert sent["source_transaction"] == charge_of(proxy, sk, payment["provider_payment_id"])
    assert sent["transfer_group"] == payment["id"]
    assert sent["metadata"]["hub_transfer_id"] == transfer["id"]

    again = await release(hub, tenant, payment["id"], account["id"], 8_500, key="release-1")
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == transfer
    assert proxy.connect.count("transfer", sk) == 1

    shown = await payment_of(hub, tenant, payment["id"])
    assert (shown["amount_transferred"], shown["platform_amount"]) == (8_500, 1_500)
    r = await hub.request("GET", f"/v1/payments/{payment['id']}/transfers", headers=tenant.storefront)
    assert r.status_code == 200 and r.json()["data"] == [transfer]


async def test_over_release_is_refused_before_stripe(market):
    hub, tenant, sk, proxy = market
    account = await seller(hub, tenant, proxy)
    payment = await paid(hub, tenant)
    assert_problem(await release(hub, tenant, payment["id"], account["id"], 10_001), 422, "amount_too_large")
    assert (await release(hub, tenant, payment["id"], account["id"], 6_000)).status_code == 201
    assert_problem(await release(hub, tenant, payment["id"], account["id"], 4_001), 422, "amount_too_large")
    assert proxy.connect.count("transfer", sk) == 1
    assert (await payment_of(hub, tenant, payment["id"]))["amount_transferred"] == 6_000


async def test_concurrent_releases_never_overdraw_the_payment(market):
    hub, tenant, sk, proxy = market
    account = await seller(hub, tenant, proxy)
    payment = await paid(hub, tenant)
    answers = await asyncio.gather(
        *(release(hub, tenant, payment["id"], account["id"], 3_000, key=f"k{i}") for i in range(6))
    )
    codes = sorted(r.status_code for r in answers)
    assert codes == [201, 201, 201, 422, 422, 422], [r.text for r in answers]
    assert all(r.json()["code"] == "amount_too_large" for r in answers if r.status_code == 422)
    assert proxy.connect.count("transfer", sk) == 3
    shown = await payment_of(hub, tenant, payment["id"])
    assert (shown["amount_transferred"], shown["platform_amount"]) == (9_000, 1_000)


async def test_releases_refused_before_stripe(market):
    hub, tenant, _, proxy = market
    onboarding = await seller(hub, tenant, proxy, ready=False)
    account = await seller(hub, tenant, proxy)
    payment = await paid(hub, tenant)
    r = await release(hub, tenant, payment["id"], onboarding["id"], 1_000)
    assert_problem(r, 422, "account_not_ready", param="connected_account_id")
    held = await paid(hub, tenant, capture_method="manual")
    assert held["status"] == "requires_capture"
    assert_problem(await release(hub, tenant, held["id"], account["id"], 1_000), 409, "invalid_state")
    r = await hub.request(
        "POST",
        f"/v1/payments/{payment['id']}/transfers",
        json={"connected_account_id": account["id"], "amount": 1_000},
        headers=tenant.storefront,
    )
    assert r.status_code == 403
    assert_problem(await release(hub, tenant, payment["id"], "acct_unknown", 1_000), 404, "not_found")
    other = await hub.create_tenant("Other")
    r = await hub.request("GET", f"/v1/payments/{payment['id']}/transfers", headers=other.storefront)
    assert r.status_code == 404
    assert proxy.connect.count("transfer") == 0


async def test_a_transfer_stripe_refuses_leaves_nothing_and_an_unknown_outcome_is_resumed_by_key(market):
    hub, tenant, sk, proxy = market
    account = await seller(hub, tenant, proxy)
    payment = await paid(hub, tenant)
    # Stripe no longer lets the account receive transfers (the hub has not heard yet): refused there.
    proxy.connect.update_account(account["provider_account_id"], requirements={"disabled_reason": "other"})
    r = await release(hub, tenant, payment["id"], account["id"], 1_000, key="refused")
    assert (400 <= r.status_code < 500 and r.status_code != 422) or r.json()["code"] == "provider_error", r.text
    assert proxy.connect.count("transfer", sk) == 0
    assert (await payment_of(hub, tenant, payment["id"]))["amount_transferred"] == 0
    proxy.connect.finish_onboarding(account["provider_account_id"])
    # Stripe makes the transfer but the answer is lost: the retry with the key gets the same transfer.
    proxy.inject("reset_after", "POST", "/v1/transfers")
    r = await release(hub, tenant, payment["id"], account["id"], 2_000, key="lost")
    assert r.status_code in (502, 503), r.text
    assert (await payment_of(hub, tenant, payment["id"]))["amount_transferred"] == 2_000  # held meanwhile
    r = await release(hub, tenant, payment["id"], account["id"], 2_000, key="lost")
    assert r.status_code == 201, r.text
    assert [t["id"] for t in proxy.connect.objects("transfer", sk)] == [r.json()["provider_transfer_id"]]


async def test_reversal_takes_money_back_and_notifies(market):
    hub, tenant, sk, proxy = market
    async with receiver() as app:
        await add_endpoint(hub, tenant, app.url, ["transfer.created", "transfer.reversed"])
        account = await seller(hub, tenant, proxy)
        payment = await paid(hub, tenant)
        transfer = (await release(hub, tenant, payment["id"], account["id"], 5_000)).json()
        path = f"/v1/transfers/{transfer['id']}/reversals"
        r = await hub.request("POST", path, json={"amount": 2_000}, headers={**tenant.admin, "Idempotency-Key": "r1"})
        assert r.status_code == 201, r.text
        assert (r.json()["amount_reversed"], r.json()["status"]) == (2_000, "partially_reversed")
        assert (await payment_of(hub, tenant, payment["id"]))["amount_transferred"] == 3_000
        assert_problem(
            await hub.request("POST", path, json={"amount": 3_001}, headers=tenant.admin), 422, "amount_too_large"
        )
        r = await hub.request("POST", path, headers=tenant.admin)
        assert (r.json()["amount_reversed"], r.json()["status"]) == (5_000, "reversed")
        assert_problem(await hub.request("POST", path, headers=tenant.admin), 409, "invalid_state")
        assert proxy.connect.count("transfer_reversal", sk) == 2
        shown = await payment_of(hub, tenant, payment["id"])
        assert (shown["amount_transferred"], shown["platform_amount"]) == (0, 10_000)
        await eventually(lambda: len(app.messages) >= 3)
        assert sorted(m.json()["type"] for m in app.messages) == ["transfer.created", *["transfer.reversed"] * 2]


async def test_refund_of_a_payment_with_transfers_reverses_them_only_when_asked(market, emulator):
    hub, tenant, sk, proxy = market
    account = await seller(hub, tenant, proxy)
    payment = await paid(hub, tenant)
    older = (await release(hub, tenant, payment["id"], account["id"], 4_000)).json()
    newer = (await release(hub, tenant, payment["id"], account["id"], 4_500)).json()
    refunds = f"/v1/payments/{payment['id']}/refunds"
    r = await hub.request("POST", refunds, json={"amount": 7_000}, headers=tenant.admin)
    assert_problem(r, 409, "transfers_outstanding")
    at_stripe = emulator_get(emulator, sk, f"/v1/refunds?payment_intent={payment['provider_payment_id']}")
    assert at_stripe["data"] == []
    r = await hub.request("POST", refunds, json={"amount": 7_000, "reverse_transfers": True}, headers=tenant.admin)
    assert r.status_code == 201, r.text
    # 1,500 was the tenant's; the other 5,500 comes back from the newest transfer first.
    sent = {t["id"]: t for t in proxy.connect.objects("transfer", sk)}
    assert sent[newer["provider_transfer_id"]]["amount_reversed"] == 4_500
    assert sent[older["provider_transfer_id"]]["amount_reversed"] == 1_000
    shown = await payment_of(hub, tenant, payment["id"])
    assert (shown["amount_refunded"], shown["amount_transferred"], shown["platform_amount"]) == (7_000, 3_000, 0)
    r = await hub.request("GET", f"/v1/payments/{payment['id']}/transfers", headers=tenant.admin)
    assert {t["id"]: t["status"] for t in r.json()["data"]} == {
        newer["id"]: "reversed",
        older["id"]: "partially_reversed",
    }


async def test_destination_charge_parameters_reach_stripe(market):
    hub, tenant, sk, proxy = market
    account = await seller(hub, tenant, proxy)
    payment = await paid(hub, tenant, transfer_to=account["id"], application_fee_amount=1_500)
    params = proxy.connect.intent_params(payment["provider_payment_id"])
    assert params["transfer_data"]["destination"] == account["provider_account_id"]
    assert int(params["application_fee_amount"]) == 1_500
    assert (payment["amount_transferred"], payment["platform_amount"]) == (8_500, 1_500)

    before = proxy.connect.count("payment_intent", sk)
    r = await create_payment(hub, tenant, amount=1_000, transfer_to=account["id"], application_fee_amount=1_001)
    assert_problem(r, 422, "amount_too_large", param="application_fee_amount")
    assert_problem(await create_payment(hub, tenant, transfer_to="acct_unknown"), 404, "not_found")
    other = await hub.create_tenant("Other")
    r = await hub.register_stripe(other, secret_key="sk_test_othertenant0001", publishable_key="pk_test_other0001")
    assert r.status_code == 200
    assert_problem(await create_payment(hub, other, transfer_to=account["id"]), 404, "not_found")
    onboarding = await seller(hub, tenant, proxy, ready=False)
    assert_problem(await create_payment(hub, tenant, transfer_to=onboarding["id"]), 422, "account_not_ready")
    assert proxy.connect.count("payment_intent", sk) == before


async def test_a_refund_whose_answer_is_lost_after_its_reversal_keeps_the_reversal_and_resumes_by_key(market):
    hub, tenant, sk, proxy = market
    account = await seller(hub, tenant, proxy)
    payment = await paid(hub, tenant)
    assert (await release(hub, tenant, payment["id"], account["id"], 8_500)).status_code == 201
    refunds = f"/v1/payments/{payment['id']}/refunds"
    headers = {**tenant.admin, "Idempotency-Key": "refund-all"}
    proxy.inject("reset_before", "POST", "/v1/refunds")  # the reversal is made, the refund never reaches Stripe
    r = await hub.request("POST", refunds, json={"reverse_transfers": True}, headers=headers)
    assert r.status_code in (502, 503), r.text
    [reversal] = proxy.connect.objects("transfer_reversal", sk)
    assert reversal["amount"] == 8_500
    r = await hub.request("GET", f"/v1/payments/{payment['id']}/transfers", headers=tenant.admin)
    assert r.json()["data"][0]["amount_reversed"] == 8_500  # what Stripe did, the hub knows
    r = await hub.request("POST", refunds, json={"reverse_transfers": True}, headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["amount"] == 10_000
    assert proxy.connect.count("transfer_reversal", sk) == 1
    shown = await payment_of(hub, tenant, payment["id"])
    assert (shown["amount_refunded"], shown["amount_transferred"], shown["platform_amount"]) == (10_000, 0, 0)


async def test_a_reversal_made_at_stripe_reaches_the_transfer_by_its_event(market):
    hub, tenant, sk, proxy = market
    connect_secret = "whsec_connectsecret0001"
    r = await hub.request(
        "PUT",
        "/v1/providers/stripe/credentials",
        json={
            "publishable_key": "pk_test_again0001",
            "secret_key": sk,
            "webhook_secret": "whsec_tenantsecret00001",
            "connect_webhook_secret": connect_secret,
        },
        headers=tenant.admin,
    )
    assert r.status_code == 200, r.text
    account = await seller(hub, tenant, proxy)
    payment = await paid(hub, tenant)
    transfer = (await release(hub, tenant, payment["id"], account["id"], 5_000)).json()
    # Reversed in the Stripe Dashboard, not through the hub.
    r = httpx.post(
        f"{proxy.url}/v1/transfers/{transfer['provider_transfer_id']}/reversals",
        headers={"Authorization": f"Bearer {sk}"},
        data={"amount": "2000"},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    [at_stripe] = proxy.connect.objects("transfer", sk)
    evt = se.event("transfer.reversed", at_stripe)
    evt["account"] = account["provider_account_id"]
    r = await proxy.connect.emit(hub.http, tenant.id, evt, connect_secret)
    assert r.status_code == 200, r.text
    await wait_applied(hub.settings.database.url, tenant.id)
    r = await hub.request("GET", f"/v1/payments/{payment['id']}/transfers", headers=tenant.admin)
    [shown] = r.json()["data"]
    assert (shown["amount_reversed"], shown["status"]) == (2_000, "partially_reversed")
    assert (await payment_of(hub, tenant, payment["id"]))["amount_transferred"] == 3_000
    # The hub's own reversal counts on top of it; its event (listing both) and repeats change nothing more.
    path = f"/v1/transfers/{transfer['id']}/reversals"
    r = await hub.request("POST", path, json={"amount": 1_000}, headers=tenant.admin)
    assert r.status_code == 201, r.text
    assert r.json()["amount_reversed"] == 3_000
    [at_stripe] = proxy.connect.objects("transfer", sk)
    for again in (se.event("transfer.reversed", at_stripe), evt):
        assert (await proxy.connect.emit(hub.http, tenant.id, again, connect_secret)).status_code == 200
    await wait_applied(hub.settings.database.url, tenant.id)
    r = await hub.request("GET", f"/v1/payments/{payment['id']}/transfers", headers=tenant.admin)
    assert r.json()["data"][0]["amount_reversed"] == 3_000
    assert (await payment_of(hub, tenant, payment["id"]))["amount_transferred"] == 2_000


async def test_sync_settles_transfers_whose_answers_were_lost(market):
    hub, tenant, sk, proxy = market
    account = await seller(hub, tenant, proxy)
    payment = await paid(hub, tenant)
    proxy.inject("reset_after", "POST", "/v1/transfers")  # made at Stripe, its answer lost
    assert (await release(hub, tenant, payment["id"], account["id"], 3_000)).status_code in (502, 503)
    proxy.inject("reset_before", "POST", "/v1/transfers")  # never reached Stripe
    assert (await release(hub, tenant, payment["id"], account["id"], 2_000)).status_code in (502, 503)
    assert (await payment_of(hub, tenant, payment["id"]))["amount_transferred"] == 5_000  # both held meanwhile
    # The second was asked long before any request still running could have asked.
    engine = create_async_engine(hub.settings.database.url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                update(Transfer).where(Transfer.amount == 2_000).values(created_at=utcnow() - timedelta(hours=1))
            )
    finally:
        await engine.dispose()
    r = await hub.request("POST", f"/v1/payments/{payment['id']}/sync", headers=tenant.storefront)
    assert r.status_code == 200, r.text
    assert (r.json()["amount_transferred"], r.json()["platform_amount"]) == (3_000, 7_000)
    [made] = proxy.connect.objects("transfer", sk)
    r = await hub.request("GET", f"/v1/payments/{payment['id']}/transfers", headers=tenant.admin)
    [kept] = r.json()["data"]
    assert (kept["provider_transfer_id"], kept["amount"], kept["status"]) == (made["id"], 3_000, "paid")


async def test_the_same_console_release_form_posted_twice_sends_one_transfer(market):
    """A reload or a double click sends the form's one-time key again: the release replays."""
    hub, tenant, sk, proxy = market
    account = await seller(hub, tenant, proxy)
    payment = await paid(hub, tenant)
    await signed_in(hub, tenant)
    pid = payment["id"]
    form = {**await action_form(hub, pid, "release"), "amount": "25.00", "connected_account_id": account["id"]}
    assert form.get("idempotency_key")
    first = await hub.request("POST", f"/console/payments/{pid}/release", data=form, follow_redirects=False)
    again = await hub.request("POST", f"/console/payments/{pid}/release", data=form, follow_redirects=False)
    assert (first.status_code, again.status_code) == (303, 303), (first.text, again.text)
    assert first.headers["location"] == again.headers["location"] == f"/console/payments/{pid}"

    assert proxy.connect.count("transfer", sk) == 1
    r = await hub.request("GET", f"/v1/payments/{pid}/transfers", headers=tenant.storefront)
    assert [t["amount"] for t in r.json()["data"]] == [2_500]
    assert (await payment_of(hub, tenant, pid))["amount_transferred"] == 2_500
