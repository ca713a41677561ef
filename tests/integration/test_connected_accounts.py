"""Connected accounts, the tenant's marketplace sellers (docs/api.md, "Marketplace").

The hub talks to the Stripe proxy over loopback HTTP, with its Connect stand-in playing Stripe
Connect (tests/support/stripe_connect.py) in front of the emulator. The stand-in counts what
exists at "Stripe", so each test can show that nothing exists there that the hub has no row for.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import select

from hub.db.connect import ConnectedAccount
from hub.db.notifications import NotificationMessage
from tests.integration.test_console_actions import CSRF_FIELD, signed_in
from tests.support import stripe_events as se
from tests.support.hub import HubClient, TenantHandle, build_client, make_settings
from tests.support.inbox import wait_applied
from tests.support.problem import assert_problem, db_rows
from tests.support.stripe_proxy import FAULTS as ACTED
from tests.support.stripe_proxy import StripeProxy

WH = "whsec_marketAccountSecret01"
CONNECT = "whsec_marketConnectSecret1"
URL = "/v1/connected-accounts"
BACK = {"refresh_url": "https://shop.example/sellers/refresh", "return_url": "https://shop.example/sellers/done"}


@pytest.fixture(scope="module")
def proxy(emulator) -> Iterator[StripeProxy]:
    p = StripeProxy(emulator.url)
    yield p
    p.close()


@pytest.fixture
async def market(database_url, shared_home, proxy) -> AsyncIterator[HubClient]:
    """The hub whose tenants' Stripe is the proxy (with Connect) in front of the emulator."""
    settings = make_settings(database_url, str(shared_home), HUB_STRIPE_API_BASE=proxy.url)
    async with build_client(settings, shared=True) as client:
        yield HubClient(client, settings)


async def marketplace(hub: HubClient, name: str = "Market") -> tuple[TenantHandle, str]:
    """A tenant with its own Stripe keys, its webhook secret and its Connect webhook secret."""
    tenant = await hub.create_tenant(name)
    token = secrets.token_hex(8)
    body = {
        "publishable_key": f"pk_test_{token}",
        "secret_key": f"sk_test_{token}",
        "webhook_secret": WH,
        "connect_webhook_secret": CONNECT,
    }
    r = await hub.request("PUT", "/v1/providers/stripe/credentials", json=body, headers=tenant.admin)
    assert r.status_code == 200 and r.json()["connect_webhook_secret_set"] is True, r.text
    return tenant, f"sk_test_{token}"


async def create(hub: HubClient, tenant: TenantHandle, key: str | None = None, **body):
    headers = {**tenant.admin, **({"Idempotency-Key": key} if key else {})}
    return await hub.request("POST", URL, json={"email": "seller@example.com", **body}, headers=headers)


async def rows(hub: HubClient, tenant: TenantHandle) -> list[ConnectedAccount]:
    return await db_rows(hub, select(ConnectedAccount).where(ConnectedAccount.tenant_id == tenant.id))


async def assert_nothing_unknown_at_stripe(hub: HubClient, proxy: StripeProxy, tenant: TenantHandle, sk: str) -> None:
    """Every account at Stripe under the tenant's key is one the hub has a row for."""
    ours = {r.id: r for r in await rows(hub, tenant)}
    for account in proxy.connect.objects("account", sk):
        row = ours.get(account["metadata"].get("hub_account_id"))
        assert row is not None, f"{account['id']} exists at Stripe without a hub row"
        assert row.provider_account_id in (None, account["id"])


async def deliver(hub: HubClient, tenant: TenantHandle, evt: dict, secret: str) -> None:
    r = await se.deliver(hub.http, tenant.id, se.encode(evt), secret)
    assert r.status_code == 200 and r.json() == {"received": True}, r.text
    await wait_applied(hub.settings.database.url, tenant.id)


async def outcomes(hub: HubClient, tenant: TenantHandle) -> dict[str, tuple[str, int]]:
    r = await hub.request("GET", "/v1/events?limit=100", headers=tenant.admin)
    return {e["provider_event_id"]: (e["outcome"], e["deliveries"]) for e in r.json()["data"]}


async def test_an_account_is_created_once_per_key_read_by_the_storefront_and_hidden_from_others(market, proxy):
    tenant, sk = await marketplace(market)
    first = await create(market, tenant, "seller-1", country="US", metadata={"shop": "42"})
    assert first.status_code == 201, first.text
    again = await create(market, tenant, "seller-1", country="US", metadata={"shop": "42"})
    assert again.status_code == 201 and again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first.json()
    account = first.json()
    assert account["provider_account_id"].startswith("acct_") and account["type"] == "express"
    assert account["status"] == "onboarding" and account["requirements"]["currently_due"]
    assert (account["charges_enabled"], account["payouts_enabled"], account["details_submitted"]) == (False,) * 3
    assert proxy.connect.count("account", sk) == 1
    [at_stripe] = proxy.connect.objects("account", sk)
    assert at_stripe["metadata"] == {"shop": "42", "hub_tenant_id": tenant.id, "hub_account_id": account["id"]}
    assert at_stripe["capabilities"] == {"card_payments": "inactive", "transfers": "inactive"}
    assert_problem(
        await create(market, tenant, "seller-1", country="FR"), 409, "idempotency_conflict", param="Idempotency-Key"
    )

    one = await market.request("GET", f"{URL}/{account['id']}", headers=tenant.storefront)
    assert one.status_code == 200 and one.json() == account
    listed = await market.request("GET", f"{URL}?status=onboarding&limit=1", headers=tenant.storefront)
    assert [a["id"] for a in listed.json()["data"]] == [account["id"]] and listed.json()["has_more"] is False
    assert (await market.request("GET", f"{URL}?status=active", headers=tenant.admin)).json()["data"] == []

    assert_problem(await create(market, TenantHandle(tenant.id, tenant.storefront_key, "", "")), 403, "forbidden")
    refused = await market.request("POST", f"{URL}/{account['id']}/links", json=BACK, headers=tenant.storefront)
    assert_problem(refused, 403, "forbidden")
    assert_problem(await create(market, tenant, type="platform"), 422, "validation_error")
    assert proxy.connect.count("account", sk) == 1

    other, _ = await marketplace(market, "Other")
    for path in (f"{URL}/{account['id']}", f"{URL}/{account['id']}/sync", f"{URL}/{account['id']}/links"):
        method = "GET" if path.endswith(account["id"]) else "POST"
        r = await market.request(method, path, json=BACK if path.endswith("links") else None, headers=other.admin)
        assert_problem(r, 404, "not_found")
    assert (await market.request("GET", URL, headers=other.admin)).json()["data"] == []
    await assert_nothing_unknown_at_stripe(market, proxy, tenant, sk)


async def test_an_update_link_falls_back_to_onboarding_until_the_seller_is_onboarded(market, proxy):
    tenant, sk = await marketplace(market)
    account = (await create(market, tenant)).json()
    links = f"{URL}/{account['id']}/links"
    r = await market.request("POST", links, json={**BACK, "type": "update"}, headers=tenant.admin)
    assert r.status_code == 201, r.text
    assert r.json()["type"] == "onboarding" and r.json()["url"].startswith("https://connect.stripe.com/")
    assert r.json()["expires_at"] > time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    [link] = proxy.connect.objects("account_link", sk)
    assert link["account"] == account["provider_account_id"]

    proxy.connect.finish_onboarding(account["provider_account_id"])
    synced = await market.request("POST", f"{URL}/{account['id']}/sync", headers=tenant.admin)
    assert synced.status_code == 200, synced.text
    assert synced.json()["status"] == "active" and synced.json()["transfers_enabled"] is True
    assert synced.json()["requirements"]["currently_due"] == []
    r = await market.request("POST", links, json={**BACK, "type": "update"}, headers=tenant.admin)
    assert r.status_code == 201 and r.json()["type"] == "update", r.text
    keyed = {**tenant.admin, "Idempotency-Key": "link-1"}
    first = await market.request("POST", links, json=BACK, headers=keyed)
    again = await market.request("POST", links, json=BACK, headers=keyed)
    assert first.status_code == again.status_code == 201 and again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    bad = await market.request("POST", links, json={**BACK, "return_url": "javascript:alert(1)"}, headers=tenant.admin)
    assert_problem(bad, 422, "validation_error")
    assert proxy.connect.count("account_link", sk) == 3


async def test_account_updated_from_the_connect_secret_alone_changes_the_account_once_and_in_order(market, proxy):
    tenant, _ = await marketplace(market)
    endpoint = {"url": "http://127.0.0.1:9/hooks", "enabled_events": ["connected_account.updated"]}
    assert (await market.request("POST", "/v1/notification-endpoints", json=endpoint, headers=tenant.admin)).is_success
    account = (await create(market, tenant)).json()
    acct = account["provider_account_id"]
    before = proxy.connect.account_updated(acct, created=int(time.time()) - 60)  # still onboarding
    proxy.connect.finish_onboarding(acct)
    now = proxy.connect.account_updated(acct)

    forged = {**now, "id": se.event_id()}
    await deliver(market, tenant, forged, WH)  # the account's own secret: not a Connect event
    got = await market.request("GET", f"{URL}/{account['id']}", headers=tenant.admin)
    assert got.json()["status"] == "onboarding"

    await deliver(market, tenant, now, CONNECT)
    await deliver(market, tenant, now, CONNECT)  # a repeat
    await deliver(market, tenant, before, CONNECT)  # older news, arriving late
    got = (await market.request("GET", f"{URL}/{account['id']}", headers=tenant.admin)).json()
    assert (got["status"], got["charges_enabled"], got["payouts_enabled"]) == ("active", True, True)
    seen = await outcomes(market, tenant)
    assert seen[forged["id"]] == ("ignored", 1) and seen[now["id"]] == ("applied", 2)
    messages = await db_rows(
        market,
        select(NotificationMessage).where(
            NotificationMessage.tenant_id == tenant.id, NotificationMessage.type == "connected_account.updated"
        ),
    )
    assert len(messages) == 1 and '"status":"active"' in messages[0].body

    # Another tenant's seller, reported at this tenant's endpoint with this tenant's Connect secret.
    other, _ = await marketplace(market, "Other")
    theirs = (await create(market, other)).json()
    proxy.connect.finish_onboarding(theirs["provider_account_id"])
    stranger = proxy.connect.account_updated(theirs["provider_account_id"])
    await deliver(market, tenant, stranger, CONNECT)
    assert (await outcomes(market, tenant))[stranger["id"]] == ("ignored", 1)
    got = (await market.request("GET", f"{URL}/{theirs['id']}", headers=other.admin)).json()
    assert got["status"] == "onboarding"


@pytest.mark.parametrize("fault", ["reset_after", "error_500", "truncate", "reset_before", "rate_limit_429"])
async def test_a_lost_answer_leaves_a_row_the_retry_or_a_sync_finishes_with_the_same_account(market, proxy, fault):
    tenant, sk = await marketplace(market)
    proxy.inject(fault, "POST", "/v1/accounts", times=2)
    keyed = await create(market, tenant, "lost-1")
    assert keyed.status_code in (429, 503) and keyed.json()["code"] in ("provider_unavailable", "rate_limited")
    bare = await create(market, tenant)
    assert bare.status_code == keyed.status_code
    assert proxy.connect.count("account", sk) == (2 if ACTED[fault] else 0)  # whether Stripe made them
    await assert_nothing_unknown_at_stripe(market, proxy, tenant, sk)
    assert sorted(r.provider_account_id is None for r in await rows(market, tenant)) == [True, True]

    retried = await create(market, tenant, "lost-1")
    assert retried.status_code == 201, retried.text
    pending = [r for r in await rows(market, tenant) if r.provider_account_id is None]
    assert len(pending) == 1
    synced = await market.request("POST", f"{URL}/{pending[0].id}/sync", headers=tenant.admin)
    assert synced.status_code == 200 and synced.json()["provider_account_id"].startswith("acct_"), synced.text
    assert proxy.connect.count("account", sk) == 2  # no second account for either
    at_stripe = {a["id"] for a in proxy.connect.objects("account", sk)}
    assert {r.provider_account_id for r in await rows(market, tenant)} == at_stripe


async def test_the_sellers_page_lists_accounts_with_what_is_due_and_makes_an_onboarding_link(market, proxy):
    tenant, sk = await marketplace(market)
    account = (await create(market, tenant, email="ana@example.com")).json()
    await signed_in(market, tenant)
    page = await market.request("GET", "/console/sellers")
    assert page.status_code == 200, page.text
    assert '<a href="/console/sellers">Sellers</a>' in page.text and "ana@example.com" in page.text
    assert "onboarding" in page.text and "tos_acceptance.date" in page.text
    form = page.text.split(f'action="/console/sellers/{account["id"]}/link"', 1)[1].split("</form>", 1)[0]
    assert "Create onboarding link" in form
    token = CSRF_FIELD.search(form)
    assert token
    made = await market.request("POST", f"/console/sellers/{account['id']}/link", data={"_csrf_token": token.group(1)})
    assert made.status_code == 200, made.text
    [link] = proxy.connect.objects("account_link", sk)
    assert link["url"] in made.text and "Onboarding link created" in made.text
    assert sk not in made.text and WH not in made.text and CONNECT not in made.text


async def test_a_creation_stripe_refuses_leaves_nothing_anywhere_and_frees_the_key(market, proxy):
    tenant, sk = await marketplace(market)
    refused = await create(market, tenant, "seller-zz", country="ZZ")
    assert_problem(refused, 400, "provider_error", param="country")
    assert proxy.connect.count("account", sk) == 0 and await rows(market, tenant) == []
    again = await create(market, tenant, "seller-zz", country="FR")  # the key is free for another body
    assert again.status_code == 201 and again.json()["country"] == "FR", again.text
    await assert_nothing_unknown_at_stripe(market, proxy, tenant, sk)
