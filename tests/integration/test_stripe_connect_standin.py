"""The Stripe Connect stand-in (tests/support/stripe_connect.py) behind the Stripe proxy, driven by the
real SDK over loopback HTTP: it answers like Stripe, keeps its objects per platform key, replays
an idempotency key, and counts what exists, so the hub's Connect tests can trust its counts.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
import stripe

from tests.support.payments import emulator_get


@pytest.fixture
def sdk(stripe_proxy) -> Iterator[tuple[stripe.StripeClient, str]]:
    sk = f"sk_test_{secrets.token_hex(8)}"
    http = stripe.HTTPXClient(allow_sync_methods=True)
    yield stripe.StripeClient(sk, base_addresses={"api": stripe_proxy.url}, http_client=http), sk


def new_account(client: stripe.StripeClient, key: str | None = None, **extra) -> Any:
    params: Any = {"type": "express", "capabilities": {"transfers": {"requested": True}}, **extra}
    return client.v1.accounts.create(params, {"idempotency_key": key} if key else None)


def test_an_account_is_created_once_per_idempotency_key_and_only_its_platform_sees_it(stripe_proxy, sdk):
    client, sk = sdk
    key = secrets.token_hex(6)
    first = new_account(client, key, email="seller@example.com", metadata={"shop": "7"})
    again = new_account(client, key, email="seller@example.com", metadata={"shop": "7"})
    assert again.id == first.id and first.id.startswith("acct_")
    assert stripe_proxy.connect.count("account", sk) == 1
    assert (first.type, first.charges_enabled, first.payouts_enabled, first.details_submitted) == (
        "express",
        False,
        False,
        False,
    )
    assert first.requirements.currently_due and first.requirements.disabled_reason == "requirements.past_due"
    assert first.capabilities.transfers == "inactive" and first.metadata.to_dict() == {"shop": "7"}

    updated = client.v1.accounts.update(first.id, {"metadata": {"shop": "", "tier": "gold"}})
    assert updated.metadata.to_dict() == {"tier": "gold"}
    assert [a.id for a in client.v1.accounts.list().data] == [first.id]
    stranger = stripe.StripeClient(
        "sk_test_anotherplatform01", base_addresses={"api": stripe_proxy.url}, http_client=client._requestor._client
    )
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stranger.v1.accounts.retrieve(first.id)
    assert missing.value.http_status == 404 and missing.value.code == "resource_missing"


def test_an_update_link_is_refused_until_onboarding_is_finished(stripe_proxy, sdk):
    client, sk = sdk
    account = new_account(client)
    urls = {"refresh_url": "https://shop.example/refresh", "return_url": "https://shop.example/back"}
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.account_links.create({"account": account.id, "type": "account_update", **urls})
    assert refused.value.http_status == 400 and refused.value.param == "type"
    link = client.v1.account_links.create({"account": account.id, "type": "account_onboarding", **urls})
    assert link.url.startswith("https://connect.stripe.com/") and link.expires_at > link.created

    done = stripe_proxy.connect.finish_onboarding(account.id)
    assert done["charges_enabled"] and done["payouts_enabled"] and done["capabilities"]["transfers"] == "active"
    assert client.v1.account_links.create({"account": account.id, "type": "account_update", **urls}).url
    assert stripe_proxy.connect.count("account_link", sk) == 2
    event = stripe_proxy.connect.account_updated(account.id)
    assert (event["type"], event["account"], event["data"]["object"]["charges_enabled"]) == (
        "account.updated",
        account.id,
        True,
    )
    rejected = stripe_proxy.connect.reject(account.id)
    assert rejected["requirements"]["disabled_reason"] == "rejected.fraud" and not rejected["charges_enabled"]


def test_transfers_need_an_enabled_destination_and_funds_in_the_source_charge(stripe_proxy, emulator, sdk):
    client, sk = sdk
    account = new_account(client)
    pi = client.v1.payment_intents.create(
        {"amount": 2000, "currency": "usd", "payment_method": "pm_card_visa", "payment_method_types": ["card"]}
    )
    pi = client.v1.payment_intents.confirm(pi.id)
    charge = emulator_get(emulator, sk, f"/v1/payment_intents/{pi.id}")["latest_charge"]["id"]
    params = {"amount": 1500, "currency": "usd", "destination": account.id, "source_transaction": charge}
    with pytest.raises(stripe.InvalidRequestError) as not_ready:
        client.v1.transfers.create(params)
    assert not_ready.value.code == "insufficient_capabilities_for_transfer"
    stripe_proxy.connect.finish_onboarding(account.id)

    key = secrets.token_hex(6)
    transfer = client.v1.transfers.create({**params, "transfer_group": "pay_1"}, {"idempotency_key": key})
    assert client.v1.transfers.create({**params, "transfer_group": "pay_1"}, {"idempotency_key": key}).id == transfer.id
    assert (transfer.destination, transfer.source_transaction, transfer.transfer_group) == (account.id, charge, "pay_1")
    with pytest.raises(stripe.InvalidRequestError) as overdrawn:
        client.v1.transfers.create({**params, "amount": 501})
    assert overdrawn.value.code == "balance_insufficient"

    reversal = client.v1.transfers.reversals.create(transfer.id, {"amount": 400})
    assert (reversal.object, reversal.amount, reversal.transfer) == ("transfer_reversal", 400, transfer.id)
    after = client.v1.transfers.retrieve(transfer.id)
    assert (after.amount_reversed, after.reversed) == (400, False)
    assert client.v1.transfers.create({**params, "amount": 900}).amount == 900  # 2000 - (1500 - 400)
    rest = client.v1.transfers.reversals.create(transfer.id)
    assert rest.amount == 1100 and client.v1.transfers.retrieve(transfer.id).reversed is True
    assert [t.id for t in client.v1.transfers.list({"transfer_group": "pay_1"}).data] == [transfer.id]
    assert stripe_proxy.connect.count("transfer", sk) == 2 and stripe_proxy.connect.count("transfer_reversal", sk) == 2


def test_connect_parameters_of_a_payment_intent_are_checked_recorded_and_shown(stripe_proxy, sdk):
    client, sk = sdk
    account = new_account(client)
    params = {
        "amount": 2000,
        "currency": "usd",
        "transfer_data": {"destination": account.id},
        "application_fee_amount": 300,
        "transfer_group": "order_9",
    }
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_intents.create(params)  # the destination cannot receive transfers yet
    stripe_proxy.connect.finish_onboarding(account.id)
    with pytest.raises(stripe.InvalidRequestError) as too_much:
        client.v1.payment_intents.create({**params, "application_fee_amount": 2001})
    assert too_much.value.param == "application_fee_amount"
    pi = client.v1.payment_intents.create(params)
    wanted = {"transfer_data": {"destination": account.id}, "application_fee_amount": 300, "transfer_group": "order_9"}
    assert stripe_proxy.connect.intent_params(pi.id) == wanted
    again = client.v1.payment_intents.retrieve(pi.id)
    assert (again.transfer_data.destination, again.application_fee_amount, again.transfer_group) == (
        account.id,
        300,
        "order_9",
    )
    assert stripe_proxy.connect.count("payment_intent", sk) == 1


def test_a_refund_of_a_destination_charge_reverses_its_transfer_and_fee_in_proportion(stripe_proxy, emulator, sdk):
    client, sk = sdk
    account = new_account(client)
    stripe_proxy.connect.finish_onboarding(account.id)
    paid = {"amount": 2000, "currency": "usd", "payment_method": "pm_card_visa", "payment_method_types": ["card"]}
    plain = client.v1.payment_intents.confirm(client.v1.payment_intents.create(paid).id)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.refunds.create({"payment_intent": plain.id, "reverse_transfer": True})
    assert refused.value.param == "reverse_transfer"
    assert emulator_get(emulator, sk, f"/v1/refunds?payment_intent={plain.id}")["data"] == []

    # transfer_data[amount]: 1,500 of 2,000 goes to the seller; reversals are its share of each refund.
    part = {**paid, "transfer_data": {"destination": account.id, "amount": 1500}}
    pi = client.v1.payment_intents.confirm(client.v1.payment_intents.create(part).id)
    first = client.v1.refunds.create({"payment_intent": pi.id, "amount": 999, "reverse_transfer": True})
    [transfer] = stripe_proxy.connect.objects("transfer", sk)
    assert (transfer["amount"], transfer["destination"], transfer["amount_reversed"]) == (1500, account.id, 749)
    [reversal] = stripe_proxy.connect.objects("transfer_reversal", sk)
    assert (reversal["amount"], reversal["source_refund"]) == (749, first.id)
    assert first.transfer_reversal == reversal["id"]
    rest = client.v1.refunds.create({"payment_intent": pi.id, "amount": 1001, "reverse_transfer": True})
    [transfer] = stripe_proxy.connect.objects("transfer", sk)
    assert (transfer["amount_reversed"], transfer["reversed"]) == (1500, True)  # 749 + 751: no drift
    listed = {r.id: r.transfer_reversal for r in client.v1.refunds.list({"payment_intent": pi.id}).data}
    assert listed[first.id] == reversal["id"] and listed[rest.id] not in (None, reversal["id"])

    # application_fee_amount: the whole amount is transferred, the fee refunded in proportion.
    fee = {**paid, "transfer_data": {"destination": account.id}, "application_fee_amount": 300}
    pi = client.v1.payment_intents.confirm(client.v1.payment_intents.create(fee).id)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create({"payment_intent": plain.id, "refund_application_fee": True})  # no fee there
    client.v1.refunds.create(
        {"payment_intent": pi.id, "amount": 1000, "reverse_transfer": True, "refund_application_fee": True}
    )
    [fee_object] = stripe_proxy.connect.objects("application_fee", sk)
    assert (fee_object["amount"], fee_object["amount_refunded"], fee_object["account"]) == (300, 150, account.id)
    newest = stripe_proxy.connect.objects("transfer", sk)[-1]
    assert (newest["amount"], newest["amount_reversed"]) == (2000, 1000)
