"""Connected-account events: believed only when the Connect endpoint's secret verified them and the
account they carry is the one they name; anything else is kept with no facts (it changes nothing)."""

from __future__ import annotations

import pytest

from providers.base.errors import EventNotUnderstood
from providers.base.webhooks import ProviderEvent, VerifiedEvent
from providers.stripe.provider import StripeProvider
from tests.support import stripe_events as se
from tests.support.stripe_connect import ConnectStandIn


def interpret(evt: dict, *, connect: bool) -> ProviderEvent:
    verified = VerifiedEvent(provider_event_id=evt["id"], type=evt["type"], body=evt, connect=connect)
    return StripeProvider().interpret_webhook(verified)


def account_updated(**fields) -> dict:
    stand_in = ConnectStandIn()
    acct = stand_in.add_account("sk_test_platform0001", **fields)["id"]
    stand_in.finish_onboarding(acct)
    return stand_in.account_updated(acct)


def test_an_account_update_from_the_connect_endpoint_carries_the_account():
    evt = account_updated(**{"metadata[hub_tenant_id]": "ten_1", "metadata[hub_account_id]": "acc_1"})
    got = interpret(evt, connect=True)
    assert got.connected_account is not None
    snap = got.connected_account
    assert (snap.provider_account_id, snap.charges_enabled, snap.payouts_enabled, snap.transfers_enabled) == (
        evt["account"],
        True,
        True,
        True,
    )
    assert (got.hub_tenant_id, got.hub_object_id, got.created) == ("ten_1", "acc_1", evt["created"])


@pytest.mark.parametrize(
    "case", ["signed with the account's own secret", "naming another account", "with no account named"]
)
def test_an_account_update_that_cannot_be_believed_carries_no_facts(case):
    evt = account_updated()
    connect = case != "signed with the account's own secret"
    if case == "naming another account":
        evt["account"] = "acct_someoneelse"
    if case == "with no account named":
        del evt["account"]
    got = interpret(evt, connect=connect)
    assert got == ProviderEvent(provider_event_id=evt["id"], type="account.updated", created=evt["created"])


def test_a_payment_event_of_a_connected_account_says_nothing_of_the_tenants_payments():
    pi = se.payment_intent("pi_1", "succeeded", amount_received=2000, metadata={"hub_tenant_id": "ten_1"})
    evt = {**se.event("payment_intent.succeeded", pi), "account": "acct_1"}
    got = interpret(evt, connect=True)
    assert got.provider_payment_id is None and got.status is None and got.connected_account is None


def test_an_account_of_an_unknown_type_is_not_understood():
    evt = account_updated()
    evt["data"]["object"]["type"] = "mystery"
    with pytest.raises(EventNotUnderstood, match="type"):
        interpret(evt, connect=True)
