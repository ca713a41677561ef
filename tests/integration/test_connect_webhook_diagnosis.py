"""The health-check and the repair cover the endpoint of a marketplace tenant's connected accounts
(one made with ``connect=true``, with its own signing secret), beside the account's own endpoint,
which they never take for it nor delete.

Stripe's webhook_endpoints API is played by tests/support/stripe_fake.py under the real SDK.
"""

from __future__ import annotations

from providers.stripe.connect import CONNECT_EVENTS
from providers.stripe.webhooks import SUBSCRIBED_EVENTS
from tests.support import stripe_events as se
from tests.support.credentials import context
from tests.support.stripe_fake import PUBLIC_URL

CHECK = "/v1/providers/stripe/health-check"
REPAIR = "/v1/providers/stripe/webhook/repair"
WH = "whsec_marketAccountSecret01"
CONNECT = "whsec_marketConnectSecret1"


async def marketplace(hub, fake, *, connect_secret: str | None = CONNECT):
    tenant = await hub.create_tenant()
    url = f"{PUBLIC_URL}/v1/webhooks/stripe/{tenant.id}"
    fake.add_endpoint(url, events=list(SUBSCRIBED_EVENTS))
    body = {"publishable_key": "pk_test_market000001", "secret_key": "sk_test_market000001", "webhook_secret": WH}
    if connect_secret:
        body["connect_webhook_secret"] = connect_secret
    r = await hub.request("PUT", "/v1/providers/stripe/credentials", json=body, headers=tenant.admin)
    assert r.status_code == 200, r.text
    return tenant, url


async def post(hub, tenant, path):
    r = await hub.request("POST", path, headers=tenant.admin)
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_tenant_without_sellers_is_checked_as_before(hub_on_fake, fake):
    tenant, _ = await marketplace(hub_on_fake, fake, connect_secret=None)
    body = await post(hub_on_fake, tenant, CHECK)
    assert "connect" not in body["webhook"] and body["ok"] is True


async def test_a_missing_connect_endpoint_is_reported_and_the_repair_creates_one_and_keeps_its_secret(
    hub_on_fake, fake
):
    tenant, url = await marketplace(hub_on_fake, fake)
    [account_endpoint] = fake.endpoints
    body = await post(hub_on_fake, tenant, CHECK)
    assert body["ok"] is False
    assert body["webhook"]["connect"] == {
        "endpoint": "missing",
        "url_matches": None,
        "missing_events": [],
        "secret_set": True,
    }
    assert "connect_endpoint_missing" in [a["condition"] for a in body["webhook"]["advice"]]

    repaired = await post(hub_on_fake, tenant, REPAIR)
    [made] = fake.connect
    assert account_endpoint in fake.endpoints and len(fake.endpoints) == 2  # the account's own is kept
    assert fake.endpoints[made]["url"] == url and sorted(fake.endpoints[made]["enabled_events"]) == sorted(
        CONNECT_EVENTS
    )
    assert repaired["ok"] is True, repaired
    assert repaired["webhook"]["connect"]["endpoint"] == "enabled"
    assert repaired["webhook"]["connect"]["endpoint_id"] == made
    assert repaired["webhook"]["endpoint_id"] == account_endpoint
    assert fake.secrets[made] not in str(repaired)
    # The new endpoint's secret replaced the one saved by hand: events it signs verify.
    assert (await context(hub_on_fake, tenant.id)).credentials.connect_webhook_secret == fake.secrets[made]
    evt = se.event("account.updated", {"id": "acct_unknown", "object": "account"})
    r = await se.deliver(hub_on_fake.http, tenant.id, se.encode(evt), fake.secrets[made])
    assert r.status_code == 200, r.text

    again = await post(hub_on_fake, tenant, REPAIR)
    assert again["ok"] is True and len(fake.endpoints) == 2  # reused, never a second one


async def test_a_disabled_connect_endpoint_missing_events_is_repaired_in_place(hub_on_fake, fake):
    tenant, url = await marketplace(hub_on_fake, fake)
    endpoint_id = fake.add_endpoint(url, events=["account.updated"], status="disabled")
    body = await post(hub_on_fake, tenant, CHECK)
    connect = body["webhook"]["connect"]
    assert (connect["endpoint"], connect["endpoint_id"], connect["url_matches"]) == ("disabled", endpoint_id, True)
    assert connect["missing_events"] == sorted(set(CONNECT_EVENTS) - {"account.updated"})
    repaired = await post(hub_on_fake, tenant, REPAIR)
    assert repaired["ok"] is True and len(fake.endpoints) == 2 and not fake.connect
    assert fake.endpoints[endpoint_id]["status"] == "enabled"
    assert set(CONNECT_EVENTS) <= set(fake.endpoints[endpoint_id]["enabled_events"])
    assert (await context(hub_on_fake, tenant.id)).credentials.connect_webhook_secret == CONNECT
