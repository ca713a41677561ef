"""The console's Wompi page over HTTP: drawn from the plugin's declared fields, checked at the stand-in,
secrets never rendered back, Wompi payments in the payment list."""

from __future__ import annotations

from tests.integration.test_console import CSRF_FIELD, _sign_in
from tests.support.wompi import method, pay


async def _form(hub, path):
    r = await hub.request("GET", path)
    assert r.status_code == 200, r.text
    token = CSRF_FIELD.search(r.text)
    assert token is not None, r.text
    return r, token.group(1)


async def test_the_wompi_page_saves_checks_and_never_renders_a_secret(wompi_hub, wompi):
    tenant = await wompi_hub.create_tenant("Tienda")
    assert (await _sign_in(wompi_hub, tenant.admin_key)).status_code in (302, 303)
    page, token = await _form(wompi_hub, "/console/payments")
    assert '<a href="/console/providers/wompi">Wompi</a>' in page.text
    page, token = await _form(wompi_hub, "/console/providers/wompi")
    for label in ("Public key", "Private key", "Events secret", "Integrity secret"):
        assert f">{label}</label>" in page.text
    assert f"/v1/webhooks/wompi/{tenant.id}" in page.text
    merchant = wompi.add_merchant()
    secrets = (merchant.private_key, merchant.events_secret, merchant.integrity_secret)

    refused = await wompi_hub.request(
        "POST",
        "/console/providers/wompi",
        data={**merchant.credentials, "private_key": "prv_test_unknownkey0001", "_csrf_token": token},
    )
    assert refused.status_code == 422 and 'id="private_key_error"' in refused.text
    assert merchant.public_key in refused.text and not any(s in refused.text for s in secrets)

    saved = await wompi_hub.request(
        "POST", "/console/providers/wompi", data={**merchant.credentials, "_csrf_token": token}
    )
    assert saved.status_code == 200 and "Wompi accepted the keys" in saved.text, saved.text
    assert f"prv_test_…{merchant.private_key[-4:]}" in saved.text and not any(s in saved.text for s in secrets)
    checked = await wompi_hub.request("POST", "/console/providers/wompi/check", data={"_csrf_token": token})
    assert checked.status_code == 200 and "Wompi accepted the keys (test mode" in checked.text

    created = (await pay(wompi_hub, tenant, method("nequi", wompi, merchant))).json()
    listed = await wompi_hub.request("GET", "/console/payments")
    for unknown in ("/console/providers/nopay", "/console/providers/stripe"):
        assert (await wompi_hub.request("GET", unknown)).status_code == 404
    assert created["id"] in listed.text and '<td class="provider">Wompi</td>' in listed.text
    detail = await wompi_hub.request("GET", f"/console/payments/{created['id']}")
    assert "<dt>Wompi id</dt>" in detail.text and "<dd>nequi</dd>" in detail.text
