"""The Connect webhook signing secret among the tenant's Stripe credentials (docs/api.md, "Marketplace"):
format-checked, sealed by the vault like the webhook secret, kept when a replacement omits it,
and only ever shown as ``connect_webhook_secret_set``.
"""

from __future__ import annotations

from tests.integration.test_console_actions import CSRF_FIELD, signed_in
from tests.support.credentials import URL, context, creds, stored
from tests.support.problem import assert_problem

CONNECT = "whsec_AcmeConnectSecret0001"


async def test_the_connect_secret_is_sealed_masked_and_kept_across_a_replacement(hub):
    tenant = await hub.create_tenant()
    r = await hub.request("PUT", URL, json=creds(), headers=tenant.admin)
    assert r.status_code == 200 and r.json()["connect_webhook_secret_set"] is False, r.text

    r = await hub.request("PUT", URL, json=creds(connect_webhook_secret=f"{CONNECT}\n"), headers=tenant.admin)
    assert r.status_code == 200, r.text
    assert r.json()["connect_webhook_secret_set"] is True and CONNECT not in r.text
    [row] = await stored(hub, tenant.id)
    assert row.connect_webhook_secret_ct is not None and CONNECT.encode() not in row.connect_webhook_secret_ct
    assert (await context(hub, tenant.id)).credentials.connect_webhook_secret == CONNECT

    r = await hub.request("PUT", URL, json=creds(), headers=tenant.admin)  # a key roll without it
    assert r.json()["connect_webhook_secret_set"] is True
    got = await hub.request("GET", URL, headers=tenant.admin)
    assert got.json()["connect_webhook_secret_set"] is True and CONNECT not in got.text
    assert (await context(hub, tenant.id)).credentials.connect_webhook_secret == CONNECT


async def test_a_malformed_connect_secret_is_refused_and_nothing_is_stored(hub):
    tenant = await hub.create_tenant()
    r = await hub.request("PUT", URL, json=creds(connect_webhook_secret="wh_nope"), headers=tenant.admin)
    assert_problem(r, 422, "validation_error", param="connect_webhook_secret")
    assert await stored(hub, tenant.id) == []


async def test_the_console_saves_the_connect_secret_and_shows_only_that_it_is_stored(hub):
    tenant = await hub.create_tenant()
    await signed_in(hub, tenant)
    page = await hub.request("GET", "/console/stripe")
    token = CSRF_FIELD.search(page.text)
    assert token
    form = {**creds(connect_webhook_secret=CONNECT), "_csrf_token": token.group(1)}
    saved = await hub.request("POST", "/console/stripe", data=form)
    assert saved.status_code == 200, saved.text
    assert "Connect endpoint secret</dt><dd>stored" in saved.text and CONNECT not in saved.text
    assert (await context(hub, tenant.id)).credentials.connect_webhook_secret == CONNECT
    bad = await hub.request("POST", "/console/stripe", data={**form, "connect_webhook_secret": "nope"})
    assert bad.status_code == 422 and 'id="connect_webhook_secret_error"' in bad.text
